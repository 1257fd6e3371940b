"""Schema of a training recipe (training/*.yaml plus `--key value` overrides): alignbench's own keys with
types and ranges (a pydantic model), and the trainer-config fields (TRL SFTConfig, KWayRewardConfig,
PPOPtxConfig) checked against their declared types plus the ranges below, before the config is built or any
model loads.  Unknown keys are reported by the caller with a did-you-mean over both sets."""

from __future__ import annotations

import math
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from alignbench.schemas.common import (
    NonEmptyStr,
    NonNegativeInt,
    PositiveInt,
    Strict,
)
from alignbench.schemas.problems import (
    Problem,
    field_name,
    line_of,
    pydantic_problems,
    short,
)


class Lora(Strict):
    r: PositiveInt = 16
    alpha: float = Field(default=32, gt=0)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: NonEmptyStr | list[NonEmptyStr] = "all-linear"
    modules_to_save: list[NonEmptyStr] | None = None
    bias: Literal["none", "all", "lora_only"] = "none"


DataSource = NonEmptyStr | list[Any]  # a file/folder/hf:/data: source, or records (Python API)


class RecipeKeys(Strict):
    """alignbench's keys of a recipe (training/recipes.py COMMON_KEYS and STAGE_KEYS)."""

    model_config = Strict.model_config | {"extra": "ignore"}  # trainer fields and unknown keys: see below
    stage: Literal["sft", "rm", "ppo"] | None = None
    model: NonEmptyStr | None = None
    train_data: DataSource | None = None
    eval_data: DataSource | None = None
    eval_fraction: float | None = Field(default=None, ge=0, lt=1)
    limit: PositiveInt | None = None
    lora: Lora | None | Literal[False] = None
    freeze_layers: NonNegativeInt | None = None
    merge_lora: bool = True
    chat_template: bool | None = None
    resume: bool | NonEmptyStr | None = None
    reference_data: DataSource | None = None
    reward_model: NonEmptyStr | None = None
    pretrain_data: DataSource | None = None

    @field_validator("resume")
    @classmethod
    def _resume(cls, value):
        if isinstance(value, str) and not Path(value).expanduser().exists():
            raise ValueError(
                f"{value}: no such checkpoint folder (give a folder, or true for the last checkpoint in output_dir)"
            )
        return value


# Ranges of trainer-config fields (types come from the config classes themselves).
_GT0, _GE0, _GE1, _UNIT = ("gt", 0), ("ge", 0), ("ge", 1), ("unit", None)
FIELD_RANGES: dict[str, tuple] = {
    "learning_rate": _GT0,
    "num_train_epochs": _GT0,
    "per_device_train_batch_size": _GE1,
    "per_device_eval_batch_size": _GE1,
    "gradient_accumulation_steps": _GE1,
    "weight_decay": _GE0,
    "warmup_ratio": _UNIT,
    "max_grad_norm": _GE0,
    "logging_steps": _GT0,
    "save_steps": _GT0,
    "eval_steps": _GT0,
    "max_length": _GE1,
    "max_seq_length": _GE1,
    "save_total_limit": _GE0,
    "seed": ("seed", None),
    "data_seed": ("seed", None),
    # PPOPtxConfig
    "rollout_batch_size": _GE1,
    "mini_batch_size": _GE1,
    "num_ppo_epochs": _GE1,
    "response_length": _GE1,
    "temperature": _GT0,
    "kl_coef": _GE0,
    "target_kl": _GT0,
    "gamma": _UNIT,
    "lam": _UNIT,
    "cliprange": _GT0,
    "cliprange_value": _GT0,
    "vf_coef": _GE0,
    "ptx_coef": _GE0,
    "ptx_batch_size": _GE1,
    "ptx_max_length": _GE1,
    # KWayRewardConfig
    "center_rewards_coefficient": _GE0,
}


def _base_types(annotation) -> set:
    """{int, float, bool, str, NoneType, ...} an annotation allows; empty when it is anything richer."""
    if annotation in (int, float, bool, str, type(None)):
        return {annotation}
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        out = set()
        for arg in typing.get_args(annotation):
            sub = _base_types(arg)
            if not sub:
                return set()
            out |= sub
        return out
    return set()


def _check_field(key: str, value: Any, annotation) -> str | None:
    """What is wrong with a trainer-config value, or None."""
    allowed = _base_types(annotation)
    if allowed:
        if value is None:
            return None if type(None) in allowed else "must not be null"
        ok = (
            (isinstance(value, bool) and bool in allowed)
            or (isinstance(value, int) and not isinstance(value, bool) and (int in allowed or float in allowed))
            or (isinstance(value, float) and float in allowed)
            or (isinstance(value, str) and str in allowed)
        )
        if not ok:
            names = " or ".join(
                {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[t]
                for t in (int, float, bool, str)
                if t in allowed
            )
            return f"must be {names} (got {short(value)})"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number (got {value})"
    rule = FIELD_RANGES.get(key)
    if rule and isinstance(value, (int, float)) and not isinstance(value, bool):
        kind, bound = rule
        if kind == "gt" and not value > bound:
            return f"must be > {bound} (got {value})"
        if kind == "ge" and not value >= bound:
            return f"must be >= {bound} (got {value})"
        if kind == "unit" and not 0 <= value <= 1:
            return f"must be between 0 and 1 (got {value})"
        if kind == "seed" and not 0 <= value <= 2**63 - 1:
            return f"must be between 0 and 2**63-1 (got {value})"
    return None


def config_annotations(config_cls) -> dict[str, Any]:
    """Field name -> type annotation of a dataclass config (TRL / transformers TrainingArguments style)."""
    import dataclasses

    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # noqa: BLE001 -- a forward reference the config's module cannot resolve: fall back to no type check
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(config_cls) if f.init}


def recipe_problems(
    recipe: dict, source: str, lines: dict, trainer_fields: dict[str, Any], our_keys: set
) -> list[Problem]:
    """Type and range problems of a recipe's known keys (unknown keys are the caller's)."""
    problems: list[Problem] = []
    ours = {k: v for k, v in recipe.items() if k in our_keys}
    try:
        RecipeKeys.model_validate(ours)
    except ValidationError as exc:
        problems += pydantic_problems(exc, source, lines, ours, RecipeKeys)
    for key, value in recipe.items():
        if key in trainer_fields and key not in our_keys:
            message = _check_field(key, value, trainer_fields[key])
            if message:
                problems.append(Problem(source, line_of(lines, (key,)), field_name((key,)), message))
    return problems


__all__ = ["FIELD_RANGES", "Lora", "RecipeKeys", "config_annotations", "recipe_problems"]
