"""Who labels what: items are handed out one at a time, on request ("pull" assignment).

For labeler L asking for work, in one write transaction:
  1. L's oldest assigned-but-unlabelled item, if any: a resumed session continues where it left off;
  2. else the first gold item (in hand-out order) L has not had: every labeler labels every gold item,
     first, which is the paper's screening step;
  3. else the first regular item that still wants labelers (n_assigned < copies) and that L has never
     been given: most items want one labeler, the `--overlap` share two or more (for agreement).
The (labeler, item) primary key of `assignments` makes "never the same item twice" a database
invariant, and BEGIN IMMEDIATE makes the read-then-assign step atomic across worker threads.
Nothing expires: an item a labeler abandons stays theirs (`label status` shows it as open).
"""

from __future__ import annotations

from alignbench.labeling.project import Project, now


def next_item(project: Project, labeler_id: int) -> dict | None:
    """The item L should label now (assigning it if needed), or None when L has nothing left."""
    with project.transaction() as conn:
        # 1. resume: the oldest open assignment
        row = conn.execute(
            "SELECT a.item_id FROM assignments a WHERE a.labeler_id = ? AND NOT EXISTS"
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
