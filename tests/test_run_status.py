"""A run that fails or is interrupted is marked so in its store, and `report` / `compare` say what state
it is in instead of crashing (pandas KeyError) or advising --base-model."""

from __future__ import annotations

import json
import signal

import pytest
from helpers_synthetic_runs import make_run

from alignbench.cli import main
from alignbench.store import Store


@pytest.fixture()
def suite(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p}) + "\n" for i, p in enumerate(["Hi.", "Yo."])))
    path = tmp_path / "suite.yaml"
    path.write_text(f"""
name: status-test
defaults:
  decoding: {{max_new_tokens: 2, temperature: 0.0}}
evals:
  - name: winrate
    dataset: {prompts}
    n_resamples: 50
    lc_resamples: 5
    judge: {{type: rubric, rules: {{max_words: 3}}}}
""")
    return path


def _status(run_dir):
    store = Store(run_dir)
    try:
        return [(r["status"], r["error"]) for r in store.runs()]
    finally:
        store.close()


@pytest.mark.parametrize(
    "exc, status", [(RuntimeError("judge exploded"), "failed"), (KeyboardInterrupt(), "interrupted")]
)
def test_a_run_that_dies_is_marked_and_report_and_compare_say_so(exc, status, suite, tmp_path, monkeypatch, capsys):
    def boom(name):
        def run(ctx, spec):
            raise exc

        return run

    monkeypatch.setattr("alignbench.evals.runner.get_eval", boom)  # where the runner looks it up
    out = tmp_path / "run"
    args = [
        "eval",
        "-m",
        "cand=tiny-random:1",
        "-b",
        "tiny-random",
        "-s",
        str(suite),
        "-o",
        str(out),
        "--cache",
        "none",
        "-q",
    ]
    if status == "failed":
        with pytest.raises(RuntimeError):  # a bug is a traceback (cli.main turns only user errors into exit 2)
            main(args)
    else:
        assert main(args) == 130
    ((stored, error),) = _status(out)
    assert stored == status
    assert (error == "RuntimeError: judge exploded") if status == "failed" else error is None

    capsys.readouterr()
    assert main(["report", str(out)]) == 0  # renders, no KeyError
    err = capsys.readouterr().err
    word = "FAILED" if status == "failed" else "INTERRUPTED"
    assert word in err and "holds no metrics" in err
    html = (out / "report" / "report.html").read_text()
    assert 'class="warning"' in html and word in html and "No metrics in these runs" in html
    assert word in (out / "report" / "results.md").read_text()

    make_run(tmp_path / "good", seed=0)
    assert main(["compare", str(tmp_path / "good"), str(out)]) == 2
    err = capsys.readouterr().err
    assert "candidate run run" in err and word in err and "Nothing to compare" in err and "--base-model" not in err


def test_rerun_after_failure_resumes_and_ends_done(suite, tmp_path, monkeypatch):
    import alignbench.evals.runner as runner

    real = runner.get_eval
    monkeypatch.setattr(runner, "get_eval", lambda name: lambda ctx, spec: (_ for _ in ()).throw(ValueError("x")))
    out = tmp_path / "run"
    args = [
        "eval",
        "-m",
        "cand=tiny-random:1",
        "-b",
        "tiny-random",
        "-s",
        str(suite),
        "-o",
        str(out),
        "--cache",
        "none",
        "-q",
    ]
    with pytest.raises(ValueError):
        main(args)
    monkeypatch.setattr(runner, "get_eval", real)
    assert main(args) == 0
    assert _status(out) == [("done", None)]  # same run id, resumed, error cleared


def test_unfinished_run_with_metrics_reports_with_a_banner(tmp_path, capsys):
    make_run(tmp_path / "a", seed=0)
    store = Store(tmp_path / "a")
    store.conn.execute("UPDATE runs SET status='running', finished_at=NULL")  # the process was SIGKILLed
    store.close()
    assert main(["report", str(tmp_path / "a")]) == 0
    assert "UNFINISHED" in capsys.readouterr().err
    assert "UNFINISHED" in (tmp_path / "a" / "report" / "report.html").read_text()
    make_run(tmp_path / "b", seed=1)
    main(["compare", str(tmp_path / "b"), str(tmp_path / "a")])
    captured = capsys.readouterr()
    assert "UNFINISHED" in captured.err and "UNFINISHED" in captured.out


def test_compare_warns_at_small_n(tmp_path, capsys):
    make_run(tmp_path / "a", seed=0, n_items=8)
    make_run(tmp_path / "b", seed=1, n_items=8)
    main(["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    captured = capsys.readouterr()
    assert "small sample" in captured.out and "fewer than 30 items (n = 8)" in captured.out
    make_run(tmp_path / "c", seed=0, n_items=40)
    make_run(tmp_path / "d", seed=1, n_items=40)
    main(["compare", str(tmp_path / "c"), str(tmp_path / "d")])
    assert "small sample" not in capsys.readouterr().out


def test_sigterm_is_an_interrupt(monkeypatch, capsys):
    import argparse

    import alignbench.cli as cli

    def parser():
        p = argparse.ArgumentParser()
        p.set_defaults(handler=lambda args: signal.raise_signal(signal.SIGTERM))
        return p

    monkeypatch.setattr(cli, "build_parser", parser)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main([]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before  # restored
