"""What the paper's benchmarks share: load an eval's items from a data adapter, and store per-item values
with their aggregate (mean with a 95% CI) or a candidate-minus-baseline delta (paired bootstrap) under the
store naming of docs/architecture.md."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from alignbench.stats import mean_with_ci, paired_bootstrap, wilson_interval


def load_items(ctx, spec, dataset: str, **choices) -> list:
    """The eval's items from data adapter `dataset` (spec keys `source`, `version`, `subset`, `split` may
    override `choices`), capped at ctx.item_limit(spec), and recorded in the store's items table."""
    from alignbench.data.adapters import LoadReport, load_dataset_items

    kwargs = {k: spec.get(k, choices.get(k)) for k in ("source", "version", "subset", "split")}
    report = LoadReport()
    items = load_dataset_items(
        dataset, limit=ctx.item_limit(spec), report=report, **{k: v for k, v in kwargs.items() if v is not None}
    )
    if not items:
        raise spec.error("dataset", f"{report.summary()}: no items")
    ctx.log(f"[{spec.name}] {report.summary()}")
    ctx.store.add_items(
        ctx.run_id,
        spec.name,
        [(it.id, it.to_dict()) for it in items],
        dataset=dataset,
        dataset_fingerprint=str(kwargs.get("version") or ""),
    )
    return items


def put_mean(
    ctx,
    eval_name: str,
    metric: str,
    model: str,
    values: dict[str, float],
    higher_is_better: bool | None,
    meta: dict,
    proportion: bool = False,
) -> None:
    """Per-item values to item_metrics and their mean (bootstrap CI, or Wilson for 0/1 values) to metrics."""
    ctx.store.put_item_metrics(ctx.run_id, eval_name, metric, model, values)
    arr = np.array([np.nan if v is None else float(v) for v in values.values()], dtype=float)
    est = mean_with_ci(arr, seed=ctx.seed)
    lo, hi = est.ci_low, est.ci_high
    if proportion and est.n:
        lo, hi = wilson_interval(float(np.nansum(arr)), est.n)
    ctx.store.put_metric(
        ctx.run_id, eval_name, metric, model, _num(est.value), _num(lo), _num(hi), est.n, higher_is_better, meta
    )


def put_delta(
    ctx,
    eval_name: str,
    metric: str,
    candidate: str,
    baseline: str,
    cand_values: dict[str, float],
    base_values: dict[str, float],
    higher_is_better: bool | None,
    meta: dict,
) -> None:
    """`<metric>_delta` (candidate − baseline over the items both have) with its paired bootstrap CI,
    stored under the candidate's name."""
    common = [k for k in cand_values if k in base_values]
    diff = paired_bootstrap(
        [_nan(cand_values[k]) for k in common], [_nan(base_values[k]) for k in common], seed=ctx.seed
    )
    ctx.store.put_metric(
        ctx.run_id,
        eval_name,
        f"{metric}_delta",
        candidate,
        _num(diff.value),
        _num(diff.ci_low),
        _num(diff.ci_high),
        diff.n,
        higher_is_better,
        {
            **meta,
            "label": f"{meta.get('label', metric)} (candidate − baseline)",
            "baseline": baseline,
            "p_value": _num(diff.p_value),
        },
    )


def chunks(seq: list, size: int):
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def _num(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
