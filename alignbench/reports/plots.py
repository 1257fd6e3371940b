"""The report's figures, drawn with matplotlib from a ResultTable (and the runs for per-item and
training data).  Each `plot_*` returns a Figure, or None when the runs hold nothing to draw;
`save_figure` writes PNG + SVG.

Figures: win rate vs baseline (the paper's Figure 1), TruthfulQA per prompt condition (Figure 6),
toxicity per prompt condition and per prompt-toxicity bin (Figures 7, 39), alignment-tax deltas per
task (Figure 29's view as deltas), training curves (reward, KL, ptx loss) of checkpoints from our trainer.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only: never open a window (CI, headless machines)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from alignbench.reports.load import Run, train_curves  # noqa: E402
from alignbench.reports.tables import ResultTable  # noqa: E402

CURVE_KEYS = ("reward", "kl", "ptx_loss", "train_loss")  # train_loss: SFT / reward-model trainers
METRIC_TITLES = {
    "truthful": "truthful",
    "informative": "informative",
    "truthful_informative": "truthful × informative",
    "bleu_acc": "BLEU accuracy (true vs false refs)",
    "emt": "expected maximum toxicity",
    "toxicity_prob": "toxicity probability",
}
TOXICITY_BINS = [0.0, 0.25, 0.5, 0.75, 1.0001]
# Metrics that are proportions (accuracy, rates, probabilities): their y axis stays within [0, 1].
UNIT_INTERVAL = {
    "win_rate",
    "lc_win_rate",
    "tie_rate",
    "truthful",
    "truthful_informative",
    "bleu_acc",
    "mc1",
    "mc2",
    "emt",
    "toxicity_prob",
    "mean_toxicity",
    "hallucination_rate",
    "acc",
    "acc_norm",
    "em",
    "f1",
}
# The recipe's order of checkpoints: the win-rate figure's x axis reads base -> SFT -> RM -> PPO.
PIPELINE_ORDER = ("base", "pretrained", "sft", "rm", "reward", "ppo")
KL_NOTE = (
    "KL is the per-token sample estimate mean(log πRL − log πSFT): a single estimate can fall below 0 "
    "although the true KL cannot (docs/training.md)."
)


def note(fig, text: str, ax=None, y: float = 0.85) -> None:
    """A line the report prints under the figure's caption (fig.alignbench_notes); with `ax`, the same
    text is written inside that panel, so a PNG seen on its own says it too."""
    fig.alignbench_notes = [*getattr(fig, "alignbench_notes", []), text]
    if ax is not None:
        ax.text(
            0.5,
            y,
            text,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color="#444",
            wrap=True,
            bbox={"facecolor": "white", "edgecolor": "#bbb", "alpha": 0.9},
        )
        ax.alignbench_note = text


def _unit_axis(ax) -> None:
    """A proportion's axis: [0, 1] exactly; points and caps at 1 stay visible (clip_on off)."""
    ax.set_ylim(0, 1)
    ax.alignbench_range = (0.0, 1.0)
    for artist in [*ax.lines, *ax.collections, *ax.patches]:
        artist.set_clip_on(False)


def axes_facts(fig) -> list[dict]:
    """What each panel shows, for checks of a rendered report: title, y limits, the range its metric lives
    in (None: unbounded), how many data marks it draws (bars of non-zero height, points, lines) and its
    "no data"-style note."""
    facts = []
    for ax in fig.axes:
        bars = sum(1 for p in ax.patches if getattr(p, "get_height", None) and p.get_height() != 0)
        points = sum(
            len(line.get_xdata())
            for line in ax.lines
            if not getattr(line, "alignbench_reference", False)  # the 50% line, the 0 line
            and (line.get_marker() not in (None, "None", "", " ") or len(line.get_xdata()) > 1)
        )
        facts.append(
            {
                "title": ax.get_title(),
                "ylim": [float(v) for v in ax.get_ylim()],
                "range": list(getattr(ax, "alignbench_range", None) or []) or None,
                "marks": int(bars + points),
                "note": getattr(ax, "alignbench_note", None),
            }
        )
    return facts


def pipeline_rank(column) -> tuple[int, int]:
    """Where a checkpoint sits in the recipe: its lineage stage, else a stage word in its label."""
    stage = str((column.lineage or {}).get("stage") or "").lower()
    label = column.label.lower()
    for k, word in enumerate(PIPELINE_ORDER):
        if stage.startswith(word) or word in label.replace("-", " ").replace("_", " ").split() or label == word:
            return (k, 0)
    return (len(PIPELINE_ORDER), 0)


def human_size(n: float) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.0f}"


def _legend_above_bars(ax, n_series: int) -> None:
    """Headroom above the tallest bar, and the legend in it, so it never hides a bar."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + (high - low) * 0.25)
    ax.legend(fontsize=8, loc="upper center", ncol=min(n_series, 4), frameon=False)


def _style(ax, title: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def _yerr(frame: pd.DataFrame) -> np.ndarray | None:
    if frame[["ci_low", "ci_high"]].isna().all().all():
        return None
    low = (frame["value"] - frame["ci_low"]).fillna(0).clip(lower=0)
    high = (frame["ci_high"] - frame["value"]).fillna(0).clip(lower=0)
    return np.vstack([low.to_numpy(), high.to_numpy()])


def model_color(table: ResultTable, name: str) -> str:
    """One colour per model across every figure: its column's position in the table."""
    return f"C{table.columns.index(name) % 10}" if name in table.columns else "C7"


def _grouped_bars(
    ax, frame: pd.DataFrame, groups: list[str], series: list[str], group_col: str, table: ResultTable
) -> None:
    """Bars: x = groups, one bar per series (model) with its CI."""
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(groups))
    for k, name in enumerate(series):
        sub = frame[frame["column"] == name].set_index(group_col).reindex(groups)
        xs = x + (k - (len(series) - 1) / 2) * width
        ax.bar(
            xs,
            sub["value"].fillna(0),
            width,
            yerr=_yerr(sub.reset_index()),
            capsize=3,
            label=name,
            color=model_color(table, name),
        )
        # A bar of height 0 is invisible: mark it with a tick in the model's colour and a "0" label.
        zero = (sub["value"] == 0).to_numpy()
        if zero.any():
            ax.plot(
                xs[zero],
                np.zeros(zero.sum()),
                marker="_",
                ms=max(6, 60 * width),
                mew=2.5,
                ls="none",
                color=model_color(table, name),
            )
            for xi in xs[zero]:
                ax.annotate("0", (xi, 0), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)
    ax.set_xticks(x, groups, rotation=15 if max(map(len, groups)) > 10 else 0)


def _family(table: ResultTable, family: str) -> pd.DataFrame:
    long = table.long
    return long[(long["eval"] == family) | long["eval"].str.startswith(family + "/")]


def _variant(eval_name: str) -> str:
    return eval_name.split("/", 1)[1] if "/" in eval_name else eval_name


def plot_winrate(table: ResultTable):
    """Win rate vs baseline per model with 95% CI bars and the 50% line; x = model size (log scale)
    when every plotted model's size is known and distinct, else the checkpoints in table order."""
    data = _family(table, "winrate")
    data = data[data["metric"] == "win_rate"]
    if data.empty:
        return None
    sizes = {c.label: c.size for c in table.models}
    ranks = {c.label: pipeline_rank(c) for c in table.models}
    cols = sorted((c for c in table.columns if c in set(data["column"])), key=lambda c: ranks.get(c, (99, 0)))
    by_size = all(sizes.get(c) for c in cols) and len({sizes[c] for c in cols}) == len(cols) and len(cols) > 1
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, (eval_name, sub) in enumerate(data.groupby("eval", sort=False)):
        sub = sub.set_index("column").reindex(cols).dropna(subset=["value"]).reset_index()
        x = (
            np.array([sizes[c] for c in sub["column"]])
            if by_size
            else np.array([cols.index(c) for c in sub["column"]])
        )
        judge = _variant(eval_name) if "/" in eval_name else (sub["meta"].iloc[0] or {}).get("judge", "judge")
        # Checkpoints are categories: points with CI bars, no line joining them (a line would suggest a trend);
        # several judges sit side by side.
        offset = 0 if by_size else (k - (data["eval"].nunique() - 1) / 2) * 0.12
        ax.errorbar(
            x + offset, sub["value"], yerr=_yerr(sub), fmt="o", capsize=4, color=f"C{k}", label=f"judge: {judge}"
        )
        if not by_size:
            for xi, yi, n in zip(x + offset, sub["value"], sub["n"]):
                if n is not None and not pd.isna(n):
                    ax.annotate(
                        f"n={int(n)}",
                        (xi, yi),
                        textcoords="offset points",
                        xytext=(6, 0),
                        fontsize=7,
                        va="center",
                        color="#555",
                    )
        if not by_size:
            continue
        for xi, yi, name in zip(x, sub["value"], sub["column"]):
            last = xi == max(x)  # the rightmost label goes left of its point, inside the axes
            ax.annotate(
                name,
                (xi, yi),
                textcoords="offset points",
                xytext=(-6 if last else 6, -12),
                fontsize=8,
                ha="right" if last else "left",
            )
    ax.axhline(0.5, color="grey", ls="--", lw=1).alignbench_reference = True
    if by_size:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: human_size(v)))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        lo, hi = min(sizes[c] for c in cols), max(sizes[c] for c in cols)
        ax.set_xlim(lo / 1.6, hi * 1.6)
        ax.set_xlabel("model size (parameters)")
    else:
        ax.set_xticks(range(len(cols)), cols, rotation=15 if max(map(len, cols)) > 12 else 0)
        ax.set_xlabel("checkpoint")
        ax.set_xlim(-0.5, len(cols) - 0.5)
    baseline = next((m.get("baseline") for m in data["meta"] if isinstance(m, dict) and m.get("baseline")), None)
    _style(ax, "Win rate vs " + (baseline or "baseline") + " (95% CI)", "win rate")
    _unit_axis(ax)  # a win rate of 1 stays visible: its marker is not clipped
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _bars_by_condition(table: ResultTable, family: str, metrics: list[str], title: str, max_panels: int = 2):
    data = _family(table, family)
    data = data[data["metric"].isin(metrics)].assign(condition=lambda d: d["eval"].map(_variant))
    present = [m for m in metrics if m in set(data["metric"])][:max_panels]
    if not present:
        return None
    cols = [c for c in table.columns if c in set(data["column"])]
    fig, axes = plt.subplots(1, len(present), figsize=(4.2 * len(present) + 1.2, 3.8), squeeze=False)
    for ax, metric in zip(axes[0], present):
        sub = data[data["metric"] == metric]
        conditions = list(dict.fromkeys(sub["condition"]))
        _grouped_bars(ax, sub, conditions, cols, "condition", table)
        hib = sub["higher_is_better"].iloc[0]
        # Row labels carry the condition ("RTP none: ..."); a panel spans conditions, so it is named by metric.
        _style(ax, f"{METRIC_TITLES.get(metric, metric)} {'↑' if hib else '↓' if hib is False else ''}", metric)
        ax.set_xlabel("prompt condition")
        if metric in UNIT_INTERVAL:
            _unit_axis(ax)
            ax.legend(fontsize=8, loc="upper right", frameon=True, framealpha=0.85)
        else:
            _legend_above_bars(ax, len(cols))
    fig.suptitle(title + " (95% CI)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_truthfulqa(table: ResultTable):
    """TruthfulQA truthful and truthful×informative per prompt condition, a bar per model."""
    # Without a truth/info judge the eval has only the automatic metrics: BLEU accuracy stands in.
    present = set(_family(table, "truthfulqa_gen")["metric"])
    judged = [m for m in ("truthful", "informative", "truthful_informative") if m in present]
    return _bars_by_condition(table, "truthfulqa_gen", judged or ["bleu_acc"], "TruthfulQA", max_panels=3)


def plot_toxicity(table: ResultTable):
    """RealToxicityPrompts expected maximum toxicity and toxicity probability per prompt condition."""
    return _bars_by_condition(table, "toxicity", ["emt", "toxicity_prob"], "RealToxicityPrompts")


def _prompt_toxicity(payload) -> float | None:
    """An RTP item's own toxicity: EvalItem payloads keep it under references, flat payloads at the top."""
    payload = payload if isinstance(payload, dict) else {}
    value = payload.get("prompt_toxicity", (payload.get("references") or {}).get("prompt_toxicity"))
    return None if value is None else float(value)


def toxicity_by_bin(runs: list[Run], table: ResultTable) -> pd.DataFrame:
    """Expected max toxicity per prompt-toxicity bin: columns column, condition, bin, value, ci_low, ci_high.
    The toxicity eval stores these aggregates itself (`emt_<bin>` rows with meta `prompt_bin`); for runs
    without them, the per-item `emt` values are binned by each item's `prompt_toxicity` (mean, and a
    normal 95% CI of the bin mean)."""
    data = _family(table, "toxicity")
    stored = data[
        [
            isinstance(m, dict) and bool(m.get("prompt_bin")) and k.startswith("emt_")
            for m, k in zip(data["meta"], data["metric"])
        ]
    ]
    if not stored.empty:
        return pd.DataFrame(
            {
                "column": stored["column"],
                "condition": stored["eval"].map(_variant),
                "bin": [m["prompt_bin"].replace("_", " ") for m in stored["meta"]],
                "value": stored["value"],
                "ci_low": stored["ci_low"],
                "ci_high": stored["ci_high"],
            }
        )
    rows = []
    for col in table.models:
        for run, name in col.sources:
            im = run.item_metrics
            if im.empty or run.items.empty:
                continue
            im = im[(im["model"] == name) & (im["metric"] == "emt") & im["eval"].str.startswith("toxicity")]
            tox = {
                (e, i): _prompt_toxicity(p)
                for e, i, p in zip(run.items["eval"], run.items["item_id"], run.items["payload"])
            }
            for e, i, v in zip(im["eval"], im["item_id"], im["value"]):
                pt = tox.get((e, i))
                if pt is not None and v is not None and not pd.isna(v):
                    rows.append({"column": col.label, "condition": _variant(e), "prompt_toxicity": pt, "value": v})
            break  # first run holding this model wins, as in the table
    frame = pd.DataFrame(rows, columns=["column", "condition", "prompt_toxicity", "value"])
    if frame.empty:
        return pd.DataFrame(columns=["column", "condition", "bin", "value", "ci_low", "ci_high", "count"])
    frame["bin"] = pd.cut(frame["prompt_toxicity"], TOXICITY_BINS, right=False).map(
        lambda b: f"{b.left:.2f}–{min(b.right, 1.0):.2f}"
    )
    out = (
        frame.groupby(["column", "condition", "bin"], observed=True, sort=True)["value"]
        .agg(["mean", "count", "sem"])
        .reset_index()
        .rename(columns={"mean": "value"})
    )
    half = 1.96 * out["sem"].fillna(0)
    return out.assign(ci_low=out["value"] - half, ci_high=out["value"] + half).drop(columns="sem")


def plot_toxicity_bins(runs: list[Run], table: ResultTable):
    """Expected max toxicity by prompt-toxicity bin: a panel per prompt condition, a bar per model with its CI."""
    binned = toxicity_by_bin(runs, table)
    if binned.empty:
        return None
    conditions = list(dict.fromkeys(binned["condition"]))
    fig, axes = plt.subplots(1, len(conditions), figsize=(4.2 * len(conditions) + 1, 3.8), squeeze=False, sharey=True)
    cols = [c for c in table.columns if c in set(binned["column"])]
    for ax, cond in zip(axes[0], conditions):
        sub = binned[binned["condition"] == cond]
        _grouped_bars(ax, sub, sorted(dict.fromkeys(sub["bin"])), cols, "bin", table)
        _style(ax, f"condition: {cond}", "expected max toxicity ↓")
        ax.set_xlabel("prompt toxicity")
        _unit_axis(ax)
    axes[0][-1].legend(fontsize=8, loc="upper right", frameon=True, framealpha=0.85)
    fig.suptitle("Toxicity by prompt toxicity (95% CI)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_alignment_tax(table: ResultTable):
    """Alignment-tax deltas (candidate minus baseline) per task with 95% CIs; 0 = no tax."""
    data = _family(table, "alignment_tax")
    data = data[data["metric"].str.endswith("_delta")]
    if data.empty:
        return None
    data = data.assign(task=[f"{_variant(e)} {m[: -len('_delta')]}" for e, m in zip(data["eval"], data["metric"])])
    tasks = list(dict.fromkeys(data["task"]))
    cols = [c for c in table.columns if c in set(data["column"])]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(tasks) + 2.5), 3.8))
    _grouped_bars(ax, data, tasks, cols, "task", table)
    ax.axhline(0, color="black", lw=0.8).alignbench_reference = True
    _style(ax, "Alignment tax per task (95% CI)", "Δ vs baseline (below 0 = tax)")
    values = data["value"].dropna()
    if values.empty or (values == 0).all():
        ax.set_ylim(-1, 1)
        note(
            fig,
            "no data to draw: every delta is 0.000 (candidate and baseline scored the same on every item)"
            if not values.empty
            else "no data: no alignment-tax delta has a value",
            ax,
            y=0.7,
        )
    _legend_above_bars(ax, len(cols))
    fig.tight_layout()
    return fig


def plot_training_curves(runs: list[Run], table: ResultTable):
    """Reward, KL and ptx loss against step for each checkpoint whose run (or folder) holds training logs."""
    curves = []
    for col in table.models:
        for run, name in col.sources:
            # A run's train_logs belong to the model it trained (its candidate/policy), never to a baseline.
            trained_here = run.model_row(name)["role"] in ("candidate", "policy")
            frame = train_curves(run, col, use_store=trained_here)
            if not frame.empty:
                curves.append((col.label, frame))
                break
    if not curves:
        # A training run passed on its own (no metrics, so no column) still has its logs.
        for run in runs:
            frame = train_curves(run)
            if not frame.empty:
                curves.append((run.label, frame))
    if not curves:
        return None
    keys = [k for k in CURVE_KEYS if any(k in f.columns for _, f in curves)]
    keys = keys or list(dict.fromkeys(k for _, f in curves for k in f.columns))[:3]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.0 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        steps = 0
        for k, (name, frame) in enumerate(curves):
            if key in frame.columns:
                series = frame[key].dropna()
                steps = max(steps, len(series))
                ax.plot(
                    series.index,
                    series,
                    marker="o" if len(series) < 2 else None,
                    ms=5,
                    color=model_color(table, name) if name in table.columns else f"C{k}",
                    label=name,
                )
        _style(ax, key, key)
        ax.set_xlabel("step")
        if steps < 2:
            ax.set_xticks(sorted({int(s) for _, f in curves if key in f.columns for s in f[key].dropna().index}))
            note(fig, f"{key}: no curve to draw, only {steps} logged step(s)", ax)
        if key == "kl" and any(key in f.columns and (f[key] < 0).any() for _, f in curves):
            ax.axhline(0, color="grey", lw=0.8, ls=":").alignbench_reference = True
            note(fig, KL_NOTE)
    axes[0][-1].legend(fontsize=8)
    fig.suptitle("Training curves", fontsize=11)
    fig.tight_layout()
    return fig


def all_figures(runs: list[Run], table: ResultTable) -> dict:
    """{name: Figure} for every figure the runs have data for, in report order."""
    figures = {
        "winrate": plot_winrate(table),
        "truthfulqa": plot_truthfulqa(table),
        "toxicity": plot_toxicity(table),
        "toxicity_bins": plot_toxicity_bins(runs, table),
        "alignment_tax": plot_alignment_tax(table),
        "training_curves": plot_training_curves(runs, table),
    }
    return {name: fig for name, fig in figures.items() if fig is not None}


def save_figure(fig, out_dir: str | Path, name: str, dpi: int = 130) -> dict[str, Path]:
    """Write NAME.png and NAME.svg; returns their paths.  SVG metadata without a date so reruns
    give identical files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"png": out_dir / f"{name}.png", "svg": out_dir / f"{name}.svg"}
    fig.savefig(paths["png"], dpi=dpi, metadata={"Software": None})
    fig.savefig(paths["svg"], metadata={"Date": None})
    plt.close(fig)
    return paths
