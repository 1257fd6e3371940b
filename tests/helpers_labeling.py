"""Small builders for the labeling tests: item files, a win-rate run folder written through the real
Store API, logged-in API clients, and a label that ranks a displayed item the way a test wants."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from alignbench.store import Store

ROOT = Path(__file__).resolve().parents[1]
HTML = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def write_rank_items(path: Path, n: int, k: int = 4, models: bool = True) -> Path:
    rows = []
    for i in range(n):
        row = {
            "id": f"q{i:04d}",
            "prompt": f"Question {i}: say something {HTML}",
            "responses": [f"answer {j} to {i} {HTML}" for j in range(k)],
        }
        if models:
            row["models"] = [f"model-{j}" for j in range(k)]
        rows.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make_winrate_run(run_dir: Path, n: int, candidate: str = "ppo", baseline: str = "sft") -> Path:
    """A run folder whose `winrate` eval holds n candidate-vs-baseline samples (what `alignbench eval` writes)."""
    store = Store(run_dir)
    run = store.start_run("eval", suite="winrate", seed=0)
    store.add_model(run, candidate, f"runs/{candidate}", f"fp-{candidate}", "candidate", {})
    store.add_model(run, baseline, f"runs/{baseline}", f"fp-{baseline}", "baseline", {})
    store.put_samples(
        run,
        "winrate",
        [
            {
                "item_id": f"p{i:03d}",
                "model": candidate,
                "prompt": f"Prompt {i}",
                "output": f"CAND {i} {HTML}",
                "baseline": f"BASE {i}",
                "verdict": "A",
            }
            for i in range(n)
        ],
    )
    store.finish_run(run)
    store.close()
    return run_dir


def client_for(app, token: str | None):
    from fastapi.testclient import TestClient

    client = TestClient(app)
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def label_for(view: dict, source_ranks: list[int], display: list[int], likert: int = 4, flags=None) -> dict:
    """A submission body ranking the SOURCE responses as source_ranks, translated to the page's display order."""
    k = view["k"]
    return {
        "item_id": view["item_id"],
        "ranks": [source_ranks[src] for src in display],
        "likert": [likert] * k,
        "flags": flags or [[] for _ in range(k)],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(project_dir: Path, port: int, log: Path, token: str) -> subprocess.Popen:
    """`alignbench label serve` in a subprocess (stdout+stderr appended to log); returns once it answers."""
    import httpx

    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with open(log, "ab") as out:  # the child keeps its own copy of the file descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "alignbench.cli", "label", "serve", str(project_dir), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(
                    f"http://127.0.0.1:{port}/api/progress", headers={"Authorization": f"Bearer {token}"}, timeout=2
                ).status_code
                == 200
            ):
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, log.read_text()
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")
