"""Human-feedback metrics into the results store, so `alignbench report` and `compare` show them.

Per model (the hidden model behind each response), over items (per item first averaged over its labelers):
  human_likert      likert_mean          mean 1-7 score, 95% percentile-bootstrap CI over items
  human_flags       flag_<key>           share of responses flagged (the paper's metadata figure), CI as above
  human_agreement/G agreement            inter-annotator agreement over response pairs (agreement.py) among
                                         labelers of group G (all | train | heldout), written under every model
Compare projects add, for the candidate, the human-judged win rate by labeler group (the paper's check that
win rates hold for held-out labelers), named like a win-rate eval with a human judge:
  winrate/human, winrate/human-train, winrate/human-heldout   win_rate, tie_rate (+ per-item win_rate rows)
Where: a project made from an eval run writes into that run (its models and items are already there);
otherwise into PROJECT_DIR/results (a run folder of its own, command "label").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from alignbench.labeling.agreement import inter_annotator
from alignbench.labeling.export import screened_labels
from alignbench.labeling.labels import FLAGS
from alignbench.labeling.project import Project
from alignbench.stats import mean_with_ci, wilson_interval

GROUPS = {"all": None, "train": "train", "heldout": "heldout"}


def _per_response(labels: list[dict]) -> pd.DataFrame:
    rows = []
    for lab in labels:
        if not lab["in_source"] or not lab["models"]:
            continue
        for model, score, flags in zip(lab["models"], lab["likert"], lab["flags"]):
            rows.append(
                {"item_id": lab["item_id"], "model": model, "likert": score, **{f: float(f in flags) for f in FLAGS}}
            )
    return pd.DataFrame(rows)


def compute(project: Project, min_gold_agreement: float | None = None, seed: int = 0) -> list[dict]:
    """The metric rows: {eval, metric, model, value, ci_low, ci_high, n, higher_is_better, meta, items}."""
    labels, excluded = screened_labels(project, "all", min_gold_agreement)
    regular = [lab for lab in labels if not lab["is_gold"]]
    models = list(dict.fromkeys(m for lab in labels for m in lab["models"]))
    common = {"judge": "human", "project": str(project.folder.resolve()), "labelers_excluded": sorted(excluded)}
    out = []

    def add(eval_name, metric, model, per_item: pd.Series, hib, label, **meta):
        est = mean_with_ci(per_item.to_numpy(float), seed=seed)
        out.append(
            {
                "eval": eval_name,
                "metric": metric,
                "model": model,
                "value": est.value,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "n": est.n,
                "higher_is_better": hib,
                "meta": {"label": label, **common, "ci": "percentile bootstrap over items", **meta},
                "items": per_item.to_dict(),
            }
        )

    frame = _per_response(labels)
    if not frame.empty:
        per_item = frame.groupby(["model", "item_id"], sort=False).mean(numeric_only=True)
        for model in models:
            if model not in per_item.index.get_level_values(0):
                continue
            sub = per_item.loc[model]
            add("human_likert", "likert_mean", model, sub["likert"], True, f"Mean 1-7 Likert score ({model})")
            for flag, text in FLAGS.items():
                add("human_flags", f"flag_{flag}", model, sub[flag], False, f"{text} ({model})", flag=flag)
    for group, only in GROUPS.items():
        agreement = inter_annotator(regular, only, seed=seed)
        if agreement.n_items:
            for model in models:
                out.append(
                    {
                        "eval": f"human_agreement/{group}",
                        "metric": "agreement",
                        "model": model,
                        "value": agreement.value,
                        "ci_low": agreement.ci_low,
                        "ci_high": agreement.ci_high,
                        "n": agreement.n_items,
                        "higher_is_better": None,
                        "items": {},
                        "meta": {
                            "label": f"Inter-annotator agreement over response pairs ({group} labelers; "
                            "all items of the project)",
                            **common,
                            **agreement.as_dict(),
                        },
                    }
                )
    if project.task == "compare" and models:
        out += _win_rates(project, labels, models, common, seed)
    return out


def _win_rates(project: Project, labels: list[dict], models: list[str], common: dict, seed: int) -> list[dict]:
    candidate, baseline = models[0], models[1]
    rows = []
    for group, only in GROUPS.items():
        prefs = pd.DataFrame(
            [
                {
                    "item_id": lab["item_id"],
                    "pref": 1.0
                    if lab["ranks"][0] < lab["ranks"][1]
                    else 0.0
                    if lab["ranks"][0] > lab["ranks"][1]
                    else 0.5,
                }
                for lab in labels
                if lab["in_source"] and (only is None or lab["grp"] == only)
            ]
        )
        if prefs.empty:
            continue
        per_item = prefs.groupby("item_id", sort=False)["pref"].mean()
        name = "winrate/human" if group == "all" else f"winrate/human-{group}"
        est = mean_with_ci(per_item.to_numpy(), seed=seed)
        lo, hi = wilson_interval(float(per_item.sum()), len(per_item))
        meta = {
            **common,
            "baseline": baseline,
            "n_labels": len(prefs),
            "group": group,
            "wilson_low": lo,
            "wilson_high": hi,
            "ci": "percentile bootstrap over prompts",
        }
        rows.append(
            {
                "eval": name,
                "metric": "win_rate",
                "model": candidate,
                "value": est.value,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "n": est.n,
                "higher_is_better": True,
                "items": per_item.to_dict(),
                "meta": {"label": f"Win rate vs {baseline} (human, {group} labelers)", **meta},
            }
        )
        ties = (per_item == 0.5).astype(float)
        t = mean_with_ci(ties.to_numpy(), seed=seed)
        rows.append(
            {
                "eval": name,
                "metric": "tie_rate",
                "model": candidate,
                "value": t.value,
                "ci_low": t.ci_low,
                "ci_high": t.ci_high,
                "n": t.n,
                "higher_is_better": None,
                "items": ties.to_dict(),
                "meta": {"label": f"Tie rate vs {baseline} (human, {group} labelers)", **meta},
            }
        )
    return rows


def write_metrics(
    project: Project, into: str | Path | None = None, min_gold_agreement: float | None = None
) -> tuple[Path, str, int]:
    """Compute and store the metrics; returns (run folder, run id, number of metric rows)."""
    from alignbench.store import Store

    source = project.meta.get("source") or {}
    rows = compute(project, min_gold_agreement, seed=int(project.meta.get("seed") or 0))
    same_run = into is None and source.get("run_dir") and Path(source["run_dir"]).is_dir()
    run_dir = Path(source["run_dir"]) if same_run else Path(into or project.folder / "results")
    store = Store(run_dir)
    try:
        if same_run:
            run_id = source["run_id"]
        else:
            run_id = store.start_run("label", config={"project": str(project.folder.resolve()), "task": project.task})
            known = source.get("models") or {}
            names = list(dict.fromkeys(r["model"] for r in rows))
            for name in names:
                m = known.get(name) or {}
                role = m.get("role") or ("baseline" if name == source.get("baseline") else "candidate")
                store.add_model(
                    run_id,
                    name,
                    m.get("spec") or name,
                    m.get("fingerprint") or f"label:{name}",
                    role,
                    m.get("info") or {},
                )
        for r in rows:
            if r["items"]:
                store.put_item_metrics(
                    run_id,
                    r["eval"],
                    r["metric"],
                    r["model"],
                    {k: (None if v is None or np.isnan(v) else float(v)) for k, v in r["items"].items()},
                )
            store.put_metric(
                run_id,
                r["eval"],
                r["metric"],
                r["model"],
                r["value"],
                r["ci_low"],
                r["ci_high"],
                r["n"],
                r["higher_is_better"],
                r["meta"],
            )
        if not same_run:
            store.finish_run(run_id)
        (run_dir / "metrics.json").write_text(json.dumps(store.metrics_dict(run_id), indent=2, default=str))
    finally:
        store.close()
    return run_dir, run_id, len(rows)
