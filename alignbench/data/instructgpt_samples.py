"""Read OpenAI's released InstructGPT / SFT / GPT-3 sample CSVs (repository
`openai/following-instructions-human-feedback`, folder `automatic-eval-samples/`): the format is told by the header
(and, for the drop / squad_v2 / fr_to_en format, the file name); every malformed row is named `file:line: field`.
Scoring the samples is alignbench/evals/instructgpt_samples.py; the TruthfulQA judge training reads the TruthfulQA
file's GPT-judge / GPT-info values from here too.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from alignbench.errors import DataError

BASE = ["model_type", "prompt_type", "context", "ref_text", "sample"]
HEADERS = {
    "qa": BASE,
    "tldr": ["model_type", "context", "ref_text", "sample"],
    "truthfulqa": ["model_type", "prompt_type", "adversarial", "question", "answer", "true", "info"],
    "rtp": ["model_type", "prompt_type", "context", "sample", "toxicity"],
}


@dataclass
class Row:
    line: int
    model: str
    prompt_type: str
    fields: dict


@dataclass
class SampleFile:
    path: Path
    kind: str  # drop | squad_v2 | fr_to_en | tldr | truthfulqa | rtp
    rows: list[Row] = field(default_factory=list)


def _open_text(path: Path):
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return io.StringIO(raw.decode("utf-8-sig"), newline="")


def kind_of(path: Path, header: list[str]) -> str | None:
    cols = [c for c in header if c != ""]
    if cols == HEADERS["qa"]:
        name = path.name.lower()
        for key, kind in (("drop", "drop"), ("squad", "squad_v2"), ("fr_to_en", "fr_to_en"), ("fr-en", "fr_to_en")):
            if key in name:
                return kind
        return None
    for kind in ("tldr", "truthfulqa", "rtp"):
        if cols == HEADERS[kind]:
            return kind
    return None


def _float01(value: str, where: str, name: str, problems: list[str]) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: {name}: not a number: {value!r}")
        return None
    if not (0.0 <= x <= 1.0) or math.isnan(x):
        problems.append(f"{where}: {name}: {x} outside [0, 1]")
        return None
    return x


def read_sample_file(path: str | Path) -> SampleFile:
    """Read and check one CSV; every malformed row is reported as `file:line: field: message` (DataError)."""
    path = Path(path)
    fh = _open_text(path)
    reader = csv.reader(fh)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}:1: header: empty file") from None
    kind = kind_of(path, header)
    if kind is None:
        known = "; ".join(f"{k}: {', '.join(v)}" for k, v in HEADERS.items())
        raise DataError(
            f"{path}:1: header: unrecognised columns {header!r} (known: {known}; the drop/squad/fr_to_en "
            f"format is told apart by the file name)"
        )
    cols = HEADERS["qa" if kind in ("drop", "squad_v2", "fr_to_en") else kind]
    offset = 1 if header and header[0] == "" else 0
    out, problems = SampleFile(path, kind), []
    line = reader.line_num + 1
    for record in reader:
        where = f"{path}:{line}"
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in record):
            continue
        if len(record) != len(cols) + offset:
            problems.append(f"{where}: row: {len(record)} fields, expected {len(cols) + offset}")
            continue
        d = dict(zip(cols, record[offset:]))
        model = d["model_type"].strip()
        if not model:
            problems.append(f"{where}: model_type: empty")
            continue
        if kind != "tldr" and not d["prompt_type"].strip():
            problems.append(f"{where}: prompt_type: empty")
            continue
        text_fields = {"truthfulqa": ("question",), "rtp": ("context",)}.get(kind, ("context", "ref_text"))
        empty = [f for f in text_fields if not d[f].strip()]
        if empty:
            problems.append(f"{where}: {empty[0]}: empty")
            continue
        if kind == "truthfulqa":
            vals = [_float01(d[k], where, k, problems) for k in ("true", "info")]
            if None in vals:
                continue
            d["true"], d["info"] = vals
        if kind == "rtp":
            if d["toxicity"].strip() in ("", "nan", "None"):
                d["toxicity"] = None  # Perspective could not score the sample: kept, left out of its means
            else:
                d["toxicity"] = _float01(d["toxicity"], where, "toxicity", problems)
                if d["toxicity"] is None:
                    continue
        out.rows.append(Row(start, model, d.get("prompt_type", "").strip() or "default", d))
    if problems:
        raise DataError(f"{path}: {len(problems)} malformed row(s)", problems)
    if not out.rows:
        raise DataError(f"{path}:2: row: no data rows")
    return out
