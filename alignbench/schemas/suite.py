"""Schema of an eval suite file (evals/*.yaml): top-level keys, `defaults:`, each eval entry, its decoding
parameters and its judges, with types and ranges.

The allowed keys of an eval entry depend on its type (each eval module lists its own in SPEC_KEYS), so the
caller passes the registry (`eval_keys`: type -> extra keys); the types and ranges of the keys live here,
in one table (KEY_TYPES), so one key means the same thing in every eval.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from alignbench.schemas.common import (
    MAX_SEED,
    AnyValue,
    Fraction,
    NonEmptyStr,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Seed,
    Strict,
)
from alignbench.schemas.problems import (
    Problem,
    field_name,
    line_of,
    pydantic_problems,
    unknown_key_message,
)


class Decoding(Strict):
    """alignbench.engines.DecodingParams as a suite writes it."""

    max_new_tokens: PositiveInt = 256
    temperature: NonNegativeFloat = 0.0
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: NonNegativeInt = 0
    stop: Any = ()
    chat: bool = True
    system: str | None = None
    seed: Seed = 0

    @field_validator("stop", mode="before")
    @classmethod
    def _stop(cls, value):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) and s for s in items):
            raise ValueError(f"must be a non-empty string or a list of non-empty strings (got {value!r:.60})")
        return value


# -- judges -----------------------------------------------------------------------------------------------
_MODULE_FN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_FILE_FN = re.compile(r"^.+\.py:[A-Za-z_]\w*$")


class _Judge(Strict):
    name: NonEmptyStr | None = None


class RewardModelJudge(_Judge):
    type: Literal["reward_model"]
    model: NonEmptyStr
    tolerance: NonNegativeFloat = 0.0
    batch_size: PositiveInt = 16
    max_length: PositiveInt = 1024
    chat: bool | None = None
    device: str | None = None


class RubricJudge(_Judge):
    type: Literal["rubric"]
    function: Any = None  # 'module:function', 'file.py:function', or a callable (Python API)
    rules: dict[str, Any] | None = None
    weights: dict[str, float] | None = None
    tolerance: NonNegativeFloat = 0.0

    @field_validator("function")
    @classmethod
    def _function(cls, value):
        if value is None or callable(value):
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be 'package.module:function' or 'path/to/file.py:function' (got {value!r:.60})")  # noqa: TRY004
        if _FILE_FN.match(value):
            file = Path(value.rpartition(":")[0]).expanduser()
            if not file.is_file():
                raise ValueError(f"{file}: no such file (function: 'path/to/file.py:function')")
        elif not _MODULE_FN.match(value):
            raise ValueError(f"{value!r}: expected 'package.module:function' or 'path/to/file.py:function'")
        return value

    @model_validator(mode="after")
    def _one_of(self):
        if (self.function is None) == (self.rules is None):
            raise ValueError("give exactly one of `function` or `rules`")
        return self


class LLMJudge(_Judge):
    type: Literal["llm"]
    model: NonEmptyStr
    base_url: str | None = None
    template: str | None = None
    template_file: str | None = None
    system: str | None = None
    temperature: NonNegativeFloat = 0.0
    max_tokens: PositiveInt = 256
    api_key_env: NonEmptyStr = "OPENAI_API_KEY"
    timeout: PositiveFloat = 60.0
    retries: NonNegativeInt = 3
    backoff: NonNegativeFloat = 1.0
    concurrency: PositiveInt = 4
    rps: PositiveFloat | None = None
    swap: bool = True
    # truthfulqa_gen / hallucination llm judges read only `model`; the extra knobs are harmless there

    @field_validator("template_file")
    @classmethod
    def _template_file(cls, value):
        if value is not None and not Path(value).expanduser().is_file():
            raise ValueError(f"{value}: no such file (the judge prompt template)")
        return value

    @model_validator(mode="after")
    def _one_template(self):
        if self.template is not None and self.template_file is not None:
            raise ValueError("give `template` or `template_file`, not both")
        return self


class HumanJudge(_Judge):
    type: Literal["human"]
    labels: NonEmptyStr

    @field_validator("labels")
    @classmethod
    def _labels(cls, value):
        if not Path(value).expanduser().exists():
            raise ValueError(f"{value}: no such file (the human labels, JSONL/CSV keyed by item_id)")
        return value


class FinetunedJudge(_Judge):  # TruthfulQA's fine-tuned truth/info judges
    type: Literal["finetuned"]
    truth_model: NonEmptyStr
    info_model: NonEmptyStr | None = None


class DistilledTruthfulQAJudge(_Judge):  # TruthfulQA: the offline judges alignbench ships (the default)
    type: Literal["distilled-truthfulqa"]
    folder: NonEmptyStr | None = None


class LexicalJudge(_Judge):  # hallucination: lexical overlap with the source
    type: Literal["lexical"]
    threshold: float = 0.0


class NLIJudge(_Judge):  # hallucination: an NLI sequence classifier
    type: Literal["nli"]
    model: NonEmptyStr
    threshold: Fraction = 0.5


GENERAL_JUDGES = {"reward_model": RewardModelJudge, "rubric": RubricJudge, "llm": LLMJudge, "human": HumanJudge}
# Eval types whose judges are their own kinds; every other eval takes the general judges.
EVAL_JUDGES = {
    "truthfulqa_gen": {"distilled-truthfulqa": DistilledTruthfulQAJudge, "finetuned": FinetunedJudge, "llm": LLMJudge},
    "hallucination": {"lexical": LexicalJudge, "nli": NLIJudge, "llm": LLMJudge},
}


# -- eval entries -------------------------------------------------------------------------------------------
# Every key any eval may carry, with its type.  A key an eval module adds without an entry here is accepted
# with any value (its module's `validate` checks it).
KEY_TYPES: dict[str, Any] = {
    "name": NonEmptyStr,
    "type": NonEmptyStr,
    "description": str,
    "dataset": NonEmptyStr,
    "limit": PositiveInt,
    "batch_size": Field(default=None, ge=1, le=65536, strict=True),
    "decoding": Decoding,
    "baseline_decoding": Decoding,
    "judge": Any,
    "judges": Any,  # checked per judge type below (a mapping, or a Judge object from Python)
    # per-eval keys (SPEC_KEYS of the eval modules)
    "subset": NonEmptyStr,
    "split": NonEmptyStr,
    "source": NonEmptyStr,
    "version": NonEmptyStr,
    "task": NonEmptyStr,
    "file": NonEmptyStr,
    "single_turn": bool,
    "prefix_reuse": bool,
    "n_resamples": Field(default=None, ge=1, le=1_000_000, strict=True),
    "lc_resamples": Field(default=None, ge=1, le=1_000_000, strict=True),
    "conditions": list[NonEmptyStr],
    "k": Field(default=None, ge=1, le=10_000, strict=True),
    "scorer": NonEmptyStr | None,
    "threshold": Fraction,
    "scorer_batch_size": PositiveInt,
    "chunk_size": PositiveInt,
    "max_source_chars": PositiveInt,
    "tasks": NonEmptyStr | list[NonEmptyStr],
    "num_fewshot": NonNegativeInt,
    "lm_eval_kwargs": dict[str, Any],
}
_INT_FIELDS = {"batch_size": int, "n_resamples": int, "lc_resamples": int, "k": int}


def _field(key: str):
    spec = KEY_TYPES.get(key, AnyValue)
    if key in _INT_FIELDS:  # a Field() with constraints on an int
        return (int | None, spec)
    return (spec | None, None)


_MODELS: dict[tuple, type] = {}


def entry_model(keys: frozenset) -> type:
    """A strict pydantic model of an eval entry allowing exactly `keys`."""
    if keys not in _MODELS:
        _MODELS[keys] = create_model("EvalEntry", __base__=Strict, **{k: _field(k) for k in sorted(keys)})
    return _MODELS[keys]


class SuiteTop(Strict):
    name: NonEmptyStr | None = None
    description: str | None = None
    seed: Seed = 0
    defaults: dict[str, Any] | None = None
    evals: Any = None  # checked by hand: a clearer message than pydantic's for the commonest mistake


def validate_suite_data(
    data: Any, source: str, lines: dict, eval_keys: dict[str, set], common_keys: set
) -> list[Problem]:
    """Every problem of a parsed suite, as Problems (empty when valid).  `eval_keys`: eval type -> the keys
    its module adds; `common_keys`: keys every eval may have."""

    def at(path, message):
        return Problem(source, line_of(lines, path), field_name(path), message)

    if not isinstance(data, dict):
        return [at((), "a suite must be a mapping with an `evals` list (name, description, seed, defaults, evals)")]
    problems: list[Problem] = []
    try:
        SuiteTop.model_validate(data)
    except ValidationError as exc:
        problems += pydantic_problems(exc, source, lines, data, SuiteTop)
    # defaults: any key some eval may take (typed); name/type make no sense there
    defaults = data.get("defaults")
    every_key = (set(common_keys) | {k for keys in eval_keys.values() for k in keys}) - {"name", "type"}
    if isinstance(defaults, dict):
        problems += _check_entry(defaults, every_key, source, lines, ("defaults",), judge_types=None)
    evals = data.get("evals")
    if not isinstance(evals, list) or not evals:
        problems.append(at(("evals",), "missing or empty; list the evals to run"))
        return problems
    names: dict[str, int] = {}
    for i, entry in enumerate(evals):
        where = ("evals", i)
        if not isinstance(entry, dict):
            problems.append(at(where, "must be a mapping with at least `name`"))
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            problems.append(at(where + ("name",), "missing: every eval needs a name"))
            continue
        if name in names:
            problems.append(
                at(
                    where + ("name",),
                    f"{name!r} appears twice (first at evals[{names[name]}]); give each eval a distinct name",
                )
            )
        names.setdefault(name, i)
        type_name = entry.get("type", name.split("/")[0])
        if type_name not in eval_keys:
            close = unknown_key_message(type_name, eval_keys).partition(";")[2].partition(" (")[0]
            problems.append(
                at(
                    where + ("type",),
                    f"unknown eval {type_name!r}{';' + close if close else ''} "
                    f"(known: {', '.join(sorted(eval_keys))})",
                )
            )
            continue
        allowed = set(common_keys) | set(eval_keys[type_name])
        for p in _check_entry(entry, allowed, source, lines, where, judge_types=EVAL_JUDGES.get(type_name)):
            if p.message.startswith("unknown key"):
                p.message = f"unknown key for eval type {type_name!r}" + p.message.removeprefix("unknown key")
            problems.append(p)
        if isinstance(defaults, dict):  # judges inherited from defaults must suit this eval's type too
            for key in ("judge", "judges"):
                if key in defaults and key not in entry and "judge" not in entry and "judges" not in entry:
                    problems += _check_judges(
                        {key: defaults[key]}, source, lines, ("defaults",), EVAL_JUDGES.get(type_name), only_types=True
                    )
    return problems


def _check_entry(entry: dict, allowed: set, source: str, lines: dict, where: tuple, judge_types) -> list[Problem]:
    model = entry_model(frozenset(allowed))
    problems: list[Problem] = []
    try:
        model.model_validate(entry)
    except ValidationError as exc:
        problems += pydantic_problems(exc, source, lines, entry, model, prefix=where)
    problems += _check_judges(entry, source, lines, where, judge_types)
    return problems


def _check_judges(entry: dict, source: str, lines: dict, where: tuple, judge_types, only_types=False) -> list[Problem]:
    def at(path, message):
        return Problem(source, line_of(lines, path), field_name(path), message)

    problems = []
    if "judge" in entry and "judges" in entry:
        problems.append(at(where + ("judges",), "give `judge` or `judges`, not both"))
    specs = []
    if "judge" in entry and entry["judge"] is not None:
        specs.append((where + ("judge",), entry["judge"]))
    if "judges" in entry:
        if not isinstance(entry["judges"], list) or not entry["judges"]:
            problems.append(at(where + ("judges",), "must be a non-empty list of judge mappings"))
        else:
            specs += [(where + ("judges", i), j) for i, j in enumerate(entry["judges"])]
    types = judge_types or GENERAL_JUDGES
    for path, spec in specs:
        if hasattr(spec, "compare") and not isinstance(spec, dict):  # a Judge object (Python API)
            continue
        if not isinstance(spec, dict):
            problems.append(at(path, f"must be a mapping with a `type` ({' | '.join(types)})"))
            continue
        kind = spec.get("type")
        if kind not in types:
            hint = (
                unknown_key_message(kind, types).partition(";")[2].partition(" (")[0] if isinstance(kind, str) else ""
            )
            problems.append(
                at(
                    path + ("type",) if "type" in spec else path,
                    ("missing" if kind is None else f"unknown judge type {kind!r}")
                    + (f";{hint}" if hint else "")
                    + f" (this eval takes {' | '.join(types)})",
                )
            )
            continue
        if only_types:
            continue
        try:
            types[kind].model_validate(spec)
        except ValidationError as exc:
            problems += pydantic_problems(exc, source, lines, spec, types[kind], prefix=path)
    return problems


__all__ = ["EVAL_JUDGES", "GENERAL_JUDGES", "KEY_TYPES", "MAX_SEED", "Decoding", "validate_suite_data"]
