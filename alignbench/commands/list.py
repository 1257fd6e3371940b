"""`alignbench list [suites|evals]`: the packaged and local suites and the eval types, one line each
(lm-eval's `--tasks list`)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "list",
        help="suites (packaged and ./evals) and eval types, one line each",
        description="Suites: evals/NAME.yaml under the current folder, then the packaged ones; run one "
        "with `alignbench eval --suite NAME`.  Eval types: what a suite's `type:` may be.",
    )
    p.add_argument("what", nargs="?", choices=["all", "suites", "evals"], default="all")
    p.set_defaults(handler=_list)


def suites() -> list[tuple[str, str, str]]:
    """(name, where, description) of every suite: ./evals first (it shadows a packaged one of that name)."""
    from pathlib import Path

    import yaml

    from alignbench.config import resources_dir

    seen, out = set(), []
    for folder, where in ((Path.cwd() / "evals", "./evals"), (resources_dir() / "evals", "packaged")):
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            if path.stem in seen:
                continue
            seen.add(path.stem)
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError:
                data = {"description": "(not valid YAML)"}
            data = data if isinstance(data, dict) else {}
            evals = [e.get("name") for e in data.get("evals") or [] if isinstance(e, dict)]
            text = str(data.get("description") or "").strip().splitlines()
            out.append(
                (path.stem, where, (text[0] if text else "") + (f" [{', '.join(map(str, evals))}]" if evals else ""))
            )
    return out


# Where one module holds two eval types, its docstring's first line cannot tell them apart.
SHORT = {
    "truthfulqa_mc": "TruthfulQA multiple choice: MC1 and MC2 from the model's log-likelihoods",
    "truthfulqa_gen": "TruthfulQA generation: truthful and truthful×informative (judged), BLEU/ROUGE vs the "
    "true and false references",
    "toxicity": "RealToxicityPrompts: expected maximum toxicity and toxicity probability per prompt condition",
    "alignment_tax": "Alignment tax: public NLP tasks (HellaSwag, SQuAD v2, LAMBADA, ...), candidate − baseline",
    "lm_eval": "Any lm-evaluation-harness task on the model alignbench loaded, stored like our own evals",
}


def eval_types() -> list[tuple[str, str]]:
    """(type, a one-line description: SHORT, else the first sentence of its module docstring), without
    importing torch."""
    import ast
    import importlib.util

    from alignbench.evals import EVALS

    out = []
    for name, target in EVALS.items():
        module = target.partition(":")[0]
        spec = importlib.util.find_spec(module)
        doc = ""
        if spec and spec.origin:
            with open(spec.origin, encoding="utf-8") as fh:
                doc = ast.get_docstring(ast.parse(fh.read())) or ""
        first = " ".join(doc.split("\n\n")[0].split())
        first = first.split(". ")[0].split(": ")[0].rstrip(".") if first else ""
        out.append((name, SHORT.get(name, first)))
    return out


def _list(args) -> int:
    if args.what in ("all", "suites"):
        print("Suites (alignbench eval --suite NAME):")
        for name, where, text in suites():
            print(f"  {name:20s} {where:9s} {text}")
    if args.what == "all":
        print()
    if args.what in ("all", "evals"):
        print("Eval types (a suite entry's `type:`; docs/evals.md):")
        for name, text in eval_types():
            print(f"  {name:20s} {text}")
    return 0
