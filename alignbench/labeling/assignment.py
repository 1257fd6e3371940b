"""Who labels what: items are handed out one at a time, on request ("pull" assignment).

For labeler L asking for work, in one write transaction:
  1. L's oldest assigned-but-unlabelled item, if any: a resumed session continues where it left off;
  2. else the first gold item (in hand-out order) L has not had: every labeler labels every gold item,
     first, which is the paper's screening step;
  3. else the first regular item that still wants labelers (n_assigned < copies) and that L has never
     been given: most items want one labeler, the `--overlap` share two or more (for agreement);
  4. else, with a lease (`label serve --lease-minutes`, default 60), the longest-open regular item another labeler
     has held unlabelled for longer than the lease: it is released from them (released_at, n_assigned - 1) and
     given to L.  An abandoned item so never blocks the project's completion, and one a labeler is merely slow
     on stays theirs until somebody has nothing else to do.  The released labeler moves on to new work; a label
     they submit for it later is still accepted (the item then holds one label more than it wanted: nothing
     a labeler did is thrown away).  Gold items never move: everyone labels every gold item (a labeler reaches
     step 4 only after being given all of them; the query excludes them as well).
The (labeler, item) primary key of `assignments` makes "never the same item twice" a database
invariant, and BEGIN IMMEDIATE makes the read-then-assign step atomic across worker threads.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alignbench.labeling.project import Project, now

LEASE_MINUTES = 60  # `label serve`'s default: an hour unlabelled, as crowd platforms hold an assignment


def next_item(project: Project, labeler_id: int, lease_minutes: float | None = None) -> dict | None:
    """The item L should label now (assigning it if needed), or None when L has nothing left.
    lease_minutes: None or 0, an open item is never released (step 4 off)."""
    with project.transaction() as conn:
        # 1. resume: the oldest open assignment (not one released to somebody else)
        row = conn.execute(
            "SELECT a.item_id FROM assignments a WHERE a.labeler_id = ? AND a.released_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM labels l WHERE l.labeler_id = a.labeler_id AND l.item_id = a.item_id)"
            " ORDER BY a.seq LIMIT 1",
            (labeler_id,),
        ).fetchone()
        if row is None:
            # 2. gold items first, then 3. regular items that still want labelers
            row = conn.execute(
                "SELECT item_id FROM items i WHERE is_gold = 1 AND NOT EXISTS (SELECT 1 FROM assignments a"
                " WHERE a.labeler_id = ? AND a.item_id = i.item_id) ORDER BY position LIMIT 1",
                (labeler_id,),
            ).fetchone()
            if row is None:
                row = conn.execute(
                    "SELECT item_id FROM items i WHERE is_gold = 0 AND n_assigned < copies AND NOT EXISTS"
                    " (SELECT 1 FROM assignments a WHERE a.labeler_id = ? AND a.item_id = i.item_id)"
                    " ORDER BY position LIMIT 1",
                    (labeler_id,),
                ).fetchone()
            if row is None and lease_minutes:
                # 4. take over the stalest regular item someone else has held past the lease (ISO-8601 UTC
                # timestamps of one format compare as strings)
                cutoff = (datetime.now(timezone.utc) - timedelta(minutes=lease_minutes)).isoformat(
                    timespec="milliseconds"
                )
                row = conn.execute(
                    "SELECT a.labeler_id AS holder, a.item_id FROM assignments a JOIN items i ON i.item_id = a.item_id"
                    " WHERE i.is_gold = 0 AND a.released_at IS NULL AND a.assigned_at < ? AND a.labeler_id != ?"
                    " AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.labeler_id = a.labeler_id"
                    " AND l.item_id = a.item_id)"
                    " AND NOT EXISTS (SELECT 1 FROM assignments b WHERE b.labeler_id = ? AND b.item_id = a.item_id)"
                    " ORDER BY a.assigned_at, i.position LIMIT 1",
                    (cutoff, labeler_id, labeler_id),
                ).fetchone()
                if row is not None:
                    conn.execute(
                        "UPDATE assignments SET released_at = ? WHERE labeler_id = ? AND item_id = ?",
                        (now(), row["holder"], row["item_id"]),
                    )
                    conn.execute("UPDATE items SET n_assigned = n_assigned - 1 WHERE item_id = ?", (row["item_id"],))
            if row is None:
                return None
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM assignments WHERE labeler_id = ?", (labeler_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO assignments(labeler_id, item_id, seq, assigned_at) VALUES (?,?,?,?)",
                (labeler_id, row["item_id"], seq, now()),
            )
            conn.execute("UPDATE items SET n_assigned = n_assigned + 1 WHERE item_id = ?", (row["item_id"],))
        item = conn.execute("SELECT * FROM items WHERE item_id = ?", (row["item_id"],)).fetchone()
    return Project._item(item)


def display_view(item: dict) -> dict:
    """What the page shows: prompt and responses in display order; no model names, no gold labels."""
    return {
        "item_id": item["item_id"],
        "prompt": item["prompt"],
        "responses": [item["responses"][src] for src in item["display"]],
        "k": len(item["responses"]),
    }
