"""Writing records: JSONL, CSV (structured fields as JSON cells) or Parquet, chosen by suffix, always atomically
(a `.tmp` file renamed into place), in the shapes `alignbench.data.readers` reads back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from alignbench.data.readers import _base_suffix
from alignbench.data.records import Record
from alignbench.errors import DataError


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
                writer.writerow(
                    {
                        k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                        for k, v in row.items()
                    }
                )
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Objects (`meta`, `inputs`, `references`, `messages`) vary in shape between records; as Parquet
        # structs they would be widened to the union of keys (None-filled), so they are JSON strings, which
        # the reader decodes like CSV cells.  Lists of scalars (`responses`, `ranks`) stay native.
        def cell(value):
            nested = isinstance(value, dict) or (
                isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)
            )
            return json.dumps(value, ensure_ascii=False) if nested else value

        columns = list(dict.fromkeys(k for row in rows for k in row))  # from_pylist takes row 1's keys only
        table = pa.Table.from_pylist([{k: cell(row.get(k)) for k in columns} for row in rows])
        pq.write_table(table, tmp)
    else:
        raise DataError(f"{path}: write .jsonl, .csv or .parquet")
    tmp.replace(path)
    return path
