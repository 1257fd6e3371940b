"""The paper's evals, each a module with `run(ctx, spec)`, and the registry the suite runner reads.

Contract (docs/architecture.md, "Evals and suites"):

    def run(ctx: EvalContext, spec: EvalSpec) -> None

`ctx` (alignbench.evals.context.EvalContext) gives the store, run id, candidate/baseline models, shared
lazily built engines and judges, `limit`, `seed` and a progress bar; `spec` is the eval's entry in the
suite YAML.  An eval writes items, generations (through the engines' cache), judgements, samples,
item_metrics and metrics with the naming of docs/architecture.md, and must be safe to run again: a
rerun into the same run folder finds generations and judgements cached and rewrites identical rows.

A module may also define `SPEC_KEYS` (the spec keys it reads beyond the common ones) so a typo in a
suite YAML is an error naming the file and key, and `validate(spec) -> list[str]` for deeper checks.

Registry values are import paths, so `import alignbench.evals` stays free of torch.  Add an eval with
one line here.
"""

from __future__ import annotations

EVALS: dict[str, str] = {
    "winrate": "alignbench.evals.winrate:run",
    "truthfulqa_mc": "alignbench.evals.truthfulqa:run_mc",
    "truthfulqa_gen": "alignbench.evals.truthfulqa:run_gen",
    "toxicity": "alignbench.evals.toxicity:run",
    "hallucination": "alignbench.evals.hallucination:run",
    "alignment_tax": "alignbench.evals.alignment_tax:run",
    "lm_eval": "alignbench.evals.lm_eval_bridge:run",
}


def get_eval(type_name: str):
    """The `run` function registered under `type_name` (imported on first use)."""
    import importlib

    from alignbench.errors import AlignbenchError

    if type_name not in EVALS:
        raise AlignbenchError(f"unknown eval type {type_name!r}; known: {', '.join(sorted(EVALS))}")
    module_name, _, func = EVALS[type_name].partition(":")
    return getattr(importlib.import_module(module_name), func)


def eval_module(type_name: str):
    import importlib

    return importlib.import_module(EVALS[type_name].partition(":")[0])


__all__ = ["EVALS", "get_eval", "eval_module"]
