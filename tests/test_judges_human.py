"""Human judge: labels from JSONL/CSV keyed by item, several labelers, clear errors."""

from __future__ import annotations

import json

import pytest

from alignbench.errors import DataError
from alignbench.judges import make_judge


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_labels_from_jsonl_with_majority_and_scores(tmp_path):
    path = _write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"item_id": "a", "verdict": "A", "labeler": "ann"},
            {"item_id": "a", "verdict": "A", "labeler": "bob"},
            {"item_id": "a", "verdict": "B", "labeler": "cid"},
            {"item_id": "b", "verdict": "tie", "labeler": "ann"},
            {"item_id": "c", "score_a": 2, "score_b": 6, "labeler": "ann"},
            {"item_id": "d", "verdict": "A", "labeler": "ann"},
            {"item_id": "d", "verdict": "B", "labeler": "bob"},
        ],
    )
    judge = make_judge({"type": "human", "labels": str(path)})
    out = judge.compare(["p"] * 4, ["x"] * 4, ["y"] * 4, ["a", "b", "c", "d"])
    assert [j.verdict for j in out] == ["A", "tie", "B", "tie"]
    assert out[0].meta["n_labels"] == 3 and out[0].meta["agreement"] == pytest.approx(2 / 3)
    assert out[0].raw == "ann=A; bob=A; cid=B" and out[0].judge == "human:labels"
    assert (out[2].score_a, out[2].score_b) == (2.0, 6.0)
    assert out[0].meta["origins"][0].endswith("labels.jsonl:1")


def test_labels_from_csv(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("item_id,verdict,labeler\n1,b,x\n2,A,x\n")
    out = make_judge({"type": "human", "labels": str(path)}).compare(["p", "p"], ["x", "x"], ["y", "y"], ["1", "2"])
    assert [j.verdict for j in out] == ["B", "A"]


def test_bad_rows_and_missing_items_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"item_id": "a", "verdict": "A"}\n{"item_id": "b", "verdict": "maybe"}\nnot json\n'
        '{"verdict": "A"}\n{"item_id": "e", "score_a": "x", "score_b": 1}\n'
    )
    with pytest.raises(DataError) as err:
        make_judge({"type": "human", "labels": str(path)})
    text = str(err.value)
    assert f"{path}:2: verdict: must be one of A, B, tie, got 'maybe'" in text
    assert f"{path}:3: (line): not valid JSON" in text
    assert f"{path}:4: item_id: missing" in text
    assert f"{path}:5: score_a: must be a number" in text
    good = _write_jsonl(tmp_path / "good.jsonl", [{"item_id": "a", "verdict": "A"}])
    judge = make_judge({"type": "human", "labels": str(good)})
    with pytest.raises(DataError, match=r"good.jsonl: no human label for item\(s\) b, c"):
        judge.compare(["p"] * 3, ["x"] * 3, ["y"] * 3, ["a", "b", "c"])
