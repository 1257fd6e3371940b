"""Load test of the labeling server on 127.0.0.1: N concurrent labelers x M submissions each.

Starts `alignbench label serve` (uvicorn, one process) on a fresh project of N*M rank items (K=4), then runs N
client threads; each asks for its next item and submits a label, M times (a share of submissions is sent twice,
as a browser retry would), and stops by itself after M submissions or --max-seconds.  Afterwards it reads the
project's SQLite file and checks that every acknowledged label is stored exactly as sent (0 lost) and that no
item holds more labels than it wants and no labeler has a label twice (0 duplicated).  Latencies are measured
by the clients (request sent -> response read), so they include the client's own Python time.
Last line: one JSON object.

    python benchmarks/labeling_load.py [--labelers 20] [--submissions 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alignbench.labeling import Project, create_project  # noqa: E402 - needs ROOT on sys.path first


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(project_dir: Path, port: int, token: str, log) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "alignbench.cli", "label", "serve", str(project_dir), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    for _ in range(600):
        try:
            if (
                httpx.get(
                    f"http://127.0.0.1:{port}/api/progress", headers={"Authorization": f"Bearer {token}"}, timeout=2
                ).status_code
                == 200
            ):
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit("server exited at start")
    raise SystemExit("server did not start")


def _labeler(port: int, token: str, m: int, retry_share: float, deadline: float, seed: int, out: dict) -> None:
    rng = random.Random(seed)
    acked, submit_ms, next_ms, errors, retries = [], [], [], 0, 0
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as c:
        while len(acked) < m and time.monotonic() < deadline:
            t0 = time.perf_counter()
            item = c.get("/api/next").json()["item"]  # the next item (assigned in one transaction)
            next_ms.append(1000 * (time.perf_counter() - t0))
            if item is None:
                break
            ranks = rng.choice([[1, 2, 3, 4], [1, 1, 3, 4], [2, 1, 4, 3], [1, 2, 2, 4]])
            body = {
                "item_id": item["item_id"],
                "ranks": ranks,
                "likert": [rng.randint(1, 7) for _ in range(4)],
                "flags": [[] if rng.random() > 0.1 else ["hallucination"] for _ in range(4)],
            }
            t0 = time.perf_counter()
            r = c.post("/api/submit", json=body)  # the timed step: one label, one transaction
            submit_ms.append(1000 * (time.perf_counter() - t0))
            if r.status_code != 200:
                errors += 1
                continue
            acked.append(body)
            if rng.random() < retry_share:  # a browser retry: must be idempotent
                retries += 1
                again = c.post("/api/submit", json=body)
                if again.status_code != 200 or again.json()["status"] != "duplicate":
                    errors += 1
    out.update(acked=acked, submit_ms=submit_ms, next_ms=next_ms, errors=errors, retries=retries)


def _check(project: Project, acked: dict[str, list], names: dict[str, str]) -> tuple[int, int]:
    """(lost, duplicated): acknowledged labels missing or changed; labels beyond what items / labelers allow."""
    stored = {(lab["labeler"], lab["item_id"]): lab for lab in project.all_labels()}
    items = {it["item_id"]: it for it in project.items()}
    lost = 0
    for token, bodies in acked.items():
        for body in bodies:
            lab = stored.get((names[token], body["item_id"]))
            display = items[body["item_id"]]["display"]
            if lab is None or [lab["ranks"][s] for s in display] != [
                1 + sum(o < r for o in body["ranks"]) for r in body["ranks"]
            ]:
                lost += 1
    conn = project.conn
    dup_pairs = conn.execute("SELECT COUNT(*) - COUNT(DISTINCT labeler_id || '/' || item_id) FROM labels").fetchone()[
        0
    ]
    over = conn.execute(
        "SELECT COALESCE(SUM(n - copies), 0) FROM (SELECT i.copies, COUNT(*) AS n FROM labels l"
        " JOIN items i ON i.item_id = l.item_id GROUP BY l.item_id) WHERE n > copies"
    ).fetchone()[0]
    extra = len(stored) - sum(map(len, acked.values()))  # labels nobody was told about (committed, answer lost)
    return lost, int(dup_pairs + over + max(extra, 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--submissions", type=int, default=500, help="per labeler")
    parser.add_argument("--retry-share", type=float, default=0.05, help="share of submissions sent twice")
    parser.add_argument("--max-seconds", type=float, default=900, help="stop by itself after this long")
    args = parser.parse_args()
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_items = args.labelers * args.submissions
        with open(tmp / "items.jsonl", "w") as fh:
            fh.writelines(
                json.dumps(
                    {
                        "id": f"i{i:06d}",
                        "prompt": f"Prompt {i} <b>x</b>",
                        "responses": [f"response {j} of {i}" for j in range(4)],
                    }
                )
                + "\n"
                for i in range(n_items)
            )
        project = create_project(tmp / "proj", "rank", tmp / "items.jsonl", overlap=0.0)
        tokens = {project.add_labeler(f"lab{i:02d}"): f"lab{i:02d}" for i in range(args.labelers)}
        project.close()
        port = _port()
        with open(tmp / "server.log", "wb") as log:
            server = _start(tmp / "proj", port, next(iter(tokens)), log)
            results: dict[str, dict] = {t: {} for t in tokens}
            deadline = time.monotonic() + args.max_seconds
            threads = [
                threading.Thread(
                    target=_labeler, args=(port, t, args.submissions, args.retry_share, deadline, k, results[t])
                )
                for k, t in enumerate(tokens)
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            server.send_signal(signal.SIGTERM)
            server.wait(60)
        lost, duplicated = _check(Project(tmp / "proj"), {t: r["acked"] for t, r in results.items()}, tokens)
    submit = np.array([x for r in results.values() for x in r["submit_ms"]])
    nxt = np.array([x for r in results.values() for x in r["next_ms"]])
    n_acked = sum(len(r["acked"]) for r in results.values())
    headline = {
        "labelers": args.labelers,
        "submissions_per_labeler": args.submissions,
        "acknowledged": n_acked,
        "expected": n_items,
        "lost": lost,
        "duplicated": duplicated,
        "errors": sum(r["errors"] for r in results.values()),
        "retries": sum(r["retries"] for r in results.values()),
        "submit_p50_ms": round(float(np.percentile(submit, 50)), 2),
        "submit_p99_ms": round(float(np.percentile(submit, 99)), 2),
        "next_p50_ms": round(float(np.percentile(nxt, 50)), 2),
        "next_p99_ms": round(float(np.percentile(nxt, 99)), 2),
        "submissions_per_s": round(n_acked / wall, 1),
        "wall_s": round(wall, 1),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "seconds": round(time.time() - start, 1),
    }
    print(
        f"{n_acked}/{n_items} labels acknowledged by {args.labelers} labelers in {wall:.1f} s "
        f"({headline['submissions_per_s']}/s); lost {lost}, duplicated {duplicated}, errors {headline['errors']}, "
        f"retries {headline['retries']} (all idempotent)"
    )
    print(
        f"submit latency p50 {headline['submit_p50_ms']} ms, p99 {headline['submit_p99_ms']} ms; "
        f"next-item p50 {headline['next_p50_ms']} ms, p99 {headline['next_p99_ms']} ms"
    )
    print(json.dumps(headline))
    if lost or duplicated or n_acked != n_items:
        sys.exit(1)


if __name__ == "__main__":
    main()
