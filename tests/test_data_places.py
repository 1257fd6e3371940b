"""One spelling for real data sets (`data:NAME`, the old `dataset:NAME[@SPLIT]` accepted with a hint), and
the shared data folder found the same way from any current directory, with every place tried named."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignbench.data.sources import canonical_data_spec, read_records


def test_old_spelling_is_accepted_with_a_hint(shared_data, capsys):
    assert canonical_data_spec("data:hh-rlhf-helpful") == "data:hh-rlhf-helpful"
    assert canonical_data_spec("dataset:hh-rlhf-helpful@test") == "data:hh-rlhf-helpful?split=test"
    assert "write data:hh-rlhf-helpful?split=test" in capsys.readouterr().err
    new = read_records("data:hh-rlhf-helpful?split=test&limit=3", "ranking")
    old = read_records("dataset:hh-rlhf-helpful@test", "ranking", limit=3)
    assert [r.id for r in new] == [r.id for r in old]


def test_training_data_accepts_both_spellings(shared_data):
    from alignbench.training.datasets import load_data

    a, entry_a = load_data("data:hh-rlhf-helpful?split=test&limit=4", "ranking", "train_data")
    b, entry_b = load_data("dataset:hh-rlhf-helpful@test", "ranking", "train_data")
    assert [r.id for r in a] == [r.id for r in b][:4] and entry_a["location"] == entry_b["location"]


def test_shared_data_found_from_the_checkout_not_the_current_folder(tmp_path, monkeypatch):
    from alignbench import config

    checkout = tmp_path / "proj" / "repo"
    (checkout / "alignbench").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    data = tmp_path / "proj" / "shared" / "data"
    (data / "truthfulqa").mkdir(parents=True)
    monkeypatch.delenv("ALIGNBENCH_SHARED_DATA", raising=False)
    monkeypatch.setattr(config, "checkout_root", lambda: checkout)
    for cwd in (checkout, tmp_path, checkout / "alignbench"):
        monkeypatch.chdir(cwd)
        assert config.shared_data_dir() == data.resolve()
    monkeypatch.setenv("ALIGNBENCH_SHARED_DATA", str(tmp_path / "elsewhere"))
    assert [why for _, why in config.shared_data_candidates()] == ["$ALIGNBENCH_SHARED_DATA"]


def test_missing_local_copy_names_every_place_before_the_hub(tmp_path, monkeypatch, capsys):
    from alignbench import config
    from alignbench.data.adapters import ADAPTERS, resolve_source
    from alignbench.errors import DataError

    monkeypatch.delenv("ALIGNBENCH_SHARED_DATA", raising=False)
    checkout = tmp_path / "repo"
    monkeypatch.setattr(config, "checkout_root", lambda: checkout)
    monkeypatch.chdir(tmp_path)
    assert resolve_source(ADAPTERS["truthfulqa"])[0] == "hub"
    err = capsys.readouterr().err
    beside = str((tmp_path / "shared" / "data" / "truthfulqa").resolve())
    from_cwd = str((tmp_path.parent / "shared" / "data" / "truthfulqa").resolve())
    assert "no local copy" in err and beside in err and "beside the checkout" in err
    assert from_cwd in err and "reading the hub copy truthfulqa/truthful_qa" in err
    import re

    pattern = (
        f"tried {re.escape(beside.replace('truthfulqa', 'summedits'))}"
        f".*{re.escape(from_cwd.replace('truthfulqa', 'summedits'))}"
    )
    with pytest.raises(DataError, match=pattern):
        resolve_source(ADAPTERS["summedits"])  # no hub copy: the error itself lists the places
    assert Path(beside).parent != Path(from_cwd).parent
