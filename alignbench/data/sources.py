"""Data sources: the strings recipes, suites and the CLI use to name data, and reading typed records from them.

A source is a file or folder (read by `alignbench.data.readers`), `hf:ORG/NAME[:CONFIG][@SPLIT]` (a hub set), or
`data:NAME[?subset=..&split=..&version=..&source=..&limit=N]`: the records of one of the real-data adapters
(`alignbench.data.adapters`).  This module sits above both, so the format readers never import the adapters that
are built on them.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qsl

from alignbench.data.adapters import get_adapter, iter_dataset_items, prompts_of, resolve_source
from alignbench.data.readers import DataProblem, Row, iter_rows
from alignbench.data.records import Record, RecordError, parse_record
from alignbench.errors import DataError

DATASET_PREFIX = "data:"
OLD_DATASET_PREFIX = "dataset:"  # the training docs' old spelling, `dataset:NAME[@SPLIT]`: accepted with a hint
_hinted: set[str] = set()
_DATASET_CHOICES = ("subset", "split", "version", "source", "limit")


def canonical_data_spec(spec: str) -> str:
    """`dataset:NAME[@SPLIT]` (old spelling) -> `data:NAME[?split=SPLIT]`, saying so once on stderr; any
    other spec unchanged.  One spelling, `data:`, is documented everywhere."""
    text = str(spec)
    if not text.startswith(OLD_DATASET_PREFIX):
        return text
    name, _, split = text[len(OLD_DATASET_PREFIX) :].partition("@")
    new = DATASET_PREFIX + name + (f"?split={split}" if split else "")
    if text not in _hinted:
        _hinted.add(text)
        print(f"alignbench: hint: {text} is the old spelling; write {new}", file=sys.stderr)
    return new


def parse_dataset_spec(spec: str) -> tuple[str, dict]:
    """`data:NAME[?subset=..&split=..&version=..&source=..&limit=N]` -> (adapter name, choices)."""
    body = spec[len(DATASET_PREFIX) :]
    name, _, query = body.partition("?")
    choices: dict = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key not in _DATASET_CHOICES:
            raise DataError(f"{spec}: unknown option {key!r}; use {', '.join(_DATASET_CHOICES)}")
        choices[key] = value
    if "limit" in choices:
        if not choices["limit"].isdigit():
            raise DataError(f"{spec}: limit must be a whole number, got {choices['limit']!r}")
        choices["limit"] = int(choices["limit"])
    if not name:
        raise DataError(f"{spec}: expected data:NAME[?subset=..&split=..&version=..&limit=N]")
    return name, choices


def iter_dataset_rows(spec: str, kind: str | None = None) -> Iterator[Row]:
    """Rows of an adapter's records (already valid for the adapter's kind); `kind="prompt"` maps any
    adapter's records to prompts (HH-RLHF prompts for PPO, TruthfulQA questions ...)."""
    name, choices = parse_dataset_spec(spec)
    adapter_kind = get_adapter(name).kind
    records = iter_dataset_items(name, **choices)
    if kind == "prompt" and adapter_kind != "prompt":
        records = prompts_of(records)
    elif kind is not None and kind != adapter_kind:
        raise DataError(f"{spec}: {name} holds {adapter_kind} records, not {kind} records")
    for record in records:
        yield Row(record.to_dict(), f"{spec}: {record.id}")


def iter_source_rows(source: str | Path) -> Iterator[Row]:
    """Raw rows of any source: a `data:` spec through its adapter, anything else through the format readers."""
    text = canonical_data_spec(str(source))
    if text.startswith(DATASET_PREFIX):
        return iter_dataset_rows(text)
    return iter_rows(source)


def read_records(source: str | Path, kind: str, limit: int | None = None) -> list[Record]:
    """Typed records of one kind from a source; raises DataError listing every bad row."""
    records: list[Record] = []
    problems: list[str] = []
    text = canonical_data_spec(str(source))
    rows = iter_dataset_rows(text, kind) if text.startswith(DATASET_PREFIX) else iter_rows(source)
    for row in rows:
        if isinstance(row.data, DataProblem):
            problems.append(f"{row.origin}: {row.data.field}: {row.data.message}")
            continue
        try:
            records.append(parse_record(kind, row.data))
        except RecordError as exc:
            problems.extend(f"{row.origin}: {f}: {m}" for f, m in exc.problems)
        if limit is not None and len(records) >= limit and not problems:
            break
    if problems:
        raise DataError(f"{source}: {len(problems)} problem(s) in {kind} records", problems)
    return records


def iter_records(source: str | Path, kind: str) -> Iterator[Record]:
    """Typed records of one kind, streamed: a consumer that stops after N records (`eval --limit N`) reads
    only the rows those need, so a bad line 10,001 does not fail a run that uses 2 rows and a 200 MB file
    is not parsed whole.  A bad row raises DataError naming its file, line and field when it is reached
    (use read_records or `alignbench data validate` to list every problem of a file)."""
    text = canonical_data_spec(str(source))
    rows = iter_dataset_rows(text, kind) if text.startswith(DATASET_PREFIX) else iter_rows(source)
    for row in rows:
        if isinstance(row.data, DataProblem):
            raise DataError(f"{source}: bad {kind} record", [f"{row.origin}: {row.data.field}: {row.data.message}"])
        try:
            yield parse_record(kind, row.data)
        except RecordError as exc:
            raise DataError(
                f"{source}: bad {kind} record", [f"{row.origin}: {f}: {m}" for f, m in exc.problems]
            ) from None


def fingerprint_source(source: str | Path) -> str:
    """Dataset fingerprint: sha256 of the file bytes (or of every file in a folder, or the hub spec)."""
    text = canonical_data_spec(str(source))
    digest = hashlib.sha256()
    if text.startswith("hf:"):
        digest.update(text.encode())
    elif text.startswith(DATASET_PREFIX):  # the spec (choices) plus the data it resolves to
        name, choices = parse_dataset_spec(text)
        where, location = resolve_source(get_adapter(name), choices.get("source"))
        digest.update(text.encode())
        digest.update((fingerprint_source(location) if where == "local" else f"hf:{location}").encode())
    else:
        path = Path(source)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            with open(file, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]
