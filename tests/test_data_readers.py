"""Readers: JSONL / JSON / CSV / Parquet / text / folders / hf: specs, with the origin of every row,
and write -> read round trips for every record kind."""

from __future__ import annotations

import gzip
import json

import pytest

from alignbench.cli import main
from alignbench.data import (
    Demonstration,
    EvalItem,
    PretrainText,
    Prompt,
    Ranking,
    fingerprint_source,
    iter_rows,
    parse_hf_spec,
    read_records,
    write_jsonl,
    write_records,
)
from alignbench.data.readers import DataProblem
from alignbench.errors import DataError

RECORDS = {
    "demonstration": [
        Demonstration(response="Sure: 4.", prompt="2+2?", id="d1"),
        Demonstration(
            response="Hi!",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
            meta={"source": "labeler 3"},
        ),
    ],
    "ranking": [
        Ranking(
            prompt="[1, 2] looks like JSON but is a prompt",
            responses=["a", "b", "c"],
            ranks=[1, 1, 3],
            id="r1",
            meta={"subset": "x", "votes": [3, 0]},
        ),
        Ranking(prompt="q", responses=["x, y", "{not json"], ranks=[2, 1]),
    ],
    "prompt": [Prompt(prompt="Tell me a story", id="p1"), Prompt(prompt="Ünïcödé ✓ 你好")],
    "pretrain": [PretrainText(text="Once upon a time."), PretrainText(text="Line with, comma", id="t2")],
    "eval": [
        EvalItem(
            id="e1",
            inputs={"question": "Q?", "choices": ["a", "b"]},
            references={"mc1": {"choices": ["a", "b"], "labels": [1, 0]}, "best": None},
        ),
        EvalItem(id="e2", inputs={"ctx": "c"}, references={"label": 3}, meta={"line": 7}),
    ],
}


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet", "json"])
@pytest.mark.parametrize("kind", list(RECORDS))
def test_round_trip(tmp_path, kind, suffix):
    records = RECORDS[kind]
    path = tmp_path / f"data.{suffix}"
    if suffix == "json":
        path.write_text(json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        write_records(path, records)
    back = read_records(path, kind)
    assert [r.to_dict() for r in back] == [r.to_dict() for r in records]


def test_csv_cells_stay_strings_outside_structured_columns(tmp_path):
    path = write_records(tmp_path / "r.csv", RECORDS["ranking"])
    first = next(iter_rows(path)).data
    assert first["prompt"] == "[1, 2] looks like JSON but is a prompt" and first["ranks"] == [1, 1, 3]


def test_origins_are_file_and_line(tmp_path):
    jsonl = tmp_path / "a.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as fh:
        fh.write('{"prompt": "a"}\n\n{"prompt": "b"}\n')
    assert [(r.data, r.origin) for r in iter_rows(jsonl)] == [
        ({"prompt": "a"}, f"{jsonl}:1"),
        ({"prompt": "b"}, f"{jsonl}:3"),
    ]
    csv_path = tmp_path / "b.csv"
    csv_path.write_text('prompt,id\n"two\nlines",x\nthree,\n', encoding="utf-8")
    assert [(r.data, r.origin) for r in iter_rows(csv_path)] == [
        ({"prompt": "two\nlines", "id": "x"}, f"{csv_path}:3"),
        ({"prompt": "three"}, f"{csv_path}:4"),
    ]
    parquet = write_records(tmp_path / "c.parquet", RECORDS["prompt"])
    assert [r.origin for r in iter_rows(parquet)] == [f"{parquet}:row 1", f"{parquet}:row 2"]
    wrapped = tmp_path / "d.json"
    wrapped.write_text(json.dumps({"data": [{"prompt": "a"}]}))
    assert [r.origin for r in iter_rows(wrapped)] == [f"{wrapped}:row 1"]


def test_text_file_is_one_pretrain_record_per_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"first line\n\nsecond line\r\nbad \xff byte\n")
    rows = list(iter_rows(path))
    assert [r.data for r in rows[:2]] == [{"text": "first line"}, {"text": "second line"}]
    assert isinstance(rows[2].data, DataProblem) and rows[2].origin == f"{path}:4"
    with pytest.raises(DataError) as info:
        read_records(path, "pretrain")
    assert info.value.problems == [f"{path}:4: (line): not valid UTF-8 (byte 0xff at column 5)"]


def test_folder_reads_every_table_file_in_order(tmp_path):
    write_jsonl(tmp_path / "b" / "2.jsonl", [{"prompt": "two"}])
    write_records(tmp_path / "a.csv", [Prompt(prompt="one")])
    (tmp_path / "README.md").write_text("not data")
    assert [r.prompt for r in read_records(tmp_path, "prompt")] == ["one", "two"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no"):
        list(iter_rows(tmp_path / "empty"))


def test_read_records_lists_every_problem_and_limit(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "ok"}, {"prompt": ""}, {"nope": 1}, {"prompt": "ok2"}])
    with pytest.raises(DataError) as info:
        read_records(path, "prompt")
    assert info.value.problems == [f"{path}:2: prompt: empty", f"{path}:3: prompt: missing"]
    assert [r.prompt for r in read_records(path, "prompt", limit=1)] == ["ok"]


def test_write_records_rejects_unknown_suffix(tmp_path):
    with pytest.raises(DataError, match=".jsonl, .csv or .parquet"):
        write_records(tmp_path / "x.xlsx", RECORDS["prompt"])


def test_fingerprint_follows_content(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a"}])
    before = fingerprint_source(path)
    assert fingerprint_source(path) == before
    write_jsonl(path, [{"prompt": "b"}])
    assert fingerprint_source(path) != before
    assert fingerprint_source("hf:a/b@test") != fingerprint_source("hf:a/b@train")


@pytest.mark.parametrize(
    "spec,parsed",
    [
        ("hf:Anthropic/hh-rlhf", ("Anthropic/hh-rlhf", None, "train")),
        ("hf:Anthropic/hh-rlhf@test", ("Anthropic/hh-rlhf", None, "test")),
        ("hf:truthfulqa/truthful_qa:generation@validation", ("truthfulqa/truthful_qa", "generation", "validation")),
        ("hf:squad:plain_text", ("squad", "plain_text", "train")),
        ("hf:org/name@train[:10%]", ("org/name", None, "train[:10%]")),
    ],
)
def test_parse_hf_spec(spec, parsed):
    assert parse_hf_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["hf:", "hf:@test", "hf:name@", "hf:a@b@c", "Anthropic/hh-rlhf"])
def test_parse_hf_spec_rejects(spec):
    with pytest.raises(DataError, match="hf:NAME"):
        parse_hf_spec(spec)


def test_hf_source_without_network(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, config=None, split=None, **kwargs):
        calls.append((name, config, split))
        if name == "missing/set":
            raise FileNotFoundError("Couldn't find 'missing/set' on the Hugging Face Hub (offline)")
        return [
            {"prompt": "p1", "responses": ["a", "b"], "ranks": [1, 2]},
            {"prompt": "", "responses": [], "ranks": []},
        ]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rows = list(iter_rows("hf:org/prefs:cfg@test"))
    assert calls == [("org/prefs", "cfg", "test")]
    assert [r.origin for r in rows] == ["hf:org/prefs:cfg@test:row 1", "hf:org/prefs:cfg@test:row 2"]
    with pytest.raises(DataError) as info:
        read_records("hf:org/prefs@test", "ranking")
    assert info.value.problems[0] == "hf:org/prefs@test:row 2: prompt: empty"
    with pytest.raises(DataError, match=r"hf:missing/set: could not load from the Hugging Face hub: Couldn't find"):
        list(iter_rows("hf:missing/set"))


def test_convert_command_writes_validatable_rankings(shared_data, tmp_path, capsys):
    out = tmp_path / "hh.parquet"
    assert main(["data", "convert", "hh-rlhf", "--subset", "harmless-base", "--limit", "25", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    rankings = read_records(out, "ranking")
    assert len(rankings) == 25 and rankings[0].meta["messages"][0]["role"] == "user"
    assert main(["data", "validate", str(out), "--kind", "ranking"]) == 0
    # a data file converts too (needs --kind)
    jsonl = tmp_path / "hh.jsonl"
    assert main(["data", "convert", str(out), "--kind", "ranking", "--out", str(jsonl)]) == 0
    assert [r.to_dict() for r in read_records(jsonl, "ranking")] == [r.to_dict() for r in rankings]
    assert main(["data", "convert", str(out), "--out", str(jsonl)]) == 2


def test_list_and_show_commands(shared_data, capsys):
    assert main(["data", "list", "--json"]) == 0
    listing = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert listing["truthfulqa"]["source"] == str(shared_data / "truthfulqa")
    assert listing["truthfulqa"]["versions"] == ["v0", "v1", "2025"]
    assert main(["data", "show", "winogrande", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count('"id": "winogrande/dev/') == 2 and "Sarah" in out
    assert main(["data", "show", "squad", "--version", "v3"]) == 2


def test_data_spec_reads_an_adapter_wherever_a_file_is_accepted(shared_data):
    rankings = read_records("data:hh-rlhf-helpful?limit=4", "ranking")
    assert [r.id for r in rankings] == [f"hh-rlhf/helpful-base/test/{i}" for i in range(4)]
    prompts = read_records("data:hh-rlhf?subset=harmless-base&limit=2", "prompt")  # PPO prompts from HH
    assert prompts[0].prompt.endswith("\n\nAssistant:") and prompts[0].meta["messages"][0]["role"] == "user"
    questions = read_records("data:truthfulqa?version=2025", "prompt")
    assert len(questions) == 790
    assert fingerprint_source("data:truthfulqa?version=2025") != fingerprint_source("data:truthfulqa?version=v1")
    assert fingerprint_source("data:truthfulqa") == fingerprint_source("data:truthfulqa")
    with pytest.raises(DataError, match="truthfulqa holds eval records, not ranking records"):
        read_records("data:truthfulqa", "ranking")
    with pytest.raises(DataError, match="unknown option 'subst'"):
        read_records("data:hh-rlhf?subst=x", "ranking")
    with pytest.raises(DataError, match="limit must be a whole number"):
        read_records("data:hh-rlhf?limit=ten", "ranking")
