"""Leases on open items (assignment.py, step 4): an item a labeler abandons goes to a labeler with nothing else
to do once the lease has run out, never earlier, never a gold item; the first holder moves on, and their late
label is kept.  Old projects (no released_at column) open and get it.  Through the HTTP app and `label status`."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

from helpers_labeling import client_for, write_rank_items

from alignbench.labeling import Project, create_project
from alignbench.labeling.app import create_app
from alignbench.labeling.assignment import next_item

LABEL = {"ranks": [1, 2, 3, 4], "likert": [7, 5, 3, 1], "flags": [[]] * 4}


def _age(project: Project, labeler_id: int, item_id: str, minutes: float) -> None:
    """Make the labeler's assignment of the item `minutes` old."""
    t = (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    with project.transaction() as conn:
        conn.execute(
            "UPDATE assignments SET assigned_at = ? WHERE labeler_id = ? AND item_id = ?", (t, labeler_id, item_id)
        )


def _ids(project: Project, *names: str) -> list[int]:
    return [project.labeler_for_token(project.add_labeler(n))["labeler_id"] for n in names]


def _n_assigned(project: Project, item_id: str) -> int:
    return project.conn.execute("SELECT n_assigned FROM items WHERE item_id = ?", (item_id,)).fetchone()[0]


def test_an_abandoned_item_moves_after_the_lease_and_the_late_label_is_kept(tmp_path):
    project = create_project(tmp_path / "proj", "rank", write_rank_items(tmp_path / "i.jsonl", 2), overlap=0)
    ann, bob = _ids(project, "ann", "bob")
    held = next_item(project, ann, lease_minutes=60)["item_id"]
    own = next_item(project, bob, lease_minutes=60)["item_id"]
    assert project.submit(bob, own, LABEL) == "recorded"
    assert next_item(project, bob, lease_minutes=60) is None  # ann's item is fresh: bob has nothing to do
    _age(project, ann, held, 59)
    assert next_item(project, bob, lease_minutes=60) is None  # not yet
    _age(project, ann, held, 61)
    assert next_item(project, bob, lease_minutes=None) is None  # leases off: an item never moves
    assert next_item(project, bob, lease_minutes=0) is None
    assert next_item(project, bob, lease_minutes=60)["item_id"] == held
    assert _n_assigned(project, held) == 1  # bob holds it now, ann no longer
    assert project.progress(ann) == {"done": 0, "assigned": 0, "released": 1}
    assert next_item(project, ann, lease_minutes=60) is None  # ann moves on (nothing else is left)
    assert next_item(project, bob, lease_minutes=60)["item_id"] == held  # bob resumes it, once
    # ann's tab was still open: her late label is kept beside bob's
    assert project.submit(ann, held, LABEL) == "recorded"
    assert project.submit(bob, held, LABEL) == "recorded"
    assert sorted(lab["labeler"] for lab in project.all_labels() if lab["item_id"] == held) == ["ann", "bob"]
    assert project.progress(ann) == {"done": 1, "assigned": 1, "released": 0}
    assert next_item(project, ann, lease_minutes=60) is None and next_item(project, bob, lease_minutes=60) is None


def test_the_stalest_item_moves_first_and_a_gold_item_stays_with_its_labeler(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "q0000", "ranks": [1, 2, 3, 4]}) + "\n")
    items = write_rank_items(tmp_path / "i.jsonl", 5)  # q0000 gold, 4 regular items
    project = create_project(tmp_path / "proj", "rank", items, overlap=0, gold=gold)
    ann, bob, cid, dan = _ids(project, "ann", "bob", "cid", "dan")
    held = {}
    for who in (ann, bob):  # each labels the gold item, then holds one regular item
        project.submit(who, next_item(project, who, lease_minutes=60)["item_id"], LABEL)
        held[who] = next_item(project, who, lease_minutes=60)["item_id"]
    assert next_item(project, dan, lease_minutes=60)["item_id"] == "q0000"  # dan holds the gold item, unlabelled
    project.submit(cid, next_item(project, cid, lease_minutes=60)["item_id"], LABEL)  # gold
    for _ in range(2):  # the two regular items nobody holds
        project.submit(cid, next_item(project, cid, lease_minutes=60)["item_id"], LABEL)
    assert next_item(project, cid, lease_minutes=60) is None
    _age(project, ann, held[ann], 120)
    _age(project, bob, held[bob], 300)
    _age(project, dan, "q0000", 900)  # the stalest of all, but a gold item: everyone labels it, it never moves
    first = next_item(project, cid, lease_minutes=60)["item_id"]
    assert first == held[bob]  # held longest
    project.submit(cid, first, LABEL)
    assert next_item(project, cid, lease_minutes=60)["item_id"] == held[ann]
    assert project.progress(dan) == {"done": 0, "assigned": 1, "released": 0}
    assert next_item(project, dan, lease_minutes=60)["item_id"] == "q0000"


def test_a_project_from_before_leases_opens_and_gets_the_column(tmp_path):
    project = create_project(tmp_path / "proj", "rank", write_rank_items(tmp_path / "i.jsonl", 2), overlap=0)
    (ann,) = _ids(project, "ann")
    held = next_item(project, ann)["item_id"]
    project.close()
    conn = sqlite3.connect(project.path)
    conn.execute("ALTER TABLE assignments DROP COLUMN released_at")  # the schema before this change
    conn.commit()
    conn.close()
    reopened = Project(tmp_path / "proj")
    assert next_item(reopened, ann, lease_minutes=60)["item_id"] == held
    assert reopened.progress(ann) == {"done": 0, "assigned": 1, "released": 0}


def test_the_app_applies_its_lease_and_status_counts_released_items(tmp_path, capsys):
    from alignbench.cli import main

    project = create_project(tmp_path / "proj", "rank", write_rank_items(tmp_path / "i.jsonl", 1), overlap=0)
    tokens = {n: project.add_labeler(n) for n in ("ann", "bob")}
    ann = project.labeler_for_token(tokens["ann"])["labeler_id"]
    held = client_for(create_app(project.folder), tokens["ann"]).get("/api/next").json()["item"]["item_id"]
    _age(project, ann, held, 61)
    assert (
        client_for(create_app(project.folder, lease_minutes=0), tokens["bob"]).get("/api/next").json()["item"] is None
    )
    bob = client_for(create_app(project.folder), tokens["bob"])  # the default lease, 60 minutes
    body = bob.get("/api/next").json()
    assert body["item"]["item_id"] == held and body["progress"] == {"done": 0, "assigned": 1, "released": 0}
    assert main(["label", "status", str(project.folder), "--json"]) == 0
    rows = {r["labeler"]: r for r in json.loads(capsys.readouterr().out)["labelers"]}
    assert (rows["ann"]["open"], rows["ann"]["released"]) == (0, 1)
    assert (rows["bob"]["open"], rows["bob"]["released"]) == (1, 0)
    assert main(["label", "status", str(project.folder)]) == 0
    out = capsys.readouterr().out
    assert "released" in out.splitlines()[1]
