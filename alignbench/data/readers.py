"""Format readers: turn a file or folder (JSONL, JSON, CSV, Parquet, plain text) or a hub set
`hf:NAME[:CONFIG][@SPLIT]` into raw dict rows tagged with where they came from.  `data:NAME` sources (a real
data set through its adapter) and typed records are `alignbench.data.sources`; writing is `alignbench.data.writers`.

Every row carries its origin (file and 1-based line, or row number for Parquet and hub sets) so
validation errors read `file:line: field: what is wrong`.  Python's csv module reads CSV (it reports
the physical line of each record, which pandas does not), pyarrow reads Parquet, `datasets` reads hub
sets; JSONL and JSON arrays are read by hand because we need the line number of each record.
Undecodable bytes never raise: the row becomes a `DataProblem` naming the field that holds them.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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
        with gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb") as fh:
            yield from enumerate(fh, start=1)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError; a truncated .gz ends in EOFError
        raise DataError(f"{path}: cannot read: {exc}") from exc


def _base_suffix(path: Path) -> str:
    return Path(path.name[:-3]).suffix if path.name.endswith(".gz") else path.suffix


def iter_rows(source: str | Path) -> Iterator[Row]:
    """Raw rows of a source.  Undecodable lines become Row(data=DataProblem) instead of raising,
    so a validator can report every bad line in one pass; a source that cannot be read at all
    (missing, unsupported type, not JSON, corrupt Parquet) raises DataError."""
    text = str(source)
    if text.startswith("hf:"):
        yield from _iter_hf(text)
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
        raise DataError(
            f"{path}: unsupported file type {suffix!r}; use "
            f"{', '.join(TABLE_SUFFIXES + TEXT_SUFFIXES)} (optionally .gz) or hf:NAME[:CONFIG][@SPLIT]"
        )


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
    return DataProblem(
        "(line)", f"not valid UTF-8 (byte 0x{ord(match.group()) - 0xDC00:02x} at column {match.start() + 1})"
    )


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
            raise DataError(
                f"{path}:{lineno}: (file): holds a JSON array, not JSON Lines (one object per line); "
                "rename it to .json to read it as an array"
            )
        seen_content = True
        try:
            value = _loads(text)
        except json.JSONDecodeError as exc:
            problem = (
                _utf8_problem(text)
                if had_bad_bytes
                else DataProblem("(line)", f"not valid JSON: {exc.msg} at column {exc.colno}")
            )
            yield Row(problem, f"{path}:{lineno}")
            continue
        except _Duplicate as exc:
            yield Row(DataProblem("(line)", str(exc)), f"{path}:{lineno}")
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
                yield Row(
                    DataProblem(lone, "holds a lone surrogate escape (\\ud800-\\udfff): not encodable as UTF-8"),
                    f"{path}:{lineno}",
                )
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
            data = _loads(text)
        except _Duplicate as exc:
            raise DataError(f"{path}: {exc}") from None
        except RecursionError as exc:
            raise DataError(f"{path}: JSON nested too deeply") from exc
        except json.JSONDecodeError as exc:
            hint = " (JSON Lines? name the file .jsonl)" if "Extra data" in exc.msg else ""
            raise DataError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}{hint}") from exc
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            for i, rec in enumerate(data["data"]):
                yield Row(rec, f"{path}:row {i + 1}")
            return
        raise DataError(f'{path}: expected a JSON array of records (or {{"data": [...]}})')
    # Hand-rolled walk over the top-level array with raw_decode, because json.load does not tell
    # where each element starts and users need `file:line` for a bad record.
    decoder = _STRICT_JSON
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
        except _Duplicate as exc:
            yield Row(DataProblem("(record)", str(exc)), f"{path}:{line}")
            _, pos = json.JSONDecoder().raw_decode(text, pos)  # skip the record, keep reading the array
            expect_value = False
            continue
        yield Row(value, f"{path}:{line}")
        expect_value = False
    if text[pos + 1 :].strip():
        raise DataError(f"{path}:{text.count(chr(10), 0, pos) + 1}: not valid JSON: text after the closing ']'")


# Cells of 20 MB are legal data (a long document); the csv module's default cap is 128 KiB.
csv.field_size_limit(2**31 - 1)


class _Duplicate(ValueError):
    """A JSON object names one key twice (json keeps the last value silently)."""


def _no_duplicates(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _Duplicate(f"duplicate key {key!r} (JSON keeps only the last value; give each key once)")
    return out


_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_no_duplicates)


def _loads(text: str):
    """json.loads that rejects duplicate keys (raises _Duplicate)."""
    return _STRICT_JSON.decode(text)


class _CellError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(message)


def _iter_csv(path: Path) -> Iterator[Row]:
    """Streamed (a --limit reads only the rows it needs) and strict: a quote that is opened and never closed
    is an error at the line it opens, not one huge cell that swallows the rest of the file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        fh = opener(path, "rt", encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    start = 1
    with fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            bad = next((c for c in header if _is_bad(c)), None)
            if bad is not None:
                raise DataError(f"{path}:1: (header): not valid UTF-8")
            dupes = sorted({c for c in header if header.count(c) > 1})
            if dupes:
                raise DataError(
                    f"{path}:1: (header): column {dupes[0]!r} appears {header.count(dupes[0])} times; "
                    "give each column once"
                )
            if any("\x00" in c for c in header):
                raise DataError(f"{path}:1: (header): holds a NUL character")
            start = reader.line_num + 1
            for cells in reader:
                origin = f"{path}:{reader.line_num}"  # the physical line where this record ended (multi-line cells)
                start = reader.line_num + 1
                if not cells:
                    continue
                if len(cells) > len(header):
                    yield Row(
                        DataProblem("(line)", f"{len(cells) - len(header)} more cell(s) than the header has columns"),
                        origin,
                    )
                    continue
                rec = dict(zip(header, cells))
                bad = next((k for k, v in rec.items() if v and _is_bad(v)), None)
                if bad is not None:
                    yield Row(DataProblem(bad, "not valid UTF-8"), origin)
                    continue
                nul = next((k for k, v in rec.items() if "\x00" in v), None)
                if nul is not None:
                    yield Row(DataProblem(nul, "holds a NUL character (binary data?)"), origin)
                    continue
                try:
                    row = {k: _structured_value(k, v) for k, v in rec.items() if v != ""}
                except _CellError as exc:
                    yield Row(DataProblem(exc.field, exc.message), origin)
                    continue
                yield Row(row, origin)
        except csv.Error as exc:
            hint = (
                f" (a quote opened in the record starting at line {start} is never closed?)"
                if "end of data" in str(exc)
                else ""
            )
            raise DataError(f"{path}:{start}: not valid CSV: {exc}{hint}") from None
        except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
            raise DataError(f"{path}: cannot read: {exc}") from None


def _structured_value(key: str, value: str):
    """CSV cells (and Parquet strings) of structured columns (`responses`, `ranks`, `meta` ...) hold JSON:
    decode them (a cell that is not JSON stays a string; record validation then names the field)."""
    if key in STRUCTURED_FIELDS and value[:1] in "[{":
        try:
            return _loads(value)
        except json.JSONDecodeError:
            return value
        except _Duplicate as exc:
            raise _CellError(key, str(exc)) from None
        except RecursionError:
            raise _CellError(key, "JSON nested too deeply") from None
    return value


def _iter_parquet(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError ...: the user needs the file and why
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
    # to_pylist gives plain lists/dicts/None (pandas would give numpy arrays and NaN)
    for i, rec in enumerate(table.to_pylist()):
        try:
            row = {k: _structured_value(k, v) if isinstance(v, str) else v for k, v in rec.items() if v is not None}
        except _CellError as exc:
            yield Row(DataProblem(exc.field, exc.message), f"{path}:row {i + 1}")
            continue
        yield Row(row, f"{path}:row {i + 1}")


def _iter_text(path: Path) -> Iterator[Row]:
    for lineno, raw in _iter_lines(path):
        text = _decode(raw)[0].rstrip("\r\n")
        if not text.strip():
            continue
        if "\x00" in text:
            yield Row(DataProblem("(line)", "holds a NUL character (binary data?)"), f"{path}:{lineno}")
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
