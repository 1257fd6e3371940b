"""The results store: SQLite in WAL mode, one file per run folder.

sqlite3 from the standard library is enough (no ORM): the schema is small and fixed
(schema.sql), every write is one transaction, and `frame()` reads any table into pandas.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

STORE_FILE = "run.sqlite"
# A run's `status`: running (in progress, or the process died without a word: SIGKILL, power loss),
# done, failed (an exception; `error` holds it), interrupted (Ctrl-C / SIGTERM).
RUN_STATUSES = ("running", "done", "failed", "interrupted")
_SCHEMA = (Path(__file__).with_name("schema.sql")).read_text()
SCHEMA_VERSION = 1


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def canonical_json(obj: Any) -> str:
    """Key-sorted, compact JSON: equal dicts give equal strings (and equal cache keys)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def generation_key(model_fingerprint: str, prompt: str, decoding: dict, sample_index: int) -> str:
    payload = canonical_json([model_fingerprint, prompt, decoding, sample_index])
    return hashlib.sha256(payload.encode()).hexdigest()


def content_key(*parts: Any) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()


def connect(path: Path, synchronous: str = "NORMAL", check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection as every alignbench SQLite file uses it: autocommit (transactions are explicit, see
    immediate_transaction), rows by name, WAL, foreign keys; `synchronous="FULL"` where an acknowledged write
    must survive power loss too (the labeling server)."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=check_same_thread)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE takes the write lock up front, so read-then-write steps of two
    processes cannot interleave; COMMIT on success, ROLLBACK on any exception; a nested use joins the outer one."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


class Store:
    """A handle on one run.sqlite.  `Store(run_dir)` or `Store(path/to/file.sqlite)`."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if path.suffix not in (".sqlite", ".db"):
            path.mkdir(parents=True, exist_ok=True)
            path = path / STORE_FILE
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        # executescript commits on its own, so the schema is applied outside transaction().
        self.conn.executescript(_SCHEMA)
        # Stores written before runs.error existed: add the column (CREATE TABLE IF NOT EXISTS keeps old tables).
        if "error" not in {row[1] for row in self.conn.execute("PRAGMA table_info(runs)")}:
            self.conn.execute("ALTER TABLE runs ADD COLUMN error TEXT")
        self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- connections -------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with immediate_transaction(self.conn) as conn:
            yield conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- runs and models -----------------------------------------------------------------------
    def start_run(
        self,
        command: str,
        config: dict | None = None,
        suite: str | None = None,
        seed: int | None = None,
        run_id: str | None = None,
    ) -> str:
        from alignbench.provenance import git_revision, package_versions

        run_id = run_id or uuid.uuid4().hex[:12]
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO runs(run_id, created_at, command, suite, config_json, seed, package_versions,"
                " git_revision) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT(run_id) DO UPDATE SET status='running', finished_at=NULL, error=NULL",
                (
                    run_id,
                    now(),
                    command,
                    suite,
                    canonical_json(config or {}),
                    seed,
                    canonical_json(package_versions()),
                    git_revision(),
                ),
            )
        return run_id

    def finish_run(self, run_id: str, status: str = "done", error: str | None = None) -> None:
        if status not in RUN_STATUSES:
            raise ValueError(f"run status {status!r}: not one of {RUN_STATUSES}")
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status=?, finished_at=?, error=? WHERE run_id=?", (status, now(), error, run_id)
            )

    @contextmanager
    def tracking(self, run_id: str) -> Iterator[str]:
        """Mark the run done when the block ends, failed (with the error) when it raises, interrupted on
        KeyboardInterrupt (Ctrl-C; the CLI turns SIGTERM into one too).  The exception goes on up."""
        try:
            yield run_id
        except KeyboardInterrupt:
            self.finish_run(run_id, "interrupted")
            raise
        except BaseException as exc:
            message = " ".join(f"{type(exc).__name__}: {exc}".split())
            self.finish_run(run_id, "failed", error=message[:500])
            raise
        else:
            self.finish_run(run_id, "done")

    def add_model(
        self, run_id: str, name: str, spec: str, fingerprint: str, role: str, info: dict | None = None
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO models(run_id, name, spec, fingerprint, role, info_json) VALUES (?,?,?,?,?,?)",
                (run_id, name, spec, fingerprint, role, canonical_json(info or {})),
            )

    def runs(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM runs ORDER BY created_at")]

    def latest_run_id(self, with_metrics: bool = False) -> str | None:
        """The newest run's id (with_metrics: the newest run that stored any metric), or None."""
        where = " WHERE EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = runs.run_id)" if with_metrics else ""
        query = f"SELECT run_id FROM runs{where} ORDER BY created_at DESC, rowid DESC LIMIT 1"
        row = self.conn.execute(query).fetchone()
        return row[0] if row else None

    # -- items ------------------------------------------------------------------------------
    def add_items(
        self,
        run_id: str,
        eval_name: str,
        items: Iterable[tuple[str, dict]],
        dataset: str | None = None,
        dataset_fingerprint: str | None = None,
    ) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO items(run_id, eval, item_id, dataset, dataset_fingerprint, payload_json)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (run_id, eval_name, item_id, dataset, dataset_fingerprint, canonical_json(payload))
                    for item_id, payload in items
                ],
            )

    # -- generation cache -----------------------------------------------------------------------
    def get_generations(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT * FROM generations WHERE gen_key IN ({marks})", chunk):
                found[row["gen_key"]] = dict(row)
        return found

    def put_generations(self, rows: list[dict]) -> None:
        """rows: dicts with gen_key, model_fingerprint, prompt, decoding (dict), sample_index, text, ..."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO generations(gen_key, model_fingerprint, prompt, decoding_json, sample_index,"
                " seed, text, n_tokens, finish_reason, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r["gen_key"],
                        r["model_fingerprint"],
                        r["prompt"],
                        canonical_json(r["decoding"]),
                        r["sample_index"],
                        r.get("seed"),
                        r["text"],
                        r.get("n_tokens"),
                        r.get("finish_reason"),
                        now(),
                    )
                    for r in rows
                ],
            )

    # -- judgements ---------------------------------------------------------------------------
    def get_judgements(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT * FROM judgements WHERE judgement_key IN ({marks})", chunk):
                found[row["judgement_key"]] = dict(row)
        return found

    def put_judgements(self, rows: list[dict]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO judgements(judgement_key, run_id, eval, item_id, model, sample_index, judge,"
                " verdict, score, raw, meta_json, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r["judgement_key"],
                        r.get("run_id"),
                        r.get("eval"),
                        r.get("item_id"),
                        r.get("model", ""),
                        r.get("sample_index", 0),
                        r["judge"],
                        r.get("verdict"),
                        r.get("score"),
                        r.get("raw"),
                        canonical_json(r.get("meta", {})),
                        now(),
                    )
                    for r in rows
                ],
            )

    # -- metrics ------------------------------------------------------------------------------
    def put_item_metrics(self, run_id: str, eval_name: str, metric: str, model: str, values: dict[str, float]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO item_metrics(run_id, eval, metric, model, item_id, value)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (run_id, eval_name, metric, model, item_id, None if v is None else float(v))
                    for item_id, v in values.items()
                ],
            )

    def put_metric(
        self,
        run_id: str,
        eval_name: str,
        metric: str,
        model: str,
        value: float | None,
        ci_low: float | None = None,
        ci_high: float | None = None,
        n: int | None = None,
        higher_is_better: bool | None = None,
        meta: dict | None = None,
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO metrics(run_id, eval, metric, model, value, ci_low, ci_high, n,"
                " higher_is_better, meta_json) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    eval_name,
                    metric,
                    model,
                    value,
                    ci_low,
                    ci_high,
                    n,
                    None if higher_is_better is None else int(higher_is_better),
                    canonical_json(meta or {}),
                ),
            )

    def put_samples(self, run_id: str, eval_name: str, rows: list[dict]) -> None:
        """rows: dicts with item_id, model, and any of prompt, output, baseline, reference, verdict, score, meta."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO samples(run_id, eval, item_id, model, prompt, output, baseline, reference,"
                " verdict, score, meta_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        run_id,
                        eval_name,
                        r["item_id"],
                        r["model"],
                        r.get("prompt"),
                        r.get("output"),
                        r.get("baseline"),
                        r.get("reference"),
                        r.get("verdict"),
                        r.get("score"),
                        canonical_json(r.get("meta", {})),
                    )
                    for r in rows
                ],
            )

    def put_train_logs(self, run_id: str, step: int, scalars: dict[str, float]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO train_logs(run_id, step, key, value) VALUES (?,?,?,?)",
                [(run_id, step, k, float(v)) for k, v in scalars.items()],
            )

    # -- reading ------------------------------------------------------------------------------
    def get_item_metrics(self, run_id: str, eval_name: str, metric: str, model: str) -> dict[str, float | None]:
        """{item_id: value} already stored for one (eval, metric, model): what an eval resumes from."""
        rows = self.conn.execute(
            "SELECT item_id, value FROM item_metrics WHERE run_id=? AND eval=? AND metric=? AND model=?",
            (run_id, eval_name, metric, model),
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def frame(self, table: str, run_id: str | None = None):
        """Any table as a pandas DataFrame (optionally one run's rows); *_json columns decoded."""
        import pandas as pd

        if table not in {
            "runs",
            "models",
            "items",
            "generations",
            "judgements",
            "item_metrics",
            "metrics",
            "train_logs",
            "samples",
        }:
            raise ValueError(f"unknown table {table!r}")
        query, params = f"SELECT * FROM {table}", ()
        if run_id is not None and table != "generations":
            query, params = query + " WHERE run_id = ?", (run_id,)
        df = pd.read_sql_query(query, self.conn, params=params)
        for col in [c for c in df.columns if c.endswith("_json")]:
            df[col[: -len("_json")]] = df[col].map(json.loads)
        return df

    def metrics_dict(self, run_id: str | None = None) -> dict:
        """{eval: {metric: {model: {value, ci_low, ci_high, n, higher_is_better}}}} (what metrics.json holds)."""
        query, params = "SELECT * FROM metrics", ()
        if run_id is not None:
            query, params = query + " WHERE run_id = ?", (run_id,)
        out: dict = {}
        for row in self.conn.execute(query + " ORDER BY eval, metric, model", params):
            hib = row["higher_is_better"]
            out.setdefault(row["eval"], {}).setdefault(row["metric"], {})[row["model"]] = {
                "value": row["value"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "n": row["n"],
                "higher_is_better": None if hib is None else bool(hib),
                **json.loads(row["meta_json"]),
            }
        return out
