"""`alignbench demo [--out DIR] [--quick] [--data-dir DIR]`: the whole InstructGPT recipe on SmolLM2, offline."""

from __future__ import annotations

import json
import os
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="SFT -> reward model -> PPO-ptx -> evals -> report on SmolLM2-135M, offline (docs/demo.md)",
        description="Runs the InstructGPT recipe end to end on the embedded constraint-following task, with a "
        "simulated labeler in place of human labelers, and renders the report. --quick runs the same "
        "pipeline on tiny-random (a smoke test). Measured wall times, with the machine each was "
        'measured on: docs/demo.md, "Measured figures". In a log (not a terminal) every long '
        "loop prints a progress line at least every $ALIGNBENCH_PROGRESS_INTERVAL s (default 30).",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (checkpoints, store, report); default runs/demo")
    p.add_argument("--quick", action="store_true", help="tiny-random model, a handful of prompts: a smoke test")
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder of the real data sets (e.g. ../shared/data): evals use them instead of the demo sets",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every stage (same machine, same seed -> same numbers)")
    p.add_argument(
        "--stop-after",
        default=None,
        choices=["tasks", "demonstrations", "sft", "rankings", "rm", "ppo", "eval", "report"],
        help="stop after this stage (a rerun resumes: finished stages are skipped)",
    )
    p.set_defaults(handler=_run)


def _run(args) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the demo never downloads
    from alignbench.demo.pipeline import run_demo
    from alignbench.progress import Heartbeat

    # In a log, a line at least every $ALIGNBENCH_PROGRESS_INTERVAL s even between loops (loads, saves).
    with Heartbeat("demo") as beat:

        def log(message: str) -> None:
            beat.note(message)
            print(f"[demo] {message}", file=sys.stderr, flush=True)

        out = run_demo(
            args.out, quick=args.quick, data_dir=args.data_dir, seed=args.seed, stop_after=args.stop_after, log=log
        )
    stages = json.loads((out / "stages.json").read_text())["stages"]
    print(f"{'stage':16s} {'wall s':>8s} {'peak RSS MB':>12s}")
    for name, rec in stages.items():
        print(f"{name:16s} {rec['wall_s']:8.1f} {rec['peak_rss_mb']:12.0f}")
    total = f"total {sum(r['wall_s'] for r in stages.values()):.0f} s"
    report = out / "report.html"
    if "report" in stages and report.is_file():
        print(f"{total}; report: {report}")
    else:  # stopped early (--stop-after): no report was written, so name none
        done = list(stages)
        print(
            f"{total}; stopped after {done[-1] if done else 'no stage'} (no report yet: rerun without "
            f"--stop-after, or with a later stage, to continue from here)"
        )
    return 0
