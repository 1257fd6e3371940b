"""Length-controlled and raw win rate: alignbench vs AlpacaEval's own function on the same annotations.

    .venv/bin/python benchmarks/vs_alpaca_eval.py [--n 200] [--alpaca-eval-venv DIR]

Annotation sets (real human preferences where there are any):
  hh-helpful-longer   HH-RLHF helpful-base test pairs; "model" = the longer response, "baseline" the shorter,
                      preference = which one the human chose (a real length effect)
  hh-harmless-longer  the same on harmless-base (humans there often prefer the shorter, safer reply)
  hh-helpful-random   helpful-base with the model side drawn at random (seed 0): no systematic effect
  planted             synthetic: a judge with a known length bias (+2 logits per unit of the length term)
                      over a model with true quality 0.5 logits; truth at zero length difference = sigmoid(0.5)
AlpacaEval (0.6.6, its own virtual environment: `--alpaca-eval-venv DIR`, default $ALIGNBENCH_ALPACA_EVAL_VENV
or $ALIGNBENCH_CACHE/venvs/alpaca-eval, created with `pip install alpaca-eval==0.6.6` if missing) runs
`get_length_controlled_winrate` with its `length_controlled_v1` formula minus the instruction-difficulty
term (that term and the "gamed baseline" rows are fitted on AlpacaEval's own 805 instructions), i.e.
`np.tanh(std_delta_len) + not_gamed_baseline.astype(float) - 1`, regularize_to_baseline_lambda=None,
5-fold CV.  Its unconditional hub download (`df_gamed.csv`) is replaced by a local file with the same
columns.  It runs twice: stock CV (reporting the C its CV chose) and with CV off at C=1e6 (the
unpenalised formulation alignbench fits).  Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ALPACA_EVAL_VERSION = "0.6.6"
FORMULA = "np.tanh(std_delta_len) + not_gamed_baseline.astype(float) - 1"


# ---------------------------------------------------------------- worker (runs in the AlpacaEval venv) -----
def worker(path: str) -> None:
    import logging

    import numpy as np
    import pandas as pd
    from alpaca_eval.metrics import glm_winrate

    logging.disable(logging.WARNING)
    sets = json.loads(Path(path).read_text())
    local = Path(path).with_name("df_gamed.csv")  # what hf_hub_download would fetch: same columns, our indices
    n_max = max(len(s["preference"]) for s in sets.values())
    pd.DataFrame(
        {
            "index": range(n_max),
            "instruction_difficulty": 0.0,
            "model": "none",
            "preference": np.nan,
            "not_gamed_baseline": False,
        }
    ).to_csv(local, index=False)
    glm_winrate.hf_hub_download = lambda *a, **k: str(local)
    fitted = {}
    plain_fit = glm_winrate.fit_LogisticRegressionCV

    def capturing_fit(*a, **k):
        fitted["model"] = plain_fit(*a, **k)
        return fitted["model"]

    glm_winrate.fit_LogisticRegressionCV = capturing_fit
    out = {}
    for name, s in sets.items():
        df = pd.DataFrame(
            {
                "preference": s["preference"],
                "output_1": s["baseline"],
                "output_2": s["model"],
                "generator_1": "baseline",
                "generator_2": "model",
                "index": range(len(s["model"])),
                "annotator": "human",
            }
        )
        row = {}
        for mode, kwargs in (("cv", {"n_splits": 5}), ("unpenalised", {"n_splits": 0, "C": 1e6})):
            info = {"formula": FORMULA, "regularize_to_baseline_lambda": None, "kwargs": kwargs}
            m = glm_winrate.get_length_controlled_winrate(
                df.copy(), glm_info=info, save_weights_dir=None, is_warn_extreme_changes=False
            )
            row[mode] = {
                "lc": float(m["length_controlled_winrate"]),
                "raw": float(m["win_rate"]),
                "C": float(np.ravel(getattr(fitted["model"], "C_", [kwargs.get("C", np.nan)]))[0]),
            }
        out[name] = row
    print(json.dumps(out))


def alpaca_eval_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    check = "import alpaca_eval.metrics.glm_winrate"
    if (
        python.exists()
        and subprocess.run([str(python), "-c", check], capture_output=True, check=False).returncode == 0
    ):
        return python
    print(f"creating the AlpacaEval environment in {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"alpaca-eval=={ALPACA_EVAL_VERSION}"], check=True)
    return python


# ---------------------------------------------------------------- annotation sets --------------------------
def annotation_sets(n: int) -> dict:
    import numpy as np

    from alignbench.data.adapters import load_dataset_items

    sets = {}
    rng = np.random.default_rng(0)
    for name, subset, side in (
        ("hh-helpful-longer", "helpful-base", "longer"),
        ("hh-harmless-longer", "harmless-base", "longer"),
        ("hh-helpful-random", "helpful-base", "random"),
    ):
        model, base, pref = [], [], []
        for r in load_dataset_items("hh-rlhf", subset=subset, split="test"):
            chosen, rejected = r.responses[r.ranks.index(1)], r.responses[r.ranks.index(2)]
            if len(chosen) == len(rejected):
                continue
            model_is_chosen = (len(chosen) > len(rejected)) if side == "longer" else bool(rng.random() < 0.5)
            m, b = (chosen, rejected) if model_is_chosen else (rejected, chosen)
            model.append(m)
            base.append(b)
            pref.append(2.0 if model_is_chosen else 1.0)  # AlpacaEval's coding: 2 = output_2 (model) wins
            if len(model) == n:
                break
        sets[name] = {"model": model, "baseline": base, "preference": pref}
    # planted: lengths drawn per item, the judge prefers the longer side by 2 logits per unit of the feature
    la, lb = rng.lognormal(6.0, 0.5, n).astype(int) + 1, rng.lognormal(5.7, 0.5, n).astype(int) + 1
    delta = la - lb
    x = np.tanh(delta / delta.std(ddof=1))
    p = 1 / (1 + np.exp(-(0.5 + 2.0 * x)))
    wins = rng.random(n) < p
    sets["planted"] = {
        "model": ["x" * k for k in la],
        "baseline": ["x" * k for k in lb],
        "preference": [2.0 if w else 1.0 for w in wins],
        "truth": float(1 / (1 + np.exp(-0.5))),
    }
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="annotations per set (default 200)")
    ap.add_argument("--alpaca-eval-venv", default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker)

    import numpy as np

    from alignbench.config import cache_dir
    from alignbench.stats import lc_win_rate

    venv = Path(
        args.alpaca_eval_venv or os.environ.get("ALIGNBENCH_ALPACA_EVAL_VENV") or cache_dir() / "venvs" / "alpaca-eval"
    )
    python = alpaca_eval_python(venv)
    sets = annotation_sets(args.n)
    tmp = Path(tempfile.mkdtemp(prefix="vs_alpaca_eval_")) / "annotations.json"
    tmp.write_text(json.dumps(sets))
    reply = subprocess.run(
        [str(python), os.path.abspath(__file__), "--worker", str(tmp)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    if reply.returncode:
        sys.exit(reply.stderr[-3000:])
    theirs = json.loads(reply.stdout.strip().splitlines()[-1])
    summary = {"n": args.n, "alpaca_eval": ALPACA_EVAL_VERSION, "formula": FORMULA, "sets": {}}
    print(
        f"{'set':20s} {'raw ours':>9s} {'raw AE':>8s} {'LC ours':>8s} {'LC AE-unpen':>11s} {'LC AE-CV':>9s} "
        f"{'CV C':>9s} {'|LC-AE CV|':>10s}"
    )
    for name, s in sets.items():
        pref = np.array(s["preference"]) - 1  # 1 = model wins
        lm, lb = np.array([len(t) for t in s["model"]]), np.array([len(t) for t in s["baseline"]])
        ours = {"raw": 100 * pref.mean(), "lc": 100 * lc_win_rate(pref, lm, lb, n_resamples=0).value}
        t = theirs[name]
        row = {
            "ours": ours,
            "alpaca_eval_cv": t["cv"],
            "alpaca_eval_unpenalised": t["unpenalised"],
            "d_lc_vs_cv": abs(ours["lc"] - t["cv"]["lc"]),
            "d_lc_vs_unpenalised": abs(ours["lc"] - t["unpenalised"]["lc"]),
            "d_raw": abs(ours["raw"] - t["cv"]["raw"]),
        }
        if "truth" in s:
            row["truth"] = 100 * s["truth"]
        summary["sets"][name] = row
        print(
            f"{name:20s} {ours['raw']:9.2f} {t['cv']['raw']:8.2f} {ours['lc']:8.2f} {t['unpenalised']['lc']:11.2f} "
            f"{t['cv']['lc']:9.2f} {t['cv']['C']:9.2g} {row['d_lc_vs_cv']:10.2f}"
            + (f"   truth {row['truth']:.2f}" if "truth" in s else "")
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
