"""`alignbench eval` and `alignbench judges` from the command line: plans, runs, reruns, and clear errors."""

from __future__ import annotations

import json

import pytest

from alignbench.cli import main


def _write_suite(path, body: str):
    path.write_text(body)
    return path


@pytest.fixture()
def prompts(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
            for i, p in enumerate(["Say hello.", "Count to three.", "Name a fruit.", "Spell cat."])
        )
    )
    return path


@pytest.fixture()
def suite(tmp_path, prompts):
    return _write_suite(
        tmp_path / "suite.yaml",
        f"""
name: cli-test
seed: 3
defaults:
  decoding: {{max_new_tokens: 4, temperature: 1.0}}
evals:
  - name: winrate
    dataset: {prompts}
    n_resamples: 200
    lc_resamples: 10
    judge: {{type: rubric, rules: {{must_include: [e], max_words: 3}}}}
""",
    )


def test_dry_run_prints_the_plan(suite, capsys):
    assert (
        main(
            [
                "eval",
                "--model",
                "a=tiny-random:1",
                "--model",
                "tiny-random:2",
                "--baseline",
                "tiny-random",
                "--suite",
                str(suite),
                "--limit",
                "2",
                "--dry-run",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "suite cli-test" in out and "candidates: a=tiny-random:1, tiny-random:2" in out
    assert "baseline: tiny-random" in out and "winrate [winrate] limit=2" in out and '"max_new_tokens": 4' in out


def test_packaged_suites_parse(monkeypatch):
    from alignbench.evals.suite import load_suite

    monkeypatch.setenv("ALIGNBENCH_JUDGE", "openai:judge@http://localhost:1/v1")
    assert load_suite("winrate").evals[0].judge_specs()[0]["model"] == "checkpoints/rm"
    assert load_suite("winrate-llm").evals[0].judge_specs()[0]["model"] == "openai:judge@http://localhost:1/v1"


def test_eval_run_writes_the_run_folder_and_a_rerun_reuses_it(suite, tmp_path, capsys, monkeypatch):
    from alignbench.engines.backends import hf

    calls = {"n": 0}
    original = hf.HFBackend.generate

    def counting(self, requests, params):
        calls["n"] += len(requests)
        return original(self, requests, params)

    monkeypatch.setattr(hf.HFBackend, "generate", counting)
    out = tmp_path / "run"
    args = [
        "eval",
        "-m",
        "cand=tiny-random:1",
        "-b",
        "base=tiny-random",
        "-s",
        str(suite),
        "-o",
        str(out),
        "--limit",
        "3",
        "--cache",
        "none",
        "-q",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert calls["n"] == 6  # 3 prompts x (candidate + baseline)
    metrics = json.loads((out / "metrics.json").read_text())
    win = metrics["winrate"]["win_rate"]["cand"]
    assert win["n"] == 3 and win["baseline"] == "base" and win["judge"] == "rubric:rules"
    assert "win_rate" in printed and "cand" in printed and f"run folder: {out}" in printed
    assert (out / "run.sqlite").exists()

    assert main(args) == 0  # rerun: everything cached
    assert calls["n"] == 6
    assert json.loads((out / "metrics.json").read_text()) == metrics


@pytest.mark.parametrize(
    "body, expected",
    [
        ("evals: []", "evals: missing or empty"),
        ("evals:\n  - name: winrat\n", "evals[0].type: unknown eval 'winrat'"),
        ("evals:\n  - name: winrate\n    datasett: x\n", "evals[0].datasett: unknown key for eval type 'winrate'"),
        ("evals:\n  - name: winrate\n    dataset: x.jsonl\n", "evals[0].judge: missing"),
        ("evals:\n  - name: winrate\n    dataset: x\n    limit: -1\n    judge: {type: rubric}\n", "evals[0].limit"),
        ("seeds: 1\nevals: []\n", "seeds: unknown key"),
        ("evals:\n  - name: winrate\n   dataset: x\n", ":3: not valid YAML"),
        (
            "evals:\n  - name: winrate\n    dataset: x\n    judge: {type: llm, model: '${NO_SUCH_VAR_XYZ}'}\n",
            "environment variable NO_SUCH_VAR_XYZ is not set",
        ),
    ],
)
def test_bad_suites_are_one_line_errors_naming_file_and_key(tmp_path, capsys, body, expected):
    path = _write_suite(tmp_path / "bad.yaml", body)
    assert main(["eval", "-m", "tiny-random", "-b", "tiny-random:1", "-s", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alignbench: error: ") and str(path) in err and expected in err


def test_run_time_errors_are_clear(suite, tmp_path, capsys, prompts):
    assert (
        main(["eval", "-m", "tiny-random", "-s", str(suite), "-o", str(tmp_path / "r"), "--cache", "none", "-q"]) == 2
    )
    assert "pass --baseline" in capsys.readouterr().err
    bad_decoding = _write_suite(
        tmp_path / "dec.yaml",
        f"evals:\n  - name: winrate\n    dataset: {prompts}\n"
        "    decoding: {max_tokens: 4}\n    judge: {type: rubric, rules: {max_words: 3}}\n",
    )
    assert (
        main(
            [
                "eval",
                "-m",
                "tiny-random",
                "-b",
                "tiny-random:1",
                "-s",
                str(bad_decoding),
                "-o",
                str(tmp_path / "r2"),
                "--cache",
                "none",
                "-q",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "evals[0].decoding" in err and "max_tokens" in err
    assert main(["eval", "-m", "tiny-random", "-s", "no-such-suite"]) == 2
    assert "no such file, and not a packaged suite" in capsys.readouterr().err
    assert (
        main(
            [
                "eval",
                "-m",
                "x=tiny-random",
                "-m",
                "x=tiny-random:1",
                "-b",
                "tiny-random",
                "-s",
                str(suite),
                "-o",
                str(tmp_path / "r3"),
                "--cache",
                "none",
            ]
        )
        == 2
    )
    assert "labels must be distinct" in capsys.readouterr().err


def test_judges_list_and_compare(tmp_path, capsys):
    assert main(["judges", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(kind in listed for kind in ("reward_model", "rubric", "llm", "human"))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        '{"item_id": "x", "prompt": "p", "a": "short", "b": "a much longer answer"}\n'
        '{"item_id": "y", "prompt": "p", "a": "one two three four", "b": "two"}\n'
    )
    assert main(["judges", "compare", str(pairs), "--judge", "{type: rubric, rules: {max_words: 2}}"]) == 0
    out = capsys.readouterr().out
    assert "x\tA  (1 vs 0)" in out and "y\tB  (0 vs 1)" in out and "A's win rate 0.500" in out
    assert main(["judges", "compare", str(pairs), "--judge", "{type: rubric, rules: {max_words: 2}}", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["verdict"] for r in rows] == ["A", "B"]
    pairs.write_text('{"prompt": "p", "a": "x"}\n')
    assert main(["judges", "compare", str(pairs), "--judge", "{type: rubric, rules: {max_words: 2}}"]) == 2
    assert f"{pairs}:1: b: missing" in capsys.readouterr().err
