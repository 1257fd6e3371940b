"""The human-feedback figure, like the paper's metadata figure (Ouyang et al. 2022, Figure 4): per model,
the share of responses labelers flagged for each metadata question, and the mean 1-7 Likert score, with
95% CIs.  Drawn from the `human_flags` / `human_likert` rows that `alignbench label export --format metrics`
writes (alignbench/labeling/metrics.py); None when the runs hold none.  Needs the table with every metric
(flag rates are not headline metrics)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: never open a window
import matplotlib.pyplot as plt
import numpy as np

from alignbench.reports.tables import ResultTable

MAX_PANELS = 9


def plot_human_feedback(table: ResultTable):
    long = table.long
    data = long[long["eval"].isin(["human_flags", "human_likert"])]
    if data.empty:
        return None
    flags = data[(data["eval"] == "human_flags") & (data["value"].fillna(0) > 0)]
    panels = [("human_likert", "likert_mean", "Likert score (1-7)")]
    panels += [
        ("human_flags", m, str(flags[flags["metric"] == m]["label"].iloc[0]).rsplit(" (", 1)[0])
        for m in dict.fromkeys(flags["metric"])
    ]
    panels = panels[:MAX_PANELS]
    cols = [c for c in table.columns if c in set(data["column"])]
    ncol = min(3, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False)
    for ax, (eval_name, metric, title) in zip(axes.flat, panels):
        sub = data[(data["eval"] == eval_name) & (data["metric"] == metric)].set_index("column").reindex(cols)
        x = np.arange(len(cols))
        values = sub["value"].to_numpy(float)
        err = np.vstack([values - sub["ci_low"].to_numpy(float), sub["ci_high"].to_numpy(float) - values])
        ax.bar(
            x,
            np.nan_to_num(values),
            yerr=np.nan_to_num(np.clip(err, 0, None)),
            capsize=3,
            color=[f"C{table.columns.index(c) % 10}" for c in cols],
        )
        ax.set_xticks(x, cols, rotation=20 if max(map(len, cols)) > 8 else 0, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(1, 7) if eval_name == "human_likert" else ax.set_ylim(
            0, max(0.05, np.nanmax(sub["ci_high"]) * 1.15)
        )
        ax.set_ylabel("mean score" if eval_name == "human_likert" else "share of responses", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("Human feedback: Likert score and metadata flags per model (95% CI)", fontsize=10)
    fig.tight_layout()
    return fig


def human_figures(table: ResultTable) -> dict:
    fig = plot_human_feedback(table)
    return {} if fig is None else {"human_feedback": fig}
