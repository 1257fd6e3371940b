"""`alignbench label create|add-labeler|serve|status|export`: human feedback in a browser (docs/labeling.md).

Imports of the web stack stay inside the handlers so `alignbench --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys


def _min_gold(p) -> None:
    p.add_argument(
        "--min-gold-agreement",
        type=float,
        default=None,
        metavar="X",
        help="leave out labelers whose agreement with the gold labels is below X (0-1), or who have none",
    )


def register(sub) -> None:
    p = sub.add_parser(
        "label", help="collect human rankings / comparisons in a web app; export them for train rm and the human judge"
    )
    lsub = p.add_subparsers(dest="label_command", metavar="SUBCOMMAND", required=True)

    c = lsub.add_parser("create", help="make a labeling project from an eval run folder or a file of items")
    c.add_argument("project", metavar="PROJECT_DIR")
    c.add_argument(
        "--task",
        choices=("rank", "compare"),
        required=True,
        help="rank: order K responses (ties allowed); compare: candidate vs baseline (A/B/tie)",
    )
    c.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="RUN_DIR|FILE",
        help="an eval run folder (its win-rate samples) or a JSONL/CSV of items (docs/labeling.md)",
    )
    c.add_argument("--overlap", type=float, default=0.2, help="share of items given to several labelers (agreement)")
    c.add_argument("--overlap-labelers", type=int, default=2, help="labelers per overlapping item (default 2)")
    c.add_argument(
        "--gold", default=None, metavar="FILE", help="researcher labels every labeler sees first (screening)"
    )
    c.add_argument("--eval", dest="eval_name", default=None, help="RUN_DIR: which eval's samples (default: the first)")
    c.add_argument(
        "--candidate", default=None, help="RUN_DIR, compare: which candidate (needed when there are several)"
    )
    c.add_argument("--seed", type=int, default=0, help="seeds the hand-out order, overlap choice and display order")
    c.set_defaults(handler=_create)

    a = lsub.add_parser("add-labeler", help="register a labeler and print their personal URL (shown once)")
    a.add_argument("project", metavar="PROJECT_DIR")
    a.add_argument("name", metavar="NAME")
    a.add_argument(
        "--group",
        choices=("train", "heldout"),
        default="train",
        help="train: labels may train the RM; heldout: the paper's held-out labelers",
    )
    a.add_argument("--host", default="127.0.0.1", help="host in the printed URL")
    a.add_argument("--port", type=int, default=8000, help="port in the printed URL")
    a.set_defaults(handler=_add_labeler)

    s = lsub.add_parser("serve", help="run the labeling web app")
    s.add_argument("project", metavar="PROJECT_DIR")
    s.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--lease-minutes",
        type=_lease,
        default=None,
        metavar="M",
        help="an item left unlabelled this long may go to a labeler with nothing else to do; the first holder's "
        "late label is still kept (default 60; 0: never)",
    )
    s.set_defaults(handler=_serve)

    st = lsub.add_parser("status", help="progress per labeler, gold agreement, inter-annotator agreement so far")
    st.add_argument("project", metavar="PROJECT_DIR")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(handler=_status)

    e = lsub.add_parser(
        "export",
        help="write rankings (train rm), judgements (human judge), likert, labelers, "
        "or metrics (into the results store)",
    )
    e.add_argument("project", metavar="PROJECT_DIR")
    e.add_argument("--format", required=True, choices=("rankings", "judgements", "likert", "labelers", "metrics"))
    e.add_argument(
        "--out",
        default=None,
        help="output file (.jsonl/.csv/.parquet; default PROJECT_DIR/FORMAT.jsonl); "
        "metrics: a run folder (default: the source run, else PROJECT_DIR/results)",
    )
    e.add_argument(
        "--group",
        choices=("train", "heldout", "all"),
        default=None,
        help="labeler group to export (default: train for rankings, all otherwise)",
    )
    _min_gold(e)
    e.set_defaults(handler=_export)


def _create(args) -> int:
    from alignbench.labeling import create_project

    project = create_project(
        args.project,
        args.task,
        args.source,
        overlap=args.overlap,
        overlap_labelers=args.overlap_labelers,
        gold=args.gold,
        seed=args.seed,
        eval_name=args.eval_name,
        candidate=args.candidate,
    )
    items = project.items()
    gold = sum(it["is_gold"] for it in items)
    overlap = sum(it["copies"] > 1 for it in items if not it["is_gold"])
    print(f"created {args.task} project {project.folder}: {len(items)} items ({gold} gold, {overlap} overlapping)")
    print(f"next: alignbench label add-labeler {args.project} NAME")
    return 0


def _add_labeler(args) -> int:
    from alignbench.labeling import Project
    from alignbench.labeling.auth import personal_url

    token = Project(args.project).add_labeler(args.name, args.group)
    print(f"labeler {args.name} ({args.group}); personal URL (keep it secret, it is shown only once):")
    print(personal_url(args.host, args.port, token))
    return 0


def _lease(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of minutes >= 0 (0: never), got {text!r}")
    return value


def _serve(args) -> int:
    from alignbench.labeling import Project
    from alignbench.labeling.app import serve
    from alignbench.labeling.assignment import LEASE_MINUTES

    Project(args.project)  # a clear error before uvicorn starts
    lease = LEASE_MINUTES if args.lease_minutes is None else args.lease_minutes
    print(
        f"serving {args.project} on http://{args.host}:{args.port} (labelers open their personal URL); "
        + (f"an item open {lease:g} min may go to another labeler" if lease else "open items never move"),
        file=sys.stderr,
    )
    serve(args.project, host=args.host, port=args.port, lease_minutes=lease)
    return 0


def status(project) -> dict:
    from alignbench.labeling.agreement import gold_agreement, inter_annotator

    labels = project.all_labels()
    gold = gold_agreement(labels)
    rows = []
    for lab in project.labelers():
        prog = project.progress(lab["labeler_id"])
        g = gold.get(lab["name"])
        rows.append(
            {
                "labeler": lab["name"],
                "group": lab["grp"],
                "labelled": prog["done"],
                "open": prog["assigned"] - prog["done"],
                "released": prog["released"],  # open items that went to another labeler after the lease
                "gold": None if g is None else g.as_dict(),
            }
        )
    items = project.items()
    done = {lab["item_id"] for lab in labels}
    regular = [lab for lab in labels if not lab["is_gold"]]
    return {
        "task": project.task,
        "items": len(items),
        "gold_items": sum(it["is_gold"] for it in items),
        "items_labelled": len(done),
        "labels": len(labels),
        "labelers": rows,
        "agreement": {
            g: inter_annotator(regular, None if g == "all" else g).as_dict() for g in ("all", "train", "heldout")
        },
    }


def _fmt(est: dict | None) -> str:
    if not est or est["n_items"] == 0:
        return "–"
    return f"{est['value']:.3f} [{est['ci_low']:.3f}, {est['ci_high']:.3f}] (n={est['n_items']})"


def _status(args) -> int:
    from alignbench.labeling import Project

    info = status(Project(args.project))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(
        f"{info['task']} project {args.project}: {info['items_labelled']}/{info['items']} items labelled "
        f"({info['labels']} labels, {info['gold_items']} gold items)"
    )
    print(f"{'labeler':20s} {'group':8s} {'labelled':>8s} {'open':>5s} {'released':>8s}  gold agreement [95% CI]")
    for r in info["labelers"]:
        print(
            f"{r['labeler'][:20]:20s} {r['group']:8s} {r['labelled']:8d} {r['open']:5d} {r['released']:8d}  "
            f"{_fmt(r['gold'])}"
        )
    for group, est in info["agreement"].items():
        print(f"inter-annotator agreement ({group}): {_fmt(est)}")
    return 0


def _export(args) -> int:
    from pathlib import Path

    from alignbench.labeling import Project

    project = Project(args.project)
    if args.format == "metrics":
        from alignbench.labeling.metrics import write_metrics

        run_dir, run_id, n = write_metrics(project, into=args.out, min_gold_agreement=args.min_gold_agreement)
        print(f"wrote {n} metric rows into {run_dir} (run {run_id}); `alignbench report {run_dir}` shows them")
        return 0
    from alignbench.labeling.export import export

    out = Path(args.out) if args.out else Path(args.project) / f"{args.format}.jsonl"
    path, n, notes = export(project, args.format, out, group=args.group, min_gold_agreement=args.min_gold_agreement)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {n} {args.format} rows to {path}")
    return 0
