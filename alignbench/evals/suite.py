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
from alignbench.schemas import SchemaError

SUITE_KEYS = {"name", "description", "seed", "defaults", "evals"}
# Keys every eval entry may have; an eval module adds its own in SPEC_KEYS.
COMMON_EVAL_KEYS = {"name", "type", "dataset", "limit", "decoding", "judge", "judges", "description", "batch_size"}


class SuiteError(SchemaError):
    """A suite file is malformed; the message names the file, line and key of every problem."""


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
    """Read and validate a suite (a name, a path, or an already-parsed dict).  Every problem of the file is
    reported at once as `file:line: field: what is wrong` (SuiteError) before any model or data set loads."""
    if isinstance(name_or_path, dict):
        return parse_suite(name_or_path, "<suite>")
    from alignbench.schemas import load_yaml

    path = find_suite_file(name_or_path)
    try:
        doc = load_yaml(path, what="suite file")  # bounded: alias expansion, depth and size checked first
    except SchemaError as exc:
        raise SuiteError(exc.problems) from None
    return parse_suite(expand_env(doc.data, str(path), doc.lines), str(path), doc.lines)


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(
    value: Any, source: str = "<suite>", lines: dict | None = None, placeholders: dict[str, str] | None = None
) -> Any:
    """`${VAR}` and `${VAR:-default}` in a suite's strings (e.g. the reward-model path of a judge), and
    `{name}` for each name in `placeholders` (the demo fills `{rm}`, `{data_root}` ... this way).
    Runs on values the bounded YAML loader already built (alias expansion capped), and names every unset
    variable with its file and line."""
    from alignbench.schemas import Problem, field_name
    from alignbench.schemas.problems import line_of

    problems: list = []

    def walk(value: Any, path: tuple) -> Any:
        if isinstance(value, str):

            def sub(m):
                if m.group(1) in os.environ:
                    return os.environ[m.group(1)]
                if m.group(2) is not None:
                    return m.group(2)
                problems.append(
                    Problem(
                        source,
                        line_of(lines or {}, path),
                        field_name(path),
                        f"environment variable {m.group(1)} is not set (used as ${{{m.group(1)}}}; "
                        f"set it or write ${{{m.group(1)}:-default}})",
                    )
                )
                return m.group(0)

            for name, text in (placeholders or {}).items():
                value = value.replace("{" + name + "}", text)
            return _ENV.sub(sub, value) if "${" in value else value
        if isinstance(value, list):
            return [walk(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: walk(v, path + (k,)) for k, v in value.items()}
        return value

    out = walk(value, ())
    if problems:
        raise SuiteError(problems)
    return out


def parse_suite(data: Any, source: str, lines: dict | None = None) -> Suite:
    """Validate a parsed suite against its schema (alignbench.schemas.suite) and each eval module's own
    checks; raises SuiteError listing every problem."""
    from alignbench.evals import EVALS, eval_module
    from alignbench.schemas import Problem
    from alignbench.schemas.problems import line_of
    from alignbench.schemas.suite import validate_suite_data

    lines = lines or {}
    eval_keys = {t: set(getattr(eval_module(t), "SPEC_KEYS", ())) for t in EVALS}
    problems = validate_suite_data(data, source, lines, eval_keys, COMMON_EVAL_KEYS)
    if problems:
        raise SuiteError(problems)
    defaults = data.get("defaults") or {}
    seed = data.get("seed", 0)
    specs = []
    for i, entry in enumerate(data["evals"]):
        line = line_of(lines, ("evals", i))
        where = f"{source}:{line}: evals[{i}]" if line else f"{source}: evals[{i}]"
        name = entry["name"]
        type_name = entry.get("type", name.split("/")[0])
        spec = EvalSpec(name=name, type=type_name, options=_merge(defaults, entry), source=where)
        validate = getattr(eval_module(type_name), "validate", None)
        if validate is not None:
            try:
                found = validate(spec)
            except SuiteError as exc:
                found = [str(exc).removeprefix(where + ".").removeprefix(where + ": ")]
            except (AlignbenchError, ValueError, TypeError) as exc:  # a module check that trips on a value
                found = [str(exc)]
            for text in found or ():
                # module checks say "key: what is wrong"; point at that key's line when it is one
                key, sep, message = text.partition(": ")
                root = key.split(".")[0].split("[")[0]
                if sep and root in spec.options:
                    path = ("evals", i, root) if root in entry else ("defaults", root)
                    problems.append(Problem(source, line_of(lines, path), f"evals[{i}].{key}", message))
                elif sep and root in ("judge", "judges", "dataset", "file", "task"):
                    problems.append(Problem(source, line_of(lines, ("evals", i)), f"evals[{i}].{key}", message))
                else:
                    problems.append(Problem(source, line_of(lines, ("evals", i)), f"evals[{i}]", text))
        specs.append(spec)
    if problems:
        raise SuiteError(problems)
    return Suite(
        name=str(data.get("name") or Path(source).stem),
        path=source,
        evals=specs,
        seed=seed,
        description=str(data.get("description") or ""),
        raw=data,
    )


def _merge(defaults: dict, entry: dict) -> dict:
    """Suite defaults under an eval's keys; mappings (decoding, judge) merge one level deep."""
    out = dict(defaults)
    for key, value in entry.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
