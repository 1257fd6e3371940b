"""The built wheel works as a pip user gets it: not the editable checkout CI otherwise tests.

Build the wheel from a copy of the source, install it (--no-deps) into a fresh venv whose other
dependencies come from the test venv's site-packages (a .pth line: no network, no second torch), then
from a folder OUTSIDE the checkout run the main commands through the installed `alignbench` script:
`eval --dry-run` on a packaged suite, a tiny `eval`, `report`, `compare`.  Before store/schema.sql was
declared package data every one of these died with FileNotFoundError: .../site-packages/alignbench/store/
schema.sql; a file the package reads at run time and the wheel leaves out fails here, not at a user's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, env, timeout=300):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} -> exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(bin folder of the fresh venv, clean env) with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "alignbench", src / "alignbench", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist", src],
        cwd=tmp,
        env=env,
    )
    wheels = list((tmp / "dist").glob("alignbench-*.whl"))
    assert len(wheels) == 1, wheels

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp, env=env)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", wheels[0]], cwd=tmp, env=env)
    # The other dependencies: the test venv's site-packages as a plain path line.  A plain line does NOT
    # run that folder's own .pth files, so the editable install's finder (which maps `alignbench` to the
    # checkout) never loads; the fresh venv's site-packages comes first on sys.path anyway.
    site = Path(
        _run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp, env=env).stdout.strip()
    )
    (site / "zz_test_venv_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    env["ALIGNBENCH_CACHE"] = str(tmp / "cache")
    env["HF_HUB_OFFLINE"] = "1"
    where = _run([py, "-c", "import alignbench, sys; print(alignbench.__file__)"], cwd=tmp, env=env).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), f"alignbench imported from {where}, not the wheel"
    return venv / "bin", env


def test_wheel_runs_the_main_commands_outside_the_checkout(installed, tmp_path):
    bin_dir, env = installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    cli = bin_dir / "alignbench"

    # A packaged suite, found inside the installed package.
    plan = _run(
        [cli, "eval", "-m", "tiny-random", "-b", "tiny-random:1", "-s", "instructgpt-quick", "--dry-run"],
        cwd=work,
        env=env,
    ).stdout
    assert "suite instructgpt-quick" in plan

    (work / "prompts.jsonl").write_text(
        "".join(
            json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
            for i, p in enumerate(["Say hello.", "Name a fruit.", "Spell cat."])
        )
    )
    (work / "suite.yaml").write_text("""
name: wheel-check
defaults:
  decoding: {max_new_tokens: 4, temperature: 0.0}
evals:
  - name: winrate
    dataset: prompts.jsonl
    n_resamples: 100
    lc_resamples: 10
    judge: {type: rubric, rules: {must_include: [e], max_words: 3}}
""")
    for name, seed in (("a", "1"), ("b", "2")):
        _run(
            [
                cli,
                "eval",
                "-m",
                f"cand=tiny-random:{seed}",
                "-b",
                "base=tiny-random",
                "-s",
                "suite.yaml",
                "-o",
                name,
                "--limit",
                "2",
                "--cache",
                "none",
                "-q",
            ],
            cwd=work,
            env=env,
        )
        assert json.loads((work / name / "metrics.json").read_text())["winrate"]["win_rate"]["cand"]["n"] == 2

    report = _run([cli, "report", "a", "b", "--out", "rep"], cwd=work, env=env).stdout
    assert (work / "rep" / "report.html").is_file() and "html" in report

    compare = _run([cli, "compare", "a", "b"], cwd=work, env=env).stdout
    assert "winrate.win_rate" in compare
