"""The results table equals the store's metrics, in every format (Markdown, LaTeX, CSV)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from helpers_synthetic_runs import make_run

from alignbench.reports import ResultTable, load_runs
from alignbench.reports.tables import format_cell
from alignbench.store import Store


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    make_run(root / "ppo", seed=0, effects={"toxicity/respectful.emt": -0.12})  # one significant lead
    make_run(
        root / "ppo-large", seed=3, candidate="smollm2-ppo-1.7b", candidate_fp="fp-large", candidate_size=1_700_000_000
    )
    return root / "ppo", root / "ppo-large"


def test_table_values_equal_the_store(two_runs):
    table = ResultTable.from_runs(load_runs(two_runs))
    checked = 0
    for path in two_runs:
        store = Store(path)
        for eval_name, metrics in store.metrics_dict().items():
            for metric, by_model in metrics.items():
                for model, m in by_model.items():
                    if model == "smollm2-sft" and path == two_runs[1]:
                        continue  # the shared baseline's column comes from the first run given
                    cell = table.cell(eval_name, metric, model)
                    assert cell is not None, (eval_name, metric, model)
                    assert (cell["value"], cell["ci_low"], cell["ci_high"], cell["n"]) == (
                        m["value"],
                        m["ci_low"],
                        m["ci_high"],
                        m["n"],
                    )
                    assert cell["label"] == m["label"] and cell["higher_is_better"] == m["higher_is_better"]
                    checked += 1
        store.close()
    assert checked == 14 + 11 + 14  # candidate + baseline (not pairwise evals) of run 1, candidate of run 2
    md = table.to_markdown()
    for r in table.long.itertuples():
        assert format_cell(r.value, r.ci_low, r.ci_high) in md


def test_columns_follow_run_order_and_merge_the_same_model(two_runs):
    table = ResultTable.from_runs(load_runs(two_runs))
    # run order, candidates before baselines; the baseline (same fingerprint in both runs) is one column;
    # the judge (role judge) is never a column.
    assert table.columns == ["smollm2-ppo", "smollm2-sft", "smollm2-ppo-1.7b"]
    reverse = ResultTable.from_runs(load_runs(two_runs[::-1]))
    assert reverse.columns == ["smollm2-ppo-1.7b", "smollm2-sft", "smollm2-ppo"]


def test_same_name_different_models_get_told_apart(tmp_path):
    make_run(tmp_path / "a", seed=0)
    make_run(tmp_path / "b", seed=1, candidate_fp="fp-other")
    table = ResultTable.from_runs(load_runs([tmp_path / "a", tmp_path / "b"]))
    assert table.columns == ["smollm2-ppo (a)", "smollm2-sft", "smollm2-ppo (b)"]


def test_rows_in_paper_order_with_direction_and_best_marked(two_runs):
    table = ResultTable.from_runs(load_runs(two_runs))
    families = [e.split("/")[0] for e in table.rows["eval"]]
    order = ["winrate", "truthfulqa_mc", "truthfulqa_gen", "toxicity", "hallucination", "alignment_tax"]
    assert [f for f in dict.fromkeys(families)] == order
    wide = table.wide("value")
    best = table.wide("best")
    for r in table.rows.itertuples():
        values = wide.loc[(r.eval, r.metric)].dropna()
        if len(values) < 2:
            assert not best.loc[(r.eval, r.metric)].fillna(False).any()
            continue
        ordered = values.sort_values(ascending=not r.higher_is_better)
        first, second = ordered.index[0], ordered.index[1]
        lo, hi = table.wide("ci_low").loc[(r.eval, r.metric)], table.wide("ci_high").loc[(r.eval, r.metric)]
        # Bold only a lead whose CI does not overlap the runner-up's.
        clear = lo[first] > hi[second] if r.higher_is_better else hi[first] < lo[second]
        marked = best.loc[(r.eval, r.metric)].fillna(False).astype(bool)
        assert set(marked[marked].index) == ({first} if clear else set()), (r.eval, r.metric)
        assert r.direction == ("↑" if r.higher_is_better else "↓")
    assert best.fillna(False).to_numpy().any() and not best.fillna(False).to_numpy().all()
    emt = table.display().loc["RealToxicityPrompts EMT (respectful) ↓"]
    lowest = wide.loc[("toxicity/respectful", "emt")].idxmin()
    md_row = next(line for line in table.to_markdown().splitlines() if "EMT (respectful)" in line)
    assert f"**{emt[lowest]}**" in md_row
    assert emt["n"] == "60"  # n per row


def test_latex_is_booktabs_with_balanced_braces_and_escapes(tmp_path):
    specs = [
        ("squad_v2", "em", True, "binary", 0.4, "Exact match % (SQuAD_v2 & co #1)"),
        ("toxicity/respectful", "emt", False, "score", 0.2, "EMT {respectful} ~ 50%"),
    ]
    make_run(tmp_path / "a", seed=0, specs=specs, effects={"squad_v2.em": 0.5})  # a clear lead: bold
    tex = ResultTable.from_runs(load_runs([tmp_path / "a"])).to_latex()
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"\end{tabular}"):
        assert rule in tex
    unescaped = re.sub(r"\\[{}]", "", tex)
    depth = 0
    for ch in unescaped:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert not re.search(r"(?<!\\)[%#_]", tex), "unescaped % # or _"
    assert r"50\%" in tex and r"SQuAD\_v2" in tex and r"\#1" in tex and r"\& co" in tex
    assert r"\{respectful\}" in tex
    body = [line for line in tex.splitlines() if line.endswith(r"\\")]
    assert body and all(len(re.findall(r"(?<!\\)&", line)) == 3 for line in body)  # label, n, 2 models
    assert tex.isascii(), "arrows and symbols must be LaTeX commands"
    assert r"$\downarrow$" in tex and r"$\uparrow$" in tex and r"\textbf{" in tex


def test_csv_round_trips_to_the_same_numbers(two_runs):
    table = ResultTable.from_runs(load_runs(two_runs))
    csv = pd.read_csv(io.StringIO(table.to_csv()))
    assert len(csv) == len(table.long)
    merged = csv.merge(table.long, left_on=["eval", "metric", "model_label"], right_on=["eval", "metric", "column"])
    assert len(merged) == len(csv)
    for a, b in (("value_x", "value_y"), ("ci_low_x", "ci_low_y"), ("ci_high_x", "ci_high_y")):
        assert (merged[a] - merged[b]).abs().max() < 1e-12
    assert list(csv.columns[:6]) == ["eval", "metric", "label", "higher_is_better", "model_label", "value"]


def test_headline_metrics_in_tables_every_metric_in_csv(tmp_path):
    from alignbench.reports import write_report

    specs = [
        ("truthfulqa_gen/qa", "bleu_acc", True, "binary", 0.4, "BLEU acc"),
        ("truthfulqa_gen/qa", "rouge1_max", True, "score", 0.3, "ROUGE-1 max"),
        ("truthfulqa_mc", "mc1", True, "binary", 0.0, "MC1"),
    ]  # rate 0: every model 0.0, a tie
    make_run(tmp_path / "a", seed=0, specs=specs)
    runs = load_runs([tmp_path / "a"])
    table = ResultTable.from_runs(runs)
    assert list(table.rows["metric"]) == ["mc1", "bleu_acc"]
    assert not table.long.loc[table.long["metric"] == "mc1", "best"].any()  # all equal: no best
    assert list(ResultTable.from_runs(runs, all_metrics=True).rows["metric"]) == ["mc1", "bleu_acc", "rouge1_max"]
    written = write_report([tmp_path / "a"], tmp_path / "out", formats=("md", "csv"))
    assert "ROUGE-1 max" not in written["md"].read_text()
    assert "rouge1_max" in written["csv"].read_text()


def test_no_bold_where_cis_overlap_and_n_per_row(tmp_path):
    """A lead far inside the CIs (MC2 0.275 vs 0.274) is no win: nothing bold.  A clear lead is bold.
    Every row says its n."""
    specs = [
        ("truthfulqa_mc", "mc2", True, "score", 0.45, "MC2"),
        ("truthfulqa_mc", "mc1", True, "binary", 0.3, "MC1"),
    ]
    make_run(tmp_path / "a", seed=0, n_items=12, specs=specs)
    table = ResultTable.from_runs(load_runs([tmp_path / "a"]))
    md = table.to_markdown()
    overlapping = 0
    for r in table.long.itertuples():
        others = table.long[(table.long["metric"] == r.metric) & (table.long["column"] != r.column)]
        if all(not (r.ci_low > o.ci_high or r.ci_high < o.ci_low) for o in others.itertuples()):
            overlapping += 1
            assert not r.best and f"**{format_cell(r.value, r.ci_low, r.ci_high)}**" not in md
    assert overlapping >= 2
    assert list(table.display()["n"]) == ["12", "12"]
    make_run(tmp_path / "b", seed=0, n_items=60, specs=specs[:1], effects={"truthfulqa_mc.mc2": 0.4})
    clear = ResultTable.from_runs(load_runs([tmp_path / "b"]))
    assert clear.long["best"].sum() == 1 and "**" in clear.to_markdown()
