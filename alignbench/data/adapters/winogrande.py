"""WinoGrande dev (1,267 items) -> EvalItems ready for lm-eval's "partial scoring": score the shared
`continuation` after each of the two `context_options` and pick the likelier option.

The shared copy (MosaicML's gauntlet form) already filled the blank `_` with each option:
`{"context_options": [str, str], "continuation": str, "gold": 0|1}`.  The original fields are
recovered for readers of the data: `option1` / `option2` are what the two contexts differ in (their
longest common word prefix removed; when both options start with the same word, e.g. "the dog" /
"the cat", that word stays in the prefix), `sentence` is prefix + "_" + " " + continuation, and
`answer` is "1" / "2".  Scoring should use `context_options` + `continuation`, which are exact.

EvalItem fields:
  inputs      context_options [2], continuation, sentence, option1, option2
  references  gold (0/1), answer ("1"/"2", WinoGrande's own encoding)
Item ids: "winogrande/dev/<row, 4 digits>" (hub rows keep their qID in meta).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, hub_dataset, jsonl_rows, need, pick_files
from alignbench.data.records import EvalItem
from alignbench.errors import DataError


def split_options(a: str, b: str) -> tuple[str, str, str]:
    """(shared prefix, option a, option b) of two contexts that differ only in their last words."""
    wa, wb = a.split(" "), b.split(" ")
    n = 0
    while n < min(len(wa), len(wb)) - 1 and wa[n] == wb[n]:
        n += 1
    prefix = " ".join(wa[:n])
    return prefix, " ".join(wa[n:]), " ".join(wb[n:])


def make_item(item_id: str, contexts: list[str], continuation: str, gold: int, meta: dict) -> EvalItem:
    prefix, option1, option2 = split_options(*contexts)
    sentence = (prefix + " " if prefix else "") + "_ " + continuation
    return EvalItem(
        id=item_id,
        inputs={
            "context_options": contexts,
            "continuation": continuation,
            "sentence": sentence,
            "option1": option1,
            "option2": option2,
        },
        references={"gold": gold, "answer": str(gold + 1)},
        meta=meta,
    )


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    for file in pick_files(path, "winogrande*.jsonl*", "winogrande"):
        for i, (row, origin) in enumerate(jsonl_rows(file)):
            report.rows += 1
            contexts = need(row, "context_options", origin, list)
            if len(contexts) != 2 or not all(isinstance(c, str) for c in contexts):
                raise DataError(f"{origin}: context_options: must be 2 strings")
            gold = need(row, "gold", origin, int)
            if gold not in (0, 1):
                raise DataError(f"{origin}: gold: must be 0 or 1, got {gold}")
            yield make_item(f"winogrande/dev/{i:04d}", contexts, need(row, "continuation", origin), gold, {})


def read_hub(
    hub_id: str, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    """allenai/winogrande (winogrande_xl): split the sentence at "_" as lm-eval's partial scoring does."""
    for i, row in enumerate(hub_dataset(hub_id, "winogrande_xl", split=split or "validation")):
        report.rows += 1
        cut = row["sentence"].index("_")
        contexts = [row["sentence"][:cut] + row["option1"], row["sentence"][:cut] + row["option2"]]
        item = make_item(
            f"winogrande/dev/{i:04d}",
            contexts,
            row["sentence"][cut + 1 :].strip(),
            int(row["answer"]) - 1,
            {"qID": row.get("qID")},
        )
        item.inputs.update(sentence=row["sentence"], option1=row["option1"], option2=row["option2"])
        yield item


ADAPTER = Adapter(
    name="winogrande",
    kind="eval",
    description="WinoGrande dev: two contexts (blank filled with each option) + shared continuation",
    folder="winogrande",
    hub_id="allenai/winogrande",
    read_local=read_local,
    read_hub=read_hub,
    notes="1,267 items (628 gold 0 / 639 gold 1)",
)
