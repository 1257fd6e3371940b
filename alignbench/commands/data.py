"""`alignbench data validate|list|show|convert`: check data files, see the real data sets, export them."""

from __future__ import annotations

import json
import os
import sys

KINDS = ("demonstration", "ranking", "prompt", "pretrain", "eval")


def register(sub) -> None:
    p = sub.add_parser("data", help="validate data files; list, show and convert the real data sets")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    v = dsub.add_parser(
        "validate",
        help="check FILE(s) as KIND records; print every problem as file:line: field: message",
        description="Exit code: 0 all records valid, 1 problems found, 2 input unreadable.",
    )
    v.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="JSONL, JSON array, CSV, Parquet (optionally .gz), a folder, or hf:NAME[:CONFIG][@SPLIT]",
    )
    v.add_argument("--kind", required=True, choices=KINDS)
    v.add_argument("--max-problems", type=int, default=None, metavar="N", help="stop after N problems per file")
    v.add_argument("--json", action="store_true", help="print one JSON object per file instead")
    v.set_defaults(handler=_validate)

    ls = dsub.add_parser("list", help="the data-set adapters and where each loads from")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=_list)

    for name, helptext in (
        ("show", "print the first records of a data set"),
        ("convert", "write a data set (or a data file) as .jsonl / .csv / .parquet records"),
        ("stats", "counts, K and ties, length percentiles (chars; tokens with --tokenizer), meta spread"),
    ):
        c = dsub.add_parser(name, help=helptext)
        c.add_argument(
            "name",
            metavar="NAME",
            help="a data set from `alignbench data list`" + (", or a data file with --kind" if name != "show" else ""),
        )
        c.add_argument(
            "--source",
            default=None,
            help="local folder/file of the data set, 'hf' or hf:ORG/NAME "
            "(default: the shared data folder, else the hub)",
        )
        c.add_argument("--subset", default=None)
        c.add_argument("--split", default=None)
        c.add_argument("--version", default=None)
        c.add_argument("--limit", type=int, default=3 if name == "show" else None)
        if name == "show":
            c.add_argument("--full", action="store_true", help="do not shorten long strings")
            c.set_defaults(handler=_show)
        elif name == "stats":
            c.add_argument("--kind", choices=KINDS, default=None, help="record kind when NAME is a data file")
            c.add_argument(
                "--tokenizer",
                default=None,
                metavar="MODEL",
                help="also count tokens with MODEL's tokenizer (a model spec, e.g. smollm2-135m)",
            )
            c.add_argument("--json", action="store_true")
            c.set_defaults(handler=_stats)
        else:
            c.add_argument("--out", required=True, metavar="FILE")
            c.add_argument("--kind", choices=KINDS, default=None, help="record kind when NAME is a data file")
            c.set_defaults(handler=_convert)


def _validate(args) -> int:
    from alignbench.data.validate import validate_source
    from alignbench.errors import DataError

    status = 0
    for source in args.files:
        try:
            result = validate_source(source, args.kind, max_problems=args.max_problems)
        except DataError:
            raise
        except Exception as exc:  # a validator must never end in a traceback, whatever bytes it is fed
            if os.environ.get("ALIGNBENCH_DEBUG"):
                raise
            raise DataError(f"{source}: cannot read: {type(exc).__name__}: {exc}") from exc
        if args.json:
            print(
                json.dumps(
                    {
                        "source": result.source,
                        "kind": result.kind,
                        "rows": result.n_rows,
                        "valid": result.n_valid,
                        "ok": result.ok,
                        "problems": [str(p) for p in result.problems],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            for problem in result.problems:
                print(problem)
            print(result.summary(), file=sys.stderr if result.problems else sys.stdout)
        status = max(status, 0 if result.ok else 1)
    return status


def _list(args) -> int:
    from alignbench.data.adapters import ADAPTERS, resolve_source
    from alignbench.errors import DataError

    rows = []
    for adapter in ADAPTERS.values():
        try:
            where, location = resolve_source(adapter)
            location = str(location) if where == "local" else f"hf:{location}"
        except DataError:
            location = "(not available: no local folder, no hub copy)"
        rows.append(
            {
                "name": adapter.name,
                "kind": adapter.kind,
                "source": location,
                "subsets": list(adapter.subsets),
                "versions": list(adapter.versions),
                "splits": list(adapter.splits),
                "description": adapter.description,
                "notes": adapter.notes,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']:20s} {row['kind']:8s} {row['description']}")
        print(f"{'':29s} from: {row['source']}")
        for key in ("subsets", "versions", "splits"):
            if row[key]:
                print(f"{'':29s} {key}: {', '.join(row[key])}")
        if row["notes"]:
            print(f"{'':29s} {row['notes']}")
    return 0


def _shorten(value, width: int = 240):
    if isinstance(value, str) and len(value) > width:
        return value[:width] + f"... [{len(value)} chars]"
    if isinstance(value, dict):
        return {k: _shorten(v, width) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v, width) for v in value]
    return value


def _show(args) -> int:
    from alignbench.data.adapters import LoadReport, iter_dataset_items

    report = LoadReport()
    for record in iter_dataset_items(
        args.name,
        source=args.source,
        split=args.split,
        version=args.version,
        limit=args.limit,
        subset=args.subset,
        report=report,
    ):
        data = record.to_dict()
        print(json.dumps(data if args.full else _shorten(data), indent=2, ensure_ascii=False))
    print(
        f"# {record.kind} records; {report.summary()}" if report.records else f"# {report.summary()}", file=sys.stderr
    )
    return 0


def _records_of(args) -> tuple[list, str]:
    """Records named on the command line: a data set (with its choices) or a data file with --kind."""
    from pathlib import Path

    from alignbench.data.adapters import ADAPTERS, ALIASES, LoadReport, iter_dataset_items
    from alignbench.data.sources import read_records
    from alignbench.errors import DataError

    if args.name in ADAPTERS or args.name in ALIASES:
        report = LoadReport()
        records = list(
            iter_dataset_items(
                args.name,
                source=args.source,
                split=args.split,
                version=args.version,
                limit=args.limit,
                subset=args.subset,
                report=report,
            )
        )
        summary = report.summary()
    elif Path(args.name).exists() or args.name.startswith(("hf:", "data:")):
        if not args.kind:
            raise DataError(f"{args.name}: a data file needs --kind ({', '.join(KINDS)})")
        records = read_records(args.name, args.kind, limit=args.limit)
        summary = f"{args.name}: {len(records)} {args.kind} records"
    else:
        raise DataError(f"{args.name}: neither a data set ({', '.join(ADAPTERS)}) nor an existing file")
    return records, summary


def _convert(args) -> int:
    from alignbench.data.writers import write_records

    records, summary = _records_of(args)
    write_records(args.out, records)
    print(f"{summary}; wrote {args.out}")
    return 0


def _stats(args) -> int:
    from alignbench.data.stats import describe_records

    records, summary = _records_of(args)
    tokenizer = None
    if args.tokenizer:
        from alignbench.models import load_tokenizer, resolve

        tokenizer = load_tokenizer(resolve(args.tokenizer))
    stats = {"source": summary, **describe_records(records, tokenizer)}
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        print(f"{key:18s} {value}")
    return 0
