"""The paper-style results table: rows = (eval, metric), columns = models, cells = value [95% CI].

One `ResultTable` object (pandas frames inside) renders to Markdown, LaTeX (booktabs, through
pandas' Styler) and CSV, so the three formats cannot disagree.  The best cell of each row is marked
(bold in Markdown/LaTeX, class `best` in HTML) using the row's `higher_is_better`; overlapping CIs
mean no significant difference, which the footnote says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from alignbench.reports.load import METRIC_COLUMNS, Column, Run, metrics_frame, model_columns

# The paper's order of evals (Figure 1 / Table 14 first, then TruthfulQA, toxicity, hallucination,
# alignment tax); anything else follows alphabetically.
EVAL_ORDER = ["winrate", "truthfulqa_mc", "truthfulqa_gen", "toxicity", "hallucination", "alignment_tax"]
METRIC_ORDER = [
    "win_rate",
    "lc_win_rate",
    "tie_rate",
    "truthful",
    "informative",
    "truthful_informative",
    "mc1",
    "mc2",
    "bleu_acc",
    "emt",
    "toxicity_prob",
    "mean_toxicity",
    "hallucination_rate",
    "acc",
    "acc_norm",
    "em",
    "f1",
    "bleu",
]
# The headline metrics a paper-style table shows (docs/architecture.md naming); the others (BLEU/ROUGE
# max and diff, lengths, judge scores, ...) stay in the CSV and in `--all-metrics` tables.
HEADLINE = {
    "win_rate",
    "lc_win_rate",
    "tie_rate",
    "mc1",
    "mc2",
    "truthful",
    "informative",
    "truthful_informative",
    "bleu_acc",
    "emt",
    "toxicity_prob",
    "mean_toxicity",
    "hallucination_rate",
    "acc",
    "acc_norm",
    "em",
    "f1",
    "bleu",
}


def md_escape(text) -> str:
    """Text from runs (model names, titles, metric labels) made inert in Markdown: raw HTML shows as text
    (`<script>` -> `&lt;script&gt;`), a `|` cannot split a table cell, a newline cannot end the row."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def md_code(text) -> str:
    """`text` as an inline code span that no backtick, pipe or newline inside it can break out of; text with
    angle brackets is escaped instead (some renderers pass HTML through in code spans of table cells)."""
    if "<" in str(text) or ">" in str(text):
        return md_escape(text)
    return "`" + str(text).replace("`", "'").replace("|", "\\|").replace("\r", " ").replace("\n", " ") + "`"


def is_headline(metric: str) -> bool:
    base = metric[: -len("_delta")] if metric.endswith("_delta") else metric
    # The toxicity eval's per-prompt-bin rows (emt_toxic_prompts, ...) are part of the paper's story.
    return base in HEADLINE or base.startswith(("emt_", "toxicity_prob_"))


FOOTNOTE = (
    "Cells: value [95% CI]; n: items per cell (one number when every cell has the same n). ↑/↓: higher/lower "
    "is better. Bold: the best value of a row, only when its CI does not overlap the runner-up's (a "
    "significant lead); no bold means the best and the runner-up are within each other's CIs."
)


def _rank(order: list[str], key: str) -> tuple[int, str]:
    return (order.index(key), "") if key in order else (len(order), key)


def row_sort_key(eval_name: str, metric: str) -> tuple:
    family = eval_name.split("/", 1)[0]
    base_metric = metric[: -len("_delta")] if metric.endswith("_delta") else metric
    # Variants sort after their metric: emt_toxic_prompts right after emt.
    prefix = max(
        (m for m in METRIC_ORDER if base_metric == m or base_metric.startswith(m + "_")), key=len, default=base_metric
    )
    return (_rank(EVAL_ORDER, family), eval_name, _rank(METRIC_ORDER, prefix), metric)


def format_number(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.1f}" if abs(x) >= 100 else f"{x:.3f}"


def format_cell(value, ci_low, ci_high) -> str:
    if value is None or pd.isna(value):
        return "–"
    text = format_number(value)
    if ci_low is not None and ci_high is not None and not pd.isna(ci_low) and not pd.isna(ci_high):
        text += f" [{format_number(ci_low)}, {format_number(ci_high)}]"
    return text


# Unicode the labels use that pdflatex cannot typeset: swapped for letter-only tokens before the
# Styler escapes the text (so the escaping cannot touch them), and for LaTeX commands after.
_LATEX_SYMBOLS = {
    "↑": ("ZQUPARROWZQ", r"$\uparrow$"),
    "↓": ("ZQDOWNARROWZQ", r"$\downarrow$"),
    "×": ("ZQTIMESZQ", r"$\times$"),
    "Δ": ("ZQDELTAZQ", r"$\Delta$"),
    "–": ("ZQDASHZQ", "--"),
    "≥": ("ZQGEQZQ", r"$\geq$"),
    "≤": ("ZQLEQZQ", r"$\leq$"),
}


def _protect(text: str) -> str:
    for symbol, (token, _) in _LATEX_SYMBOLS.items():
        text = text.replace(symbol, token)
    return text


def arrow(higher_is_better) -> str:
    return {True: "↑", False: "↓"}.get(higher_is_better, "")


def significant_lead(best, runner_up, higher_is_better: bool) -> bool:
    """True when the best cell's 95% CI and the runner-up's do not overlap (bold in the tables).  Cells
    without CIs never lead: a difference of unknown noise is not shown as a win."""
    bounds = [best["ci_low"], best["ci_high"], runner_up["ci_low"], runner_up["ci_high"]]
    if any(b is None or pd.isna(b) for b in bounds) or best["value"] == runner_up["value"]:
        return False
    if higher_is_better:
        return float(best["ci_low"]) > float(runner_up["ci_high"])
    return float(best["ci_high"]) < float(runner_up["ci_low"])


def n_text(ns) -> str:
    """A row's n: one number when every cell has the same n, else each cell's n in column order."""
    ns = [int(n) for n in ns if n is not None and not pd.isna(n)]
    if not ns:
        return "–"
    return str(ns[0]) if len(set(ns)) == 1 else " / ".join(map(str, ns))


@dataclass
class ResultTable:
    """`long`: the tidy metrics frame (load.metrics_frame) plus `best`; `rows`: one row per
    (eval, metric) in paper order with label and direction; `columns`: model labels in order."""

    long: pd.DataFrame
    rows: pd.DataFrame
    columns: list[str]
    models: list[Column]

    @classmethod
    def from_runs(cls, runs: list[Run], all_metrics: bool = False) -> "ResultTable":
        """all_metrics=False keeps the headline metrics (HEADLINE); True keeps every stored metric."""
        models = model_columns(runs)
        long = metrics_frame(runs, models)
        if not all_metrics:
            long = long[long["metric"].map(is_headline)].reset_index(drop=True)
        return cls.from_frame(long, models)

    @classmethod
    def from_frame(cls, long: pd.DataFrame, models: list[Column]) -> "ResultTable":
        long = long.copy()
        columns = [c.label for c in models]
        if long.empty:  # a run that failed before its first metric: an empty table, not a KeyError
            rows = pd.DataFrame(columns=["eval", "metric", "label", "higher_is_better", "direction"])
            return cls(long=pd.DataFrame(columns=[*METRIC_COLUMNS, "best"]), rows=rows, columns=columns, models=models)
        rows = (
            long.groupby(["eval", "metric"], sort=False)
            .agg(label=("label", "first"), higher_is_better=("higher_is_better", "first"))
            .reset_index()
        )
        rows["_key"] = [row_sort_key(e, m) for e, m in zip(rows["eval"], rows["metric"])]
        rows = rows.sort_values("_key").drop(columns="_key").reset_index(drop=True)
        rows["direction"] = rows["higher_is_better"].map(arrow)
        long["best"] = False
        for r in rows.itertuples():
            if r.higher_is_better is None or pd.isna(r.higher_is_better):
                continue
            sel = (long["eval"] == r.eval) & (long["metric"] == r.metric) & long["value"].notna()
            if sel.sum() < 2:  # one model: nothing to be best among
                continue
            cells = long[sel].sort_values("value", ascending=not r.higher_is_better)
            best, runner_up = cells.iloc[0], cells.iloc[1]
            if significant_lead(best, runner_up, bool(r.higher_is_better)):
                long.loc[cells.index[0], "best"] = True
        return cls(long=long, rows=rows, columns=columns, models=models)

    # -- lookups -------------------------------------------------------------------------------
    def cell(self, eval_name: str, metric: str, column: str) -> dict | None:
        sel = self.long[
            (self.long["eval"] == eval_name) & (self.long["metric"] == metric) & (self.long["column"] == column)
        ]
        return None if sel.empty else sel.iloc[0].to_dict()

    def wide(self, field: str = "value") -> pd.DataFrame:
        """One number per cell (value, ci_low, ci_high, n or best), rows in paper order."""
        wide = self.long.pivot_table(
            index=["eval", "metric"], columns="column", values=field, aggfunc="first", dropna=False
        )
        index = pd.MultiIndex.from_frame(self.rows[["eval", "metric"]])
        return wide.reindex(index=index, columns=self.columns)

    def display(self, mark=lambda text: text) -> pd.DataFrame:
        """Text cells `value [lo, hi]`, the best wrapped by `mark`, indexed by `label ↑`."""
        index = [f"{label} {d}".rstrip() for label, d in zip(self.rows["label"], self.rows["direction"])]
        out = pd.DataFrame("–", index=index, columns=["n"] + self.columns)
        for i, r in enumerate(self.rows.itertuples()):
            out.iloc[i, 0] = self.row_n(r.eval, r.metric)
            for col in self.columns:
                c = self.cell(r.eval, r.metric, col)
                if c is None:
                    continue
                text = format_cell(c["value"], c["ci_low"], c["ci_high"])
                out.iloc[i, 1 + self.columns.index(col)] = mark(text) if c["best"] else text
        out.index.name = "metric"
        return out

    def row_n(self, eval_name: str, metric: str) -> str:
        cells = [self.cell(eval_name, metric, col) for col in self.columns]
        return n_text([c["n"] for c in cells if c is not None])

    # -- renderings -------------------------------------------------------------------------------
    def to_markdown(self) -> str:
        if self.rows.empty:
            return "_No metrics in these runs._\n"
        shown = self.display(mark=lambda t: f"**{t}**")
        # model names and metric labels come from runs: raw HTML in them must show as text
        shown.index = [md_escape(i) for i in shown.index]
        shown.index.name = "metric"
        shown.columns = [md_escape(c) for c in shown.columns]
        body = shown.to_markdown(stralign="left")
        return body + "\n\n" + FOOTNOTE + "\n"

    def to_latex(self, caption: str = "Results", label: str = "tab:alignbench") -> str:
        """booktabs table; the Styler escapes LaTeX specials (%, _, &, #, ...) in labels and headers
        and bolds the best cells after escaping."""
        shown = self.display()
        shown.index = [_protect(i) for i in shown.index]
        shown.columns = [_protect(c) for c in shown.columns]
        shown = shown.map(_protect)
        best = pd.DataFrame(False, index=shown.index, columns=shown.columns)
        for i, r in enumerate(self.rows.itertuples()):
            for j, col in enumerate(self.columns):
                c = self.cell(r.eval, r.metric, col)
                best.iloc[i, j + 1] = bool(c and c["best"])  # column 0 is n
        styler = shown.style.format(escape="latex").format_index(escape="latex", axis=0)
        styler = styler.format_index(escape="latex", axis=1)
        styler = styler.apply(lambda _: best.map(lambda b: "textbf:--rwrap;" if b else ""), axis=None)
        tex = styler.to_latex(
            hrules=True,
            caption=caption,
            label=label,
            position_float="centering",
            column_format="lr" + "r" * len(self.columns),
        )
        for token, latex in _LATEX_SYMBOLS.values():
            tex = tex.replace(token, latex)
        note = FOOTNOTE.replace("↑/↓", r"$\uparrow$/$\downarrow$").replace("[95% CI]", r"[95\% CI]")
        return tex.replace(r"\end{table}", r"\par\smallskip{\footnotesize " + note + "}\n" + r"\end{table}")

    def to_csv(self) -> str:
        """Tidy CSV: one line per (eval, metric, model) with value, CI, n, direction and best."""
        cols = [
            "eval",
            "metric",
            "label",
            "higher_is_better",
            "column",
            "value",
            "ci_low",
            "ci_high",
            "n",
            "best",
            "run",
            "run_id",
            "model",
        ]
        order = {k: i for i, k in enumerate(zip(self.rows["eval"], self.rows["metric"]))}
        colpos = {c: i for i, c in enumerate(self.columns)}
        long = self.long.assign(
            _r=[order[(e, m)] for e, m in zip(self.long["eval"], self.long["metric"])],
            _c=self.long["column"].map(colpos),
        )
        return long.sort_values(["_r", "_c"])[cols].rename(columns={"column": "model_label"}).to_csv(index=False)

    def to_html(self) -> str:
        """An HTML <table> (used by report.html): best cells carry class `best`."""
        import html

        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        lines = [
            f'<table class="results" id="results-table"><thead><tr><th>metric</th><th></th><th class="n">n</th>'
            f"{head}</tr></thead><tbody>"
        ]
        for r in self.rows.itertuples():
            title = html.escape(f"{r.eval} · {r.metric}")
            cells = []
            for col in self.columns:
                c = self.cell(r.eval, r.metric, col)
                if c is None:
                    cells.append('<td class="empty">–</td>')
                    continue
                cls = ' class="best"' if c["best"] else ""
                n = "" if c["n"] is None or pd.isna(c["n"]) else f' title="n = {int(c["n"])}"'
                ci = (
                    ""
                    if c["ci_low"] is None or pd.isna(c["ci_low"])
                    else f' data-ci-low="{float(c["ci_low"])}" data-ci-high="{float(c["ci_high"])}"'
                )
                cells.append(f"<td{cls}{n}{ci}>{html.escape(format_cell(c['value'], c['ci_low'], c['ci_high']))}</td>")
            lines.append(
                f'<tr data-eval="{html.escape(r.eval)}" data-metric="{html.escape(r.metric)}">'
                f'<th title="{title}">{html.escape(r.label)}</th><td class="dir">{r.direction}</td>'
                f'<td class="n">{html.escape(self.row_n(r.eval, r.metric))}</td>{"".join(cells)}</tr>'
            )
        lines.append("</tbody></table>")
        return "\n".join(lines)
