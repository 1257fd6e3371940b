"""Issue #13: every user-facing file and option is validated in one place (alignbench.schemas) before any model
loads.  Each reproducer of the issue is a row below: run through the real CLI, it must exit 2 (1 for
`data validate`, whose contract is "problems found") with a message naming the file, the line and the field,
never a traceback, and without writing a run folder."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from alignbench.cli import main

PROMPTS = '{"id": "p1", "prompt": "Write a poem"}\n{"id": "p2", "prompt": "Say hi"}\n'


def _suite(tmp_path, body: str, name: str = "suite.yaml") -> Path:
    (tmp_path / "p.jsonl").write_text(PROMPTS)
    path = tmp_path / name
    raw = body.encode("utf-8") if isinstance(body, str) else body
    path.write_bytes(raw.replace(b"{P}", str(tmp_path / "p.jsonl").encode()))
    return path


WINRATE = "evals:\n  - name: winrate\n    dataset: {P}\n    judge: {type: rubric, rules: {max_words: 5}}\n"
BOMB = "".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]\n"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 8)]
)

# (name, suite body, line, text the message must hold)
SUITES = [
    ("non-utf8", "name: caf\xe9\n".encode("latin-1") + WINRATE.encode(), 1, "not valid UTF-8"),
    ("5000-deep", "deep: " + "[" * 5000 + "]" * 5000 + "\n" + WINRATE, 1, "nested more than"),
    ("alias bomb, 7 levels", BOMB + WINRATE, None, "expands to more than"),
    (
        "max_new_tokens: four",
        WINRATE + "    decoding: {max_new_tokens: four}\n",
        5,
        "evals[0].decoding.max_new_tokens: must be an integer",
    ),
    (
        "temperature: hot",
        WINRATE + "    decoding: {temperature: hot}\n",
        5,
        "evals[0].decoding.temperature: must be a number",
    ),
    ("stop: 5", WINRATE + "    decoding: {stop: 5}\n", 5, "evals[0].decoding.stop"),
    ("temperature: .nan", WINRATE + "    decoding: {temperature: .nan}\n", 5, "finite"),
    ("batch_size: big", WINRATE + "    batch_size: big\n", 5, "evals[0].batch_size: must be an integer"),
    ("batch_size: 0", WINRATE + "    batch_size: 0\n", 5, "evals[0].batch_size"),
    ("n_resamples: -5", WINRATE + "    n_resamples: -5\n", 5, "evals[0].n_resamples"),
    ("seed overflow", "seed: 99999999999999999999999\n" + WINRATE, 1, "seed"),
    (
        "rubric function not .py",
        WINRATE.replace("rules: {max_words: 5}", "function: 'path/to/file:score'"),
        4,
        "evals[0].judge.function",
    ),
    (
        "human labels missing",
        WINRATE.replace("rubric, rules: {max_words: 5}", "human, labels: /no/such/labels.jsonl"),
        4,
        "evals[0].judge.labels: /no/such/labels.jsonl: no such file",
    ),
    (
        "unknown key under defaults",
        "defaults: {decodin: {max_new_tokens: 4}}\n" + WINRATE,
        1,
        "defaults.decodin: unknown key; did you mean decoding?",
    ),
    (
        "judge and judges",
        WINRATE + "    judges: [{type: rubric, rules: {max_words: 3}}]\n",
        5,
        "give `judge` or `judges`, not both",
    ),
    ("unknown judge type", WINRATE.replace("type: rubric", "type: rubrik"), 4, "did you mean rubric?"),
    ("duplicate key", WINRATE + "    dataset: other.jsonl\n", 5, "duplicate key (first at line 3)"),
    ("non-string key", "1: 2\n" + WINRATE, 1, "key 1 is not a string"),
]


@pytest.mark.parametrize("body, line, expected", [s[1:] for s in SUITES], ids=[s[0] for s in SUITES])
def test_bad_suites_fail_dry_run_with_file_line_field(tmp_path, capsys, body, line, expected):
    path = _suite(tmp_path, body)
    code = main(
        ["eval", "-m", "tiny-random", "-b", "tiny-random:1", "-s", str(path), "-o", str(tmp_path / "run"), "--dry-run"]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and expected in err
    assert (f"{path}:{line}:" if line else f"{path}:") in err
    assert not (tmp_path / "run").exists()


def test_every_problem_of_a_suite_is_reported_at_once(tmp_path, capsys):
    path = _suite(tmp_path, "seed: -1\n" + WINRATE + "    batch_size: big\n    decoding: {top_p: 2, chat: maybe}\n")
    assert main(["eval", "-m", "tiny-random", "-s", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "4 problems" in err
    for fragment in (
        f"{path}:1: seed",
        f"{path}:6: evals[0].batch_size",
        f"{path}:7: evals[0].decoding.top_p",
        f"{path}:7: evals[0].decoding.chat",
    ):
        assert fragment in err


def test_valid_suites_and_the_env_expansion_still_work(tmp_path, capsys, monkeypatch):
    from alignbench.evals.suite import load_suite

    monkeypatch.setenv("JUDGE_RULES_WORDS", "labeler")
    base = "defaults: &d {decoding: {max_new_tokens: 4, temperature: 0.0}}\n"
    path = _suite(
        tmp_path,
        base + WINRATE.replace("rules: {max_words: 5}", "rules: {max_words: 5}, name: '${JUDGE_RULES_WORDS}'"),
    )
    suite = load_suite(path)
    assert suite.evals[0].judge_specs()[0]["name"] == "labeler"
    assert suite.evals[0].decoding() == {"max_new_tokens": 4, "temperature": 0.0}
    for name in ("winrate", "winrate-llm", "instructgpt", "instructgpt-quick", "demo"):
        monkeypatch.setenv("ALIGNBENCH_JUDGE", "openai:j@http://localhost:1/v1")
        assert load_suite(name).evals


GATES = "gates:\n  - metric: winrate.win_rate\n    min: 0.5\n"


@pytest.mark.parametrize(
    "body, line, expected",
    [
        (GATES + "    min: 0.6\n", 4, "duplicate key (first at line 3)"),
        (b"gates:\n  - metric: caf\xe9.x\n    min: 1\n", 2, "not valid UTF-8"),
        ("gates: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested more than"),
        (BOMB + GATES, None, "expands to more than"),
        ("gates:\n  - metric: winrate.win_rate\n    min: 1e400000\n", 2, "must be a number"),
    ],
    ids=["duplicate min", "non-utf8", "deep", "alias bomb", "huge number"],
)
def test_bad_gates_are_refused_before_any_run_is_read(tmp_path, capsys, body, line, expected):
    path = tmp_path / "gates.yaml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "--gates", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and expected in err
    assert (f"{path}:{line}" if line else str(path)) in err


RECIPE = "model: tiny-random\ntrain_data: data.jsonl\n"


@pytest.mark.parametrize(
    "stage, body, extra, line, expected",
    [
        ("sft", "1: 2\n" + RECIPE, [], 1, "key 1 is not a string"),
        ("sft", RECIPE + "learning_rate: fast\n", [], 3, "learning_rate: must be a number"),
        ("sft", RECIPE + "eval_fraction: 2.0\n", [], 3, "eval_fraction"),
        ("sft", RECIPE + "lora: 5\n", [], 3, "lora: must be a mapping"),
        ("ppo", RECIPE + "mini_batch_size: 0\n", [], 3, "mini_batch_size: must be >= 1"),
        ("ppo", RECIPE + "ptx_coef: .nan\n", [], 3, "ptx_coef: must be a finite number"),
        ("sft", RECIPE, ["--resume", "/nonexistent"], None, "resume: /nonexistent: no such checkpoint folder"),
        ("rm", "model: caf\xe9\n".encode("latin-1") + RECIPE.encode(), [], 1, "not valid UTF-8"),
        ("sft", RECIPE + "deep: " + "[" * 5000 + "]" * 5000 + "\n", [], 3, "nested more than"),
        ("sft", RECIPE + "seed: 99999999999999999999999\n", [], 3, "seed"),
        ("sft", RECIPE + "model: other\n", [], 3, "duplicate key"),
    ],
    ids=[
        "non-string key",
        "learning_rate: fast",
        "eval_fraction 2.0",
        "lora: 5",
        "mini_batch_size 0",
        "ptx_coef nan",
        "--resume missing",
        "non-utf8",
        "deep",
        "seed overflow",
        "duplicate key",
    ],
)
def test_bad_recipes_fail_dry_run_with_file_line_field(tmp_path, capsys, stage, body, extra, line, expected):
    path = tmp_path / "recipe.yaml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    assert main(["train", stage, str(path), "--output_dir", str(tmp_path / "out"), *extra, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and expected in err
    assert (f"{path}:{line}:" if line else f"{path}:") in err
    assert not (tmp_path / "out").exists()


# -- data files ------------------------------------------------------------------------------------------------
def _validate(tmp_path, capsys, name: str, content: bytes | str, kind: str = "prompt"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code = main(["data", "validate", "--kind", kind, str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err, path


@pytest.mark.parametrize(
    "name, content, kind, line, expected",
    [
        ("stray.csv", 'prompt,id\n"Write a poem,p1\nSay hi,p2\nCount,p3\n', "prompt", 2, "never closed"),
        ("dupcol.csv", "prompt,id,prompt\nWrite,p1,other\n", "prompt", 1, "column 'prompt' appears 2 times"),
        (
            "deep.csv",
            'prompt,id,meta\nok,p1,{}\nx,p2,"' + "[" * 20000 + "]" * 20000 + '"\n',
            "prompt",
            3,
            "meta: JSON nested too deeply",
        ),
        ("nul.csv", "prompt,id\nab\x00c,p1\n", "prompt", 2, "NUL"),
        ("dupkey.jsonl", '{"id": "p1", "prompt": "a", "prompt": "b"}\n', "prompt", 1, "duplicate key 'prompt'"),
        (
            "dupkey.json",
            '[\n{"id": "p1", "prompt": "a"},\n{"id": "p2", "prompt": "a", "id": "p3"}\n]\n',
            "prompt",
            3,
            "duplicate key 'id'",
        ),
        ("dupmeta.csv", 'prompt,id,meta\nx,p1,"{""a"": 1, ""a"": 2}"\n', "prompt", 2, "meta: duplicate key 'a'"),
        ("meta5.jsonl", '{"id": "p1", "prompt": "a", "meta": 5}\n', "prompt", 1, "meta: must be an object"),
        ("idlist.jsonl", '{"id": [1], "prompt": "a"}\n', "prompt", 1, "id: must be a string or an integer"),
        ("iddict.jsonl", '{"id": {"a": 1}, "prompt": "a"}\n', "prompt", 1, "id: must be a string or an integer"),
        ("idbool.jsonl", '{"id": true, "prompt": "a"}\n', "prompt", 1, "id: must be a string or an integer"),
        ("idinf.jsonl", '{"id": Infinity, "prompt": "a"}\n', "prompt", 1, "id: must be a string or an integer"),
        ("idfloat.jsonl", '{"id": 1.5, "text": "a"}\n', "pretrain", 1, "id: must be a string or an integer"),
        ("idempty.jsonl", '{"id": "", "prompt": "a"}\n', "prompt", 1, "id: empty"),
        ("idempty.csv", 'id,inputs\n"  ","{""q"": 1}"\n', "eval", 2, "id: empty"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.endswith(("csv", "jsonl", "json")) else None,
)
def test_bad_data_files_name_file_line_field(tmp_path, capsys, name, content, kind, line, expected):
    code, text, path = _validate(tmp_path, capsys, name, content, kind)
    assert code in (1, 2) and "Traceback" not in text
    assert f"{path}:{line}:" in text and expected in text, text


def test_large_csv_cells_are_data_not_errors(tmp_path, capsys):
    big = "x" * (300 * 1024)  # over the csv module's 128 KiB default cap
    code, text, _ = _validate(tmp_path, capsys, "big.csv", f"prompt,id\n{big},p1\nsmall,p2\n")
    assert code == 0, text


def test_valid_ids_still_read(tmp_path):
    from alignbench.data.sources import read_records

    path = tmp_path / "ok.jsonl"
    path.write_text('{"id": 7, "prompt": "a", "meta": {"k": 1}}\n{"id": "x", "prompt": "b"}\n{"prompt": "c"}\n')
    assert [r.id for r in read_records(path, "prompt")] == ["7", "x", None]


def test_meta_that_is_not_an_object_fails_validation_and_eval_alike(tmp_path, capsys):
    data = tmp_path / "meta.jsonl"
    data.write_text('{"id": "p1", "prompt": "a", "meta": 5}\n')
    assert main(["data", "validate", "--kind", "prompt", str(data)]) == 1
    suite = _suite(tmp_path, WINRATE.replace("{P}", str(data)), "s.yaml")
    code = main(
        [
            "eval",
            "-m",
            "tiny-random",
            "-b",
            "tiny-random:1",
            "-s",
            str(suite),
            "-o",
            str(tmp_path / "run"),
            "--cache",
            "none",
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and f"{data}:1: meta: must be an object" in err


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_limit_streams_a_bad_line_after_the_limit_is_never_read(tmp_path, capsys, suffix):
    good = [{"id": f"p{i}", "prompt": f"Say {i}"} for i in range(3)]
    data = tmp_path / f"data.{suffix}"
    if suffix == "jsonl":
        data.write_text("".join(json.dumps(r) + "\n" for r in good) + '{"id": "bad", "prompt": \n')
    else:
        data.write_text("id,prompt\n" + "".join(f"{r['id']},{r['prompt']}\n" for r in good) + '"bad,never closed\n')
    suite = _suite(tmp_path, WINRATE.replace("{P}", str(data)) + "    decoding: {max_new_tokens: 2}\n", "s.yaml")
    args = ["eval", "-m", "tiny-random", "-b", "tiny-random:1", "-s", str(suite), "--cache", "none", "-q"]
    assert main(args + ["-o", str(tmp_path / "r2"), "--limit", "2"]) == 0
    capsys.readouterr()
    assert main(args + ["-o", str(tmp_path / "all")]) == 2  # reading everything reaches the bad line
    assert f"{data}:" in capsys.readouterr().err


def test_read_records_with_a_limit_stops_reading(tmp_path):
    from alignbench.data.sources import iter_records, read_records

    path = tmp_path / "p.csv"
    path.write_text('id,prompt\np1,a\np2,b\n"broken\n')
    assert [r.id for r in read_records(path, "prompt", limit=2)] == ["p1", "p2"]
    records = iter_records(path, "prompt")
    assert next(records).id == "p1"


# -- secrets, races, Markdown -----------------------------------------------------------------------------------
KEY = "AIzaPLANTEDsecretKEY0123456789"


def test_perspective_key_never_reaches_messages_stderr_or_the_store(tmp_path, capsys, monkeypatch):
    from alignbench.errors import AlignbenchError
    from alignbench.scorers.toxicity.perspective import PerspectiveScorer

    monkeypatch.setenv("PERSPECTIVE_API_KEY", KEY)
    monkeypatch.setenv("PERSPECTIVE_API_URL", "http://127.0.0.1:9/v1alpha1/comments:analyze")  # nothing listens
    scorer = PerspectiveScorer(max_retries=1, backoff_s=0.0, timeout_s=2.0, qps=1000)
    with pytest.raises(AlignbenchError) as info:
        scorer.score_one("hello")
    assert KEY not in str(info.value) and "127.0.0.1" in str(info.value)
    # The same through the CLI: stderr and everything written must be free of the key.
    texts = tmp_path / "t.jsonl"
    texts.write_text('{"text": "hello there"}\n')
    out = tmp_path / "scored.jsonl"
    monkeypatch.setenv("PERSPECTIVE_API_QPS", "1000")
    code = main(["toxicity", "score", "--scorer", "perspective", str(texts), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.err
    assert KEY not in captured.err + captured.out
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file


def test_redaction_removes_query_strings_and_the_key(monkeypatch):
    from alignbench.scorers.toxicity.perspective import PerspectiveScorer

    scorer = PerspectiveScorer(api_key=KEY, url="http://127.0.0.1:9/x")
    text = scorer._redact(f"HTTPSConnectionPool(url='/x?key={KEY}&a=1') and {KEY} again")
    assert KEY not in text and "?<redacted>" in text


def test_concurrent_fingerprints_on_a_fresh_cache_do_not_collide(tmp_path, monkeypatch):
    from alignbench.models.fingerprint import fingerprint_path

    monkeypatch.setenv("ALIGNBENCH_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    for i in range(6):
        (model / f"w{i}.safetensors").write_bytes(bytes([i]) * 1000)
    barrier, errors, prints = threading.Barrier(8), [], []

    def work():
        barrier.wait()
        try:
            prints.append(fingerprint_path(model))
        except Exception as exc:  # noqa: BLE001 -- the race used to raise FileNotFoundError here
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(prints)) == 1
    memo = json.loads((tmp_path / "cache" / "file_hashes.json").read_text())
    assert len(memo) >= 1 and not list((tmp_path / "cache").glob("*.tmp"))


HTML = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def test_markdown_outputs_escape_raw_html(tmp_path, capsys):
    from helpers_synthetic_runs import make_run

    from alignbench.reports import write_report

    make_run(tmp_path / "base", seed=0, candidate=HTML)
    make_run(tmp_path / "cand", seed=1, candidate=HTML)
    summary = tmp_path / "summary.md"
    main(["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "--summary", str(summary)])
    written = write_report([str(tmp_path / "cand")], tmp_path / "report", formats=("md",), title=f"T {HTML}")
    for path in (summary, written["md"]):
        text = path.read_text()
        assert "<script>" not in text and "<img" not in text, path
        assert "&lt;script&gt;" in text or "`" in text
