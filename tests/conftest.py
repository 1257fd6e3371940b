"""Shared fixtures.  Real data comes from $ALIGNBENCH_SHARED_DATA (default ../shared/data): a
missing folder FAILS the tests that need it rather than skipping them, so CI cannot go green
without the real-data checks."""

from __future__ import annotations

import os
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
