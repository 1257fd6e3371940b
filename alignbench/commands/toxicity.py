"""`alignbench toxicity list|score|train|agreement`: toxicity scorers, and the distilled Perspective head."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "toxicity", help="score texts for toxicity; train / check the offline Perspective approximation"
    )
    tsub = p.add_subparsers(dest="toxicity_command", metavar="ACTION", required=True)

    ls = tsub.add_parser("list", help="the scorers and which one is the default here")
    ls.set_defaults(handler=_list)

    sc = tsub.add_parser("score", help="score a column of texts in a JSONL / CSV / JSON / Parquet file")
    sc.add_argument("file", help="input file (JSONL, CSV, JSON array, Parquet; .gz ok)")
    sc.add_argument(
        "--scorer",
        default=None,
        help="scorer spec (default: detoxify if its weights are on disk, "
        "else distilled-perspective); see `alignbench toxicity list`",
    )
    sc.add_argument(
        "--column",
        default="text",
        help="field holding the text; dots reach into objects, e.g. continuation.text (default: text)",
    )
    sc.add_argument(
        "--out",
        default=None,
        help="write rows + `toxicity` here (.jsonl or .csv), batch by batch; default: JSONL on stdout",
    )
    sc.add_argument("--output-field", default="toxicity", help="name of the score field added (default: toxicity)")
    sc.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the score fields if input rows already have them (default: refuse, exit 2)",
    )
    sc.add_argument("--resume", action="store_true", help="keep the rows already in --out (JSONL) and score the rest")
    sc.add_argument("--batch-size", type=int, default=256, help="texts per scoring call (default 256)")
    sc.set_defaults(handler=_score)

    tr = tsub.add_parser("train", help="rebuild the distilled-perspective head from texts with Perspective scores")
    tr.add_argument(
        "--data",
        default=None,
        help="RealToxicityPrompts JSONL file or folder (default: $ALIGNBENCH_SHARED_DATA/realtoxicityprompts)",
    )
    tr.add_argument(
        "--out",
        default=None,
        help="head file to write (default: the packaged "
        "alignbench/resources/toxicity/distilled_perspective.safetensors)",
    )
    tr.add_argument("--folds", type=int, default=5, help="GroupKFold folds, grouped by prompt (default 5)")
    tr.add_argument("--limit", type=int, default=None, help="use only the first N texts (quick checks)")
    tr.add_argument(
        "--feature-cache",
        default=None,
        help="folder for cached feature matrices (default: $ALIGNBENCH_CACHE/toxicity-features)",
    )
    tr.add_argument("--json", action="store_true", help="print the head's card (CV table) as JSON at the end")
    tr.set_defaults(handler=_train)

    ag = tsub.add_parser("agreement", help="Spearman / Pearson / ROC-AUC of scorers against reference scores")
    ag.add_argument(
        "--data",
        default=None,
        help="RTP-format JSONL file or folder (prompt/continuation with "
        "Perspective toxicity; default: the shared RTP folder), or any "
        "table with --column and --reference",
    )
    ag.add_argument(
        "--scorer",
        action="append",
        default=None,
        help="scorer spec; repeat for several (default: profanity-check and distilled-perspective)",
    )
    ag.add_argument("--column", default=None, help="text field of a generic table (then --reference is needed)")
    ag.add_argument("--reference", default=None, help="reference-score field of a generic table, e.g. toxicity")
    ag.add_argument("--limit", type=int, default=None, help="use only the first N texts")
    ag.add_argument("--json", action="store_true", help="print JSON")
    ag.set_defaults(handler=_agreement)


def _list(args) -> int:
    from alignbench.scorers.toxicity import SCORERS, default_scorer_name

    default = default_scorer_name()
    for name, (_, text) in SCORERS.items():
        print(f"{'*' if name == default else ' '} {name:22s} {text}")
    print("\n* = default on this machine")
    return 0


def _get(row: dict, column: str):
    value = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def read_texts(source, column: str, reference: str | None = None):
    """(rows, texts, references, origins) of a table; DataError lists every row whose field is missing."""
    from alignbench.data.readers import DataProblem
    from alignbench.data.sources import iter_source_rows
    from alignbench.errors import DataError

    rows, texts, refs, origins, problems = [], [], [], [], []
    for row in iter_source_rows(source):
        if isinstance(row.data, DataProblem):
            problems.append(f"{row.origin}: {row.data.field}: {row.data.message}")
            continue
        text = _get(row.data, column) if isinstance(row.data, dict) else None
        if not isinstance(text, str):
            got = "missing" if text is None else f"not a string ({type(text).__name__})"
            problems.append(f"{row.origin}: {column}: {got}")
            continue
        if reference is not None:
            ref = _get(row.data, reference)
            try:
                ref = float(ref)
            except (TypeError, ValueError):
                problems.append(f"{row.origin}: {reference}: expected a number, got {ref!r}")
                continue
            refs.append(ref)
        rows.append(row.data)
        texts.append(text)
        origins.append(row.origin)
    if problems:
        raise DataError(
            f"{source}: {len(problems)} problem(s)",
            problems[:50] + ([f"... and {len(problems) - 50} more"] if len(problems) > 50 else []),
        )
    return rows, texts, refs, origins


def _score(args) -> int:
    import numpy as np

    from alignbench.errors import AlignbenchError, DataError
    from alignbench.scorers.toxicity import get_toxicity_scorer

    rows, texts, _, origins = read_texts(args.file, args.column)
    # Never destroy what the input carries (e.g. reference Perspective scores in a `toxicity` field)
    # unless asked: check every row before anything is scored or written.
    added = (args.output_field, f"{args.output_field}_scorer")
    clashes = [
        f"{origin}: {field}: already in the input row"
        for row, origin in zip(rows, origins)
        for field in added
        if field in row
    ]
    if clashes and not args.overwrite:
        raise DataError(
            f"{args.file}: {len(clashes)} row field(s) would be overwritten; pick another "
            f"--output-field or pass --overwrite",
            clashes[:20] + ([f"... and {len(clashes) - 20} more"] if len(clashes) > 20 else []),
        )
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix not in (".jsonl", ".csv"):
        raise AlignbenchError(f"--out {out}: use a .jsonl or .csv file")
    done = 0
    if args.resume:
        if out is None or out.suffix != ".jsonl":
            raise AlignbenchError("--resume needs --out FILE.jsonl")
        if out.is_file():
            done = sum(1 for line in out.open(encoding="utf-8") if line.strip())
    scorer = get_toxicity_scorer(args.scorer)
    meta = scorer.info()
    started = time.perf_counter()
    scores: list[float] = []
    fh = sys.stdout if out is None else out.open("a" if done else "w", encoding="utf-8", newline="")
    writer = None
    try:
        for start in range(done, len(texts), args.batch_size):
            batch = scorer.score(texts[start : start + args.batch_size], batch_size=args.batch_size)
            scores.extend(batch.tolist())
            for row, value in zip(rows[start : start + args.batch_size], batch):
                record = {**row, args.output_field: float(value), f"{args.output_field}_scorer": scorer.name}
                if out is not None and out.suffix == ".csv":
                    import csv

                    if writer is None:
                        writer = csv.DictWriter(fh, fieldnames=list(record))
                        writer.writeheader()
                    writer.writerow(
                        {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in record.items()}
                    )
                else:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()  # each batch is on disk before the next one starts: an interrupted run loses one batch
    finally:
        if out is not None:
            fh.close()
    seconds = time.perf_counter() - started
    arr = np.asarray(scores)
    summary = f"{scorer.name}: scored {len(arr)} texts in {seconds:.1f}s ({len(arr) / max(seconds, 1e-9):.0f}/s)" + (
        f", {done} kept from {out}" if done else ""
    )
    if len(arr):
        summary += f"; mean {arr.mean():.4f}, >= 0.5: {(arr >= 0.5).mean():.2%}"
    if meta.get("approximates"):
        summary += f" (approximates {meta['approximates']})"
    print(summary, file=sys.stderr)
    return 0


def _train(args) -> int:
    from alignbench.scorers.toxicity.train import train_distilled_head

    log = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    result = train_distilled_head(
        args.data, out=args.out, n_folds=args.folds, limit=args.limit, feature_cache=args.feature_cache, log=log
    )
    if args.json:
        print(json.dumps(result.card, indent=2, sort_keys=True))
    return 0


def _agreement(args) -> int:
    from alignbench.errors import AlignbenchError
    from alignbench.scorers.toxicity import get_toxicity_scorer
    from alignbench.scorers.toxicity.train import agreement, default_data_dir, load_perspective_texts

    if args.column or args.reference:
        if not (args.column and args.reference and args.data):
            raise AlignbenchError("a generic table needs --data FILE, --column TEXT_FIELD and --reference SCORE_FIELD")
        _, texts, refs, _ = read_texts(args.data, args.column, args.reference)
        source = args.data
    else:
        data = load_perspective_texts(args.data)
        texts, refs = data.texts, list(data.toxicity)
        source = args.data or str(default_data_dir())
    if args.limit:
        texts, refs = texts[: args.limit], refs[: args.limit]
    specs = args.scorer or ["profanity-check", "distilled-perspective"]
    results = []
    for spec in specs:
        scorer = get_toxicity_scorer(spec)
        started = time.perf_counter()
        pred = scorer.score(texts)
        seconds = time.perf_counter() - started
        row = {
            "scorer": scorer.name,
            "approximates": scorer.approximates,
            **agreement(pred, refs),
            "texts_per_s": len(texts) / max(seconds, 1e-9),
        }
        results.append(row)
    in_sample = args.data is None or Path(args.data).resolve() == default_data_dir().resolve()
    if args.json:
        print(json.dumps({"data": str(source), "results": results}, indent=2))
        return 0
    print(f"agreement with reference scores in {source} ({len(texts)} texts):")
    print(f"{'scorer':28s} {'spearman':>9s} {'pearson':>9s} {'roc_auc':>8s} {'texts/s':>8s}")
    for r in results:
        print(
            f"{r['scorer']:28s} {r['spearman']:9.4f} {r['pearson']:9.4f} {r['roc_auc']:8.4f} {r['texts_per_s']:8.0f}"
        )
    if in_sample and any(r["scorer"].startswith("distilled-perspective") for r in results):
        print(
            "note: distilled-perspective was trained on these texts, so its figures here are in-sample; "
            "its cross-validated figures are in `alignbench toxicity train` and docs/toxicity.md"
        )
    return 0
