"""The suite runner: every eval of a suite, for one or more candidates against one baseline, into a run folder.

    run_dir = run_suite(load_suite("winrate"), candidates=[("sft", "path/to/sft")], baseline="smollm2-135m",
                        out="runs/x", limit=20)

The run folder holds run.sqlite (every item, generation, judgement and metric) and metrics.json.
Everything an eval computes is stored as it goes, so a run that dies part-way resumes on rerun:
generations and judgements come back from the cache and metrics are rewritten identically.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from alignbench.errors import AlignbenchError
from alignbench.evals import get_eval
from alignbench.evals.context import (
    EvalContext,
    ModelRef,
    TieredCache,
    cache_summary,
    default_cache_path,
    model_info,
    parse_model_arg,
)
from alignbench.evals.suite import Suite, load_suite
from alignbench.store import Store, canonical_json


def default_run_dir() -> Path:
    return Path("runs") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def run_suite(
    suite: Suite | str | Path | dict,
    candidates: list[tuple[str, str]] | list[str],
    baseline: str | tuple[str, str] | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    seed: int | None = None,
    cache: str | Path | None | bool = True,
    only: list[str] | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    batch_size: int | None = None,
) -> Path:
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
    config = {
        "suite": suite.raw or suite.path,
        "candidates": [[r.name, r.spec] for r in refs],
        "baseline": [base.name, base.spec] if base else None,
        "limit": limit,
        "seed": seed,
        "only": only,
    }
    run_id = _resume_run_id(store, config)
    run_id = store.start_run("eval", config=config, suite=suite.name, seed=seed, run_id=run_id)
    ctx = EvalContext(
        store,
        run_id,
        run_dir,
        refs,
        base,
        limit=limit,
        seed=seed,
        cache=TieredCache(store, shared),
        progress=progress,
        log=log,
        batch_size=batch_size,
    )
    # From here on the run ends marked done, failed (with the error) or interrupted, never left `running`.
    try:
        with store.tracking(run_id):
            for ref in refs + ([base] if base else []):
                store.add_model(run_id, ref.name, ref.spec, ref.fingerprint, ref.role, model_info(ref.resolved))
            for k, spec in enumerate(evals, 1):
                ctx.log(f"[{spec.name}] running ({spec.type}; eval {k} of {len(evals)})")
                started, before = time.monotonic(), (dict(ctx.cache.hits), ctx.cache.looked_up)
                get_eval(spec.type)(ctx, spec)
                ctx.write_metrics_json()  # after each eval, so a later failure loses nothing
                ctx.log(
                    f"[{spec.name}] done in {time.monotonic() - started:.1f} s; " + cache_summary(ctx.cache, *before)
                )
    finally:
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
        lines.append(
            f"  - {spec.name} [{spec.type}] limit={min(lim) if lim else 'all'} {json.dumps(extra, default=str)}"
        )
    return "\n".join(lines)
