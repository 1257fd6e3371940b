"""`alignbench judges validate`: how well a hallucination judge agrees with human consistency labels.

    alignbench judges validate --judge lexical --dataset qags [--limit N] [--threshold 0.1]
    alignbench judges validate --judge nli --model path/to/nli-model --dataset summedits --split test
    alignbench judges validate --judge '{type: llm, model: openai:gpt-4o-mini@URL}' --dataset summedits

Prints balanced accuracy (hallucinated = positive class) overall and per subset (QAGS cnndm/xsum, SummEdits
domain), the figure the SummEdits benchmark reports.
"""

from __future__ import annotations

import json


def add_validate(jsub) -> None:
    p = jsub.add_parser(
        "validate", help="balanced accuracy of a hallucination judge against human labels (QAGS, SummEdits)"
    )
    p.add_argument(
        "--judge",
        required=True,
        metavar="lexical|nli|llm|SPEC",
        help="a judge type, or a judge spec mapping (inline YAML/JSON or a file)",
    )
    p.add_argument("--model", help="model spec for the nli / llm judges")
    p.add_argument(
        "--threshold", type=float, help="decision threshold (lexical: unsupported-word share; nli: 1-P(entail))"
    )
    p.add_argument("--dataset", required=True, choices=["qags", "summedits"])
    p.add_argument("--subset", help="qags: cnndm|xsum; summedits: a domain (default: all)")
    p.add_argument("--split", help="summedits: evaluation|test (default: all)")
    p.add_argument("--source", help="a local folder/file instead of the shared data / hub copy")
    p.add_argument("--limit", type=int, help="a seeded random sample of this many items")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_validate)


def _validate(args) -> int:
    from alignbench.errors import AlignbenchError
    from alignbench.evals.hallucination import validate_judge
    from alignbench.judges import load_judge_spec, make_judge

    spec = {"type": args.judge} if args.judge in ("lexical", "nli", "llm") else load_judge_spec(args.judge)
    if args.model:
        spec["model"] = args.model
    if args.threshold is not None:
        spec["threshold"] = args.threshold
    try:
        judge = make_judge(spec, task="hallucination")
        result = validate_judge(
            judge, args.dataset, limit=args.limit, subset=args.subset, split=args.split, source=args.source
        )
    except ValueError as exc:
        raise AlignbenchError(str(exc)) from exc
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"judge {result['judge']} on {result['dataset']}: {result['n']} items, {result['hallucinated']} labelled "
        f"hallucinated by humans, {result['predicted_hallucinated']} by the judge"
    )
    for name, sub in result["subsets"].items():
        ba = "n/a (one class)" if sub["balanced_accuracy"] is None else f"{sub['balanced_accuracy']:.3f}"
        print(f"  {name:14s} n={sub['n']:5d}  hallucinated={sub['hallucinated']:5d}  balanced accuracy {ba}")
    print(
        f"balanced accuracy {result['balanced_accuracy']:.3f} "
        f"(mean over subsets {result['mean_subset_balanced_accuracy']:.3f})"
    )
    return 0
