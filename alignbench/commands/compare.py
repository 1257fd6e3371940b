"""`alignbench compare BASE_RUN CAND_RUN [--gates gates.yaml] [--junit FILE] [--summary FILE]`:
per-metric changes with paired bootstrap CIs, and CI gates.  Exit 0: all gates pass; 1: a gate
failed; 2: bad input (missing run, differing item sets, invalid gates file)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two runs metric by metric (paired bootstrap) and check CI gates",
        description="Exit status: 0 all gates pass, 1 a gate failed, 2 bad input.",
    )
    p.add_argument("base", metavar="BASE_RUN", help="run folder of the reference (RUN_DIR or RUN_DIR@RUN_ID)")
    p.add_argument("cand", metavar="CAND_RUN", help="run folder of the candidate")
    p.add_argument("--gates", metavar="YAML", help="gate rules (see docs/reports.md)")
    p.add_argument(
        "--fail-on-regression", action="store_true", help="add a gate: no metric may get significantly worse"
    )
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML, one test case per gate")
    p.add_argument("--summary", metavar="FILE", help='append a Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY")')
    p.add_argument("--model", metavar="NAME", help="candidate model name on both sides")
    p.add_argument("--base-model", metavar="NAME", help="model of BASE_RUN to compare (when it has several)")
    p.add_argument("--cand-model", metavar="NAME", help="model of CAND_RUN to compare (when it has several)")
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="when the runs saw different items, compare on the shared items instead of refusing",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (fixed, so verdicts never flake)")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    p.set_defaults(handler=_compare)


def _compare(args) -> int:
    from pathlib import Path

    from alignbench.reports.compare import check_comparable, compare_runs, comparison_warnings
    from alignbench.reports.gates import Gate, evaluate_gates, exit_code, junit_xml, load_gates, summary_markdown
    from alignbench.reports.load import load_run

    gates = load_gates(args.gates) if args.gates else []  # bad gates: exit 2 before any work
    if args.fail_on_regression:
        gates.append(
            Gate(
                metric="*",
                rule="no_regression",
                threshold=None,
                use="ci",
                name="no significant regression",
                required=False,
                where="--fail-on-regression",
            )
        )
    base, cand = load_run(args.base), load_run(args.cand)
    check_comparable(base, "base")  # a run that failed before any metric: say so, exit 2
    check_comparable(cand, "candidate")
    comparison = compare_runs(
        base,
        cand,
        base_model=args.base_model or args.model,
        cand_model=args.cand_model or args.model,
        allow_partial=args.allow_partial,
        seed=args.seed,
        n_resamples=args.resamples,
    )
    results = evaluate_gates(gates, comparison)
    summary = summary_markdown(comparison, results)
    warnings = comparison_warnings(comparison)
    if warnings:  # unfinished runs, small samples: at the top of the summary, and on stderr
        title, _, rest = summary.partition("\n")
        summary = title + "\n\n" + "".join(f"> ⚠️ **Warning:** {w}\n" for w in warnings) + rest
        for w in warnings:
            print(f"alignbench: warning: {w}", file=sys.stderr)
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        with open(args.summary, "a") as fh:  # append: $GITHUB_STEP_SUMMARY may hold other steps' output
            fh.write(summary)
    if args.junit:
        Path(args.junit).parent.mkdir(parents=True, exist_ok=True)
        Path(args.junit).write_text(junit_xml(results, comparison))
    sys.stdout.write(summary)
    return exit_code(results)
