"""Wall time and peak RSS of every stage of `alignbench demo`, and its headline result.

    python benchmarks/demo.py                 # the real run on SmolLM2 (budget: 15 min, 8 GB on 2 idle cores)
    python benchmarks/demo.py --quick         # the tiny-random smoke run (budget: 2 min)
    python benchmarks/demo.py --out runs/demo # reuse a finished run folder: reports its recorded figures

Prints one line per stage, then as its LAST line one JSON object: total wall time and CPU time, the
largest per-stage peak RSS, each stage's figures (wall s, CPU s, peak RSS, load average at its start and
end), the gold (labeler) and RM win rates of PPO-ptx and SFT vs the base model and PPO-ptx vs SFT head to
head, with their 95% CIs.  CPU seconds are the stage's work: on a shared machine wall time measures the
neighbours, so compare CPU seconds across runs (an idle 2-core run spends about 2 CPU-s per wall second in
the matmul-bound stages).  Per-stage peak RSS is the process high-water mark reset at each stage start
(Linux clear_refs), so it is the stage's own peak.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None, help="run folder (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from alignbench.demo.pipeline import run_demo

    out = Path(args.out or tempfile.mkdtemp(prefix="alignbench-demo-"))
    run_demo(out, quick=args.quick, seed=args.seed)
    state = json.loads((out / "stages.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    keys = ("wall_s", "cpu_s", "peak_rss_mb", "load_avg_start", "load_avg_end")
    stages = {name: {k: rec.get(k) for k in keys} for name, rec in state["stages"].items()}
    print(f"{'stage':16s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MB':>12s} {'load':>12s}")
    for name, rec in stages.items():
        print(
            f"{name:16s} {rec['wall_s']:8.1f} {rec['cpu_s'] or 0:8.1f} {rec['peak_rss_mb']:12.0f} "
            f"{rec['load_avg_start']}->{rec['load_avg_end']}"
        )
    headline: dict = {}
    for judge in ("labeler", "rm"):
        for model, row in metrics.get(f"headtohead/{judge}", {}).get("win_rate", {}).items():
            headline[f"headtohead_{judge}_{model}_vs_sft"] = [
                round(row["value"], 4),
                round(row["ci_low"], 4),
                round(row["ci_high"], 4),
            ]
            print(
                f"head to head {model} vs sft ({judge}): {row['value']:.3f} "
                f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] n={row['n']}"
            )
        for model, row in metrics.get(f"winrate/{judge}", {}).get("win_rate", {}).items():
            headline[f"win_rate_{judge}_{model}"] = [
                round(row["value"], 4),
                round(row["ci_low"], 4),
                round(row["ci_high"], 4),
            ]
            print(
                f"win rate vs base ({judge}) {model}: {row['value']:.3f} "
                f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] n={row['n']}"
            )
    summary = {
        "mode": "quick" if args.quick else "default",
        "out": str(out),
        "total_wall_s": round(sum(r["wall_s"] for r in stages.values()), 1),
        "total_cpu_s": round(sum(r["cpu_s"] or 0 for r in stages.values()), 1),
        "max_stage_peak_rss_mb": max(r["peak_rss_mb"] for r in stages.values()),
        "stages": stages,
        **headline,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
