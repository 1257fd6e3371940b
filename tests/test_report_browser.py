"""Check report.html as a person would: open it in headless Chromium (Debian's chromium +
chromium-driver, installed by scripts/install_test_deps.sh, which `make test` runs first), and
assert that every figure loaded, the results table is there, the sample filter works and the
console stayed clean.  A screenshot is saved under the test's tmp dir."""

from __future__ import annotations

import pytest
from helpers_synthetic_runs import SPECS, make_run

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(headless_chromium):
    return headless_chromium(window="1300,2200")


def test_report_html_in_headless_chromium(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from alignbench.reports import write_report

    make_run(tmp_path / "ppo", seed=0, effects={"toxicity/respectful.emt": -0.12})
    make_run(
        tmp_path / "ppo-large",
        seed=1,
        candidate="smollm2-ppo-1.7b",
        candidate_fp="fp-large",
        candidate_size=1_700_000_000,
    )
    written = write_report([tmp_path / "ppo", tmp_path / "ppo-large"], tmp_path / "report", formats=("html",))
    browser.get(written["html"].resolve().as_uri())

    images = browser.find_elements(By.TAG_NAME, "img")
    assert len(images) == 6  # win rate, TruthfulQA, toxicity x2, alignment tax, training curves
    for img in images:
        loaded = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
        assert loaded and loaded > 100, f"figure {img.get_attribute('alt')!r} did not load"

    table = browser.find_element(By.ID, "results-table")
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers[2:] == ["n", "smollm2-ppo", "smollm2-sft", "smollm2-ppo-1.7b"]
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == 14
    assert table.find_elements(By.CSS_SELECTOR, "td.best")

    rows = browser.find_elements(By.CSS_SELECTOR, "#samples-table tbody tr")
    evals = {r.get_attribute("data-eval") for r in rows}
    assert {"winrate", "toxicity/respectful", "toxicity/none"} <= evals
    select = Select(browser.find_element(By.ID, "sample-filter"))
    select.select_by_value("winrate")
    visible = [r for r in rows if r.is_displayed()]
    assert visible and all(r.get_attribute("data-eval") == "winrate" for r in visible)
    assert len(visible) == sum(r.get_attribute("data-eval") == "winrate" for r in rows)
    # The prompt's markup is shown as text, never interpreted (model text is untrusted).
    assert "<b>simply</b>" in visible[0].text
    select.select_by_value("")
    assert all(r.is_displayed() for r in rows)
    select.select_by_value("toxicity/none")
    assert {r.get_attribute("data-eval") for r in rows if r.is_displayed()} == {"toxicity/none"}
    select.select_by_value("")

    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
    browser.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def _axes(browser):
    import json

    from selenium.webdriver.common.by import By

    return {
        f.get_attribute("id"): json.loads(f.get_attribute("data-axes"))
        for f in browser.find_elements(By.CSS_SELECTOR, "figure")
    }


def test_report_reads_at_a_glance(tmp_path, browser):
    """The screenshot a newcomer sees: n on every row, bold only where the CIs do not overlap, no empty
    panel without a "no data" note, every proportion's y axis within [0, 1], and a banner on an unfinished
    run.  The runs are small (n = 12, like the demo's sets), the alignment-tax deltas all 0, the training
    log one step long, and one toxicity rate exactly 0 for one model."""
    from selenium.webdriver.common.by import By

    from alignbench.reports import write_report
    from alignbench.store import Store

    specs = [s for s in SPECS if s[0] != "alignment_tax/squad"]
    specs = [
        (e, m, h, "zero" if (e, m) == ("alignment_tax/hellaswag", "acc_delta") else k, r, lab)
        for e, m, h, k, r, lab in specs
    ]
    make_run(
        tmp_path / "sft",
        seed=0,
        n_items=12,
        candidate="sft",
        candidate_fp="fp-sft2",
        baseline="base",
        baseline_fp="fp-base",
        specs=specs,
        effects={"toxicity/none.toxicity_prob": -1.0},
        one_step_logs=True,
    )
    store = Store(tmp_path / "sft")
    store.conn.execute("UPDATE runs SET status='interrupted'")
    store.close()
    written = write_report([tmp_path / "sft"], tmp_path / "report", formats=("html",))
    browser.get(written["html"].resolve().as_uri())

    banner = browser.find_element(By.CSS_SELECTOR, "p.warning")
    assert "INTERRUPTED" in banner.text and banner.is_displayed()

    rows = browser.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")
    assert rows
    for row in rows:
        n = row.find_element(By.CSS_SELECTOR, "td.n").text
        assert n == "12", (row.get_attribute("data-metric"), n)
        cells = row.find_elements(By.CSS_SELECTOR, "td[data-ci-low]")
        for cell in cells:
            if "best" not in (cell.get_attribute("class") or ""):
                continue
            assert browser.execute_script("return getComputedStyle(arguments[0]).fontWeight", cell) == "700"
            lo, hi = float(cell.get_attribute("data-ci-low")), float(cell.get_attribute("data-ci-high"))
            for other in cells:
                if other != cell:
                    o_lo, o_hi = float(other.get_attribute("data-ci-low")), float(other.get_attribute("data-ci-high"))
                    assert lo > o_hi or hi < o_lo, "bold on a lead inside the runner-up's CI"

    axes = _axes(browser)
    assert {"fig-winrate", "fig-toxicity", "fig-alignment_tax", "fig-training_curves"} <= set(axes)
    for fig, panels in axes.items():
        for panel in panels:
            if panel["marks"] == 0:
                assert panel["note"] and "no" in panel["note"], (fig, panel)
            if panel["range"]:
                lo, hi = panel["ylim"]
                assert panel["range"][0] <= lo < hi <= panel["range"][1], (fig, panel)
    tax = axes["fig-alignment_tax"][0]
    assert "no data" in tax["note"]
    captions = {
        f.get_attribute("id"): f.find_element(By.TAG_NAME, "figcaption").text
        for f in browser.find_elements(By.CSS_SELECTOR, "figure")
    }
    assert "no data" in captions["fig-alignment_tax"] and "only 1 logged step" in captions["fig-training_curves"]
    assert [p["ylim"] for p in axes["fig-winrate"]] == [[0.0, 1.0]]
    # The zero toxicity probability is drawn (a tick and a "0"), so its panel has a mark for every model.
    tox = next(p for p in axes["fig-toxicity"] if p["title"].startswith("toxicity probability"))
    assert tox["marks"] >= 4

    browser.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "glance.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
