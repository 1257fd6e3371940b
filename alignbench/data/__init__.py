"""Typed records, readers for files and hub sets, adapters for the real data sets, validation.

Adapters: `from alignbench.data.adapters import load_dataset_items`; validation:
`from alignbench.data.validate import validate_source`."""

from alignbench.data.readers import iter_rows, parse_hf_spec
from alignbench.data.records import (
    Demonstration,
    EvalItem,
    PretrainText,
    Prompt,
    Ranking,
    Record,
    RecordError,
    parse_record,
)
from alignbench.data.sources import fingerprint_source, iter_source_rows, read_records
from alignbench.data.writers import write_jsonl, write_records

__all__ = [
    "Demonstration",
    "EvalItem",
    "PretrainText",
    "Prompt",
    "Ranking",
    "Record",
    "RecordError",
    "fingerprint_source",
    "iter_rows",
    "iter_source_rows",
    "parse_hf_spec",
    "parse_record",
    "read_records",
    "write_jsonl",
    "write_records",
]
