"""What an eval runs in: the run's models (`ModelRef`, each spec resolved once), the tiered generation cache,
and the `EvalContext` handed to every eval's `run(ctx, spec)` (docs/architecture.md "Evals and suites").

Model specs are parsed only by `alignbench.models.resolve` (every prefix: builtins, paths, `hf:`, `openai:`,
`vllm:`); a `ModelRef` adds the run's label and role and keeps the resolved spec.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from safetensors import safe_open

from alignbench.config import cache_dir
from alignbench.engines import LoglikEngine, make_generation_engine
from alignbench.engines.loglik import make_loglik_engine
from alignbench.evals.suite import EvalSpec
from alignbench.judges import make_judge
from alignbench.models import ResolvedModel, default_device, load_model, resolve
from alignbench.progress import progress_bar
from alignbench.store import Store, canonical_json


# -- models ---------------------------------------------------------------------------------------------
@dataclass
class ModelRef:
    """A model in a run: its label (`models.name`), spec string and role (candidate | baseline | judge).
    The spec is resolved once, on first use, and its fingerprint computed once."""

    name: str
    spec: str
    role: str
    _resolved: ResolvedModel | None = field(default=None, repr=False)
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def resolved(self) -> ResolvedModel:
        if self._resolved is None:
            self._resolved = resolve(self.spec)
        return self._resolved

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = self.resolved.fingerprint()
        return self._fingerprint


def parse_model_arg(text: str) -> tuple[str, str]:
    """`NAME=SPEC` -> (NAME, SPEC); a bare SPEC is its own label."""
    name, sep, spec = text.partition("=")
    if sep and name and spec and "/" not in name:
        return name, spec
    return text, text


def model_info(spec: str | ResolvedModel) -> dict:
    """What the models table keeps: kind, path, parameter count ("size", Figure 1's x axis) and the
    checkpoint's alignbench.json lineage when present.  Parameters are counted from safetensors headers,
    without loading weights."""
    resolved = spec if isinstance(spec, ResolvedModel) else resolve(spec)
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
        self.hits = {"run": 0, "shared": 0}  # generations served from cache (the eval's done line says so)
        self.looked_up = 0

    def get_generations(self, keys: list[str]) -> dict[str, dict]:
        found = self.run_store.get_generations(keys)
        self.looked_up += len(keys)
        self.hits["run"] += len(found)
        missing = [k for k in keys if k not in found]
        if missing and self.shared is not None:
            extra = self.shared.get_generations(missing)
            if extra:
                self.run_store.put_generations([_as_put_row(r) for r in extra.values()])
                found.update(extra)
                self.hits["shared"] += len(extra)
        return found

    def put_generations(self, rows: list[dict]) -> None:
        self.run_store.put_generations(rows)
        if self.shared is not None:
            self.shared.put_generations(rows)

    def __getattr__(self, name):  # anything else (judgements, items ...) is the run's store
        return getattr(self.run_store, name)


def cache_summary(cache: TieredCache, hits_before: dict, looked_up_before: int) -> str:
    """ "generations: 12 looked up, 8 from this run's store, 4 from the shared cache, 0 new" since a mark."""
    looked = cache.looked_up - looked_up_before
    run, shared = (cache.hits[k] - hits_before[k] for k in ("run", "shared"))
    if not looked:
        return "no generations (log-likelihood or stored scores only)"
    where = f" ({cache.shared.path})" if shared and cache.shared is not None else ""
    return (
        f"generations: {looked} looked up, {run} from this run's store, {shared} from the shared "
        f"cache{where}, {looked - run - shared} generated"
    )


def _as_put_row(row: dict) -> dict:
    row = dict(row)
    if "decoding" not in row:
        row["decoding"] = json.loads(row.get("decoding_json") or "{}")
    return row


def default_cache_path() -> Path:
    return cache_dir() / "cache.sqlite"


# -- the context an eval runs in ---------------------------------------------------------------------------
class EvalContext:
    """Everything an eval's `run(ctx, spec)` needs.  Engines, loaded models and judges are built on first
    use and shared by every eval of the run."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        run_dir: Path,
        candidates: list[ModelRef],
        baseline: ModelRef | None,
        limit: int | None = None,
        seed: int = 0,
        cache: Any = None,
        progress: bool | None = None,
        log: Callable[[str], None] | None = None,
        batch_size: int | None = None,
    ):
        self.store = store
        self.batch_size = batch_size  # --batch-size: the engines' batch (None: each engine's default)
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.candidates = candidates
        self.baseline = baseline
        self.limit = limit
        self.seed = seed
        self.cache = cache if cache is not None else store
        self._progress = progress
        self._log = log or (lambda msg: print(msg, file=sys.stderr))
        self._refs: dict[str, ModelRef] = {m.spec: m for m in self.models}
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

    def ref(self, model: ModelRef | str) -> ModelRef:
        """The run's ModelRef for a model or a spec string (judges, ad-hoc specs: resolved once per run too)."""
        if isinstance(model, ModelRef):
            return model
        if model not in self._refs:
            self._refs[model] = ModelRef(model, model, "judge")
        return self._refs[model]

    def engine(self, model: ModelRef | str):
        """A generation engine for a model (built once per run, cached in the run's store)."""
        ref = self.ref(model)
        if ref.spec not in self._engines:
            if not ref.resolved.in_process:  # served elsewhere (openai:) or by its own engine (vllm:)
                self._engines[ref.spec] = make_generation_engine(
                    ref.spec, cache=self.cache, progress=self._progress, batch_size=self.batch_size
                )
            else:
                # Share the weights with load() (log-likelihood evals, RM judges on the same spec) instead of
                # holding a second copy of the model in memory.
                self._engines[ref.spec] = make_generation_engine(
                    self.load(ref),
                    cache=self.cache,
                    fingerprint=ref.fingerprint,
                    progress=self._progress,
                    batch_size=self.batch_size,
                )
        return self._engines[ref.spec]

    def load(self, model: ModelRef | str, task: str = "causal-lm"):
        """(model, tokenizer), loaded once per run."""
        ref = self.ref(model)
        if (ref.spec, task) not in self._loaded:
            self._loaded[(ref.spec, task)] = load_model(ref.resolved, task=task, device=default_device())
        return self._loaded[(ref.spec, task)]

    def loglik_engine(self, model: ModelRef | str):
        spec = model.spec if isinstance(model, ModelRef) else model
        if spec.startswith(("openai:", "vllm:")):  # scored by the server / in-process vLLM (engines/loglik.py)
            return make_loglik_engine(spec)
        return LoglikEngine(*self.load(model), **({"batch_size": self.batch_size} if self.batch_size else {}))

    def judge(self, spec: dict):
        """A judge from its spec (see alignbench.judges.make_judge), built once per run and recorded in
        the models table with role `judge`."""
        key = canonical_json(spec)
        if key not in self._judges:
            judge = make_judge(spec, cache=self.store)
            self._judges[key] = judge
            info = {k: v for k, v in spec.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
            self.store.add_model(
                self.run_id,
                judge.name,
                str(spec.get("model") or spec.get("type")),
                getattr(judge, "fingerprint", "") or "",
                "judge",
                info,
            )
        return self._judges[key]

    # reporting
    def progress(self, iterable=None, total: int | None = None, desc: str | None = None):
        """A bar on a terminal, a line every $ALIGNBENCH_PROGRESS_INTERVAL s in logs (judging loops)."""
        return progress_bar(iterable, total=total, desc=desc, enabled=self._progress, leave=False)

    def log(self, message: str) -> None:
        self._log(message)

    def write_metrics_json(self) -> Path:
        path = self.run_dir / "metrics.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.store.metrics_dict(self.run_id), indent=2, sort_keys=True))
        tmp.replace(path)
        return path
