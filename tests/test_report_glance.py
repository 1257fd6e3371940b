"""Figures that read at a glance: win rate as points in pipeline order, a note on a KL curve that dips
below 0, proportions on [0, 1] (the browser test checks the rendered page)."""

from __future__ import annotations

from helpers_synthetic_runs import make_run

from alignbench.reports import ResultTable, load_runs
from alignbench.reports.plots import axes_facts, plot_training_curves, plot_winrate
from alignbench.store import Store


def test_winrate_points_in_pipeline_order_without_a_line(tmp_path):
    make_run(tmp_path / "b", seed=0, candidate="ppo", candidate_fp="fp-ppo", candidate_size=None)
    make_run(tmp_path / "a", seed=1, candidate="sft", candidate_fp="fp-sft1", candidate_size=None)
    runs = load_runs([tmp_path / "b", tmp_path / "a"])  # given ppo first
    fig = plot_winrate(ResultTable.from_runs(runs))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sft", "ppo"]
    data_lines = [line for line in ax.lines if line.get_marker() == "o"]
    assert data_lines and all(line.get_linestyle() == "None" for line in data_lines)  # no joining line
    assert ax.get_ylim() == (0.0, 1.0)
    assert any(t.get_text() == "n=60" for t in ax.texts)


def test_negative_kl_gets_a_note(tmp_path):
    make_run(tmp_path / "a", seed=0)
    store = Store(tmp_path / "a")
    run_id = store.latest_run_id()
    store.put_train_logs(run_id, 10, {"kl": -0.01})
    store.close()
    runs = load_runs([tmp_path / "a"])
    fig = plot_training_curves(runs, ResultTable.from_runs(runs))
    assert any("below 0" in n for n in fig.alignbench_notes)
    assert all(p["marks"] > 0 for p in axes_facts(fig))
    make_run(tmp_path / "b", seed=0)
    runs = load_runs([tmp_path / "b"])
    assert not getattr(plot_training_curves(runs, ResultTable.from_runs(runs)), "alignbench_notes", [])
