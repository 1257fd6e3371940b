"""`describe_records` / `alignbench data stats`: what a record set looks like before training on it."""

from __future__ import annotations

import json

from alignbench.cli import main
from alignbench.data import EvalItem, Ranking, write_jsonl
from alignbench.data.stats import describe_records


def test_ranking_stats_count_k_ties_and_comparisons():
    records = [
        Ranking(prompt="p" * 10, responses=["a", "bb", "ccc"], ranks=[1, 1, 3], id="x", meta={"src": "A"}),
        Ranking(prompt="q" * 30, responses=["a", "b"], ranks=[2, 1], id="x", meta={"src": "B"}),
    ]
    stats = describe_records(records)
    assert stats["k"] == {2: 1, 3: 1} and stats["with_ties"] == 1
    assert stats["comparisons"] == 2 + 1  # [1, 1, 3]: two untied pairs; [2, 1]: one
    assert stats["duplicate_ids"] == 1 and stats["prompt"]["chars_p100"] == 30
    assert stats["meta"] == {"src": {"A": 1, "B": 1}}


def test_eval_stats_label_balance_and_token_lengths():
    from alignbench.models import load_tokenizer, resolve

    items = [
        EvalItem(id=str(i), inputs={"question": "word " * (i + 1)}, references={"label": i % 2}) for i in range(5)
    ]
    stats = describe_records(items, tokenizer=load_tokenizer(resolve("tiny-random")))
    assert stats["labels"] == {"label": {0: 3, 1: 2}}
    q = stats["inputs.question"]
    assert q["chars_p100"] == 25 and 5 <= q["tokens_p100"] <= 10 and q["tokens_p50"] < q["tokens_p100"]


def test_stats_command_on_a_file_and_a_data_set(shared_data, tmp_path, capsys):
    path = write_jsonl(tmp_path / "r.jsonl", [{"prompt": "p", "responses": ["a", "b"], "ranks": [1, 2]}])
    assert main(["data", "stats", str(path), "--kind", "ranking", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["comparisons"] == 1
    assert main(["data", "stats", str(path)]) == 2  # a file needs --kind
    assert main(["data", "stats", "qags", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["n"] == 474 and stats["labels"]["consistent"] == {"false": 245, "true": 229}  # 113 + 116 consistent
