"""A real labeling session in headless Chromium (the report test's setup: Debian chromium + chromedriver, from
scripts/install_test_deps.sh): open the personal URL, rank a K=4 item with a tie using only the keyboard, flag
one response, submit, reload, see the next item.  The screenshot of the filled page goes to
docs/images/labeling.png.  Then the export trains a tiny reward model with `alignbench train rm`."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from helpers_labeling import ROOT, free_port, start_server

from alignbench.cli import main
from alignbench.labeling import Project, create_project
from alignbench.labeling.auth import personal_url

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "images" / "labeling.png"


def _item_id(browser, other_than: str | None = None) -> str:
    """The shown item's id once the page has rendered one (and, with `other_than`, moved on from it).  The page
    replaces the element when it renders the next item, so the id is read inside the page, in one script: a
    WebDriver element reference held across that re-render meets a detached node, which Chromium reports as
    StaleElementReference or as "Node with given id does not belong to the document" depending on when the
    render lands (the second flaked a clean `make test`)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d):
        text = d.execute_script("const e = document.getElementById('item-id'); return e ? e.innerText : '';")
        return text if text and text != other_than else False

    return WebDriverWait(browser, 30).until(shown)


@pytest.fixture
def browser(headless_chromium):
    return headless_chromium(window="1100,1900")


def _items(path: Path) -> Path:
    """Three K=4 prompts whose texts carry markup (model output is untrusted)."""
    rows = []
    for i, topic in enumerate(["tea", "rain", "jazz", "boats", "bread", "cats"]):
        rows.append(
            {
                "id": f"{topic}-{i}",
                "prompt": f"Explain {topic} to a child. <b>Be brief.</b>",
                "responses": [
                    f"{topic.title()} is lovely.",
                    f"{topic.title()}: a thing people enjoy <i>a lot</i>.",
                    f"I don't know about {topic}.",
                    f"<script>alert('{topic}')</script>",
                ],
                "models": ["m-ppo", "m-sft", "m-gpt3", "m-bad"],
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_labeling_session_in_headless_chromium_then_train_rm(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    project = create_project(tmp_path / "proj", "rank", _items(tmp_path / "items.jsonl"), overlap=0.0)
    token = project.add_labeler("ann")
    project.close()
    port, log = free_port(), tmp_path / "server.log"
    server = start_server(project.folder, port, log, token)
    try:
        browser.get(personal_url("127.0.0.1", port, token))
        assert browser.current_url == f"http://127.0.0.1:{port}/"  # the token left the address bar
        first = _item_id(browser)
        # markup in the prompt and the responses is shown as text, never run
        assert "<b>Be brief.</b>" in browser.find_element(By.ID, "prompt").text
        texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".response .text")]
        assert len(texts) == 4 and any("<script>alert(" in t for t in texts)
        assert "m-ppo" not in browser.page_source and "m-bad" not in browser.page_source  # model names are hidden

        # keyboard only: Tab-free focus + keys on native controls (radios, checkboxes, selects)
        for i, score in enumerate([6, 6, 3, 1]):
            browser.find_element(By.ID, f"likert-{i}-{score}").send_keys(Keys.SPACE)
        browser.find_element(By.ID, "flag-3-harmful_advice").send_keys(Keys.SPACE)
        for i, rank in enumerate(["1", "1", "2", "3"]):  # A and B tie for first place
            browser.find_element(By.ID, f"rank-{i}").send_keys(rank)
        assert browser.find_element(By.ID, "rank-summary").text == "A = B > C > D"
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT))
        browser.find_element(By.ID, "submit").send_keys(Keys.CONTROL, Keys.ENTER)
        second = _item_id(browser, other_than=first)
        browser.refresh()  # reload: still the next item, not the first
        assert _item_id(browser) == second
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe  # no CSP violation, no script error
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    project = Project(project.folder)
    (label,) = project.all_labels()
    item = project.item(first)
    shown = [item["display"].index(src) for src in range(4)]  # source response -> display slot
    assert label["ranks"] == [[1, 1, 3, 4][slot] for slot in shown]  # dense 1,1,2,3 stored as competition ranks
    assert label["flags"][item["display"][3]] == ["harmful_advice"]
    assert sorted(label["likert"]) == [1, 3, 6, 6]

    # the rest of the session through the API, then: export -> alignbench train rm on a tiny model
    from fastapi.testclient import TestClient

    from alignbench.labeling.app import create_app

    client = TestClient(create_app(project.folder), headers={"Authorization": f"Bearer {token}"})
    while (view := client.get("/api/next").json()["item"]) is not None:
        it = project.item(view["item_id"])
        source = [1, 2, 3, 4]  # the order a careful labeler would give: ppo > sft > gpt3 > bad
        assert (
            client.post(
                "/api/submit",
                json={
                    "item_id": view["item_id"],
                    "ranks": [source[s] for s in it["display"]],
                    "likert": [4, 4, 4, 4],
                    "flags": [[], [], [], []],
                },
            ).status_code
            == 200
        )
    rankings = tmp_path / "rankings.jsonl"
    assert main(["label", "export", str(project.folder), "--format", "rankings", "--out", str(rankings)]) == 0
    from alignbench.data.sources import read_records

    records = read_records(rankings, "ranking")
    assert len(records) == 6 and records[0].k == 4
    assert [1, 1, 3, 4] in [sorted(r.ranks) for r in records]  # the tie survives, as the trainer wants it
    out = tmp_path / "rm"
    assert (
        main(
            [
                "train",
                "rm",
                "--model",
                "tiny-random",
                "--train_data",
                str(rankings),
                "--eval_fraction",
                "0",
                "--output_dir",
                str(out),
                "--max_steps",
                "2",
                "--per_device_train_batch_size",
                "2",
                "--max_length",
                "64",
                "--chat_template",
                "false",
                "--logging_steps",
                "1",
                "--disable_tqdm",
                "true",
            ]
        )
        == 0
    )
    lineage = json.loads((out / "alignbench.json").read_text())
    assert lineage["stage"] == "rm" and lineage["datasets"]["train"]["n_records"] == 6
