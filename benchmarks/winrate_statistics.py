"""Calibration of the win-rate statistics on simulated evals with a known truth.

Prints, for several numbers of prompts, how often the 95% percentile-bootstrap and Wilson intervals cover
the true win rate, and how far the raw and length-controlled win rates land from the truth when the judge
has a planted length bias.  Last line: one JSON object of headline figures.

    .venv/bin/python benchmarks/winrate_statistics.py [--runs 1000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from alignbench.stats import bootstrap_ci, lc_win_rate, length_feature, wilson_interval


def coverage(n_prompts: int, runs: int, rng) -> tuple[float, float]:
    truth = 0.55 + 0.2 / 2  # P(win) 0.55, P(tie) 0.2
    boot = wil = 0
    for r in range(runs):
        prefs = rng.choice([1.0, 0.5, 0.0], size=n_prompts, p=[0.55, 0.2, 0.25])
        lo, hi = bootstrap_ci(prefs, n_resamples=1000, seed=r)
        boot += lo <= truth <= hi
        wlo, whi = wilson_interval(prefs.sum(), n_prompts)
        wil += wlo <= truth <= whi
    return boot / runs, wil / runs


def length_bias(n_prompts: int, runs: int, rng) -> tuple[float, float]:
    """Mean |raw - truth| and |LC - truth| with a judge that adds 2.0 logits per unit of tanh(std len diff)."""
    raw_err, lc_err = [], []
    for _ in range(runs):
        len_b = rng.normal(400, 80, n_prompts).clip(20)
        len_a = len_b + rng.normal(150, 150, n_prompts)
        x = length_feature(len_a, len_b)
        prefs = (rng.random(n_prompts) < 1 / (1 + np.exp(-(0.0 + 2.0 * x)))).astype(float)
        raw_err.append(abs(prefs.mean() - 0.5))
        lc_err.append(abs(lc_win_rate(prefs, len_a, len_b, n_resamples=1).value - 0.5))
    return float(np.mean(raw_err)), float(np.mean(lc_err))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    start = time.time()
    headline = {}
    print(f"{'prompts':>8} {'bootstrap coverage':>19} {'wilson coverage':>16}")
    for n in (30, 100, 300):
        b, w = coverage(n, args.runs, rng)
        print(f"{n:8d} {b:19.3f} {w:16.3f}")
        headline[f"bootstrap_coverage_n{n}"] = round(b, 4)
        headline[f"wilson_coverage_n{n}"] = round(w, 4)
    print(f"\n{'prompts':>8} {'|raw - truth|':>14} {'|LC - truth|':>13}   (planted length bias, truth 0.5)")
    for n in (100, 500):
        raw, lc = length_bias(n, max(20, args.runs // 20), rng)
        print(f"{n:8d} {raw:14.3f} {lc:13.3f}")
        headline[f"raw_abs_error_n{n}"] = round(raw, 4)
        headline[f"lc_abs_error_n{n}"] = round(lc, 4)
    headline["seconds"] = round(time.time() - start, 1)
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
