"""`alignbench judges list|compare`: see the judge kinds, run a judge on pairs from a file.

Other parts add subcommands with one line: define `add_<name>(jsub)` in your module (it adds a parser
to the judges subparsers and sets `handler=`), import it here and list it in SUBCOMMANDS below.
"""

from __future__ import annotations

import json

from alignbench.commands.judges_train import add_train
from alignbench.commands.judges_validate import add_validate


def add_list(jsub) -> None:
    p = jsub.add_parser("list", help="the judge types and their spec keys")
    p.set_defaults(handler=_list)


def add_compare(jsub) -> None:
    p = jsub.add_parser(
        "compare",
        help="judge pairs from a file: prints one verdict per line and a win rate",
        description="PAIRS: JSONL/CSV rows with prompt, a, b and optional item_id.",
    )
    p.add_argument("pairs", metavar="PAIRS")
    p.add_argument(
        "--judge",
        required=True,
        metavar="YAML|JSON",
        help="a judge spec: a YAML/JSON file or an inline JSON/YAML mapping, e.g. "
        "'{type: rubric, rules: {max_words: 50}}'",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per pair")
    p.set_defaults(handler=_compare)


SUBCOMMANDS = [add_list, add_compare, add_validate, add_train]


def register(sub) -> None:
    p = sub.add_parser("judges", help="judges: list kinds, run one on pairs")
    jsub = p.add_subparsers(dest="judges_command", metavar="ACTION", required=True)
    for add in SUBCOMMANDS:
        add(jsub)


def _list(args) -> int:
    from alignbench.judges import JUDGES

    for name, (_, text) in JUDGES.items():
        print(f"{name:22s} {text}")
    return 0


def _compare(args) -> int:
    from alignbench.data.readers import DataProblem
    from alignbench.data.sources import iter_source_rows
    from alignbench.errors import DataError
    from alignbench.judges import load_judge_spec, make_judge
    from alignbench.stats import mean_with_ci

    judge = make_judge(load_judge_spec(args.judge))
    prompts, a, b, ids, problems = [], [], [], [], []
    for row in iter_source_rows(args.pairs):
        if isinstance(row.data, DataProblem):
            problems.append(f"{row.origin}: {row.data.field}: {row.data.message}")
            continue
        d = row.data if isinstance(row.data, dict) else {}
        missing = [k for k in ("prompt", "a", "b") if not isinstance(d.get(k), str)]
        if missing:
            problems.append(f"{row.origin}: {missing[0]}: missing or not a string")
            continue
        prompts.append(d["prompt"]), a.append(d["a"]), b.append(d["b"])
        ids.append(str(d.get("item_id", len(ids))))
    if problems:
        raise DataError(f"{args.pairs}: {len(problems)} problem(s) in pairs", problems)
    out = judge.compare(prompts, a, b, ids)
    for item_id, j in zip(ids, out):
        if args.json:
            print(
                json.dumps(
                    {
                        "item_id": item_id,
                        "verdict": j.verdict,
                        "score_a": j.score_a,
                        "score_b": j.score_b,
                        "judge": j.judge,
                        "raw": j.raw,
                        "meta": j.meta,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            scores = "" if j.score_a is None else f"  ({j.score_a:.4g} vs {j.score_b:.4g})"
            print(f"{item_id}\t{j.verdict or 'FAILED'}{scores}")
    prefs = [j.preference if j.preference is not None else float("nan") for j in out]
    est = mean_with_ci(prefs)
    if not args.json:
        print(
            f"A's win rate {est.value:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}] over {est.n} judged pairs "
            f"({len(out) - est.n} failed), judge {judge.name}"
        )
    return 0
