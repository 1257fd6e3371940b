"""SummEdits (Laban et al. 2023) -> one EvalItem per (document, summary) pair, human-labelled
consistent (1) or inconsistent (0).  Files: `summedits_<domain>.json(.gz)`, each a JSON list.

EvalItem fields:
  inputs      document, summary
  references  consistent (bool), label (1 consistent / 0 inconsistent)
  meta        domain, split (evaluation | test, upstream's), original_summary, edit_types (list,
              parsed from upstream's Python-style string), is_seed (id ends in "_og": the unedited summary)
Item ids: "summedits/<domain>/<upstream id>".
`split=` picks upstream's split: "evaluation" (~20 %, for prompt/threshold tuning) or "test".
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, json_document, need, pick_files
from alignbench.data.records import EvalItem
from alignbench.errors import DataError

DOMAINS = (
    "ectsum",
    "news",
    "podcast",
    "qmsumm",
    "sales_call",
    "sales_email",
    "samsum",
    "scitldr",
    "billsum",
    "shakespeare",
)


def _edit_types(value, origin: str) -> list[str]:
    if isinstance(value, list):
        return value
    try:
        parsed = ast.literal_eval(value or "[]")  # upstream writes str(list), not JSON
    except (ValueError, SyntaxError) as exc:
        raise DataError(f"{origin}: edit_types: not a list literal: {value!r}") from exc
    return list(parsed)


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    pattern = f"summedits_{subset}.json*" if subset else "summedits_*.json*"
    for file in pick_files(path, pattern, "summedits"):
        domain = subset or file.name.split(".")[0].removeprefix("summedits_")
        rows = json_document(file)
        if not isinstance(rows, list):
            raise DataError(f"{file}: expected a JSON list of summaries")
        for i, row in enumerate(rows):
            origin = f"{file}:row {i + 1}"
            report.rows += 1
            if not isinstance(row, dict):
                raise DataError(f"{origin}: (record): must be an object")
            if split and row.get("split") != split:
                report.skip(f"split != {split}")
                continue
            label = need(row, "label", origin, int)
            if label not in (0, 1):
                raise DataError(f"{origin}: label: must be 0 or 1, got {label}")
            item_id = str(need(row, "id", origin))
            yield EvalItem(
                id=f"summedits/{domain}/{item_id}",
                inputs={"document": need(row, "doc", origin), "summary": need(row, "summary", origin)},
                references={"consistent": label == 1, "label": label},
                meta={
                    "domain": domain,
                    "split": row.get("split"),
                    "original_summary": row.get("original_summary"),
                    "edit_types": _edit_types(row.get("edit_types"), origin),
                    "is_seed": item_id.endswith("_og"),
                },
            )


ADAPTER = Adapter(
    name="summedits",
    kind="eval",
    description="SummEdits: document + (LLM-edited) summary, human consistency label, 8 of 10 domains",
    folder="summedits",
    hub_id=None,
    read_local=read_local,
    subsets=DOMAINS,
    splits=("evaluation", "test"),
    notes="8 local domains, 4,681 pairs (billsum, shakespeare absent); no hub copy",
)
