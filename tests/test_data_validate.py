"""`alignbench data validate`: every bad record is reported as `file:line: field: message` with the right
line and field; exit 0 clean, 1 problems, 2 unreadable input; never a traceback."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from alignbench.cli import main
from alignbench.data.validate import validate_source

GOOD_RANKING = {"prompt": "Write a haiku.", "responses": ["a", "b", "c"], "ranks": [2, 1, 3]}


def _jsonl(path, rows):
    """Write rows (dicts, or raw bytes/str for deliberately broken lines) one per line."""
    with open(path, "wb") as fh:
        for row in rows:
            if not isinstance(row, (str, bytes)):
                row = json.dumps(row)
            fh.write((row.encode() if isinstance(row, str) else row) + b"\n")
    return path


def _run(capsys, *argv):
    code = main(["data", "validate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_clean_file_exits_0(tmp_path, capsys):
    path = _jsonl(tmp_path / "r.jsonl", [GOOD_RANKING, {**GOOD_RANKING, "ranks": [1, 1, 3]}])  # ties allowed
    code, out, err = _run(capsys, path, "--kind", "ranking")
    assert code == 0 and out == [f"{path}: 2 ranking records, all valid"] and not err


RANKING_CASES = [
    # (row, field, words in the message)
    ({**GOOD_RANKING, "responses": ["a", "  ", "c"]}, "responses[1]", "empty"),
    ({**GOOD_RANKING, "responses": ["a"], "ranks": [1]}, "responses", "K=1"),
    ({**GOOD_RANKING, "responses": [str(i) for i in range(10)], "ranks": list(range(1, 11))}, "responses", "K=10"),
    ({**GOOD_RANKING, "ranks": [1, 3, 4]}, "ranks", "not a ranking"),
    ({**GOOD_RANKING, "ranks": [1, 2, 2, 4]}, "ranks", "4 entries for 3 responses"),
    ({**GOOD_RANKING, "ranks": [1, 1, 1]}, "ranks", "all responses tied"),
    ({**GOOD_RANKING, "ranks": ["1", "2", "3"]}, "ranks", "list of integers"),
    ({**GOOD_RANKING, "ranks": [True, False, 3]}, "ranks", "list of integers"),
    ({**GOOD_RANKING, "prompt": 7}, "prompt", "must be a string, got int"),
    ({**GOOD_RANKING, "responses": "a, b"}, "responses", "list of strings"),
    ({"responses": ["a", "b"], "ranks": [1, 2]}, "prompt", "missing"),
    ({"prompt": "p", "respones": ["a", "b"], "ranks": [1, 2]}, "responses", "missing (found 'respones': misspelt?)"),
    ([1, 2], "(record)", "must be a JSON object, got list"),
]


def test_every_bad_ranking_reported_at_its_line(tmp_path, capsys):
    rows = (
        [GOOD_RANKING]
        + [row for row, _, _ in RANKING_CASES]
        + [
            '{"prompt": "p", "responses": ["a", "b"], "ranks": [1, 2]',  # bad JSON
            b'{"prompt": "caf\xe9", "responses": ["a", "b"], "ranks": [1, 2]}',  # latin-1 byte in a field
            b'{"prompt": "p", "responses": ["a", "b\xff\xfe"], "ranks": [1, 2]}',
            {**GOOD_RANKING, "id": "x1"},
            {**GOOD_RANKING, "id": "x1"},  # duplicate id
        ]
    )
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    code, out, err = _run(capsys, path, "--kind", "ranking")
    assert code == 1
    n = len(RANKING_CASES)
    expected = {2 + i: (f, words) for i, (_, f, words) in enumerate(RANKING_CASES)}
    expected.update(
        {
            n + 2: ("(line)", "not valid JSON"),
            n + 3: ("prompt", "not valid UTF-8 (byte 0xe9"),
            n + 4: ("responses[1]", "not valid UTF-8 (byte 0xff"),
            n + 6: ("id", "duplicate id 'x1'"),
        }
    )
    got = {}
    for line in out:
        origin, field, message = line.split(": ", 2)
        file, lineno = origin.rsplit(":", 1)
        assert file == str(path)
        got.setdefault(int(lineno), []).append((field, message))
    assert set(got) == set(expected), out  # line 1 and the first "x1" are clean; every other line is reported
    for lineno, (field, words) in expected.items():
        assert any(f == field and words in m for f, m in got[lineno]), (lineno, got[lineno])
    assert f"{len(out)} problem(s) in {len(expected)} of {len(rows)} rows" in err


@pytest.mark.parametrize(
    "kind,row,field,words",
    [
        ("demonstration", {"prompt": "p", "response": ""}, "response", "empty"),
        ("demonstration", {"response": "r"}, "prompt", "give 'prompt' or 'messages'"),
        (
            "demonstration",
            {"messages": [{"role": "bot", "content": "hi"}], "response": "r"},
            "messages[0].role",
            "bot",
        ),
        ("demonstration", {"messages": [], "response": "r"}, "messages", "non-empty list"),
        ("prompt", {"text": "p"}, "prompt", "missing"),
        ("prompt", {"prompt": ["p"]}, "prompt", "must be a string, got list"),
        ("pretrain", {"text": "   "}, "text", "empty"),
        ("eval", {"inputs": {"q": "?"}}, "id", "missing"),
        ("eval", {"id": 3, "inputs": "q"}, "inputs", "not a non-empty object"),
        ("eval", {"id": 3, "inputs": {"q": 1}, "references": [1]}, "references", "must be an object"),
    ],
)
def test_each_kind_names_the_field(tmp_path, capsys, kind, row, field, words):
    path = _jsonl(
        tmp_path / "x.jsonl", [{"prompt": "p", "response": "r", "text": "t", "id": "ok", "inputs": {"q": "?"}}, row]
    )
    code, out, _ = _run(capsys, path, "--kind", kind)
    assert code == 1
    assert len(out) == 1 and out[0].startswith(f"{path}:2: {field}: ") and words in out[0]


def test_json_array_reports_the_line_each_record_starts(tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps([GOOD_RANKING, {**GOOD_RANKING, "ranks": [1, 2, 9]}], indent=2))
    start = [i for i, line in enumerate(path.read_text().splitlines(), 1) if line == "  {"][1]  # 2nd object
    code, out, _ = _run(capsys, path, "--kind", "ranking")
    assert code == 1 and out == [
        f"{path}:{start}: ranks: [1, 2, 9] is not a ranking: ranks start at 1 and tied "
        "places skip (a permutation of 1..K, or competition ranks like [1, 1, 3, 4])"
    ]


def test_csv_rows_report_their_physical_line(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_bytes(
        "\ufeffprompt,responses,ranks\n"
        '"multi\nline prompt","[""a"", ""b""]","[1, 2]"\n'
        'p,"[""a""]","[1]"\n'
        'p,"[""a"", ""b""]","[1, 2]",extra\n'.encode()
        + b'caf\xe9,"[""a"", ""b""]","[1, 2]"\n'
    )
    code, out, _ = _run(capsys, path, "--kind", "ranking")
    assert code == 1
    assert out == [
        f"{path}:4: responses: K=1: need 2 to 9 responses",
        f"{path}:5: (line): 1 more cell(s) than the header has columns",
        f"{path}:6: prompt: not valid UTF-8",
    ]


@pytest.mark.parametrize(
    "name,content,words",
    [
        ("array.jsonl", json.dumps([GOOD_RANKING], indent=1).encode(), "holds a JSON array, not JSON Lines"),
        ("data.txt.xz", b"x", "unsupported file type"),
        ("broken.json", b'[{"prompt": "p",\n', "not valid JSON"),
        ("lines.json", (json.dumps(GOOD_RANKING) + "\n" + json.dumps(GOOD_RANKING)).encode(), "name the file .jsonl"),
        ("bad.parquet", b"PAR1 not really", "not a readable Parquet file"),
        ("bad.jsonl.gz", b"not gzip", "cannot read"),
        ("latin.json", b'[{"prompt": "caf\xe9"}]', "not valid UTF-8"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(tmp_path, capsys, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = _run(capsys, path, "--kind", "ranking")
    assert code == 2 and not out
    assert err.startswith(f"alignbench: error: {path}") and words in err and "Traceback" not in err


def test_missing_file_and_empty_file(tmp_path, capsys):
    code, _, err = _run(capsys, tmp_path / "nope.jsonl", "--kind", "prompt")
    assert code == 2 and "no such file or folder" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    code, out, _ = _run(capsys, empty, "--kind", "prompt")
    assert code == 1 and out == [f"{empty}: (file): holds no records"]


def test_gzip_jsonl_and_several_files(tmp_path, capsys):
    good = tmp_path / "good.jsonl.gz"
    with gzip.open(good, "wt") as fh:
        fh.write(json.dumps({"prompt": "p"}) + "\n")
    bad = _jsonl(tmp_path / "bad.jsonl", [{"prompt": ""}])
    code, out, _ = _run(capsys, good, bad, "--kind", "prompt")
    assert code == 1 and out == [f"{good}: 1 prompt records, all valid", f"{bad}:1: prompt: empty"]


def test_json_output_and_max_problems(tmp_path, capsys):
    path = _jsonl(tmp_path / "p.jsonl", [{"prompt": ""}] * 5)
    code, out, _ = _run(capsys, path, "--kind", "prompt", "--json", "--max-problems", "2")
    report = json.loads(out[0])
    assert (
        code == 1
        and report["rows"] == 2
        and report["problems"] == [f"{path}:1: prompt: empty", f"{path}:2: prompt: empty"]
    )


def test_validate_source_counts(tmp_path):
    path = _jsonl(tmp_path / "r.jsonl", [GOOD_RANKING, {**GOOD_RANKING, "ranks": [3, 3, 3]}, GOOD_RANKING])
    result = validate_source(path, "ranking")
    assert (result.n_rows, result.n_valid, result.n_bad_rows, result.ok) == (3, 2, 1, False)


def test_cli_never_prints_a_traceback_on_binary_garbage(tmp_path):
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(bytes(range(256)) * 4)
    proc = subprocess.run(
        [sys.executable, "-m", "alignbench.cli", "data", "validate", str(path), "--kind", "eval"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stdout.startswith(f"{path}:1: (line): not valid")


def test_escaped_surrogates_and_deep_nesting(tmp_path, capsys):
    path = _jsonl(
        tmp_path / "s.jsonl",
        [
            '{"prompt": "lone \\ud800 half"}',
            '{"prompt": "emoji \\ud83d\\ude00 pair"}',
            '{"a": ' * 5000 + "1" + "}" * 5000,
            '{"prompt": "fine"}',
        ],
    )
    code, out, err = _run(capsys, path, "--kind", "prompt")
    assert code == 1
    assert out == [
        f"{path}:1: prompt: holds a lone surrogate escape (\\ud800-\\udfff): not encodable as UTF-8",
        f"{path}:3: (line): JSON nested too deeply",
    ]
    assert "2 problem(s) in 2 of 4 rows (2 valid prompt records)" in err


def test_json_error_column_is_on_the_reported_line(tmp_path, capsys):
    path = _jsonl(tmp_path / "r.jsonl", ['{"prompt": "p", "ranks": [1, 2]', '{"prompt": "p"}\r'])
    code, out, _ = _run(capsys, path, "--kind", "prompt")
    assert code == 1 and out == [f"{path}:1: (line): not valid JSON: Expecting ',' delimiter at column 32"]
