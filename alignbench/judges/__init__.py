"""Judges: one interface, four kinds (docs/architecture.md "Judges", docs/evals.md).

    from alignbench.judges import make_judge
    judge = make_judge({"type": "reward_model", "model": "runs/rm"})
    judge = make_judge({"type": "rubric", "rules": {"max_words": 50}})
    judge = make_judge({"type": "rubric", "function": "my_pkg.labeler:score"})   # or a callable
    judge = make_judge({"type": "llm", "model": "openai:gpt-4o-mini@https://api.openai.com/v1"}, cache=store)
    judge = make_judge({"type": "human", "labels": "labels.jsonl"})
    judge.compare(prompts, texts_a, texts_b, item_ids) -> list[Judgement]
    judge.score(prompts, texts, item_ids) -> list[float]        # reward_model and rubric
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import yaml

from alignbench.errors import AlignbenchError
from alignbench.judges.base import VERDICTS, Judge, Judgement, ScoringJudge, verdict_from_scores

# type -> (import path of the class, one-line description); a new kind of judge is one line here.
JUDGES: dict[str, tuple[str, str]] = {
    "reward_model": ("alignbench.judges.reward_model:RewardModelJudge",
                     "a trained reward model scores both responses (model: SPEC, tolerance: 0.0)"),
    "rubric": ("alignbench.judges.rubric:RubricJudge",
               "a Python function fn(prompt, response, item) -> float, or declarative rules (rules: {max_words: 50})"),
    "llm": ("alignbench.judges.llm:LLMJudge",
            "an OpenAI-compatible chat endpoint, both orders (model: openai:MODEL@URL, template: ...)"),
    "human": ("alignbench.judges.human:HumanJudge",
              "labels from a file keyed by item_id (labels: PATH; verdict A|B|tie and/or score_a, score_b)"),
}


def judge_class(type_name: str):
    if type_name not in JUDGES:
        raise AlignbenchError(f"unknown judge type {type_name!r}; known: {', '.join(JUDGES)}")
    module, _, cls = JUDGES[type_name][0].partition(":")
    return getattr(importlib.import_module(module), cls)


def make_judge(spec: dict, cache=None) -> Judge:
    """A judge from its spec (a suite's `judge:` mapping).  `cache`: a Store in which judges that call out
    (llm) cache their replies.  Unknown keys are errors naming the key."""
    if isinstance(spec, Judge):
        return spec
    if not isinstance(spec, dict) or "type" not in spec:
        raise AlignbenchError(f"judge spec must be a mapping with a `type` ({', '.join(JUDGES)}), got {spec!r}")
    options = {k: v for k, v in spec.items() if k != "type"}
    cls = judge_class(spec["type"])
    params = inspect.signature(cls.__init__).parameters
    if "cache" in params:
        options.setdefault("cache", cache)
    unknown = [k for k in options if k not in params]
    if unknown:
        allowed = [p for p in params if p not in ("self", "cache", "loaded")]
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


__all__ = ["JUDGES", "load_judge_spec", "VERDICTS", "Judge", "Judgement", "ScoringJudge", "judge_class", "make_judge",
           "verdict_from_scores"]
