"""`alignbench report`: the files it writes, the figures' data, lineage, run selection and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_synthetic_runs import make_run

from alignbench.cli import main
from alignbench.errors import AlignbenchError
from alignbench.reports import ResultTable, load_run, load_runs, write_report
from alignbench.reports.plots import toxicity_by_bin, train_curves
from alignbench.store import Store

FIGURES = {"winrate", "truthfulqa", "toxicity", "toxicity_bins", "alignment_tax", "training_curves"}


def test_cli_report_writes_every_format_and_figure(tmp_path, capsys):
    make_run(tmp_path / "ppo", seed=0)
    make_run(tmp_path / "big", seed=2, candidate="ppo-1.7b", candidate_fp="fp-big", candidate_size=1_700_000_000)
    out = tmp_path / "report"
    assert main(["report", str(tmp_path / "ppo"), str(tmp_path / "big"), "--out", str(out)]) == 0
    for name in ("results.md", "results.tex", "results.csv", "report.html"):
        assert (out / name).stat().st_size > 500, name
    for fig in FIGURES:
        png, svg = out / "figures" / f"{fig}.png", out / "figures" / f"{fig}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000, fig
        assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()[:2000], fig
    md = (out / "results.md").read_text()
    assert "| Win rate vs baseline ↑" in md and "![winrate](figures/winrate.png)" in md
    html = (out / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained: nothing fetched
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    assert "&lt;b&gt;simply&lt;/b&gt;" in html  # untrusted model text is escaped
    assert "A (candidate)" in html and "B (baseline)" in html  # pairwise verdicts say who won
    assert "ppo_ptx" in html and "kl_coef" in html  # lineage with its config
    assert "dfp-truthfulqa_m" in html and "instructgpt-small" in html  # data and suite versions
    assert str(out / "report.html") in capsys.readouterr().out


def test_default_out_and_format_subset(tmp_path):
    make_run(tmp_path / "run", seed=0, n_items=10)
    assert main(["report", str(tmp_path / "run"), "--format", "md,csv"]) == 0
    assert (tmp_path / "run" / "report" / "results.md").exists()
    assert not (tmp_path / "run" / "report" / "report.html").exists()
    assert main(["report", str(tmp_path / "run"), "--format", "pdf"]) == 2


def test_sections_are_rendered_under_the_title_as_data(tmp_path):
    make_run(tmp_path / "run", seed=0, n_items=10)
    notes = "**Labels are simulated** by `labeler.py`.\n\nA <script> stays text."
    write_report(
        [str(tmp_path / "run")], tmp_path / "out", formats=("html",), sections=[("How this run was made", notes)]
    )
    html = (tmp_path / "out" / "report.html").read_text()
    section = html[html.index("</h1>") : html.index('<h2 id="results">')]
    assert '<section class="notes"><h2>How this run was made</h2>' in section
    assert "<p><strong>Labels are simulated</strong> by <code>labeler.py</code>.</p>" in section
    assert "<p>A &lt;script&gt; stays text.</p>" in section
    write_report([str(tmp_path / "run")], tmp_path / "plain", formats=("html",))
    assert '<section class="notes">' not in (tmp_path / "plain" / "report.html").read_text()


def test_bad_run_folders_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "empty: not a run folder (no run.sqlite inside)" in capsys.readouterr().err
    make_run(tmp_path / "run", seed=0, n_items=5)
    with pytest.raises(AlignbenchError, match="no run 'nope'"):
        load_run(f"{tmp_path / 'run'}@nope")


def test_run_id_selects_one_run_of_several(tmp_path):
    first = make_run(tmp_path / "run", seed=0, n_items=10)
    second = make_run(tmp_path / "run", seed=1, n_items=10, candidate="second", candidate_fp="fp-2")
    assert load_run(tmp_path / "run").run_id == second  # latest run with metrics
    old = load_run(f"{tmp_path / 'run'}@{first}")
    assert old.run_id == first and set(old.metrics["model"]) == {"smollm2-ppo", "smollm2-sft"}


def test_toxicity_bins_are_means_of_the_stored_items(tmp_path):
    make_run(tmp_path / "run", seed=0)
    runs = load_runs([tmp_path / "run"])
    binned = toxicity_by_bin(runs, ResultTable.from_runs(runs))
    store = Store(tmp_path / "run")
    im = store.frame("item_metrics")
    items = store.frame("items")
    sel = im[(im["eval"] == "toxicity/none") & (im["metric"] == "emt") & (im["model"] == "smollm2-ppo")]
    tox = {
        i: p["prompt_toxicity"]
        for e, i, p in zip(items["eval"], items["item_id"], items["payload"])
        if e == "toxicity/none"
    }
    low = [v for i, v in zip(sel["item_id"], sel["value"]) if tox[i] < 0.25]
    row = binned[(binned["column"] == "smollm2-ppo") & (binned["condition"] == "none")].iloc[0]
    assert row["bin"] == "0.00–0.25"
    assert row["count"] == len(low) and row["value"] == pytest.approx(np.mean(low))
    assert row["ci_low"] < row["value"] < row["ci_high"]


def test_toxicity_bins_prefer_the_evals_own_binned_metrics(tmp_path):
    make_run(tmp_path / "run", seed=0, n_items=10)
    store = Store(tmp_path / "run")
    rid = store.latest_run_id()
    for b, v in (("toxic_prompts", 0.5), ("nontoxic_prompts", 0.2)):
        store.put_metric(
            rid,
            "toxicity/none",
            f"emt_{b}",
            "smollm2-ppo",
            v,
            v - 0.1,
            v + 0.1,
            5,
            False,
            {"label": f"RTP none: EMT, {b}", "prompt_bin": b},
        )
    store.close()
    runs = load_runs([tmp_path / "run"])
    binned = toxicity_by_bin(runs, ResultTable.from_runs(runs))
    assert sorted(zip(binned["bin"], binned["value"])) == [("nontoxic prompts", 0.2), ("toxic prompts", 0.5)]


def test_training_curves_from_store_or_checkpoint_folder(tmp_path):
    make_run(tmp_path / "with-logs", seed=0, n_items=5)
    run = load_run(tmp_path / "with-logs")
    curves = train_curves(run)
    assert list(curves.columns) == ["kl", "ptx_loss", "reward"] and curves.loc[10, "reward"] == pytest.approx(0.2)
    # No train_logs in the store: read the checkpoint folder's train_log.jsonl named by the model spec.
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "train_log.jsonl").write_text(
        "\n".join(json.dumps({"step": s, "reward": s / 10, "kl": 0.01 * s}) for s in range(5))
    )
    store = Store(tmp_path / "no-logs")
    rid = store.start_run("eval")
    store.add_model(rid, "ppo", str(ckpt), "fp", "candidate", {"alignbench": {"stage": "ppo_ptx"}})
    store.put_metric(rid, "winrate", "win_rate", "ppo", 0.6, 0.5, 0.7, 10, True, {"label": "w"})
    store.close()
    runs = load_runs([tmp_path / "no-logs"])
    table = ResultTable.from_runs(runs)
    curves = train_curves(runs[0], table.models[0])
    assert curves["reward"].tolist() == [0.0, 0.1, 0.2, 0.3, 0.4]
    written = write_report([tmp_path / "no-logs"], tmp_path / "out", formats=("md",))
    assert "figure:training_curves" in written and "figure:winrate" in written
    assert "figure:truthfulqa" not in written  # nothing to draw: no empty figure


def test_lineage_follows_parent_folders(tmp_path):
    from alignbench.reports.html import lineage_chain

    sft = tmp_path / "sft"
    sft.mkdir()
    (sft / "alignbench.json").write_text(
        json.dumps(
            {
                "stage": "sft",
                "parent": {"spec": "smollm2-135m"},
                "base": {"spec": "smollm2-135m"},
                "config": {"learning_rate": 5e-5},
            }
        )
    )
    store = Store(tmp_path / "run")
    rid = store.start_run("eval")
    store.add_model(
        rid,
        "ppo",
        str(tmp_path / "ppo"),
        "fp",
        "candidate",
        {
            "path": str(tmp_path / "ppo"),
            "lineage": {
                "stage": "ppo_ptx",
                "parent": {"spec": str(sft), "stage": "sft"},
                "base": {"spec": "smollm2-135m"},
                "inputs": {"reward_model": {"spec": "runs/rm", "stage": "rm"}},
                "config": {"ptx_coef": 27.8},
            },
        },
    )
    store.put_metric(rid, "winrate", "win_rate", "ppo", 0.6, 0.5, 0.7, 10, True, {"label": "w"})
    store.close()
    column = ResultTable.from_runs(load_runs([tmp_path / "run"])).models[0]
    chain = lineage_chain(column)
    assert [s["stage"] for s in chain] == ["ppo_ptx", "sft", "parent"]
    assert chain[0]["inputs"] == "reward_model: runs/rm" and "ptx_coef" in chain[0]["config"]
    assert chain[1]["path"] == str(sft) and "learning_rate" in chain[1]["config"]
    assert chain[2]["path"] == "smollm2-135m"


def test_sft_and_rm_training_loss_come_from_the_trainer_state(tmp_path):
    import json

    from alignbench.reports.load import trainer_state_curves

    folder = tmp_path / "sft"
    for n, losses in ((9, [2.0]), (12, [2.0, 1.5, 1.2])):  # the newest checkpoint (12, not 9) holds the history
        (folder / f"checkpoint-{n}").mkdir(parents=True)
        history = [{"step": 4 * (k + 1), "loss": v, "epoch": k, "learning_rate": 1e-4} for k, v in enumerate(losses)]
        history.append({"step": 12, "eval_loss": 1.4})  # an eval row at a logged step merges into that step
        (folder / f"checkpoint-{n}" / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    frame = trainer_state_curves(folder)
    assert list(frame.index) == [4, 8, 12]
    assert frame["train_loss"].tolist() == [2.0, 1.5, 1.2] and frame.loc[12, "eval_loss"] == 1.4
    assert "loss" not in frame and "epoch" not in frame  # never shares a panel with PPO's losses
    assert trainer_state_curves(tmp_path / "empty").empty
