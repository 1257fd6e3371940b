"""The loop closed: `alignbench eval` (tiny-random, a few prompts) -> `label create --task compare --from RUN_DIR`
-> labelers compare in the app (candidate position randomised, remembered) -> `label export --format judgements`
feeds the `human` judge in `alignbench eval` -> `--format metrics` puts human win rates by labeler group, Likert
means and flag rates into the run's store -> `alignbench report` draws them."""

from __future__ import annotations

import json

import pytest
from helpers_labeling import client_for, make_winrate_run

from alignbench.cli import main
from alignbench.labeling import Project
from alignbench.labeling.app import create_app

SUITE = """
name: labeling-e2e
seed: 0
defaults:
  decoding: {{max_new_tokens: 4, temperature: 1.0}}
evals:
  - name: winrate
    dataset: {prompts}
    n_resamples: 200
    lc_resamples: 10
    judge: {judge}
"""


def _prompts(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
            for i, p in enumerate(["Say hello.", "Count to three.", "Name a fruit.", "Spell cat."])
        )
    )
    return path


def _compare(client, project: Project, prefer: dict[str, str], flag_candidate: bool = False) -> list[str]:
    """Label every item this client gets; prefer[item] is candidate | baseline | tie (by the hidden source order)."""
    seen = []
    while (view := client.get("/api/next").json()["item"]) is not None:
        item = project.item(view["item_id"])
        source = {"candidate": [1, 2], "baseline": [2, 1], "tie": [1, 1]}[prefer[view["item_id"]]]
        flags = [["hallucination"] if flag_candidate and src == 0 else [] for src in item["display"]]
        body = {
            "item_id": view["item_id"],
            "ranks": [source[s] for s in item["display"]],
            "likert": [6 if s == 0 else 3 for s in item["display"]],
            "flags": flags,
        }
        assert client.post("/api/submit", json=body).status_code == 200
        seen.append(view["item_id"])
    return seen


def test_eval_run_to_human_judge_and_report(tmp_path, capsys):
    prompts = _prompts(tmp_path)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(prompts=prompts, judge="{type: rubric, rules: {max_words: 3}}"))
    run = tmp_path / "run"
    models = ["-m", "cand=tiny-random:1", "-b", "base=tiny-random", "--limit", "3", "--cache", "none", "-q"]
    assert main(["eval", "-s", str(suite), "-o", str(run), *models]) == 0

    proj = tmp_path / "proj"
    assert main(["label", "create", str(proj), "--task", "compare", "--from", str(run), "--overlap", "1"]) == 0
    project = Project(proj)
    items = project.items()
    assert [it["models"] for it in items] == [["cand", "base"]] * 3
    assert {tuple(it["display"]) for it in items} == {(0, 1), (1, 0)}  # positions randomised, and remembered
    app = create_app(proj)
    ann = client_for(app, project.add_labeler("ann", "train"))
    bob = client_for(app, project.add_labeler("bob", "heldout"))
    assert "cand" not in ann.get("/").text.replace("candidate", "")

    ids = sorted(it["item_id"] for it in items)
    assert sorted(_compare(ann, project, dict.fromkeys(ids, "candidate"), flag_candidate=True)) == ids
    assert sorted(_compare(bob, project, {ids[0]: "baseline", ids[1]: "tie", ids[2]: "tie"})) == ids

    labels = tmp_path / "human.jsonl"
    assert main(["label", "export", str(proj), "--format", "judgements", "--out", str(labels)]) == 0
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert {(r["item_id"], r["labeler"], r["verdict"]) for r in rows} == (
        {(i, "ann", "A") for i in ids} | {(ids[0], "bob", "B"), (ids[1], "bob", "tie"), (ids[2], "bob", "tie")}
    )
    assert all(r["score_a"] == 6 and r["score_b"] == 3 for r in rows if r["labeler"] == "ann")

    # the human judge in alignbench eval: per item the majority by mean preference (1+0)/2 -> tie, (1+.5)/2 -> A
    suite.write_text(SUITE.format(prompts=prompts, judge=f"{{type: human, labels: {labels}}}"))
    judged = tmp_path / "judged"
    assert main(["eval", "-s", str(suite), "-o", str(judged), *models]) == 0
    win = json.loads((judged / "metrics.json").read_text())["winrate"]["win_rate"]["cand"]
    assert win["value"] == pytest.approx((0.5 + 1 + 1) / 3) and win["judge"] == "human:human" and win["n"] == 3

    # metrics into the source run: human win rate by labeler group, Likert means, flag rates
    assert main(["label", "export", str(proj), "--format", "metrics"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["winrate/human-train"]["win_rate"]["cand"]["value"] == pytest.approx(1.0)
    assert metrics["winrate/human-heldout"]["win_rate"]["cand"]["value"] == pytest.approx((0 + 0.5 + 0.5) / 3)
    assert metrics["winrate/human"]["win_rate"]["cand"]["value"] == pytest.approx((0.5 + 0.75 + 0.75) / 3)
    assert metrics["winrate"]["win_rate"]["cand"]["judge"] == "rubric:rules"  # the eval's own rows stay
    assert metrics["human_likert"]["likert_mean"]["cand"]["value"] == 6.0
    assert metrics["human_likert"]["likert_mean"]["base"]["value"] == 3.0
    assert metrics["human_flags"]["flag_hallucination"]["cand"]["value"] == pytest.approx(0.5)
    assert metrics["human_flags"]["flag_hallucination"]["base"]["value"] == 0.0
    agreement = metrics["human_agreement/all"]["agreement"]["cand"]
    assert agreement["value"] == pytest.approx(0.0) and agreement["n_comparisons"] == 3

    capsys.readouterr()
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "figure:human_feedback" in out
    table = (tmp_path / "report" / "results.md").read_text()
    assert "Win rate vs base (human, train labelers)" in table and "(human, heldout labelers)" in table


def test_create_errors_are_one_line_exit_2(tmp_path, capsys):
    run = make_winrate_run(tmp_path / "run", 3)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "prompt": "p", "responses": ["x"]}) + "\n" + "{not json\n")
    cases = [
        (["--task", "rank", "--from", str(bad)], f"{bad}:1: responses: K=1: need 2 to 9 responses"),
        (["--task", "rank", "--from", str(bad)], f"{bad}:2"),
        (["--task", "compare", "--from", str(tmp_path / "missing")], "no such run folder or file"),
        (
            ["--task", "compare", "--from", str(run), "--candidate", "nobody"],
            "--candidate: 'nobody' is not a candidate",
        ),
        (["--task", "compare", "--from", str(run), "--overlap", "1.5"], "--overlap: must be a share in [0, 1]"),
    ]
    for i, (args, expected) in enumerate(cases):
        assert main(["label", "create", str(tmp_path / f"p{i}"), *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("alignbench: error: ") and expected in err, err
    assert main(["label", "create", str(tmp_path / "ok"), "--task", "compare", "--from", str(run)]) == 0
    assert main(["label", "create", str(tmp_path / "ok"), "--task", "compare", "--from", str(run)]) == 2
    assert "already holds a labeling project" in capsys.readouterr().err
    assert main(["label", "add-labeler", str(tmp_path / "nothing-here"), "ann"]) == 2
    assert "not a labeling project" in capsys.readouterr().err


def test_rank_project_from_a_run_folder(tmp_path):
    run = make_winrate_run(tmp_path / "run", 4)
    assert main(["label", "create", str(tmp_path / "proj"), "--task", "rank", "--from", str(run)]) == 0
    items = Project(tmp_path / "proj").items()
    assert len(items) == 4 and all(it["models"] == ["sft", "ppo"] for it in items)
    assert all(it["responses"][0].startswith("BASE") and it["responses"][1].startswith("CAND") for it in items)
