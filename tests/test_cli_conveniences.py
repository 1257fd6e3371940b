"""What lm-eval users reach for: `alignbench list`, `eval --batch-size/--device/--log-samples`, a line per
eval saying how long it took and what came from the cache, `models show` without loading the weights."""

from __future__ import annotations

import json

import pytest

from alignbench.cli import main


def test_list_shows_every_packaged_suite_and_eval_type(capsys, tmp_path, monkeypatch):
    from alignbench.config import resources_dir
    from alignbench.evals import EVALS

    monkeypatch.chdir(tmp_path)  # no ./evals here: the packaged suites
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for path in (resources_dir() / "evals").glob("*.yaml"):
        line = next(x for x in out.splitlines() if x.strip().startswith(path.stem + " "))
        assert "packaged" in line and len(line.split()) > 3, line  # a description follows
    for name in EVALS:
        line = next(x for x in out.splitlines() if x.strip().startswith(name + " "))
        assert len(line.split()) > 2, line
    assert "instructgpt-quick" in out and "demo" in out


def test_models_show_reads_files_without_loading(monkeypatch, capsys):
    import alignbench.models as models
    from alignbench.models import load_model

    load_model("tiny-random")  # makes sure the builtin's folder exists on disk

    def no_load(*a, **k):
        raise AssertionError("models show loaded the model")

    monkeypatch.setattr(models, "load_model", no_load)
    monkeypatch.setattr(models, "describe", no_load)
    assert main(["models", "show", "tiny-random", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"] > 0 and info["vocab_size"] > 0 and info["architecture"].endswith("ForCausalLM")
    assert ".safetensors" in info["files"] and info["fingerprint"]


@pytest.fixture()
def suite(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
            for i, p in enumerate(["Say hello.", "Name a fruit.", "Spell cat."])
        )
    )
    path = tmp_path / "suite.yaml"
    path.write_text(f"""
name: conv
defaults:
  decoding: {{max_new_tokens: 3, temperature: 0.0}}
evals:
  - name: winrate
    dataset: {prompts}
    n_resamples: 50
    lc_resamples: 5
    judge: {{type: rubric, rules: {{max_words: 3}}}}
""")
    return path


def test_eval_batch_size_device_log_samples_and_cache_lines(suite, tmp_path, monkeypatch, capsys):
    from alignbench.engines.backends import hf

    sizes = []
    original = hf.HFBackend.generate

    def spy(self, requests, params):
        sizes.append(len(requests))
        return original(self, requests, params)

    monkeypatch.setattr(hf.HFBackend, "generate", spy)
    monkeypatch.delenv("ALIGNBENCH_DEVICE", raising=False)
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
        "--cache",
        str(tmp_path / "shared.sqlite"),
        "--batch-size",
        "1",
        "--device",
        "cpu",
        "--log-samples",
    ]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert sizes and max(sizes) == 1  # --batch-size 1: one sequence per model call
    import os

    assert os.environ.get("ALIGNBENCH_DEVICE") == "cpu"
    done = next(line for line in captured.err.splitlines() if line.startswith("[winrate] done in"))
    assert "6 looked up, 0 from this run's store, 0 from the shared cache" in done and "6 generated" in done
    lines = [json.loads(x) for x in (out / "samples" / "winrate.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and {x["model"] for x in lines} == {"cand", "base"}  # 3 items x 2 models
    cand = [x for x in lines if x["model"] == "cand"]
    assert all("output" in x and "prompt" in x and "win_rate" in x["metrics"] for x in cand)
    assert f"samples: {out / 'samples' / 'winrate.jsonl'}" in captured.out

    # Another folder, same shared cache: everything is served from it, and the line says so.
    args[args.index(str(out))] = str(tmp_path / "run2")
    assert main(args) == 0
    done = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("[winrate] done in"))
    assert "6 from the shared cache" in done and "0 generated" in done


@pytest.mark.parametrize("flag", [["--device", "gpu0"], ["--batch-size", "0"]])
def test_bad_flags_are_exit_2(flag, suite, capsys):
    assert main(["eval", "-m", "tiny-random", "-s", str(suite), *flag]) == 2
    assert "alignbench: error: --" in capsys.readouterr().err


def test_demo_stop_after_tasks_names_no_report(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path / "d"), "--stop-after", "tasks"]) == 0
    out = capsys.readouterr().out
    assert not (tmp_path / "d" / "report.html").exists()
    assert "report.html" not in out and "stopped after tasks" in out
