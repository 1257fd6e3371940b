"""LAMBADA, OpenAI's detokenised test set (5,153 passages) -> EvalItems.

EvalItem fields:
  inputs      context (the passage minus its last word, no trailing space)
  references  target (the last word; 6 targets span a line break), text (context + " " + target)
Item ids: "lambada/openai/<row, 4 digits>".  The model reads `context`, and is scored on predicting
" " + target greedily (acc) and on its log-likelihood (perplexity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, hub_dataset, jsonl_rows, need, pick_files
from alignbench.data.records import EvalItem


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    for file in pick_files(path, "lambada_openai.jsonl*", "lambada"):
        for i, (row, origin) in enumerate(jsonl_rows(file)):
            report.rows += 1
            context, target = need(row, "context", origin), need(row, "continuation", origin)
            yield EvalItem(
                id=f"lambada/openai/{i:04d}",
                inputs={"context": context},
                references={"target": target, "text": f"{context} {target}"},
            )


def read_hub(
    hub_id: str, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    """EleutherAI/lambada_openai rows hold the whole passage; split it the way lm-eval does (last space)."""
    for i, row in enumerate(hub_dataset(hub_id, "default", split="test")):
        report.rows += 1
        context, _, target = row["text"].rpartition(" ")
        yield EvalItem(
            id=f"lambada/openai/{i:04d}",
            inputs={"context": context},
            references={"target": target, "text": row["text"]},
        )


ADAPTER = Adapter(
    name="lambada",
    kind="eval",
    description="LAMBADA (OpenAI test set): passage context and its last word",
    folder="lambada",
    hub_id="EleutherAI/lambada_openai",
    read_local=read_local,
    read_hub=read_hub,
    notes="5,153 passages",
)
