"""Judges: one factory and one spec grammar for every judge (docs/evals.md "Judges").

from alignbench.judges import make_judge
judge = make_judge({"type": "reward_model", "model": "runs/rm"})
judge = make_judge({"type": "rubric", "rules": {"max_words": 50}})
judge = make_judge({"type": "rubric", "function": "my_pkg.labeler:score"})   # or a callable
judge = make_judge({"type": "llm", "model": "openai:gpt-4o-mini@https://api.openai.com/v1"}, cache=store)
judge = make_judge({"type": "human", "labels": "labels.jsonl"})
judge.compare(prompts, texts_a, texts_b, item_ids) -> list[Judgement]
judge.score(prompts, texts, item_ids) -> list[float]        # reward_model and rubric
truth, info = make_judge({"type": "llm", "model": "smollm2-135m"}, task="truthfulqa", engines=ctx)
judge = make_judge({"type": "nli", "model": "path/to/nli"}, task="hallucination")
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import yaml

from alignbench.errors import AlignbenchError
from alignbench.judges.base import VERDICTS, Judge, Judgement, ScoringJudge, verdict_from_scores

# kind -> (import path of the class or builder, one-line description).  One spec grammar for every judge:
# `{type: KIND, ...keys}`, the keys being the class's (or builder's) parameters.  A kind that serves one eval
# only is keyed `TASK/KIND` (the eval asks `make_judge(spec, task=TASK)`); the plain kinds are the pairwise
# judges of win rate.  A new kind of judge is one line here.
JUDGES: dict[str, tuple[str, str]] = {
    "reward_model": (
        "alignbench.judges.reward_model:RewardModelJudge",
        "a trained reward model scores both responses (model: SPEC, tolerance: 0.0)",
    ),
    "rubric": (
        "alignbench.judges.rubric:RubricJudge",
        "a Python function fn(prompt, response, item) -> float, or declarative rules (rules: {max_words: 50})",
    ),
    "llm": (
        "alignbench.judges.llm:LLMJudge",
        "an OpenAI-compatible chat endpoint, both orders (model: openai:MODEL@URL, template: ...)",
    ),
    "human": (
        "alignbench.judges.human:HumanJudge",
        "labels from a file keyed by item_id (labels: PATH; verdict A|B|tie and/or score_a, score_b)",
    ),
    "truthfulqa/finetuned": (
        "alignbench.judges.finetuned:truthfulqa_judges",
        "GPT-judge checkpoints: P(yes) after True:/Helpful: (truth_model, info_model: SPEC)",
    ),
    "truthfulqa/distilled-truthfulqa": (
        "alignbench.judges.truthfulqa_head:truthfulqa_judges",
        "the offline judges alignbench trains and ships (folder: DIR of retrained heads)",
    ),
    "truthfulqa/llm": (
        "alignbench.judges.yes_no:truthfulqa_judges",
        "an instruction-following model asked yes/no: truthful? informative? (model: SPEC)",
    ),
    "hallucination/lexical": (
        "alignbench.judges.consistency:LexicalJudge",
        "share of output content words absent from the source (threshold: 0.0)",
    ),
    "hallucination/nli": (
        "alignbench.judges.consistency:NLIJudge",
        "an NLI / factual-consistency classifier: 1 - P(entailment) (model: SPEC, threshold: 0.5)",
    ),
    "hallucination/llm": (
        "alignbench.judges.yes_no:hallucination_judge",
        "an instruction-following model asked yes/no: unsupported information? (model: SPEC)",
    ),
}
_INJECTED = ("self", "cache", "engines", "loaded")  # given by the caller, never by the spec


def judge_class(type_name: str, task: str | None = None):
    """The class (or builder) of a judge kind; `task` looks up `TASK/KIND` (an eval's own judges)."""
    key = f"{task}/{type_name}" if task else type_name
    if key not in JUDGES:
        known = (
            [k.partition("/")[2] for k in JUDGES if k.startswith(f"{task}/")]
            if task
            else [k for k in JUDGES if "/" not in k]
        )
        raise AlignbenchError(
            f"unknown judge type {type_name!r}{f' for {task}' if task else ''}; known: {', '.join(known)}"
        )
    module, _, cls = JUDGES[key][0].partition(":")
    return getattr(importlib.import_module(module), cls)


def make_judge(spec: dict, cache=None, task: str | None = None, engines=None):
    """A judge from its spec (a suite's `judge:` mapping).  `cache`: a Store in which judges that call out
    (llm) cache their replies; `task`: the eval whose own judges to look up (truthfulqa, hallucination), None
    for the pairwise judges of win rate; `engines`: an object with `.engine(spec)` / `.loglik_engine(spec)`
    (the EvalContext) so judges share the run's models and generation cache.  Unknown keys are errors naming
    the key."""
    if isinstance(spec, Judge):
        return spec
    if not isinstance(spec, dict) or "type" not in spec:
        raise AlignbenchError(f"judge spec must be a mapping with a `type` ({', '.join(JUDGES)}), got {spec!r}")
    options = {k: v for k, v in spec.items() if k != "type"}
    cls = judge_class(spec["type"], task)
    params = inspect.signature(cls).parameters
    for name, value in (("cache", cache), ("engines", engines)):
        if name in params:
            options.setdefault(name, value)
    unknown = [k for k in options if k not in params]
    if unknown:
        allowed = [p for p in params if p not in _INJECTED]
        raise AlignbenchError(f"judge {spec['type']}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    required = [p.name for p in params.values() if p.default is inspect.Parameter.empty and p.name != "self"]
    missing = [p for p in required if p not in options]
    if missing:
        raise AlignbenchError(f"judge {spec['type']}: missing key {missing[0]!r}")
    return cls(**options)


def load_judge_spec(text: str) -> dict:
    """A judge spec from a file path or an inline YAML/JSON mapping (the CLI's `--judge`)."""
    path = Path(text).expanduser()
    source = path.read_text(encoding="utf-8") if path.is_file() else text
    try:
        spec = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise AlignbenchError(f"--judge {text!r}: not valid YAML/JSON: {exc}") from exc
    if isinstance(spec, dict) and "judge" in spec and "type" not in spec:
        spec = spec["judge"]
    if not isinstance(spec, dict):
        raise AlignbenchError(f"--judge {text!r}: expected a mapping with a `type`")
    return spec


__all__ = [
    "JUDGES",
    "load_judge_spec",
    "VERDICTS",
    "Judge",
    "Judgement",
    "ScoringJudge",
    "judge_class",
    "make_judge",
    "verdict_from_scores",
]
