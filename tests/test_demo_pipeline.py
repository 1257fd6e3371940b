"""`alignbench demo`: the pieces of the pipeline that need no model, and `alignbench demo --quick` end to
end in a temporary folder, checking that every artifact exists and parses."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from alignbench.data.sources import read_records
from alignbench.demo import labeler
from alignbench.demo.pipeline import DemoConfig, demo_suite, make_demonstrations, make_rankings
from alignbench.demo.tasks import generate_tasks


# -- pure parts -------------------------------------------------------------------------------------
def test_demonstrations_pick_the_best_sample_and_repair_only_when_it_fails():
    tasks = generate_tasks(2, seed=5)
    good = [labeler.best_of(t.prompt, [""])[0] for t in tasks]  # noqa: F841 (labeler accepts empty)
    from alignbench.demo.constraints import repair_all

    perfect = repair_all("A fine answer about it.", list(tasks[0].constraints), tasks[0].topic)
    demos, counts = make_demonstrations(tasks, [["", perfect, "nope"], ["", ""]])
    assert demos[0].response == perfect and demos[0].meta == {
        "source": "best-of-n",
        "picked_sample": 1,
        "labeler_score": labeler.score(tasks[0].prompt, perfect),
    }
    assert demos[1].meta["source"] == "repaired"
    assert all(c.check(demos[1].response) for c in tasks[1].constraints)
    assert counts == {"best_of_n": 1, "repaired": 1}


def test_rankings_skip_all_tied_prompts():
    tasks = generate_tasks(2, seed=6)
    rankings, counts = make_rankings(tasks, [["same.", "same."], ["", "An answer that ends well?"]])
    assert counts == {"rankings": 1, "all_tied_skipped": 1}
    assert rankings[0].id == tasks[1].id and sorted(rankings[0].ranks) == [1, 2]


def test_demo_suite_fills_placeholders_and_switches_to_real_data(tmp_path, shared_data):
    from alignbench.evals.suite import load_suite

    suite = demo_suite(DemoConfig(), tmp_path)
    text = json.dumps(suite)
    assert "{" + "rm}" not in text and "{data_root}" not in text and "{eval_prompts}" not in text
    assert suite["evals"][0]["dataset"] == str(tmp_path / "data" / "eval_prompts.jsonl")
    assert {j["name"] for j in suite["evals"][0]["judges"]} == {"labeler", "rm"}
    load_suite(suite)  # a valid suite
    real = demo_suite(DemoConfig(data_dir=str(shared_data)), tmp_path)
    sources = [e["source"] for e in real["evals"] if "source" in e]
    assert sources and all(s.startswith(str(shared_data)) and Path(s).is_dir() for s in sources)


def test_demo_suite_rejects_a_missing_data_dir(tmp_path):
    from alignbench.errors import AlignbenchError

    with pytest.raises(AlignbenchError, match="no such folder"):
        demo_suite(DemoConfig(data_dir=str(tmp_path / "nope")), tmp_path)


# -- the quick run end to end ------------------------------------------------------------------------
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    from alignbench.cli import main

    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_quick_run_writes_every_stage_with_time_and_memory(quick_run):
    state = json.loads((quick_run / "stages.json").read_text())
    assert list(state["stages"]) == ["tasks", "demonstrations", "sft", "rankings", "rm", "ppo", "eval", "report"]
    for rec in state["stages"].values():
        assert rec["wall_s"] >= 0 and rec["peak_rss_mb"] > 50
    assert state["config"]["base"] == "tiny-random"


@pytest.mark.slow
def test_quick_run_data_files_are_valid_records(quick_run):
    data = quick_run / "data"
    demos = read_records(data / "demonstrations.jsonl", "demonstration")
    rankings = read_records(data / "rankings.jsonl", "ranking")
    assert len(demos) == 8 and {d.meta["source"] for d in demos} <= {"best-of-n", "repaired"}
    assert rankings and all(r.k == 3 for r in rankings)
    assert len(read_records(data / "ptx.jsonl", "pretrain")) == 16
    evals = {r.prompt for r in read_records(data / "eval_prompts.jsonl", "prompt")}
    train = {d.prompt for d in demos} | {r.prompt for r in rankings}
    assert evals and not evals & train


@pytest.mark.slow
def test_quick_run_checkpoints_load_with_plain_transformers(quick_run):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    for name in ("sft", "ppo"):
        model = AutoModelForCausalLM.from_pretrained(quick_run / name)
        assert model.config.num_hidden_layers == 2
        assert (quick_run / name / "alignbench.json").is_file()
    rm = AutoModelForSequenceClassification.from_pretrained(quick_run / "rm")
    assert rm.config.num_labels == 1


@pytest.mark.slow
def test_quick_run_store_has_metrics_for_every_eval_of_the_suite(quick_run):
    from alignbench.store import Store

    metrics = json.loads((quick_run / "metrics.json").read_text())
    store_metrics = Store(quick_run).metrics_dict()
    assert metrics == store_metrics
    suite = demo_suite(DemoConfig.quick_config(), quick_run)
    for entry in suite["evals"]:
        name = entry["name"]
        found = [e for e in metrics if e == name or e.startswith(name + "/")]
        assert found, f"no metrics for eval {name}"
    for judge in ("labeler", "rm"):
        win = metrics[f"winrate/{judge}"]["win_rate"]
        assert set(win) == {"sft", "ppo"}
        for row in win.values():
            assert 0 <= row["ci_low"] <= row["value"] <= row["ci_high"] <= 1 and row["n"] == 8


@pytest.mark.slow
def test_quick_run_report_html_md_and_pngs_parse(quick_run):
    html = (quick_run / "report.html").read_text()
    parser = _Tags()
    parser.feed(html)
    assert "table" in parser.tags and "img" in parser.tags
    assert "simulated" in html.lower()
    md = (quick_run / "report.md").read_text()
    assert any(line.startswith("|") and set(line.replace("|", "").strip()) <= set("-: ") for line in md.splitlines())
    assert "win" in md.lower()
    pngs = sorted(quick_run.glob("**/*.png"))
    assert pngs
    import matplotlib.image as mpimg

    for png in pngs:
        assert mpimg.imread(png).ndim == 3


def test_stage_timer_measures_each_stage_own_peak():
    import numpy as np

    from alignbench.demo.resources_usage import StageTimer

    timer = StageTimer()
    with timer.stage("big"):
        block = np.ones(200 * 2**20 // 8)  # 200 MB touched
        del block
    with timer.stage("small"):
        pass
    big, small = timer.stages["big"], timer.stages["small"]
    assert big["wall_s"] >= 0 and small["wall_s"] >= 0
    if small["peak_is_per_stage"]:  # Linux: the high-water mark was reset between stages
        assert big["peak_rss_mb"] - small["peak_rss_mb"] > 150
    else:
        assert big["peak_rss_mb"] <= small["peak_rss_mb"]


def test_rerun_keeps_finished_stages_and_their_measurements(tmp_path):
    from alignbench.demo.pipeline import Demo

    cfg = DemoConfig.quick_config()
    demo = Demo(cfg, tmp_path, log=lambda m: None)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demonstrations.jsonl").write_text("{}\n")
    prior = {"wall_s": 12.5, "peak_rss_mb": 900.0, "best_of_n": 3}
    (tmp_path / "stages.json").write_text(
        json.dumps(
            {
                "config": cfg.to_dict(),
                "stages": {"demonstrations": prior},
                "facts": {"demonstrations": {"best_of_n": 3}},
            }
        )
    )
    demo.previous = demo._previous_state()

    def must_not_run():
        raise AssertionError("a finished stage ran again")

    demo._stage("demonstrations", must_not_run)
    assert demo.timer.stages["demonstrations"] == {**prior, "resumed": True}
    ran = []
    demo._stage("rankings", lambda: ran.append(1))  # no output yet: runs
    assert ran == [1]
    other = Demo(DemoConfig.quick_config(seed=1), tmp_path, log=lambda m: None)
    assert other._previous_state() == {}  # another configuration never reuses measurements
