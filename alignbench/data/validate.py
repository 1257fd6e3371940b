"""Validate a data file against a record kind and report EVERY problem as `file:line: field: message`.

    result = validate_source("rankings.jsonl", "ranking")
    result.ok, result.n_rows, result.n_valid, [str(p) for p in result.problems]

Checks: everything `records.py` checks per record (missing / empty / wrong-typed fields, K outside
2..9, ranks that are not a competition ranking, ...), plus what only a whole file shows: undecodable
bytes and bad JSON per line, duplicate ids, and a hint when a missing field looks like a misspelt
one.  A source that cannot be read at all (missing file, unsupported type, a JSON array named .jsonl,
corrupt Parquet) raises DataError; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path

from alignbench.data.readers import DataProblem
from alignbench.data.records import RECORD_KINDS, RecordError, parse_record
from alignbench.data.sources import iter_source_rows
from alignbench.errors import DataError


@dataclass
class Problem:
    origin: str  # "file:line" (or "file:row N" for Parquet)
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.field}: {self.message}"


@dataclass
class ValidationResult:
    source: str
    kind: str
    n_rows: int = 0
    n_valid: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def n_bad_rows(self) -> int:
        return len({p.origin for p in self.problems})

    def summary(self) -> str:
        if self.n_rows == 0:
            return f"{self.source}: holds no records"
        if self.ok:
            return f"{self.source}: {self.n_rows} {self.kind} records, all valid"
        return (
            f"{self.source}: {len(self.problems)} problem(s) in {self.n_bad_rows} of {self.n_rows} rows "
            f"({self.n_valid} valid {self.kind} records)"
        )


def _field_names(kind: str) -> list[str]:
    return [f.name for f in fields(RECORD_KINDS[kind])]


def _hint(kind: str, field_name: str, message: str, row: dict) -> str:
    """'missing' -> 'missing (found 'respones': misspelt?)' when an unknown key is close to the field."""
    if not message.startswith("missing"):
        return message
    known = set(_field_names(kind))
    unknown = [k for k in row if isinstance(k, str) and k not in known]
    close = difflib.get_close_matches(field_name, unknown, n=1, cutoff=0.75)
    return f"{message} (found {close[0]!r}: misspelt?)" if close else message


def validate_source(source: str | Path, kind: str, max_problems: int | None = None) -> ValidationResult:
    """Check every row of `source` as a `kind` record; stop collecting after `max_problems` (None = all)."""
    if kind not in RECORD_KINDS:
        raise DataError(f"unknown record kind {kind!r}; choose from {', '.join(RECORD_KINDS)}")
    result = ValidationResult(str(source), kind)
    seen_ids: dict[str, str] = {}
    for row in iter_source_rows(source):
        result.n_rows += 1
        if isinstance(row.data, DataProblem):
            result.problems.append(Problem(row.origin, row.data.field, row.data.message))
        else:
            try:
                record = parse_record(kind, row.data)
            except RecordError as exc:
                data = row.data if isinstance(row.data, dict) else {}
                result.problems.extend(Problem(row.origin, f, _hint(kind, f, m, data)) for f, m in exc.problems)
            else:
                record_id = getattr(record, "id", None)
                if record_id is not None and record_id in seen_ids:
                    result.problems.append(
                        Problem(row.origin, "id", f"duplicate id {record_id!r} (first at {seen_ids[record_id]})")
                    )
                else:
                    if record_id is not None:
                        seen_ids[record_id] = row.origin
                    result.n_valid += 1
        if max_problems is not None and len(result.problems) >= max_problems:
            break
    if result.n_rows == 0:
        result.problems.append(Problem(f"{source}", "(file)", "holds no records"))
    return result
