"""A labeling project: one folder holding `project.sqlite` (SQLite, WAL, synchronous=FULL).

Tables: `meta` (task, seed, overlap, where the items came from), `items` (prompt, the K responses in
their source order, the hidden model names, the display order the page uses, gold ranks), `labelers`
(name, group, sha256 of the secret token -- the token itself is never stored), `assignments` (which
labeler holds which item, in the order handed out) and `labels` (one row per labeler and item, ranks /
Likert / flags in source order).  Every write is one `BEGIN IMMEDIATE` transaction, so a label is
either all there or not there; synchronous=FULL makes an acknowledged label survive a crash of the
server or of the machine.  sqlite3 from the standard library is enough here, as for the results store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from alignbench.errors import AlignbenchError
from alignbench.labeling.auth import hash_token, new_token
from alignbench.labeling.labels import LabelError
from alignbench.store.sqlite import connect, immediate_transaction

PROJECT_FILE = "project.sqlite"
GROUPS = ("train", "heldout")
TASKS = ("rank", "compare")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id      TEXT PRIMARY KEY,
    position     INTEGER NOT NULL,             -- hand-out order (a seeded shuffle)
    prompt       TEXT NOT NULL,
    responses    TEXT NOT NULL,                -- JSON list, source order (compare: [candidate, baseline])
    models       TEXT NOT NULL DEFAULT '[]',   -- JSON list of model names, source order; never sent to labelers
    display      TEXT NOT NULL,                -- JSON list: display slot i shows source response display[i]
    is_gold      INTEGER NOT NULL DEFAULT 0,
    gold_ranks   TEXT,                         -- JSON competition ranks, source order (gold items)
    in_source    INTEGER NOT NULL DEFAULT 1,   -- 0: an item only the gold file holds
    copies       INTEGER NOT NULL DEFAULT 1,   -- labelers wanted (overlap items: 2+); gold: everyone
    n_assigned   INTEGER NOT NULL DEFAULT 0,
    meta         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS items_open ON items(position) WHERE is_gold = 0 AND n_assigned < copies;
CREATE INDEX IF NOT EXISTS items_gold ON items(position) WHERE is_gold = 1;
CREATE TABLE IF NOT EXISTS labelers (
    labeler_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    grp          TEXT NOT NULL,                -- train | heldout
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assignments (
    labeler_id   INTEGER NOT NULL REFERENCES labelers(labeler_id),
    item_id      TEXT NOT NULL REFERENCES items(item_id),
    seq          INTEGER NOT NULL,             -- 1, 2, ... per labeler: resume = lowest unlabelled seq
    assigned_at  TEXT NOT NULL,
    released_at  TEXT,                         -- set when a stale open item went to another labeler (assignment.py)
    PRIMARY KEY (labeler_id, item_id)
);
CREATE TABLE IF NOT EXISTS labels (
    labeler_id   INTEGER NOT NULL,
    item_id      TEXT NOT NULL,
    ranks        TEXT NOT NULL,                -- JSON competition ranks, source order
    likert       TEXT NOT NULL,                -- JSON 1-7 per response, source order
    flags        TEXT NOT NULL,                -- JSON list (per response) of flag keys, source order
    submitted_at TEXT NOT NULL,
    PRIMARY KEY (labeler_id, item_id),
    FOREIGN KEY (labeler_id, item_id) REFERENCES assignments(labeler_id, item_id)
);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def to_source_order(values: list, display: list[int]) -> list:
    """values[i] belongs to display slot i, which shows source response display[i]."""
    out = [None] * len(values)
    for slot, src in enumerate(display):
        out[src] = values[slot]
    return out


class Project:
    """A handle on PROJECT_DIR/project.sqlite; one connection per thread (the web app's worker threads)."""

    def __init__(self, folder: str | Path, create: bool = False):
        self.folder = Path(folder)
        self.path = self.folder / PROJECT_FILE
        if create:
            if self.path.exists():
                raise AlignbenchError(f"{self.folder}: already holds a labeling project ({PROJECT_FILE})")
            self.folder.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise AlignbenchError(
                f"{self.folder}: not a labeling project (no {PROJECT_FILE}; run `alignbench label create`)"
            )
        self._local = threading.local()
        self.conn.executescript(SCHEMA)
        # projects created before leases existed: add the column (NULL = not released, as they all are)
        if "released_at" not in {r["name"] for r in self.conn.execute("PRAGMA table_info(assignments)")}:
            with self.transaction() as conn:
                conn.execute("ALTER TABLE assignments ADD COLUMN released_at TEXT")
        self._meta: dict | None = None

    # -- connections -------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # FULL: an acknowledged label survives power loss too
            conn = self._local.conn = connect(self.path, synchronous="FULL", check_same_thread=False)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One submission = one write transaction (the store's: BEGIN IMMEDIATE, so steps cannot interleave)."""
        with immediate_transaction(self.conn) as conn:
            yield conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- meta and items ------------------------------------------------------------------------
    @property
    def meta(self) -> dict:
        if self._meta is None:
            self._meta = {r["key"]: json.loads(r["value"]) for r in self.conn.execute("SELECT key, value FROM meta")}
        return self._meta

    @property
    def task(self) -> str:
        return self.meta["task"]

    def write_meta(self, values: dict) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in values.items()],
            )
        self._meta = None

    def add_items(self, rows: list[dict]) -> None:
        """rows: item_id, position, prompt, responses, models, display, is_gold, gold_ranks, in_source, copies,
        meta."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO items(item_id, position, prompt, responses, models, display, is_gold, gold_ranks,"
                " in_source, copies, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r["item_id"],
                        r["position"],
                        r["prompt"],
                        json.dumps(r["responses"]),
                        json.dumps(r.get("models") or []),
                        json.dumps(r["display"]),
                        int(r.get("is_gold", False)),
                        None if r.get("gold_ranks") is None else json.dumps(r["gold_ranks"]),
                        int(r.get("in_source", True)),
                        int(r.get("copies", 1)),
                        json.dumps(r.get("meta") or {}),
                    )
                    for r in rows
                ],
            )

    @staticmethod
    def _item(row: sqlite3.Row) -> dict:
        d = dict(row)
        for key in ("responses", "models", "display", "meta"):
            d[key] = json.loads(d[key])
        d["gold_ranks"] = None if d["gold_ranks"] is None else json.loads(d["gold_ranks"])
        d["is_gold"], d["in_source"] = bool(d["is_gold"]), bool(d["in_source"])
        return d

    def item(self, item_id: str) -> dict | None:
        row = self.conn.execute("SELECT * FROM items WHERE item_id = ?", (item_id,)).fetchone()
        return None if row is None else self._item(row)

    def items(self) -> list[dict]:
        return [self._item(r) for r in self.conn.execute("SELECT * FROM items ORDER BY position")]

    # -- labelers ------------------------------------------------------------------------------
    def add_labeler(self, name: str, group: str = "train") -> str:
        """Register a labeler; returns the secret token (only its sha256 is stored, so it is shown once)."""
        if group not in GROUPS:
            raise AlignbenchError(f"--group: must be one of {', '.join(GROUPS)}, got {group!r}")
        if not name.strip() or len(name) > 100:
            raise AlignbenchError("NAME: must be 1-100 characters")
        token = new_token()
        try:
            with self.transaction() as conn:
                conn.execute(
                    "INSERT INTO labelers(name, grp, token_hash, created_at) VALUES (?,?,?,?)",
                    (name, group, hash_token(token), now()),
                )
        except sqlite3.IntegrityError:
            raise AlignbenchError(f"{self.folder}: a labeler named {name!r} already exists") from None
        return token

    def labeler_for_token(self, token: str | None) -> dict | None:
        if not token or len(token) > 200:
            return None
        row = self.conn.execute(
            "SELECT labeler_id, name, grp FROM labelers WHERE token_hash = ?", (hash_token(token),)
        ).fetchone()
        return None if row is None else dict(row)

    def labelers(self) -> list[dict]:
        return [
            dict(r)
            for r in self.conn.execute("SELECT labeler_id, name, grp, created_at FROM labelers ORDER BY labeler_id")
        ]

    # -- labels --------------------------------------------------------------------------------
    def assigned_item(self, labeler_id: int, item_id: str) -> dict | None:
        """The item if it is assigned to this labeler (a labeler sees only their own items), else None."""
        row = self.conn.execute(
            "SELECT i.* FROM items i JOIN assignments a ON a.item_id = i.item_id"
            " WHERE a.labeler_id = ? AND i.item_id = ?",
            (labeler_id, item_id),
        ).fetchone()
        return None if row is None else self._item(row)

    def label_of(self, labeler_id: int, item_id: str) -> dict | None:
        row = self.conn.execute(
            "SELECT ranks, likert, flags FROM labels WHERE labeler_id = ? AND item_id = ?", (labeler_id, item_id)
        ).fetchone()
        return None if row is None else {k: json.loads(row[k]) for k in ("ranks", "likert", "flags")}

    def submit(self, labeler_id: int, item_id: str, label: dict) -> str:
        """Store one validated label (display order, labels.check_submission) in ONE transaction.
        Returns "recorded", or "duplicate" when the identical label is already stored (a retry or a second
        tab); a different label for an item already labelled is a stale submission (409)."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT i.display FROM items i JOIN assignments a ON a.item_id = i.item_id"
                " WHERE a.labeler_id = ? AND i.item_id = ?",
                (labeler_id, item_id),
            ).fetchone()
            if row is None:
                raise LabelError(404, f"item {item_id[:80]!r} is not assigned to you")
            display = json.loads(row["display"])
            stored = {k: to_source_order(label[k], display) for k in ("ranks", "likert", "flags")}
            old = conn.execute(
                "SELECT ranks, likert, flags FROM labels WHERE labeler_id = ? AND item_id = ?", (labeler_id, item_id)
            ).fetchone()
            if old is not None:
                if {k: json.loads(old[k]) for k in stored} == stored:
                    return "duplicate"
                raise LabelError(
                    409,
                    f"item {item_id[:80]!r} is already labelled (stale page or second tab); reload for the next item",
                )
            conn.execute(
                "INSERT INTO labels(labeler_id, item_id, ranks, likert, flags, submitted_at) VALUES (?,?,?,?,?,?)",
                (
                    labeler_id,
                    item_id,
                    json.dumps(stored["ranks"]),
                    json.dumps(stored["likert"]),
                    json.dumps(stored["flags"]),
                    now(),
                ),
            )
        return "recorded"

    def all_labels(self) -> list[dict]:
        """Every label joined with its labeler and item: source-order lists, plus the item's fields."""
        out = []
        for r in self.conn.execute(
            "SELECT l.*, lb.name AS labeler, lb.grp AS grp, i.is_gold, i.in_source, i.models, i.responses, i.prompt,"
            " i.gold_ranks FROM labels l JOIN labelers lb ON lb.labeler_id = l.labeler_id"
            " JOIN items i ON i.item_id = l.item_id ORDER BY i.position, l.labeler_id"
        ):
            d = dict(r)
            for key in ("ranks", "likert", "flags", "models", "responses"):
                d[key] = json.loads(d[key])
            d["gold_ranks"] = None if d["gold_ranks"] is None else json.loads(d["gold_ranks"])
            d["is_gold"], d["in_source"] = bool(d["is_gold"]), bool(d["in_source"])
            out.append(d)
        return out

    def progress(self, labeler_id: int) -> dict:
        """done: labels given; assigned: items held (released ones count only if labelled after all);
        released: open items that went to another labeler after the lease ran out."""
        labelled = "EXISTS (SELECT 1 FROM labels l WHERE l.labeler_id = a.labeler_id AND l.item_id = a.item_id)"
        row = self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM labels WHERE labeler_id = :l) AS done,"
            f" (SELECT COUNT(*) FROM assignments a WHERE labeler_id = :l AND (released_at IS NULL OR {labelled}))"
            " AS assigned,"
            " (SELECT COUNT(*) FROM assignments a WHERE labeler_id = :l AND released_at IS NOT NULL"
            f" AND NOT {labelled}) AS released",
            {"l": labeler_id},
        ).fetchone()
        return dict(row)
