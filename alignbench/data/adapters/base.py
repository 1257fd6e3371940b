"""What every data-set adapter is: a name, the record kind it yields, where its data lives (a folder
under the shared data dir, or a Hugging Face hub id), and two readers that turn the real files or the
hub rows into typed records.

An adapter never yields a record that its own kind's validation would reject: rows that cannot make a
valid record (e.g. an HH-RLHF pair whose two replies are identical) are counted in a `LoadReport`
with the reason, so a caller can both trust the records and account for every source row.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from alignbench.data.readers import DataProblem, iter_rows
from alignbench.errors import DataError


@dataclass
class LoadReport:
    """Accounting of one load: source rows read, records made, rows skipped (by reason)."""

    source: str = ""
    rows: int = 0
    records: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def summary(self) -> str:
        text = f"{self.source}: {self.rows} rows -> {self.records} records"
        if self.skipped:
            text += " (skipped: " + ", ".join(f"{n} {why}" for why, n in self.skipped.most_common()) + ")"
        return text


@dataclass(frozen=True)
class Adapter:
    """One real data set.

    read_local(path, split, subset, version, report) -> records, where `path` is the data-set folder
      (same layout as `shared_data_dir()/<folder>`) or one of its files.
    read_hub(split, subset, version, report) -> records, via `datasets.load_dataset(hub_id, ...)`.
    """

    name: str
    kind: str  # record kind of what it yields: "ranking" | "eval" | "prompt" | ...
    description: str
    folder: str  # under shared_data_dir()
    hub_id: str | None
    read_local: Callable[..., Iterator]
    read_hub: Callable[..., Iterator] | None = None
    subsets: tuple[str, ...] = ()  # None/omitted = all of them
    splits: tuple[str, ...] = ()
    default_split: str | None = None
    versions: tuple[str, ...] = ()
    default_version: str | None = None
    notes: str = ""

    def check_choice(self, what: str, value: str | None, allowed: tuple[str, ...]) -> None:
        if value is not None and allowed and value not in allowed:
            raise DataError(f"{self.name}: unknown {what} {value!r}; choose from {', '.join(allowed)}")
        if value is not None and not allowed:
            raise DataError(f"{self.name}: has no {what}s (got {what}={value!r})")


# ---- helpers the adapters share -------------------------------------------------------------------


def jsonl_rows(path: Path) -> Iterator[tuple[dict, str]]:
    """(row, origin) of a JSONL (or .jsonl.gz) file; a bad line is a DataError naming file and line."""
    for row in iter_rows(path):
        if isinstance(row.data, DataProblem):
            raise DataError(f"{row.origin}: {row.data.field}: {row.data.message}")
        if not isinstance(row.data, dict):
            raise DataError(f"{row.origin}: (record): must be a JSON object, got {type(row.data).__name__}")
        yield row.data, row.origin


def json_document(path: Path):
    """A whole JSON (or .json.gz) file."""
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            return json.load(fh)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc


def need(row: dict, key: str, origin: str, types: type | tuple = str):
    """row[key], or a DataError `origin: key: missing / wrong type` (real files should never hit this)."""
    if key not in row or row[key] is None:
        raise DataError(f"{origin}: {key}: missing")
    value = row[key]
    if not isinstance(value, types):
        names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise DataError(f"{origin}: {key}: must be {names}, got {type(value).__name__}")
    return value


def pick_files(path: Path, pattern: str, adapter: str) -> list[Path]:
    """Files matching `pattern` in a folder, or [path] when `path` is already a file."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{adapter}: {path}: no such file or folder")
    files = sorted(path.glob(pattern))
    if not files:
        raise DataError(f"{adapter}: {path}: no file matching {pattern!r} (source='hf' reads the hub copy)")
    return files


def hub_dataset(hub_id: str, config: str | None = None, split: str = "train", **kwargs):
    """`datasets.load_dataset` with the failure turned into one clear line (offline, unknown id ...)."""
    from datasets import load_dataset

    try:
        return load_dataset(hub_id, config, split=split, **kwargs)
    except Exception as exc:  # datasets raises many types; the user needs the id and the reason
        where = hub_id + (f":{config}" if config else "") + f"@{split}"
        raise DataError(f"hf:{where}: could not load from the Hugging Face hub: {exc}") from exc
