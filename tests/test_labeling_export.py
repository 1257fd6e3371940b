"""`label export` and `label status` from the command line: rankings exactly as `train rm` reads them (ties as
competition ranks, all-tied labels and held-out labelers left out by default), likert as CSV, status as JSON."""

from __future__ import annotations

import json

import pandas as pd
from helpers_labeling import write_rank_items

from alignbench.cli import main
from alignbench.data.sources import read_records
from alignbench.labeling import Project, create_project
from alignbench.labeling.assignment import next_item


def _project(tmp_path) -> Project:
    project = create_project(tmp_path / "proj", "rank", write_rank_items(tmp_path / "items.jsonl", 3), overlap=1.0)
    ann = project.labeler_for_token(project.add_labeler("ann", "train"))["labeler_id"]
    bob = project.labeler_for_token(project.add_labeler("bob", "heldout"))["labeler_id"]
    plans = {ann: [[1, 2, 3, 4], [1, 1, 3, 4], [1, 1, 1, 1]], bob: [[1, 2, 3, 4], [4, 3, 2, 1], [2, 1, 3, 4]]}
    for labeler, ranks_list in plans.items():
        for source in ranks_list:
            item = next_item(project, labeler)
            display = item["display"]
            flags = [["violent_content"] if src == 2 else [] for src in display]
            project.submit(
                labeler,
                item["item_id"],
                {"ranks": [source[s] for s in display], "likert": [7 - s for s in display], "flags": flags},
            )
    return project


def test_rankings_export_is_what_train_rm_reads(tmp_path, capsys):
    project = _project(tmp_path)
    out = tmp_path / "rankings.jsonl"
    assert main(["label", "export", str(project.folder), "--format", "rankings", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "left out 1 label(s) with every response tied" in err and "outside group train" in err
    records = read_records(out, "ranking")
    assert [r.ranks for r in records] == [[1, 2, 3, 4], [1, 1, 3, 4]]  # ann's, in item order, source order
    assert all(r.meta["labeler"] == "ann" and r.responses[0].startswith("answer 0") for r in records)
    assert len({r.id for r in records}) == len(records)
    assert (
        main(["label", "export", str(project.folder), "--format", "rankings", "--group", "all", "--out", str(out)])
        == 0
    )
    assert len(read_records(out, "ranking")) == 5
    assert main(["label", "export", str(project.folder), "--format", "judgements"]) == 2
    assert "needs a compare project" in capsys.readouterr().err


def test_likert_csv_and_status_json(tmp_path, capsys):
    project = _project(tmp_path)
    out = tmp_path / "likert.csv"
    assert main(["label", "export", str(project.folder), "--format", "likert", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 6 * 4
    assert (frame.groupby("response")["likert"].mean() == [7, 6, 5, 4]).all()
    assert (frame["violent_content"] == (frame["response"] == 2)).all()
    assert set(frame["model"]) == {f"model-{j}" for j in range(4)}
    capsys.readouterr()
    assert main(["label", "status", str(project.folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["labels"] == 6 and info["items_labelled"] == 3
    assert [(r["labeler"], r["labelled"], r["open"]) for r in info["labelers"]] == [("ann", 3, 0), ("bob", 3, 0)]
    # overlap 1.0: every item has a train and a held-out label, so only the "all" agreement has pairs
    assert info["agreement"]["all"]["n_items"] == 3 and info["agreement"]["train"]["n_items"] == 0
    assert main(["label", "status", str(project.folder)]) == 0
    assert "inter-annotator agreement (all): " in capsys.readouterr().out
