"""Suites: a YAML file that says which evals to run (datasets, decoding, judges, limits), and the runner
that runs them for one or more candidates against one baseline into a run folder.

    suite = load_suite("winrate")                   # evals/winrate.yaml, or a path
    run_dir = run_suite(suite, candidates=[("sft", "path/to/sft")], baseline="smollm2-135m",
                        out="runs/x", limit=20)

The run folder holds run.sqlite (every item, generation, judgement and metric) and metrics.json.
Everything an eval computes is stored as it goes, so a run that dies part-way resumes on rerun:
generations and judgements come back from the cache and metrics are rewritten identically.

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

import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from alignbench.errors import AlignbenchError
from alignbench.store import Store, canonical_json

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


# -- models ---------------------------------------------------------------------------------------------
@dataclass
class ModelRef:
    """A model in a run: its label (`models.name`), spec string and role (candidate | baseline)."""

    name: str
    spec: str
    role: str
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from alignbench.models import resolve

            self._fingerprint = resolve(self.spec).fingerprint()
        return self._fingerprint


def parse_model_arg(text: str) -> tuple[str, str]:
    """`NAME=SPEC` -> (NAME, SPEC); a bare SPEC is its own label."""
    name, sep, spec = text.partition("=")
    if sep and name and spec and "/" not in name:
        return name, spec
    return text, text


def model_info(spec: str) -> dict:
    """What the models table keeps: kind, path, parameter count ("size", Figure 1's x axis) and the
    checkpoint's alignbench.json lineage when present.  Parameters are counted from safetensors headers,
    without loading weights."""
    from alignbench.models import resolve

    resolved = resolve(spec)
    info: dict = {"kind": resolved.kind, "path": resolved.path}
    path = Path(resolved.path)
    if resolved.is_local and path.is_dir():
        size = _safetensors_parameters(path)
        if size:
            info["size"] = size
        lineage = path / "alignbench.json"
        if lineage.is_file():
            try:
                info["lineage"] = json.loads(lineage.read_text())
            except ValueError:
                info["lineage_error"] = f"{lineage}: not valid JSON"
    return info


def _safetensors_parameters(folder: Path) -> int | None:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    from safetensors import safe_open

    total = 0
    for file in files:
        with safe_open(str(file), framework="np") as fh:
            for key in fh.keys():
                n = 1
                for dim in fh.get_slice(key).get_shape():
                    n *= dim
                total += n
    return total


# -- the generation cache a run uses ---------------------------------------------------------------------
class TieredCache:
    """The run's store in front of a shared cache store: lookups try the run, then the shared cache (and
    copy hits into the run, so the run folder is self-contained); new generations go to both.  Two suites
    or run folders that share prompts therefore share generations.  Offers the Store methods the engines
    call (get_generations / put_generations)."""

    def __init__(self, run_store: Store, shared: Store | None):
        self.run_store = run_store
        self.shared = shared

    def get_generations(self, keys: list[str]) -> dict[str, dict]:
        found = self.run_store.get_generations(keys)
        missing = [k for k in keys if k not in found]
        if missing and self.shared is not None:
            extra = self.shared.get_generations(missing)
            if extra:
                self.run_store.put_generations([_as_put_row(r) for r in extra.values()])
                found.update(extra)
        return found

    def put_generations(self, rows: list[dict]) -> None:
        self.run_store.put_generations(rows)
        if self.shared is not None:
            self.shared.put_generations(rows)

    def __getattr__(self, name):  # anything else (judgements, items ...) is the run's store
        return getattr(self.run_store, name)


def _as_put_row(row: dict) -> dict:
    row = dict(row)
    if "decoding" not in row:
        row["decoding"] = json.loads(row.get("decoding_json") or "{}")
    return row


def default_cache_path() -> Path:
    from alignbench.config import cache_dir

    return cache_dir() / "cache.sqlite"


# -- the context an eval runs in ---------------------------------------------------------------------------
class EvalContext:
    """Everything an eval's `run(ctx, spec)` needs.  Engines, loaded models and judges are built on first
    use and shared by every eval of the run."""

    def __init__(self, store: Store, run_id: str, run_dir: Path, candidates: list[ModelRef],
                 baseline: ModelRef | None, limit: int | None = None, seed: int = 0,
                 cache: Any = None, progress: bool | None = None, log: Callable[[str], None] | None = None):
        self.store = store
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.candidates = candidates
        self.baseline = baseline
        self.limit = limit
        self.seed = seed
        self.cache = cache if cache is not None else store
        self._progress = progress
        self._log = log or (lambda msg: print(msg, file=sys.stderr))
        self._engines: dict[str, Any] = {}
        self._loaded: dict[tuple[str, str], Any] = {}
        self._judges: dict[str, Any] = {}

    # models
    @property
    def models(self) -> list[ModelRef]:
        return self.candidates + ([self.baseline] if self.baseline else [])

    def item_limit(self, spec: EvalSpec) -> int | None:
        """The number of items an eval should use: the smaller of the spec's `limit` and --limit."""
        limits = [x for x in (spec.get("limit"), self.limit) if x is not None]
        return min(limits) if limits else None

    def engine(self, model: ModelRef | str):
        """A generation engine for a model (built once per run, cached in the run's store)."""
        spec = model.spec if isinstance(model, ModelRef) else model
        if spec not in self._engines:
            from alignbench.engines import make_generation_engine

            if spec.startswith(("openai:", "vllm:")):
                self._engines[spec] = make_generation_engine(spec, cache=self.cache, progress=self._progress)
            else:
                # Share the weights with load() (log-likelihood evals, RM judges on the same spec) instead of
                # holding a second copy of the model in memory.
                from alignbench.models import resolve

                self._engines[spec] = make_generation_engine(self.load(spec), cache=self.cache,
                                                             fingerprint=resolve(spec).fingerprint(),
                                                             progress=self._progress)
        return self._engines[spec]

    def load(self, model: ModelRef | str, task: str = "causal-lm"):
        """(model, tokenizer), loaded once per run."""
        spec = model.spec if isinstance(model, ModelRef) else model
        if (spec, task) not in self._loaded:
            from alignbench.models import default_device, load_model

            self._loaded[(spec, task)] = load_model(spec, task=task, device=default_device())
        return self._loaded[(spec, task)]

    def loglik_engine(self, model: ModelRef | str):
        spec = model.spec if isinstance(model, ModelRef) else model
        if spec.startswith(("openai:", "vllm:")):  # scored by the server / in-process vLLM (engines/loglik.py)
            from alignbench.engines.loglik import make_loglik_engine

            return make_loglik_engine(spec)
        from alignbench.engines import LoglikEngine

        return LoglikEngine(*self.load(model))

    def judge(self, spec: dict):
        """A judge from its spec (see alignbench.judges.make_judge), built once per run and recorded in
        the models table with role `judge`."""
        key = canonical_json(spec)
        if key not in self._judges:
            from alignbench.judges import make_judge

            judge = make_judge(spec, cache=self.store)
            self._judges[key] = judge
            info = {k: v for k, v in spec.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
            self.store.add_model(self.run_id, judge.name, str(spec.get("model") or spec.get("type")),
                                 getattr(judge, "fingerprint", "") or "", "judge", info)
        return self._judges[key]

    # reporting
    def progress(self, iterable=None, total: int | None = None, desc: str | None = None):
        from tqdm.auto import tqdm

        disable = None if self._progress is None else not self._progress
        return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr, leave=False)

    def log(self, message: str) -> None:
        self._log(message)

    def write_metrics_json(self) -> Path:
        path = self.run_dir / "metrics.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.store.metrics_dict(self.run_id), indent=2, sort_keys=True))
        tmp.replace(path)
        return path


# -- the runner ------------------------------------------------------------------------------------------------
def default_run_dir() -> Path:
    return Path("runs") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def run_suite(suite: Suite | str | Path | dict, candidates: list[tuple[str, str]] | list[str],
              baseline: str | tuple[str, str] | None = None, out: str | Path | None = None,
              limit: int | None = None, seed: int | None = None, cache: str | Path | None | bool = True,
              only: list[str] | None = None, progress: bool | None = None,
              log: Callable[[str], None] | None = None) -> Path:
    """Run every eval of `suite` for each candidate (against `baseline`) into the run folder `out`.

    candidates: specs or (label, spec) pairs.  cache: True = the shared cache at
    $ALIGNBENCH_CACHE/cache.sqlite, a path = that store, False/None = the run's store only.
    Rerunning with the same arguments into the same folder resumes the same run id.
    Returns the run folder."""
    suite = suite if isinstance(suite, Suite) else load_suite(suite)
    refs = [ModelRef(*_label(c), role="candidate") for c in candidates]
    if not refs:
        raise AlignbenchError("give at least one candidate model (--model SPEC)")
    base = ModelRef(*_label(baseline), role="baseline") if baseline else None
    labels = [r.name for r in refs] + ([base.name] if base else [])
    if len(set(labels)) != len(labels):
        raise AlignbenchError(f"model labels must be distinct, got {labels}; name them with --model NAME=SPEC")
    seed = suite.seed if seed is None else seed
    run_dir = Path(out) if out else default_run_dir()
    store = Store(run_dir)
    shared = None
    if cache is True:
        shared = Store(default_cache_path())
    elif cache:
        shared = Store(Path(cache))
    if shared is not None and shared.path.resolve() == store.path.resolve():
        shared = None

    evals = [e for e in suite.evals if not only or e.name in only]
    config = {"suite": suite.raw or suite.path, "candidates": [[r.name, r.spec] for r in refs],
              "baseline": [base.name, base.spec] if base else None, "limit": limit, "seed": seed,
              "only": only}
    run_id = _resume_run_id(store, config)
    run_id = store.start_run("eval", config=config, suite=suite.name, seed=seed, run_id=run_id)
    for ref in refs + ([base] if base else []):
        store.add_model(run_id, ref.name, ref.spec, ref.fingerprint, ref.role, model_info(ref.spec))
    ctx = EvalContext(store, run_id, run_dir, refs, base, limit=limit, seed=seed,
                      cache=TieredCache(store, shared), progress=progress, log=log)
    try:
        for spec in evals:
            from alignbench.evals import get_eval

            ctx.log(f"[{spec.name}] running ({spec.type})")
            get_eval(spec.type)(ctx, spec)
            ctx.write_metrics_json()  # after each eval, so a later failure loses nothing
    except BaseException:
        store.finish_run(run_id, "failed")
        ctx.write_metrics_json()
        raise
    store.finish_run(run_id, "done")
    ctx.write_metrics_json()
    return run_dir


def _label(model) -> tuple[str, str]:
    if isinstance(model, (tuple, list)):
        return str(model[0]), str(model[1])
    return parse_model_arg(str(model))


def _resume_run_id(store: Store, config: dict) -> str | None:
    """The id of an earlier eval run in this folder with the same configuration (resume), else None."""
    wanted = canonical_json(config)
    for run in reversed(store.runs()):
        if run["command"] == "eval" and run["config_json"] == wanted:
            return run["run_id"]
    return None


def describe_plan(suite: Suite, candidates, baseline, limit: int | None) -> str:
    """Human-readable plan (`alignbench eval --dry-run`)."""
    lines = [f"suite {suite.name} ({suite.path})"]
    lines.append("candidates: " + ", ".join(f"{n}={s}" if n != s else s for n, s in map(_label, candidates)))
    if baseline:
        n, s = _label(baseline)
        lines.append(f"baseline: {n}={s}" if n != s else f"baseline: {s}")
    for spec in suite.evals:
        lim = [x for x in (spec.get("limit"), limit) if x is not None]
        extra = {k: v for k, v in spec.options.items() if k not in ("name", "type", "limit")}
        lines.append(f"  - {spec.name} [{spec.type}] limit={min(lim) if lim else 'all'} {json.dumps(extra, default=str)}")
    return "\n".join(lines)


