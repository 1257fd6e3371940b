"""`alignbench compare BASE_RUN CAND_RUN`: for every (eval, metric) both runs' candidates share, the
change (candidate − base), a paired bootstrap CI over items and a verdict.

* Pairing: the same items on both sides (item_metrics rows with the same item_id).  If the item sets
  differ the comparison refuses with a clear error, unless `allow_partial` (then the shared items are used).
* Seeded: the bootstrap seed is fixed (default 0), so the same two runs always give the same verdict.
* Verdict: `better` / `worse` when the 95% CI of the change excludes 0 (direction from
  `higher_is_better`), `changed` when the metric has no direction, else `no significant change`.
* Metrics with no per-item values on one side fall back to an unpaired normal approximation from the
  two stored CIs (method `unpaired-ci`): wider, never narrower, than the paired interval.
* `<metric>_delta` rows (alignment tax) store no per-item values; their items are rebuilt as candidate
  minus baseline from the run's own per-item `<metric>` rows when both are there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alignbench.errors import AlignbenchError
from alignbench.reports.load import Run
from alignbench.reports.tables import md_code, md_escape, row_sort_key
from alignbench.stats import DEFAULT_RESAMPLES, paired_bootstrap

BETTER, WORSE, SAME, CHANGED = "better", "worse", "no significant change", "changed"


@dataclass
class MetricChange:
    eval: str
    metric: str
    label: str
    higher_is_better: bool | None
    base_value: float | None
    cand_value: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    method: str  # paired-bootstrap | unpaired-ci | none
    p_value: float | None = None
    base_ci: tuple = (None, None)
    cand_ci: tuple = (None, None)

    @property
    def key(self) -> str:
        return f"{self.eval}.{self.metric}"

    @property
    def significant(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)

    @property
    def verdict(self) -> str:
        if not self.significant:
            return SAME
        if self.higher_is_better is None:
            return CHANGED
        up = self.ci_low > 0
        return BETTER if up == self.higher_is_better else WORSE


@dataclass
class Comparison:
    base: Run
    cand: Run
    base_model: str
    cand_model: str
    changes: list[MetricChange]
    only_base: list[str] = field(default_factory=list)
    only_cand: list[str] = field(default_factory=list)
    partial: dict = field(default_factory=dict)  # key -> (n_base, n_cand, n_shared) when allow_partial cut items
    seed: int = 0

    def get(self, key: str) -> MetricChange | None:
        return next((c for c in self.changes if c.key == key), None)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "eval": c.eval,
                    "metric": c.metric,
                    "label": c.label,
                    "base": c.base_value,
                    "candidate": c.cand_value,
                    "diff": c.diff,
                    "ci_low": c.ci_low,
                    "ci_high": c.ci_high,
                    "n": c.n,
                    "method": c.method,
                    "p_value": c.p_value,
                    "verdict": c.verdict,
                }
                for c in self.changes
            ]
        )


def pick_model(run: Run, name: str | None, side: str) -> str:
    """The run's candidate: the one named, or its only candidate."""
    candidates = run.candidates()
    if name is not None:
        known = set(run.metrics["model"])
        if not run.models.empty:
            known |= set(run.models["name"])
        if name not in known:
            raise AlignbenchError(
                f"{run.path}: no model {name!r} in run {run.run_id} (candidates: {', '.join(candidates) or 'none'})"
            )
        return name
    if len(candidates) != 1:
        raise AlignbenchError(
            f"{run.path}: run {run.run_id} has {len(candidates)} candidate models "
            f"({', '.join(candidates) or 'none'}); choose one with --{side}-model NAME"
        )
    return candidates[0]


def item_values(run: Run, model: str, eval_name: str, metric: str) -> pd.Series | None:
    """Per-item values of (eval, metric, model), indexed by item_id; None when the run stored none."""
    im = run.item_metrics
    if not im.empty:
        sel = im[(im["eval"] == eval_name) & (im["metric"] == metric) & (im["model"] == model)]
        if not sel.empty:
            return sel.set_index("item_id")["value"].astype(float)
    if metric.endswith("_delta"):
        row = run.metrics[
            (run.metrics["eval"] == eval_name) & (run.metrics["metric"] == metric) & (run.metrics["model"] == model)
        ]
        baseline = (row.iloc[0]["meta"] or {}).get("baseline") if not row.empty else None
        base_metric = metric[: -len("_delta")]
        cand = item_values(run, model, eval_name, base_metric)
        base = item_values(run, baseline, eval_name, base_metric) if baseline else None
        if cand is not None and base is not None:
            shared = cand.index.intersection(base.index)
            return cand[shared] - base[shared]
    return None


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x) else float(x)


def _unpaired(b: dict, c: dict) -> tuple[float | None, float | None, float | None]:
    """Change and a normal-approximation 95% CI from the two stored CIs (half-widths added in quadrature)."""
    bv, cv = _num(b["value"]), _num(c["value"])
    if bv is None or cv is None:
        return None, None, None
    diff = cv - bv
    widths = [(_num(r["ci_high"]), _num(r["ci_low"])) for r in (b, c)]
    if any(hi is None or lo is None for hi, lo in widths):
        return diff, None, None
    half = math.sqrt(sum(((hi - lo) / 2) ** 2 for hi, lo in widths))
    return diff, diff - half, diff + half


def compare_runs(
    base: Run,
    cand: Run,
    base_model: str | None = None,
    cand_model: str | None = None,
    allow_partial: bool = False,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
) -> Comparison:
    bm, cm = pick_model(base, base_model, "base"), pick_model(cand, cand_model, "cand")
    b_rows = base.metrics[base.metrics["model"] == bm].set_index(["eval", "metric"])
    c_rows = cand.metrics[cand.metrics["model"] == cm].set_index(["eval", "metric"])
    shared = [k for k in c_rows.index if k in b_rows.index]
    shared.sort(key=lambda k: row_sort_key(*k))
    changes, mismatched, partial = [], [], {}
    for eval_name, metric in shared:
        b, c = b_rows.loc[(eval_name, metric)], c_rows.loc[(eval_name, metric)]
        bi, ci = item_values(base, bm, eval_name, metric), item_values(cand, cm, eval_name, metric)
        hib = c["higher_is_better"] if c["higher_is_better"] is not None else b["higher_is_better"]
        change = MetricChange(
            eval=eval_name,
            metric=metric,
            label=c["label"],
            higher_is_better=hib,
            base_value=_num(b["value"]),
            cand_value=_num(c["value"]),
            diff=None,
            ci_low=None,
            ci_high=None,
            n=0,
            method="none",
            base_ci=(_num(b["ci_low"]), _num(b["ci_high"])),
            cand_ci=(_num(c["ci_low"]), _num(c["ci_high"])),
        )
        if bi is not None and ci is not None:
            common = bi.index.intersection(ci.index)
            if len(common) != len(bi) or len(common) != len(ci):
                key = f"{eval_name}.{metric}"
                mismatched.append(f"{key}: base {len(bi)} items, candidate {len(ci)} items, {len(common)} shared")
                partial[key] = (len(bi), len(ci), len(common))
            common = sorted(common)
            d = paired_bootstrap(ci[common].to_numpy(), bi[common].to_numpy(), n_resamples=n_resamples, seed=seed)
            change.diff, change.ci_low, change.ci_high = _num(d.value), _num(d.ci_low), _num(d.ci_high)
            change.n, change.p_value, change.method = d.n, _num(d.p_value), "paired-bootstrap"
        else:
            change.diff, change.ci_low, change.ci_high = _unpaired(b, c)
            change.n = int(min(_num(b["n"]) or 0, _num(c["n"]) or 0))
            change.method = "unpaired-ci" if change.ci_low is not None else "none"
        changes.append(change)
    if mismatched and not allow_partial:
        raise AlignbenchError(
            f"item sets differ between {base.path} ({bm}) and {cand.path} ({cm}), so a paired comparison is not "
            f"possible; rerun on the same items or pass --allow-partial to compare the shared items only:\n  "
            + "\n  ".join(mismatched)
        )
    keys = lambda rows: {f"{e}.{m}" for e, m in rows.index}  # noqa: E731
    return Comparison(
        base=base,
        cand=cand,
        base_model=bm,
        cand_model=cm,
        changes=changes,
        only_base=sorted(keys(b_rows) - keys(c_rows)),
        only_cand=sorted(keys(c_rows) - keys(b_rows)),
        partial=partial if allow_partial else {},
        seed=seed,
    )


SMALL_N = 30  # below this many paired items a bootstrap CI is rough (and tends to be too narrow)


def check_comparable(run: Run, side: str) -> str | None:
    """Refuse a run that holds no metrics, saying what state it is in (failed, interrupted, unfinished)
    instead of the "choose one with --base-model" a missing candidate would give; return a warning for a
    run that did not finish but holds some metrics."""
    from alignbench.reports.load import status_warning

    warning = status_warning(run)
    if run.metrics.empty:
        state = run.info.get("status") or "running"
        if state == "done":
            raise AlignbenchError(f"{side} run {run.path} (run {run.run_id}): finished but holds no metrics")
        raise AlignbenchError(f"{side} {warning} Nothing to compare.")
    return warning


def comparison_warnings(comparison: Comparison) -> list[str]:
    """Lines the compare output starts with: unfinished runs, and metrics compared on fewer than SMALL_N items."""
    out = []
    for side, run in (("base", comparison.base), ("candidate", comparison.cand)):
        from alignbench.reports.load import status_warning

        warning = status_warning(run)
        if warning:
            out.append(f"{side}: {warning}")
    small = [c for c in comparison.changes if c.method != "none" and 0 < c.n < SMALL_N]
    if small:
        ns = sorted({c.n for c in small})
        out.append(
            f"small sample: {len(small)} of {len(comparison.changes)} metrics rest on fewer than {SMALL_N} "
            f"items (n = {', '.join(map(str, ns))}); their bootstrap CIs are rough and tend to be too narrow, "
            f"so read a pass or fail on them as a hint, not a verdict. Rerun with more items (--limit)."
        )
    return out


def fmt(x: float | None, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def changes_markdown(comparison: Comparison) -> str:
    """The per-metric table: base, candidate, change [95% CI], verdict."""
    icon = {BETTER: "🟢 better", WORSE: "🔴 worse", SAME: "⚪ no significant change", CHANGED: "🟡 changed"}
    lines = ["| metric | base | candidate | change [95% CI] | n | verdict |", "|:--|--:|--:|--:|--:|:--|"]
    for c in comparison.changes:
        arrow = {True: " ↑", False: " ↓"}.get(c.higher_is_better, "")
        ci = f" [{fmt(c.ci_low, True)}, {fmt(c.ci_high, True)}]" if c.ci_low is not None else ""
        method = "" if c.method == "paired-bootstrap" else f" ({c.method})"
        lines.append(
            f"| {md_escape(c.label)}{arrow} <br>{md_code(c.key)} | {fmt(c.base_value)} | {fmt(c.cand_value)} | "
            f"{fmt(c.diff, True)}{ci}{method} | {c.n} | {icon[c.verdict]} |"
        )
    return "\n".join(lines) + "\n"
