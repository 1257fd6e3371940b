"""The labeling server as a real process: uvicorn on 127.0.0.1, killed with SIGKILL in the middle of traffic,
restarted: every label the server acknowledged is there, complete, and labelers carry on.  The server's log
never holds a token."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx
from helpers_labeling import free_port, start_server, write_rank_items

from alignbench.labeling import create_project


def _labeler(port: int, token: str, acked: list, stop: threading.Event) -> None:
    """Label until the server goes away: next item, submit, remember what was acknowledged."""
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as c:
        while not stop.is_set():
            try:
                item = c.get("/api/next").json()["item"]
                if item is None:
                    return
                body = {
                    "item_id": item["item_id"],
                    "ranks": [1, 2, 2, 4],
                    "likert": [7, 5, 5, 1],
                    "flags": [[], ["hallucination"], [], []],
                }
                r = c.post("/api/submit", json=body)
            except (httpx.TransportError, ValueError):
                return  # the server was killed
            if r.status_code == 200:
                acked.append(body)


def test_kill_9_mid_traffic_loses_no_acknowledged_label(tmp_path):
    project = create_project(tmp_path / "proj", "rank", write_rank_items(tmp_path / "items.jsonl", 600))
    tokens = [project.add_labeler(f"lab{i}") for i in range(4)]
    project.close()
    port, log = free_port(), tmp_path / "server.log"
    server = start_server(project.folder, port, log, tokens[0])
    acked: dict[str, list] = {t: [] for t in tokens}
    stop = threading.Event()
    threads = [threading.Thread(target=_labeler, args=(port, t, acked[t], stop)) for t in tokens]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while sum(map(len, acked.values())) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.pid, signal.SIGKILL)  # mid-traffic: the labelers are still submitting
    server.wait()
    stop.set()
    for t in threads:
        t.join(30)
    n_acked = sum(map(len, acked.values()))
    assert n_acked >= 60

    server = start_server(project.folder, port, log, tokens[0])
    try:
        for token, bodies in acked.items():
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as c:
                for body in bodies:
                    got = c.get(f"/api/items/{body['item_id']}").json()["label"]
                    assert got == {k: body[k] for k in ("ranks", "likert", "flags")}, body["item_id"]
                # carry on: the next item is new or the one left open, and submitting it works
                item = c.get("/api/next").json()["item"]
                assert item["item_id"] not in {b["item_id"] for b in bodies}
                r = c.post(
                    "/api/submit",
                    json={
                        "item_id": item["item_id"],
                        "ranks": [1, 2, 3, 4],
                        "likert": [1, 1, 1, 1],
                        "flags": [[], [], [], []],
                    },
                )
                assert r.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    rows = project.all_labels()
    assert len(rows) >= n_acked + len(tokens)
    assert all(len(r["ranks"]) == len(r["likert"]) == len(r["flags"]) == 4 for r in rows)  # none half-written
    text = log.read_text()
    assert "POST /api/submit 200" in text
    assert not any(t in text for t in tokens), "a token reached the server log"


def test_serve_binds_localhost_by_default():
    from alignbench.cli import build_parser

    args = build_parser().parse_args(["label", "serve", "proj"])
    assert args.host == "127.0.0.1"
    assert json.dumps(args.port) == "8000"
