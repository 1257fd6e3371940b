"""`alignbench eval --model [NAME=]SPEC [--model ...] [--baseline SPEC] --suite SUITE [--out RUN_DIR] [--limit N]`:
run a suite of evals into a run folder (run.sqlite + metrics.json)."""

from __future__ import annotations

import os
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="run an eval suite (win rate, TruthfulQA, toxicity, ...) into a run folder",
        description="Runs every eval of SUITE for each --model (against --baseline) and writes RUN_DIR/run.sqlite "
        "(items, generations, judgements, metrics) and RUN_DIR/metrics.json.  Rerunning into the same "
        "folder resumes: finished generations and judgements are reused.",
    )
    p.add_argument(
        "--model",
        "-m",
        action="append",
        required=True,
        metavar="[NAME=]SPEC",
        help="a candidate; repeat for several (one table row each); NAME= sets its label",
    )
    p.add_argument(
        "--baseline",
        "-b",
        default=None,
        metavar="[NAME=]SPEC",
        help="the model every candidate is compared with (pairwise evals)",
    )
    p.add_argument(
        "--suite", "-s", required=True, help="a suite name (evals/NAME.yaml or a packaged suite) or a YAML path"
    )
    p.add_argument("--out", "-o", default=None, metavar="RUN_DIR", help="run folder (default runs/<UTC timestamp>)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use at most N items of every eval")
    p.add_argument("--seed", type=int, default=None, help="seed for sampling and bootstrap (default: the suite's)")
    p.add_argument("--only", action="append", default=None, metavar="EVAL", help="run only this eval (repeatable)")
    p.add_argument(
        "--cache",
        default=None,
        metavar="PATH|none",
        help="shared generation cache store (default $ALIGNBENCH_CACHE/cache.sqlite; 'none' = the run's store only)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help="sequences per model call for generation and log-likelihood (default: the engine's)",
    )
    p.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="cpu, cuda, cuda:N or mps for local models (default: cuda when available, else cpu; same "
        "as $ALIGNBENCH_DEVICE)",
    )
    p.add_argument(
        "--log-samples",
        action="store_true",
        help="also write RUN_DIR/samples/EVAL.jsonl: one line per item and model with the prompt, "
        "output, verdict/score and every per-item metric",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or log lines")
    p.set_defaults(handler=_eval)


def _eval(args) -> int:
    from alignbench.errors import AlignbenchError
    from alignbench.evals.context import parse_model_arg
    from alignbench.evals.runner import describe_plan, run_suite
    from alignbench.evals.suite import load_suite

    if args.limit is not None and args.limit < 1:
        raise AlignbenchError("--limit must be a positive integer")
    if args.seed is not None and not 0 <= args.seed <= 2**63 - 1:  # the store keeps seeds as SQLite integers
        raise AlignbenchError(f"--seed must be between 0 and 2**63-1, got {args.seed}")
    if args.batch_size is not None and args.batch_size < 1:
        raise AlignbenchError("--batch-size must be a positive integer")
    if args.device is not None:
        import re

        if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", args.device):
            raise AlignbenchError(f"--device {args.device}: use cpu, cuda, cuda:N or mps")
        os.environ["ALIGNBENCH_DEVICE"] = args.device  # what models.default_device() reads
    suite = load_suite(args.suite)
    if args.only:
        unknown = [o for o in args.only if o not in {e.name for e in suite.evals}]
        if unknown:
            raise AlignbenchError(
                f"--only {unknown[0]}: suite {suite.name} has evals {', '.join(e.name for e in suite.evals)}"
            )
    candidates = [parse_model_arg(m) for m in args.model]
    baseline = parse_model_arg(args.baseline) if args.baseline else None
    if args.dry_run:
        print(describe_plan(suite, candidates, baseline, args.limit))
        return 0
    cache = True if args.cache is None else (False if args.cache.lower() == "none" else args.cache)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    from contextlib import nullcontext

    from alignbench.progress import Heartbeat

    with nullcontext() if args.quiet else Heartbeat("eval") as beat:  # a line between loops too (model loads)
        if beat is not None:
            shown = log
            log = lambda msg: (beat.note(msg), shown(msg))  # noqa: E731
        run_dir = run_suite(
            suite,
            candidates,
            baseline=baseline,
            out=args.out,
            limit=args.limit,
            seed=args.seed,
            cache=cache,
            only=args.only,
            progress=False if args.quiet else None,
            log=log,
            batch_size=args.batch_size,
        )
    print_metrics(run_dir)
    if args.log_samples:
        for path in write_samples_jsonl(run_dir):
            print(f"samples: {path}")
    print(f"\nrun folder: {run_dir}  (metrics.json, run.sqlite)")
    return 0


def write_samples_jsonl(run_dir) -> list:
    """RUN_DIR/samples/<eval>.jsonl (lm-eval's --log_samples): one line per (item, model) of the latest run
    with its per-item metrics, and the stored prompt/output/verdict/score where the eval keeps a sample."""
    import json
    from pathlib import Path

    from alignbench.store import Store

    store = Store(run_dir)
    try:
        run_id = store.latest_run_id()
        rows: dict = {}
        for r in store.conn.execute(
            "SELECT eval, item_id, model, metric, value FROM item_metrics WHERE run_id=? "
            "ORDER BY eval, item_id, model, metric",
            (run_id,),
        ):
            key = (r["eval"], r["item_id"], r["model"])
            rows.setdefault(key, {"eval": r["eval"], "item_id": r["item_id"], "model": r["model"], "metrics": {}})
            rows[key]["metrics"][r["metric"]] = r["value"]
        for r in store.conn.execute("SELECT * FROM samples WHERE run_id=?", (run_id,)):
            key = (r["eval"], r["item_id"], r["model"])
            row = rows.setdefault(
                key, {"eval": r["eval"], "item_id": r["item_id"], "model": r["model"], "metrics": {}}
            )
            row.update(
                {
                    k: r[k]
                    for k in ("prompt", "output", "baseline", "reference", "verdict", "score")
                    if r[k] is not None
                }
            )
            row["meta"] = json.loads(r["meta_json"] or "{}")
    finally:
        store.close()
    out_dir = Path(run_dir) / "samples"
    out_dir.mkdir(exist_ok=True)
    written = []
    for eval_name in sorted({k[0] for k in rows}):
        path = out_dir / (eval_name.replace("/", "__") + ".jsonl")
        with open(path, "w") as fh:
            for key in sorted(k for k in rows if k[0] == eval_name):
                fh.write(json.dumps(rows[key], ensure_ascii=False, default=str) + "\n")
        written.append(path)
    return written


def print_metrics(run_dir) -> None:
    """The run's metrics as a plain table: eval, metric, model, value [95% CI], n."""
    import json
    from pathlib import Path

    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    rows = []
    for eval_name, by_metric in metrics.items():
        for metric, by_model in by_metric.items():
            for model, m in by_model.items():
                value = m.get("value")
                ci = "" if m.get("ci_low") is None or value is None else f"[{m['ci_low']:.3f}, {m['ci_high']:.3f}]"
                rows.append(
                    (eval_name, metric, model, "nan" if value is None else f"{value:.3f}", ci, str(m.get("n")))
                )
    if not rows:
        print("(no metrics)")
        return
    header = ("eval", "metric", "model", "value", "95% CI", "n")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
