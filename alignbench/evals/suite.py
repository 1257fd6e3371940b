"""Suite files: a YAML file that says which evals to run (datasets, decoding, judges, limits), parsed and
validated into a `Suite` of `EvalSpec`s.  The models and caches a run uses are `evals/context.py`; the
runner that runs a suite into a run folder is `evals/runner.py`.

    suite = load_suite("winrate")                   # evals/winrate.yaml, or a path

A suite file, declarative like an lm-evaluation-harness task YAML:

    name: winrate
    seed: 0
    defaults:                       # merged into every eval (an eval's own keys win)
      decoding: {max_new_tokens: 64, temperature: 0.0}
    evals:
      - name: winrate               # the eval's name in the store; `type` defaults to it
        type: winrate               # a key of alignbench.evals.EVALS
        dataset: hh-rlhf-helpful    # an adapter name or a file of prompts
        limit: 100                  # optional; --limit caps it further
        judge: {type: reward_model, model: runs/rm}
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignbench.errors import AlignbenchError

SUITE_KEYS = {"name", "description", "seed", "defaults", "evals"}
# Keys every eval entry may have; an eval module adds its own in SPEC_KEYS.
COMMON_EVAL_KEYS = {"name", "type", "dataset", "limit", "decoding", "judge", "judges", "description", "batch_size"}


class SuiteError(AlignbenchError):
    """A suite file is malformed; the message names the file and the key."""


# -- suite files --------------------------------------------------------------------------------------
@dataclass
class EvalSpec:
    """One entry of a suite's `evals` list, with the suite's defaults merged in."""

    name: str
    type: str
    options: dict
    source: str = "<suite>"  # "path/to/suite.yaml: evals[0]", for error messages

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def error(self, key: str, message: str) -> SuiteError:
        return SuiteError(f"{self.source}.{key}: {message}")

    def decoding(self, **overrides) -> dict:
        """The eval's decoding parameters as a dict (keys of alignbench.engines.DecodingParams)."""
        value = self.options.get("decoding") or {}
        if not isinstance(value, dict):
            raise self.error("decoding", "must be a mapping, e.g. {max_new_tokens: 64, temperature: 0.0}")
        return {**value, **overrides}

    def judge_specs(self) -> list[dict]:
        """The judges this eval uses: `judge: {...}` or `judges: [{...}, ...]`."""
        if "judges" in self.options:
            specs = self.options["judges"]
            if not isinstance(specs, list) or not specs:
                raise self.error("judges", "must be a non-empty list of judge specs")
        elif "judge" in self.options:
            specs = [self.options["judge"]]
        else:
            raise self.error("judge", "missing: this eval needs a judge, e.g. {type: reward_model, model: PATH}")
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict) or "type" not in spec:
                key = "judge" if "judge" in self.options else f"judges[{i}]"
                raise self.error(key, "must be a mapping with a `type` (reward_model | rubric | llm | human)")
        return specs


@dataclass
class Suite:
    name: str
    path: str
    evals: list[EvalSpec]
    seed: int = 0
    description: str = ""
    raw: dict = field(default_factory=dict)


def find_suite_file(name_or_path: str | Path) -> Path:
    """A path, else `evals/NAME.yaml` under the working directory, else the packaged suite NAME."""
    from alignbench.config import resources_dir

    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    for folder in (Path.cwd() / "evals", resources_dir() / "evals"):
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{name_or_path}{suffix}"
            if candidate.is_file():
                return candidate
    known = sorted(p.stem for p in (resources_dir() / "evals").glob("*.yaml"))
    raise SuiteError(f"suite {str(name_or_path)!r}: no such file, and not a packaged suite ({', '.join(known)})")


def load_suite(name_or_path: str | Path | dict) -> Suite:
    """Read and validate a suite (a name, a path, or an already-parsed dict)."""
    if isinstance(name_or_path, dict):
        return parse_suite(name_or_path, "<suite>")
    import yaml

    path = find_suite_file(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SuiteError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    return parse_suite(expand_env(data, str(path)), str(path))


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: Any, source: str = "<suite>") -> Any:
    """`${VAR}` and `${VAR:-default}` in a suite's strings (e.g. the reward-model path of a judge)."""
    if isinstance(value, str):
        def sub(m):
            if m.group(1) in os.environ:
                return os.environ[m.group(1)]
            if m.group(2) is not None:
                return m.group(2)
            raise SuiteError(f"{source}: environment variable {m.group(1)} is not set (used as ${{{m.group(1)}}}; "
                             f"set it or write ${{{m.group(1)}:-default}})")
        return _ENV.sub(sub, value)
    if isinstance(value, list):
        return [expand_env(v, source) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v, source) for k, v in value.items()}
    return value


def parse_suite(data: Any, source: str) -> Suite:
    from alignbench.evals import EVALS, eval_module

    if not isinstance(data, dict):
        raise SuiteError(f"{source}: a suite must be a mapping with an `evals` list")
    unknown = set(data) - SUITE_KEYS
    if unknown:
        raise SuiteError(f"{source}: {sorted(unknown)[0]}: unknown key (a suite has {', '.join(sorted(SUITE_KEYS))})")
    evals = data.get("evals")
    if not isinstance(evals, list) or not evals:
        raise SuiteError(f"{source}: evals: missing or empty; list the evals to run")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SuiteError(f"{source}: defaults: must be a mapping")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SuiteError(f"{source}: seed: must be an integer")
    specs, names = [], set()
    for i, entry in enumerate(evals):
        where = f"{source}: evals[{i}]"
        if not isinstance(entry, dict):
            raise SuiteError(f"{where}: must be a mapping with at least `name`")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise SuiteError(f"{where}.name: missing; every eval needs a name")
        type_name = entry.get("type", name.split("/")[0])
        if type_name not in EVALS:
            raise SuiteError(f"{where}.type: unknown eval {type_name!r}; known: {', '.join(sorted(EVALS))}")
        if name in names:
            raise SuiteError(f"{where}.name: {name!r} appears twice; give each eval a distinct name")
        names.add(name)
        options = _merge(defaults, entry)
        module = eval_module(type_name)
        allowed = COMMON_EVAL_KEYS | set(getattr(module, "SPEC_KEYS", ()))
        for key in entry:
            if key not in allowed:
                raise SuiteError(f"{where}.{key}: unknown key for eval type {type_name!r} "
                                 f"(allowed: {', '.join(sorted(allowed))})")
        limit = options.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise SuiteError(f"{where}.limit: must be a positive integer")
        spec = EvalSpec(name=name, type=type_name, options=options, source=where)
        validate = getattr(module, "validate", None)
        if validate is not None:
            problems = validate(spec)
            if problems:
                raise SuiteError(f"{where}: " + "; ".join(problems))
        specs.append(spec)
    return Suite(name=str(data.get("name") or Path(source).stem), path=source, evals=specs, seed=seed,
                 description=str(data.get("description") or ""), raw=data)


def _merge(defaults: dict, entry: dict) -> dict:
    """Suite defaults under an eval's keys; mappings (decoding, judge) merge one level deep."""
    out = dict(defaults)
    for key, value in entry.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
