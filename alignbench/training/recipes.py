"""Recipes: a YAML file (plus `--key value` overrides) -> the options of one training stage.

A recipe is flat, like a TRL config: every key is either an alignbench key (which model, which data,
LoRA, where to write) or a field of the stage's trainer config (TRL `SFTConfig` for sft, our
`KWayRewardConfig` -- a TRL `RewardConfig` subclass -- for rm, `PPOPtxConfig` for ppo).  So a TRL user
writes `learning_rate`, `per_device_train_batch_size`, `gradient_accumulation_steps`, `max_length`
exactly as in TRL.  Unknown keys are an error that names the key and the closest known ones.

Overrides: `--learning_rate 1e-4 --lora.r 8 --lora null`; values are parsed as YAML scalars.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from alignbench.errors import AlignbenchError

STAGES = ("sft", "rm", "ppo")

# Keys alignbench itself reads (not passed to the trainer config).
COMMON_KEYS = {
    "stage": "sft | rm | ppo (checked against the command)",
    "model": "model spec to start from (sft: base model; rm: the SFT checkpoint; ppo: the SFT policy)",
    "train_data": "training records: a file/folder/hf: source, or a list of records (Python API)",
    "eval_data": "held-out records (optional)",
    "eval_fraction": "hold out this fraction of train_data when eval_data is not given (seeded split)",
    "limit": "use at most this many training records (after the split)",
    "lora": "peft LoRA settings {r, alpha, dropout, target_modules} or null for full fine-tuning",
    "freeze_layers": "freeze the embeddings and the first N transformer blocks (full fine-tuning on a budget)",
    "merge_lora": "save LoRA runs as merged full weights (default true: later stages and evals load a plain folder)",
    "chat_template": "format prompt+response with the tokenizer's chat template (default: when it has one)",
    "resume": "continue from the last checkpoint in output_dir (true, or a checkpoint folder)",
}
STAGE_KEYS = {
    "sft": {},
    "rm": {
        "reference_data": "demonstrations whose mean score is shifted to 0 after training (default: none -> "
        "the training prompts' responses)",
    },
    "ppo": {
        "reward_model": "the reward model checkpoint (from `alignbench train rm`)",
        "pretrain_data": "text for the ptx term: a file/folder/hf: source of {text} records",
    },
}


def default_recipe_path(stage: str) -> Path:
    from alignbench.config import resources_dir

    name = {"sft": "sft.yaml", "rm": "rm.yaml", "ppo": "ppo_ptx.yaml"}[stage]
    return resources_dir() / "training" / name


def parse_value(text: str) -> Any:
    """`1e-4` -> 0.0001, `true` -> True, `null` -> None, `[a, b]` -> list; anything else stays a string."""
    if text.strip().lower() in ("yes", "no", "on", "off", "y", "n"):
        return text  # YAML 1.1 would make these booleans; TRL means strings (save_strategy no)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    # YAML 1.1 reads 1e-4 as a string; users mean a number
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def parse_overrides(argv: list[str]) -> dict:
    """`['--lr', '1e-4', '--lora.r', '8', '--packing']` -> {'lr': 1e-4, 'lora': {'r': 8}, 'packing': True}."""
    out: dict = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or len(token) == 2:
            raise AlignbenchError(f"override {token!r}: expected --key value")
        key = token[2:].replace("-", "_")
        if "=" in key:
            key, _, raw = key.partition("=")
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            raw = argv[i + 1]
            i += 2
        else:
            raw = "true"
            i += 1
        _set_dotted(out, key, parse_value(raw))
    return out


def _set_dotted(target: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    for part in parts[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[parts[-1]] = value


def merge(base: dict, over: dict) -> dict:
    """Deep merge: nested dicts merge, everything else (lists, None) replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class Recipe(dict):
    """A recipe's keys, remembering the file they came from and the line of each (for error messages)."""

    source: str = "recipe"
    lines: dict = {}  # noqa: RUF012 -- replaced per instance by load_recipe


def load_recipe(recipe: str | Path | dict | None, overrides: dict | None = None) -> dict:
    """Read a recipe (path or dict) and apply overrides.  Relative data paths stay relative to the cwd.
    The file goes through the shared bounded YAML loader (alignbench.schemas): size, nesting and alias limits,
    duplicate and non-string keys refused, the file and line named in every error."""
    lines: dict = {}  # noqa: RUF012 -- replaced per instance by load_recipe
    source = getattr(recipe, "source", "recipe")
    if recipe is None:
        data: dict = {}
    elif isinstance(recipe, dict):
        data = dict(recipe)
        lines = dict(getattr(recipe, "lines", {}))
    else:
        from alignbench.schemas import SchemaError, load_yaml

        path = Path(recipe)
        source = str(path)
        if not path.is_file():
            raise AlignbenchError(f"{path}: recipe file not found")
        try:
            doc = load_yaml(path, what="recipe")
        except SchemaError as exc:
            raise AlignbenchError(str(exc)) from None
        data, lines = doc.data if doc.data is not None else {}, doc.lines
        if not isinstance(data, dict):
            raise AlignbenchError(f"{path}: a recipe must be a YAML mapping of key: value")
    out = Recipe(merge(data, overrides or {}))
    out.source = source
    # an overridden key has no line in the file: its problems name the file and the key (--key on the command line)
    out.lines = {k: v for k, v in lines.items() if not (k and k[0] in (overrides or {}))}
    return out


@dataclasses.dataclass
class ResolvedRecipe:
    stage: str
    options: dict  # alignbench keys
    args: Any  # the trainer config object (SFTConfig, KWayRewardConfig, PPOPtxConfig)

    def to_dict(self) -> dict:
        """Everything that was resolved, JSON-ready, for the lineage record."""
        options = {k: _jsonable(v) for k, v in self.options.items()}
        args = self.args.to_dict() if hasattr(self.args, "to_dict") else dataclasses.asdict(self.args)
        return {"stage": self.stage, **options, "trainer_args": {k: _jsonable(v) for k, v in args.items()}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and all(hasattr(v, "to_dict") for v in value):
            return f"<{len(value)} in-memory records>"
        return [_jsonable(v) for v in value]
    return str(value)


def resolve_recipe(stage: str, recipe: dict, config_cls: type, where: str | None = None) -> ResolvedRecipe:
    """Split a recipe into alignbench options and the stage's trainer config (`config_cls`, given by the stage
    so this module imports no trainer, as TRL's configs do not); reject unknown keys, and wrong types or ranges
    of known ones (alignbench.schemas.recipe), all in one error, before any model loads."""
    from alignbench.schemas import Problem, SchemaError
    from alignbench.schemas.problems import line_of
    from alignbench.schemas.recipe import config_annotations, recipe_problems

    if stage not in STAGES:
        raise AlignbenchError(f"unknown training stage {stage!r}; choose from {', '.join(STAGES)}")
    where = where or getattr(recipe, "source", "recipe")
    lines = getattr(recipe, "lines", {})
    if recipe.get("stage") not in (None, stage):
        raise AlignbenchError(f"{where}: stage is {recipe['stage']!r} but the command trains {stage!r}")
    fields = config_annotations(config_cls)
    config_fields = set(fields)
    ours = set(COMMON_KEYS) | set(STAGE_KEYS[stage])
    options, args_kwargs, unknown = {}, {}, []
    for key, value in recipe.items():
        if key in ours:
            options[key] = value
        elif key in config_fields:
            args_kwargs[key] = value
        else:
            unknown.append(key)
    problems = []
    for key in unknown:  # one problem per key, at its line, with the closest known keys
        close = difflib.get_close_matches(str(key), sorted(ours | config_fields), n=3)
        problems.append(
            Problem(
                where,
                line_of(lines, (key,)),
                str(key),
                f"unknown key {str(key)!r}"
                + (f" (did you mean {', '.join(close)}?)" if close else "")
                + f" for stage {stage} (alignbench keys: {', '.join(sorted(ours))}; "
                f"or any {config_cls.__name__} field)",
            )
        )
    problems += recipe_problems(recipe, where, lines, fields, ours)
    if "model" not in options:
        problems.append(Problem(where, None, "model", "missing (the model spec to train from)"))
    if "train_data" not in options:
        problems.append(Problem(where, None, "train_data", "missing"))
    if problems:
        raise SchemaError(problems)
    args_kwargs.setdefault("output_dir", f"checkpoints/{stage}")
    _cpu_defaults(config_cls, args_kwargs)
    try:
        args = config_cls(**args_kwargs)
    except (TypeError, ValueError, OverflowError) as exc:
        raise AlignbenchError(f"{where}: invalid {config_cls.__name__} setting: {exc}") from None
    return ResolvedRecipe(stage, options, args)


def _cpu_defaults(config_cls, kwargs: dict) -> None:
    """TRL configs default to bf16=True, which on a CPU is ~15x slower than fp32: pick fp32 there."""
    import torch

    names = {f.name for f in dataclasses.fields(config_cls)}
    if not torch.cuda.is_available():
        if "bf16" in names:
            kwargs.setdefault("bf16", False)
        if "use_cpu" in names:
            kwargs.setdefault("use_cpu", True)
    if "report_to" in names:
        kwargs.setdefault("report_to", "none")
    from transformers import TrainingArguments

    if issubclass(config_cls, TrainingArguments) and not sys.stderr.isatty():
        kwargs.setdefault("disable_tqdm", True)  # in logs, alignbench.progress.trainer_callback prints instead


def lora_config(spec: dict | None, task_type: str):
    """peft LoraConfig from the recipe's `lora:` block (None -> full fine-tuning)."""
    if not spec:
        return None
    from peft import LoraConfig

    allowed = {"r", "alpha", "dropout", "target_modules", "modules_to_save", "bias"}
    unknown = set(spec) - allowed
    if unknown:
        raise AlignbenchError(f"lora: unknown key(s) {sorted(unknown)}; use {sorted(allowed)}")
    return LoraConfig(
        r=int(spec.get("r", 16)),
        lora_alpha=int(spec.get("alpha", 2 * int(spec.get("r", 16)))),
        lora_dropout=float(spec.get("dropout", 0.0)),
        target_modules=spec.get("target_modules", "all-linear"),
        modules_to_save=spec.get("modules_to_save"),
        bias=spec.get("bias", "none"),
        task_type=task_type,
    )


def freeze_lower_layers(model, n_layers: int | None) -> None:
    """Freeze the token embeddings and the first `n_layers` decoder blocks (cheap partial fine-tuning)."""
    if not n_layers:
        return
    base = getattr(model, "model", None) or getattr(model, "transformer", None)
    layers = getattr(base, "layers", None) or getattr(base, "h", None)
    embed = model.get_input_embeddings()
    if layers is None:
        raise AlignbenchError(f"freeze_layers: cannot find the decoder blocks of {type(model).__name__}")
    for p in embed.parameters():
        p.requires_grad_(False)
    for block in list(layers)[: int(n_layers)]:
        for p in block.parameters():
            p.requires_grad_(False)
