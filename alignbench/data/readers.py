"""Readers: turn a source (JSONL, JSON, CSV, Parquet, plain text, a folder of those,
`hf:NAME[:CONFIG][@SPLIT]`, or `data:NAME[?subset=..]` -- a real data set through its adapter) into raw dict rows tagged with where they came from, then into typed records.

Every row carries its origin (file and 1-based line, or row number for Parquet and hub sets) so
validation errors read `file:line: field: what is wrong`.  Python's csv module reads CSV (it reports
the physical line of each record, which pandas does not), pyarrow reads Parquet, `datasets` reads hub
sets; JSONL and JSON arrays are read by hand because we need the line number of each record.
Undecodable bytes never raise: the row becomes a `DataProblem` naming the field that holds them.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from alignbench.data.records import Record, RecordError, parse_record
from alignbench.errors import DataError

TABLE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
TEXT_SUFFIXES = (".txt",)  # read only when named explicitly: one PretrainText-style {"text": line} per line
# CSV cells of these columns hold JSON (lists/objects); other cells stay strings even if they look like JSON.
STRUCTURED_FIELDS = frozenset({"responses", "ranks", "messages", "inputs", "references", "meta"})


@dataclass
class Row:
    data: object
    origin: str  # "path:line" (JSONL, JSON arrays, CSV, text), "path:row N" (Parquet), "hf:NAME@SPLIT:row N"


@dataclass
class DataProblem:
    field: str
    message: str


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return gzip.decompress(data) if path.name.endswith(".gz") else data
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read: {exc}") from exc


def _iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw bytes) of a text file, streamed (corpora can be larger than memory)."""
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as fh:
            yield from enumerate(fh, start=1)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError; a truncated .gz ends in EOFError
        raise DataError(f"{path}: cannot read: {exc}") from exc


def _base_suffix(path: Path) -> str:
    return Path(path.name[:-3]).suffix if path.name.endswith(".gz") else path.suffix


def iter_rows(source: str | Path) -> Iterator[Row]:
    """Raw rows of a source.  Undecodable lines become Row(data=DataProblem) instead of raising,
    so a validator can report every bad line in one pass; a source that cannot be read at all
    (missing, unsupported type, not JSON, corrupt Parquet) raises DataError."""
    text = canonical_data_spec(str(source))
    if text.startswith("hf:"):
        yield from _iter_hf(text)
        return
    if text.startswith(DATASET_PREFIX):
        yield from _iter_dataset(text)
        return
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _base_suffix(p) in TABLE_SUFFIXES)
        if not files:
            raise DataError(f"{path}: folder holds no {', '.join(TABLE_SUFFIXES)} files")
        for file in files:
            yield from iter_rows(file)
        return
    suffix = _base_suffix(path)
    if suffix == ".jsonl":
        yield from _iter_jsonl(path)
    elif suffix == ".json":
        yield from _iter_json(path)
    elif suffix == ".csv":
        yield from _iter_csv(path)
    elif suffix == ".parquet":
        yield from _iter_parquet(path)
    elif suffix in TEXT_SUFFIXES:
        yield from _iter_text(path)
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use "
                        f"{', '.join(TABLE_SUFFIXES + TEXT_SUFFIXES)} (optionally .gz) or hf:NAME[:CONFIG][@SPLIT]")


# ---- undecodable bytes ----------------------------------------------------------------------------
# Text is decoded with errors="surrogateescape": a bad byte becomes a lone surrogate U+DC80..U+DCFF,
# so the rest of the file still parses and we can say which field holds the bad byte.

_SURROGATE = re.compile("[\udc80-\udcff]")


def _is_bad(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _decode(data: bytes) -> tuple[str, bool]:
    """(text, had_bad_bytes): strict UTF-8 first (fast path), else with surrogateescape."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="surrogateescape"), True


def _bad_field(value, path: str = "") -> str | None:
    """Dotted path of the first string in `value` holding an undecodable byte."""
    if isinstance(value, str):
        return path or "(line)" if _is_bad(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _is_bad(key):
                return sub
            found = _bad_field(item, sub)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _bad_field(item, f"{path}[{i}]")
            if found:
                return found
    return None


_ANY_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate_field(value, path: str = "") -> str | None:
    """Dotted path of the first string holding a surrogate code point (from a \\udXXX escape)."""
    if isinstance(value, str):
        return (path or "(line)") if _ANY_SURROGATE.search(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        sub = (f"{path}.{key}" if path else str(key)) if isinstance(value, dict) else f"{path}[{key}]"
        found = _lone_surrogate_field(item, sub)
        if found:
            return found
    return None


def _utf8_problem(text: str) -> DataProblem:
    match = _SURROGATE.search(text)
    return DataProblem("(line)", f"not valid UTF-8 (byte 0x{ord(match.group()) - 0xDC00:02x} at column {match.start() + 1})")


# ---- formats --------------------------------------------------------------------------------------

def _iter_jsonl(path: Path) -> Iterator[Row]:
    seen_content = False
    for lineno, raw in _iter_lines(path):
        text, had_bad_bytes = _decode(raw.rstrip(b"\r\n"))
        if lineno == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        if not seen_content and text.lstrip()[:1] == "[":
            raise DataError(f"{path}:{lineno}: (file): holds a JSON array, not JSON Lines (one object per line); "
                            "rename it to .json to read it as an array")
        seen_content = True
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = _utf8_problem(text) if had_bad_bytes else DataProblem(
                "(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
            yield Row(problem, f"{path}:{lineno}")
            continue
        except RecursionError:
            yield Row(DataProblem("(line)", "JSON nested too deeply"), f"{path}:{lineno}")
            continue
        bad = _bad_field(value) if had_bad_bytes else None
        if bad:
            yield Row(DataProblem(bad, _utf8_problem(text).message), f"{path}:{lineno}")
            continue
        if "\\ud" in text.lower():  # a JSON escape may spell a lone surrogate, which no UTF-8 writer accepts
            lone = _lone_surrogate_field(value)
            if lone:
                yield Row(DataProblem(lone, "holds a lone surrogate escape (\\ud800-\\udfff): not encodable as UTF-8"),
                          f"{path}:{lineno}")
                continue
        yield Row(value, f"{path}:{lineno}")


def _iter_json(path: Path) -> Iterator[Row]:
    """A JSON array of records (or {"data": [...]}); each record's origin is the line it starts on."""
    text, had_bad_bytes = _decode(_read_bytes(path))
    text = text.removeprefix("\ufeff")
    if had_bad_bytes:
        line = text.count("\n", 0, _SURROGATE.search(text).start()) + 1
        raise DataError(f"{path}:{line}: not valid UTF-8")
    stripped = text.lstrip()
    if stripped[:1] != "[":
        try:
            data = json.loads(text)
        except RecursionError as exc:
            raise DataError(f"{path}: JSON nested too deeply") from exc
        except json.JSONDecodeError as exc:
            hint = " (JSON Lines? name the file .jsonl)" if "Extra data" in exc.msg else ""
            raise DataError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}{hint}") from exc
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            for i, rec in enumerate(data["data"]):
                yield Row(rec, f"{path}:row {i + 1}")
            return
        raise DataError(f"{path}: expected a JSON array of records (or {{\"data\": [...]}})")
    # Hand-rolled walk over the top-level array with raw_decode, because json.load does not tell
    # where each element starts and users need `file:line` for a bad record.
    decoder = json.JSONDecoder()
    pos = len(text) - len(stripped) + 1
    expect_value = True
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            raise DataError(f"{path}:{text.count(chr(10)) + 1}: not valid JSON: the array is not closed")
        if text[pos] == "]":
            break
        if not expect_value:
            if text[pos] != ",":
                raise DataError(f"{path}:{text.count(chr(10), 0, pos) + 1}: not valid JSON: expected ',' or ']'")
            pos += 1
            expect_value = True
            continue
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        except RecursionError as exc:
            raise DataError(f"{path}:{line}: JSON nested too deeply") from exc
        yield Row(value, f"{path}:{line}")
        expect_value = False
    if text[pos + 1:].strip():
        raise DataError(f"{path}:{text.count(chr(10), 0, pos) + 1}: not valid JSON: text after the closing ']'")


def _iter_csv(path: Path) -> Iterator[Row]:
    import io

    text, had_bad_bytes = _decode(_read_bytes(path))
    text = text.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for rec in reader:
            # reader.line_num is the physical line where this record ended (multi-line cells)
            origin = f"{path}:{reader.line_num}"
            if None in rec:
                yield Row(DataProblem("(line)", f"{len(rec[None])} more cell(s) than the header has columns"), origin)
                continue
            bad = next((k for k, v in rec.items() if (v and _is_bad(v)) or _is_bad(k)), None) if had_bad_bytes else None
            if bad is not None:
                yield Row(DataProblem(bad.encode("utf-8", "replace").decode() if _is_bad(bad) else bad,
                                      "not valid UTF-8"), origin)
                continue
            yield Row({k: _structured_value(k, v) for k, v in rec.items() if v not in (None, "")}, origin)
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from exc


def _structured_value(key: str, value: str):
    """CSV cells (and Parquet strings) of structured columns (`responses`, `ranks`, `meta` ...) hold JSON: decode them."""
    if key in STRUCTURED_FIELDS and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _iter_parquet(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError ...: the user needs the file and why
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
    # to_pylist gives plain lists/dicts/None (pandas would give numpy arrays and NaN)
    for i, rec in enumerate(table.to_pylist()):
        yield Row({k: _structured_value(k, v) if isinstance(v, str) else v for k, v in rec.items() if v is not None},
                  f"{path}:row {i + 1}")


def _iter_text(path: Path) -> Iterator[Row]:
    for lineno, raw in _iter_lines(path):
        text = _decode(raw)[0].rstrip("\r\n")
        if not text.strip():
            continue
        yield Row(_utf8_problem(text) if _is_bad(text) else {"text": text}, f"{path}:{lineno}")


def parse_hf_spec(spec: str) -> tuple[str, str | None, str]:
    """`hf:NAME[:CONFIG][@SPLIT]` -> (name, config or None, split, default "train")."""
    if not spec.startswith("hf:"):
        raise DataError(f"{spec}: a hub source starts with 'hf:' (hf:NAME[:CONFIG][@SPLIT])")
    body, _, split = spec[3:].partition("@")
    name, _, config = body.partition(":")
    if not name or "@" in split or (spec[3:].count("@") and not split):
        raise DataError(f"{spec}: expected hf:NAME[:CONFIG][@SPLIT], e.g. hf:Anthropic/hh-rlhf@test")
    return name, config or None, split or "train"


def _iter_hf(spec: str) -> Iterator[Row]:
    """`hf:NAME[:CONFIG][@SPLIT]`, e.g. hf:Anthropic/hh-rlhf@test.  Needs hub access (or a local HF cache)."""
    name, config, split = parse_hf_spec(spec)
    from datasets import load_dataset

    try:
        ds = load_dataset(name, config, split=split)
    except Exception as exc:  # datasets raises many types; the user needs the spec and the reason
        raise DataError(f"{spec}: could not load from the Hugging Face hub: {exc}") from exc
    for i, rec in enumerate(ds):
        yield Row(rec, f"{spec}:row {i + 1}")


# ---- data:NAME — a real data set through its adapter, wherever a file is accepted ------------------
DATASET_PREFIX = "data:"
OLD_DATASET_PREFIX = "dataset:"   # the training docs' old spelling, `dataset:NAME[@SPLIT]`: accepted with a hint
_DATASET_CHOICES = ("subset", "split", "version", "source", "limit")
_hinted: set[str] = set()


def canonical_data_spec(spec: str) -> str:
    """`dataset:NAME[@SPLIT]` (old spelling) -> `data:NAME[?split=SPLIT]`, saying so once on stderr; any
    other spec unchanged.  One spelling, `data:`, is documented everywhere."""
    text = str(spec)
    if not text.startswith(OLD_DATASET_PREFIX):
        return text
    name, _, split = text[len(OLD_DATASET_PREFIX):].partition("@")
    new = DATASET_PREFIX + name + (f"?split={split}" if split else "")
    if text not in _hinted:
        _hinted.add(text)
        import sys

        print(f"alignbench: hint: {text} is the old spelling; write {new}", file=sys.stderr)
    return new


def parse_dataset_spec(spec: str) -> tuple[str, dict]:
    """`data:NAME[?subset=..&split=..&version=..&source=..&limit=N]` -> (adapter name, choices)."""
    from urllib.parse import parse_qsl

    body = spec[len(DATASET_PREFIX):]
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


def _iter_dataset(spec: str, kind: str | None = None) -> Iterator[Row]:
    """Rows of an adapter's records (already valid for the adapter's kind); `kind="prompt"` maps any
    adapter's records to prompts (HH-RLHF prompts for PPO, TruthfulQA questions ...)."""
    from alignbench.data.adapters import get_adapter, iter_dataset_items, prompts_of

    name, choices = parse_dataset_spec(spec)
    adapter_kind = get_adapter(name).kind
    records = iter_dataset_items(name, **choices)
    if kind == "prompt" and adapter_kind != "prompt":
        records = prompts_of(records)
    elif kind is not None and kind != adapter_kind:
        raise DataError(f"{spec}: {name} holds {adapter_kind} records, not {kind} records")
    for record in records:
        yield Row(record.to_dict(), f"{spec}: {record.id}")


def read_records(source: str | Path, kind: str, limit: int | None = None) -> list[Record]:
    """Typed records of one kind from a source; raises DataError listing every bad row."""
    records: list[Record] = []
    problems: list[str] = []
    text = canonical_data_spec(str(source))
    rows = _iter_dataset(text, kind) if text.startswith(DATASET_PREFIX) else iter_rows(source)
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


def fingerprint_source(source: str | Path) -> str:
    """Dataset fingerprint: sha256 of the file bytes (or of every file in a folder, or the hub spec)."""
    text = canonical_data_spec(str(source))
    digest = hashlib.sha256()
    if text.startswith("hf:"):
        digest.update(text.encode())
    elif text.startswith(DATASET_PREFIX):  # the spec (choices) plus the data it resolves to
        from alignbench.data.adapters import get_adapter, resolve_source

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


def _plain(rec) -> dict:
    return rec.to_dict() if isinstance(rec, Record) else dict(rec)


def write_jsonl(path: str | Path, records) -> Path:
    """Write records (Record objects or dicts) as JSONL, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(_plain(rec), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def write_records(path: str | Path, records) -> Path:
    """Write records as JSONL, CSV (structured fields as JSON cells) or Parquet, by suffix; atomically."""
    path = Path(path)
    suffix = _base_suffix(path)
    if suffix == ".jsonl" and not path.name.endswith(".gz"):
        return write_jsonl(path, records)
    rows = [_plain(r) for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if suffix == ".csv" and not path.name.endswith(".gz"):
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                                 for k, v in row.items()})
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Objects (`meta`, `inputs`, `references`, `messages`) vary in shape between records; as Parquet
        # structs they would be widened to the union of keys (None-filled), so they are JSON strings, which
        # the reader decodes like CSV cells.  Lists of scalars (`responses`, `ranks`) stay native.
        def cell(value):
            nested = isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value))
            return json.dumps(value, ensure_ascii=False) if nested else value

        columns = list(dict.fromkeys(k for row in rows for k in row))  # from_pylist takes row 1's keys only
        table = pa.Table.from_pylist([{k: cell(row.get(k)) for k in columns} for row in rows])
        pq.write_table(table, tmp)
    else:
        raise DataError(f"{path}: write .jsonl, .csv or .parquet")
    tmp.replace(path)
    return path
