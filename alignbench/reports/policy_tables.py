"""Paper-style policy x size views of runs whose models carry `policy` and `size` in their info (the import of
OpenAI's released InstructGPT samples writes them): one Markdown table per (eval, metric) with the policies as
rows and the model sizes as columns, the agreement table of our judges vs the paper's, and a figure of each
headline metric against model size, one line per policy (as the paper's Figures 6 and 29)."""

from __future__ import annotations

import math

import pandas as pd

from alignbench.reports.load import Run, metrics_frame, model_columns
from alignbench.reports.tables import format_cell

POLICY_ORDER = ["GPT-3", "SFT", "PPO", "PPO-ptx (InstructGPT)"]
METRICS = [
    "em",
    "f1",
    "bleu",
    "rougeL",
    "truthful",
    "informative",
    "truthful_informative",
    "gpt_truthful",
    "gpt_informative",
    "gpt_truthful_informative",
    "mean_toxicity",
    "perspective_mean_toxicity",
    "toxicity_prob",
    "perspective_toxicity_prob",
]
PLOT_METRICS = [
    "f1",
    "bleu",
    "rougeL",
    "truthful_informative",
    "gpt_truthful_informative",
    "mean_toxicity",
    "perspective_mean_toxicity",
]


def _size_label(size: float) -> str:
    return f"{size / 1e9:g}B"


def policy_frame(runs: list[Run]) -> pd.DataFrame:
    """Metrics of the policy-tagged columns with `policy` and `size` columns added (empty when none)."""
    cols = [c for c in model_columns(runs) if c.info.get("policy") and c.size]
    if not cols:
        return pd.DataFrame()
    frame = metrics_frame(runs, cols)
    info = {c.label: c for c in cols}
    frame = frame[frame["column"].isin(info)].copy()
    frame["policy"] = frame["column"].map(lambda c: info[c].info["policy"])
    frame["size"] = frame["column"].map(lambda c: info[c].size)
    return frame


def policy_size_markdown(runs: list[Run]) -> str:
    frame = policy_frame(runs)
    out = []
    if not frame.empty:
        out.append("## Policy × size\n\nRows: policies; columns: model size; cells: value [95% CI].\n")
        for (_eval_name, metric), sub in sorted(
            frame.groupby(["eval", "metric"]),
            key=lambda kv: (kv[0][0], METRICS.index(kv[0][1]) if kv[0][1] in METRICS else 99),
        ):
            if metric not in METRICS:
                continue
            sizes = sorted(sub["size"].unique())
            policies = sorted(
                sub["policy"].unique(), key=lambda p: (POLICY_ORDER.index(p) if p in POLICY_ORDER else 99, p)
            )
            out.append(f"**{sub['label'].iloc[0]}**\n")
            out.append("| policy | " + " | ".join(_size_label(s) for s in sizes) + " |")
            out.append("|---" * (len(sizes) + 1) + "|")
            for p in policies:
                cells = []
                for s in sizes:
                    r = sub[(sub["policy"] == p) & (sub["size"] == s)]
                    cells.append(
                        format_cell(r["value"].iloc[0], r["ci_low"].iloc[0], r["ci_high"].iloc[0]) if len(r) else "–"
                    )
                out.append(f"| {p} | " + " | ".join(cells) + " |")
            out.append("")
    agreement = agreement_markdown(runs)
    if agreement:
        out.append(agreement)
    return "\n".join(out)


def agreement_markdown(runs: list[Run]) -> str:
    rows, notes = [], {}  # notes: a trained judge's own held-out release check (its card), by judge name
    for run in runs:
        m = run.metrics
        if m.empty:
            continue
        for _, r in m[m["eval"].str.startswith("agreement/")].iterrows():
            meta = r["meta"] if isinstance(r["meta"], dict) else {}
            rows.append(
                {
                    "what": r["eval"].split("/", 1)[1],
                    "ours": meta.get("ours", r["model"]),
                    "theirs": meta.get("theirs", ""),
                    "subset": meta.get("subset", "all samples"),
                    "metric": r["metric"],
                    "value": r["value"],
                    "lo": r.get("ci_low"),
                    "hi": r.get("ci_high"),
                    "n": r["n"],
                }
            )
            check = (meta.get("ours_info") or {}).get("release_check")
            if check and check.get("balanced_accuracy") is not None:
                notes[meta.get("ours", r["model"])] = check
    if not rows:
        return ""
    df = pd.DataFrame(rows)
    key = ["what", "ours", "theirs", "subset"]
    # groupby/unstack, not pivot_table: a subset with no samples (all NaN) still gets its row, showing n = 0
    wide = df.groupby([*key, "metric"], sort=True)["value"].first().unstack("metric")
    n = df[df.metric == "agreement"].set_index(key)["n"]
    ci = df[df.metric == "balanced_accuracy"].set_index(key)[["lo", "hi"]]
    lines = [
        "## Agreement with the paper's judgements\n",
        (
            "Spearman of per-sample scores; balanced accuracy of our verdicts against theirs (95% CI, bootstrap over "
            "samples); Kendall τ between the per-policy figures, % judged yes (TruthfulQA) or mean toxicity (RTP): "
            "1 = the same order of policies; swaps: the pairs of policies ordered oppositely, and of those the pairs "
            "the reference itself separates (its own gap significant, p < 0.05, bootstrap over the questions or "
            "prompts all policies share). For a trained judge the second row of a pair counts only the answers "
            "absent from its training data.\n"
        ),
        "| ours | theirs | samples | n | Spearman | balanced accuracy | Kendall τ (policies) | swaps (significant) "
        "| raw agreement |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    swaps = {}  # key -> number of swapped pairs, from the significant_order_swaps row's meta
    for run in runs:
        m = run.metrics
        if m.empty:
            continue
        for _, r in m[
            (m["eval"].str.startswith("agreement/")) & (m["metric"] == "significant_order_swaps")
        ].iterrows():
            meta = r["meta"] if isinstance(r["meta"], dict) else {}
            subset = meta.get("subset", "all samples")
            k = (r["eval"].split("/", 1)[1], meta.get("ours", r["model"]), meta.get("theirs", ""), subset)
            swaps[k] = len(meta.get("order_swaps") or [])

    def fmt(v) -> str:
        return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"

    for k, r in wide.iterrows():
        _what, ours, theirs, subset = k
        f = lambda m, r=r: fmt(r.get(m))
        bal = f("balanced_accuracy")
        if k in ci.index and not pd.isna(ci.loc[k, "lo"]):
            bal += f" [{ci.loc[k, 'lo']:.3f}, {ci.loc[k, 'hi']:.3f}]"
        count = int(n.loc[k]) if k in n.index else "–"
        sig = r.get("significant_order_swaps")
        empty = count == 0  # a subset without samples has no order to compare
        swapped = "–" if empty or k not in swaps or sig is None or pd.isna(sig) else f"{swaps[k]} ({int(sig)})"
        lines.append(
            f"| {ours} | {theirs} | {subset} | {count} | {f('spearman')} | {bal} | "
            f"{f('kendall_tau_policies')} | {swapped} | {f('agreement')} |"
        )
    for ours, c in sorted(notes.items()):
        lo, hi = c.get("balanced_accuracy_ci") or (math.nan, math.nan)
        lines.append(
            f"\n{ours} was {'trained on' if c.get('use') == 'train' else 'checked against'} the release's "
            f"{c.get('file')}; held out as its card says ({c.get('protocol')}): balanced accuracy "
            f"{fmt(c['balanced_accuracy'])} [{fmt(lo)}, {fmt(hi)}] on {c.get('n')} samples no training file holds; "
            f"over all the release's samples, Kendall τ over the policies {fmt(c.get('kendall_tau_policies'))}"
            + (
                f"; {c['order_swaps']} pair(s) swapped, {c['significant_order_swaps']} of them separated by the "
                "reference."
                if c.get("significant_order_swaps") is not None
                else "."
            )
        )
    return "\n".join(lines) + "\n"


def plot_policy_size(runs: list[Run]):
    """Each headline metric against model size, a line per policy; None when no column is policy-tagged."""
    import matplotlib.pyplot as plt

    frame = policy_frame(runs)
    if frame.empty:
        return None
    panels = [(e, m) for (e, m) in sorted(set(zip(frame["eval"], frame["metric"]))) if m in PLOT_METRICS]
    if not panels:
        return None
    n = len(panels)
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows), squeeze=False)
    for ax, (e, m) in zip(axes.flat, panels):
        sub = frame[(frame["eval"] == e) & (frame["metric"] == m)]
        for p in sorted(sub["policy"].unique(), key=lambda p: POLICY_ORDER.index(p) if p in POLICY_ORDER else 99):
            s = sub[sub["policy"] == p].sort_values("size")
            ax.errorbar(
                s["size"],
                s["value"],
                yerr=[s["value"] - s["ci_low"], s["ci_high"] - s["value"]],
                marker="o",
                capsize=2,
                label=p,
            )
        ax.set_xscale("log")
        ax.set_title(f"{e}: {m}", fontsize=8)
        ax.set_xticks(sorted(sub["size"].unique()), [_size_label(s) for s in sorted(sub["size"].unique())])
        ax.minorticks_off()
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("Policy × size (95% CI)", fontsize=10)
    fig.tight_layout()
    return fig
