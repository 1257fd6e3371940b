"""The labeling web app through its HTTP API (FastAPI TestClient): auth on every route, 4xx for bad input
with nothing written, escaping, no path traversal, idempotent double submit, resume, overlap assignment,
never the same item twice, gold first."""

from __future__ import annotations

import json

import pytest
from helpers_labeling import HTML, client_for, write_rank_items

from alignbench.labeling import Project, create_project
from alignbench.labeling.app import create_app

OPEN = "<the open item>"
GOOD = {"item_id": OPEN, "ranks": [1, 1, 2, 3], "likert": [5, 5, 3, 1], "flags": [[], ["hallucination"], [], []]}


@pytest.fixture
def project(tmp_path):
    items = write_rank_items(tmp_path / "items.jsonl", 12)
    return create_project(tmp_path / "proj", "rank", items, overlap=0.25)


def _labels(project: Project) -> list[dict]:
    return project.all_labels()


def test_every_route_needs_a_valid_token(project, tmp_path):
    ann = project.add_labeler("ann")
    other = create_project(tmp_path / "other", "rank", write_rank_items(tmp_path / "o.jsonl", 2)).add_labeler("eve")
    app = create_app(project.folder)
    routes = [
        ("GET", "/"),
        ("GET", "/api/next"),
        ("GET", "/api/progress"),
        ("GET", "/api/items/q0000"),
        ("GET", "/static/label.js"),
        ("GET", "/static/label.css"),
        ("GET", "/no/such/page"),
        ("GET", "/login"),
        ("GET", "/login?token=wrong"),
        ("GET", f"/login?token={other}"),
        ("POST", "/api/submit"),
    ]
    anonymous, wrong, foreign = client_for(app, None), client_for(app, "not-a-token"), client_for(app, other)
    cookie = client_for(app, None)
    cookie.cookies.set("alignbench_label", "forged")
    for client in (anonymous, wrong, foreign, cookie):
        for method, path in routes:
            r = client.request(
                method, path, json={**GOOD, "item_id": "q0000"} if method == "POST" else None, follow_redirects=False
            )
            assert r.status_code == 401, (method, path, r.status_code)
    assert _labels(project) == []
    # the real token works, through the header and through the login cookie
    assert client_for(app, ann).get("/api/progress").status_code == 200
    browser = client_for(app, None)
    r = browser.get(f"/login?token={ann}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie_header = r.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=strict" in cookie_header
    assert browser.get("/").status_code == 200


def test_page_escapes_model_output_and_hides_model_names(project):
    client = client_for(create_app(project.folder), project.add_labeler("ann"))
    page = client.get("/")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "onerror=alert(1)>" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "model-" not in page.text  # labelers never see which model wrote what
    assert "script-src 'self'" in page.headers["content-security-policy"]
    view = client.get("/api/next").json()["item"]
    assert HTML in view["prompt"] and "models" not in view


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({**GOOD, "item_id": "no-such-item"}, 404, "not assigned to you"),
        ({**GOOD, "likert": [0, 5, 3, 1]}, 400, "likert: 0 is outside 1..7"),
        ({**GOOD, "likert": [5, 5, 3, 8]}, 400, "likert: 8 is outside 1..7"),
        ({**GOOD, "likert": [5, 5, 3]}, 400, "likert: 3 scores for 4 responses"),
        ({**GOOD, "ranks": [1, 2, 3]}, 400, "ranks: 3 entries for 4 responses"),
        ({**GOOD, "ranks": [1, 3, 3, 4]}, 400, "is not a ranking with ties"),
        ({**GOOD, "ranks": [2, 2, 3, 4]}, 400, "is not a ranking with ties"),
        ({**GOOD, "ranks": [0, 1, 2, 3]}, 400, "outside 1..4"),
        ({**GOOD, "ranks": [1, 2, 3, 5]}, 400, "outside 1..4"),
        ({**GOOD, "flags": [[], ["rude"], [], []]}, 400, "flags[1]: unknown flag 'rude'"),
        ({**GOOD, "flags": [[], []]}, 400, "flags: 2 lists for 4 responses"),
        ({**GOOD, "ranks": ["first", 1, 2, 3]}, 422, "ranks"),
        ({**GOOD, "extra": 1}, 422, "extra"),
        ({k: v for k, v in GOOD.items() if k != "item_id"}, 422, "item_id"),
        ({**GOOD, "item_id": "x" * 10_000}, 422, "item_id"),
    ],
)
def test_bad_input_is_a_4xx_with_a_message_and_writes_nothing(project, body, status, message):
    client = client_for(create_app(project.folder), project.add_labeler("ann"))
    item_id = client.get("/api/next").json()["item"]["item_id"]
    body = {k: (item_id if v == OPEN else v) for k, v in body.items()}
    r = client.post("/api/submit", json=body)
    assert r.status_code == status and message in json.dumps(r.json()), r.text
    assert _labels(project) == []
    assert client.get("/api/next").json()["item"]["item_id"] == item_id  # still the open item


def test_malformed_bodies_are_4xx(project):
    client = client_for(create_app(project.folder), project.add_labeler("ann"))
    client.get("/api/next")
    for content in (b"", b"{", b"[]", b"null", "\udcff".encode("utf-8", "surrogatepass")):
        r = client.post("/api/submit", content=content, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (content, r.status_code)
    assert _labels(project) == []


def test_double_submit_is_idempotent_and_a_different_answer_is_stale(project):
    client = client_for(create_app(project.folder), project.add_labeler("ann"))
    item_id = client.get("/api/next").json()["item"]["item_id"]
    body = {**GOOD, "item_id": item_id}
    assert client.post("/api/submit", json=body).json()["status"] == "recorded"
    assert client.post("/api/submit", json=body).json()["status"] == "duplicate"  # a retry, or a second tab
    stale = client.post("/api/submit", json={**body, "ranks": [1, 2, 3, 4]})
    assert stale.status_code == 409 and "already labelled" in stale.json()["detail"]
    labels = _labels(project)
    assert len(labels) == 1 and sorted(labels[0]["ranks"]) == [1, 1, 3, 4]
    own = client.get(f"/api/items/{item_id}").json()
    assert own["label"]["ranks"] == [1, 1, 3, 4] and own["label"]["flags"][1] == ["hallucination"]


def test_a_labeler_sees_only_their_own_items(project):
    app = create_app(project.folder)
    ann, bob = client_for(app, project.add_labeler("ann")), client_for(app, project.add_labeler("bob"))
    mine = ann.get("/api/next").json()["item"]["item_id"]
    assert ann.get(f"/api/items/{mine}").status_code == 200
    assert bob.get(f"/api/items/{mine}").status_code == 404
    r = bob.post("/api/submit", json={**GOOD, "item_id": mine})
    assert r.status_code == 404 and "not assigned to you" in r.json()["detail"]
    assert _labels(project) == []


def test_no_path_traversal_through_any_parameter(project):
    client = client_for(create_app(project.folder), project.add_labeler("ann"))
    for path in (
        "/static/../project.sqlite",
        "/static/..%2fproject.sqlite",
        "/static/%2e%2e%2fproject.sqlite",
        "/static/page.html.j2",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/api/items/..%2f..%2fproject.sqlite",
        "/api/items/../../etc/passwd",
        "/..%2fproject.sqlite",
    ):
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert b"SQLite format" not in r.content and b"root:" not in r.content and b"{%" not in r.content


def test_resume_continues_where_the_labeler_left_off(project):
    app = create_app(project.folder)
    token = project.add_labeler("ann")
    first = client_for(app, token).get("/api/next").json()["item"]["item_id"]
    # a new session (another browser, the next day) gets the same open item
    later = client_for(app, None)
    later.get(f"/login?token={token}")
    assert later.get("/api/next").json()["item"]["item_id"] == first
    assert f'<code id="item-id">{first}</code>' in later.get("/").text
    assert later.post("/api/submit", json={**GOOD, "item_id": first}).status_code == 200
    second = later.get("/api/next").json()["item"]["item_id"]
    assert second != first
    assert later.get("/api/progress").json() == {"done": 1, "assigned": 2, "released": 0}


def test_overlap_assignment_gold_first_and_never_the_same_item_twice(tmp_path):
    items = write_rank_items(tmp_path / "items.jsonl", 22)
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"id": "q0003", "ranks": [1, 2, 3, 4]})
        + "\n"
        + json.dumps({"id": "q0011", "ranks": [3, 1, 1, 4]})
        + "\n"
    )
    project = create_project(tmp_path / "proj", "rank", items, overlap=0.25, overlap_labelers=2, gold=gold)
    app = create_app(project.folder)
    clients = {name: client_for(app, project.add_labeler(name)) for name in ("ann", "bob", "cid")}
    seen: dict[str, list[str]] = {name: [] for name in clients}
    active = list(clients)
    while active:  # round-robin: each labeler takes one item per turn, like three people working at once
        for name in list(active):
            item = clients[name].get("/api/next").json()["item"]
            if item is None:
                active.remove(name)
                continue
            seen[name].append(item["item_id"])
            assert clients[name].post("/api/submit", json={**GOOD, "item_id": item["item_id"]}).status_code == 200
    for name, ids in seen.items():
        assert len(ids) == len(set(ids)), f"{name} saw an item twice"
        assert set(ids[:2]) == {"q0003", "q0011"}, "gold items come first"
    copies = {it["item_id"]: it["copies"] for it in project.items() if not it["is_gold"]}
    assert sum(c == 2 for c in copies.values()) == 5  # round(0.25 * 20)
    counts = {i: sum(i in ids for ids in seen.values()) for i in copies}
    assert counts == copies  # overlap items twice, the rest once
    assert len(_labels(project)) == 20 + 5 + 2 * 3


def test_only_token_hashes_are_stored(project):
    token = project.add_labeler("ann")
    project.close()
    raw = b"".join(p.read_bytes() for p in project.folder.iterdir() if p.name.startswith("project.sqlite"))
    assert token.encode() not in raw


def test_a_failure_inside_a_transaction_leaves_nothing_half_written(project):
    """Assigning writes two rows (the assignment, the item's count); make the second write fail: neither stays."""
    import sqlite3

    from alignbench.labeling.assignment import next_item

    labeler = project.labeler_for_token(project.add_labeler("ann"))["labeler_id"]
    project.conn.execute(
        "CREATE TEMP TRIGGER fail_count BEFORE UPDATE OF n_assigned ON items "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        next_item(project, labeler)
    assert project.conn.execute("SELECT COUNT(*) FROM assignments").fetchone()[0] == 0
    assert project.conn.execute("SELECT SUM(n_assigned) FROM items").fetchone()[0] == 0
    project.conn.execute("DROP TRIGGER fail_count")
    item = next_item(project, labeler)
    project.conn.execute(
        "CREATE TEMP TRIGGER fail_label AFTER INSERT ON labels BEGIN SELECT RAISE(ABORT, 'crash'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="crash"):
        project.submit(labeler, item["item_id"], {"ranks": [1, 2, 3, 4], "likert": [1, 2, 3, 4], "flags": [[]] * 4})
    assert _labels(project) == [] and not project.conn.in_transaction
