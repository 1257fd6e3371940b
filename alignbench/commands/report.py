"""`alignbench report RUN_DIR... [--out DIR] [--format md,html,tex,csv]`: paper-style tables, figures
and a self-contained report.html from run stores (nothing is recomputed)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="paper-style tables (md/tex/csv), figures and report.html from run folders",
        description="Columns are the models of the runs in the order given (a model seen in two runs, "
        "same fingerprint, is one column); rows are the metrics, each cell value [95% CI].",
    )
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN_DIR",
        help="run folder (holds run.sqlite); RUN_DIR@RUN_ID picks one run when the folder holds several",
    )
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/report of the first run)")
    p.add_argument(
        "--format",
        default="md,html,tex,csv",
        help="comma-separated subset of md, html, tex, csv (figures are always written)",
    )
    p.add_argument(
        "--all-metrics",
        action="store_true",
        help="every stored metric in the md/tex/html tables, not only the headline ones (the CSV has all)",
    )
    p.add_argument("--title", default="alignbench report", help="title of report.html and results.md")
    p.set_defaults(handler=_report)


def _report(args) -> int:
    from pathlib import Path

    from alignbench.reports import write_report

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    out = (
        Path(args.out)
        if args.out
        else Path(
            args.runs[0].rsplit("@", 1)[0] if "@" in args.runs[0] and not Path(args.runs[0]).exists() else args.runs[0]
        )
        / "report"
    )
    import sys

    from alignbench.reports import load_runs, status_warning

    written = write_report(args.runs, out, formats=formats, title=args.title, all_metrics=args.all_metrics)
    for kind, path in written.items():
        print(f"{kind:24s} {path}")
    for warning in filter(None, map(status_warning, load_runs(args.runs))):  # also a banner in the report
        print(f"alignbench: warning: {warning}", file=sys.stderr)
    return 0
