"""Shared fixtures.  Real data comes from $ALIGNBENCH_SHARED_DATA (default ../shared/data): a
missing folder FAILS the tests that need it rather than skipping them, so CI cannot go green
without the real-data checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    from alignbench.config import shared_data_dir

    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(
            f"shared data folder {path} is missing: set ALIGNBENCH_SHARED_DATA to the folder that holds "
            "truthfulqa/, hh-rlhf/, ... (tests never skip real-data checks)"
        )
    return path


@pytest.fixture(scope="session")
def tiny_model():
    """(model, tokenizer) of the seeded tiny-random Llama, loaded once per session."""
    from alignbench.models import load_model

    return load_model("tiny-random")


@pytest.fixture(scope="session")
def smollm2():
    from alignbench.models import load_model

    return load_model("smollm2-135m")


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def headless_chromium(tmp_path):
    """`start(window="W,H")` -> a Selenium driver of Debian's headless Chromium (scripts/install_test_deps.sh
    installs it; a missing binary FAILS the test), quit at teardown.  Shared by the report and labeling tests."""
    drivers = []

    def start(window: str = "1300,2200"):
        webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the [dev] extra")
        for binary in (CHROMIUM, CHROMEDRIVER):
            if not Path(binary).exists() and not shutil.which(Path(binary).name):
                pytest.fail(f"{binary} is missing: run `bash scripts/install_test_deps.sh` (make test does)")
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--window-size={window}",
            f"--user-data-dir={tmp_path / f'chrome-profile-{len(drivers)}'}",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(60)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
