"""TruthfulQA MC1+MC2 with the log-likelihood engine's prefix reuse vs without it, side by side.

    .venv/bin/python benchmarks/truthfulqa_mc.py [--model smollm2-135m] [--version v1] [--limit 100] [--chunk 10]

Both modes score the same questions; chunks of `--chunk` questions alternate which mode runs first, so
load from other processes on a shared machine falls on both alike.  Prints each mode's wall and CPU time,
forward passes and tokens pushed through the model, MC1/MC2, and the largest per-question MC2
difference (the two paths must agree), then one JSON line of headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--version", default="v1", choices=["v0", "v1", "2025"])
    ap.add_argument("--limit", type=int, default=None, help="questions (default: all)")
    ap.add_argument("--chunk", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    import numpy as np
    import torch

    from alignbench.data.adapters import load_dataset_items
    from alignbench.engines import LoglikEngine
    from alignbench.evals.truthfulqa import score_mc
    from alignbench.models import load_model

    torch.manual_seed(0)
    items = load_dataset_items("truthfulqa", version=args.version, limit=args.limit)
    model, tok = load_model(args.model)
    engines = {
        "reuse": LoglikEngine(model, tok, batch_size=args.batch_size, reuse_prefix=True, progress=False),
        "naive": LoglikEngine(model, tok, batch_size=args.batch_size, reuse_prefix=False, progress=False),
    }
    seconds = {"reuse": 0.0, "naive": 0.0}
    # CPU seconds of this process (all threads) too: on a shared machine wall time mostly measures the
    # other processes, CPU time measures the work.
    cpu = {"reuse": 0.0, "naive": 0.0}
    scores = {m: {"mc1": {}, "mc2": {}} for m in engines}
    for c, start in enumerate(range(0, len(items), args.chunk)):
        chunk = items[start : start + args.chunk]
        for mode in ("reuse", "naive") if c % 2 == 0 else ("naive", "reuse"):
            t0, c0 = time.perf_counter(), time.process_time()
            out = score_mc(engines[mode], chunk)
            seconds[mode] += time.perf_counter() - t0
            cpu[mode] += time.process_time() - c0
            for key in ("mc1", "mc2"):
                scores[mode][key].update(out[key])
        print(
            f"{start + len(chunk)}/{len(items)} questions  reuse {seconds['reuse']:.1f}s (cpu {cpu['reuse']:.1f}s)  "
            f"naive {seconds['naive']:.1f}s (cpu {cpu['naive']:.1f}s)",
            flush=True,
        )
    ids = [it.id for it in items]
    summary = {}
    for mode, eng in engines.items():
        mc1 = float(np.mean([scores[mode]["mc1"][i] for i in ids]))
        mc2 = float(np.mean([scores[mode]["mc2"][i] for i in ids]))
        summary[mode] = {
            "seconds": seconds[mode],
            "mc1": mc1,
            "mc2": mc2,
            "forward_passes": eng.model_calls,
            "tokens_forwarded": eng.tokens_forwarded,
        }
        print(
            f"{mode:6s} wall {seconds[mode]:8.1f}s  cpu {cpu[mode]:8.1f}s  "
            f"forwards {eng.model_calls:6d}  tokens {eng.tokens_forwarded:9d}"
            f"  MC1 {mc1:.4f}  MC2 {mc2:.4f}"
        )
    max_mc2_diff = max(abs(scores["reuse"]["mc2"][i] - scores["naive"]["mc2"][i]) for i in ids)
    mc1_disagree = sum(scores["reuse"]["mc1"][i] != scores["naive"]["mc1"][i] for i in ids)
    print(f"max |MC2 reuse - naive| per question {max_mc2_diff:.2e}; MC1 disagreements {mc1_disagree}")
    print(
        json.dumps(
            {
                "model": args.model,
                "version": args.version,
                "questions": len(items),
                "mc1_reuse": summary["reuse"]["mc1"],
                "mc2_reuse": summary["reuse"]["mc2"],
                "mc1_naive": summary["naive"]["mc1"],
                "mc2_naive": summary["naive"]["mc2"],
                "seconds_reuse": round(seconds["reuse"], 2),
                "seconds_naive": round(seconds["naive"], 2),
                "speedup": round(seconds["naive"] / seconds["reuse"], 3) if seconds["reuse"] else None,
                "cpu_seconds_reuse": round(cpu["reuse"], 2),
                "cpu_seconds_naive": round(cpu["naive"], 2),
                "cpu_speedup": round(cpu["naive"] / cpu["reuse"], 3) if cpu["reuse"] else None,
                "tokens_reuse": summary["reuse"]["tokens_forwarded"],
                "tokens_naive": summary["naive"]["tokens_forwarded"],
                "max_mc2_abs_diff": max_mc2_diff,
                "mc1_disagreements": mc1_disagree,
            }
        )
    )


if __name__ == "__main__":
    main()
