"""HellaSwag (Zellers et al. 2019) validation -> EvalItems.  The shared copy is the 6-lines-per-item
text rendering llama.cpp uses (`<activity_label>: <ctx>`, gold label, 4 endings), already cleaned
the way lm-evaluation-harness's `preprocess` cleans WikiHow text.

EvalItem fields:
  inputs      ctx (activity label + ": " + context, the string lm-eval scores endings after),
              endings (4), activity_label
  references  label (gold ending index 0..3)
  meta        line (1-based line of the item in the text file), ctx_b_capitalized
Item ids: "hellaswag/val/<item index, 5 digits>" (original file order).

lm-eval builds ctx as `ctx_a + " " + ctx_b.capitalize()`; the text file joined ctx_a and ctx_b without
capitalising ctx_b and dropped the split ("... on a roof. he").  The reader restores lm-eval's form
(`lm_eval_ctx`): ctx_b of an ActivityNet item is the lower-case fragment after the context's last
sentence end, which gets str.capitalize() ("... on a roof. He"); WikiHow contexts end with a full sentence
(empty ctx_b) and stay as they are.  3,236 of the 10,042 items change; `meta["ctx_b"]` holds the restored
ctx_b (before capitalising) and `meta["ctx_b_capitalized"]` is True (the hub reader applies lm-eval's
preprocessing exactly).  What it changes in scores: docs/benchmarks.md (HellaSwag vs lm-eval).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, hub_dataset, pick_files
from alignbench.data.records import EvalItem
from alignbench.errors import DataError

LINES_PER_ITEM = 6
# The last fragment of a context after its final sentence end (. ! ? and an optional closing quote).
_LAST_FRAGMENT = re.compile(r"([.!?][\"')]?\s+)([^.!?]+)$")


def lm_eval_ctx(ctx: str) -> tuple[str, str]:
    """(ctx as lm-eval builds it, restored ctx_b) of a text-file context "<label>: <ctx_a> <ctx_b>":
    the lower-case fragment after the last sentence end (or the whole context if it has none) is
    ctx_b, and lm-eval capitalises it with str.capitalize() (first letter up, the rest lower)."""
    label, sep, rest = ctx.partition(": ")
    if not sep:
        label, rest = "", ctx
    match = _LAST_FRAGMENT.search(rest)
    head, ctx_b = (rest[: match.start(2)], match.group(2)) if match else ("", rest)
    if not ctx_b or not ctx_b[0].islower():
        return ctx, ""
    return f"{label}{sep}{head}{ctx_b.capitalize()}", ctx_b


def read_text_file(path: Path, report: LoadReport) -> Iterator[EvalItem]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="\n") as fh:
            lines = fh.read().split("\n")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 ({exc.reason})") from exc
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % LINES_PER_ITEM:
        raise DataError(
            f"{path}:{len(lines)}: (file): {len(lines)} lines is not a multiple of {LINES_PER_ITEM} "
            "(each item: context, label, 4 endings)"
        )
    for n, start in enumerate(range(0, len(lines), LINES_PER_ITEM)):
        ctx, label, *endings = lines[start : start + LINES_PER_ITEM]
        if label.strip() not in ("0", "1", "2", "3"):
            raise DataError(f"{path}:{start + 2}: label: must be 0..3, got {label!r}")
        activity = ctx.split(": ", 1)[0] if ": " in ctx else ""
        lm_ctx, ctx_b = lm_eval_ctx(ctx)
        report.rows += 1
        yield EvalItem(
            id=f"hellaswag/val/{n:05d}",
            inputs={"ctx": lm_ctx, "endings": endings, "activity_label": activity},
            references={"label": int(label)},
            meta={"line": start + 1, "ctx_b": ctx_b, "ctx_b_capitalized": True},
        )


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    for file in pick_files(path, "hellaswag_val*.txt*", "hellaswag"):
        yield from read_text_file(file, report)


def lm_eval_preprocess(text: str) -> str:
    """lm-evaluation-harness hellaswag `preprocess` (WikiHow artefacts out)."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def read_hub(
    hub_id: str, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    for n, row in enumerate(hub_dataset(hub_id, None, split=split or "validation")):
        report.rows += 1
        ctx = row["ctx_a"] + " " + row["ctx_b"].capitalize()
        yield EvalItem(
            id=f"hellaswag/{split or 'val'}/{n:05d}",
            inputs={
                "ctx": lm_eval_preprocess(row["activity_label"] + ": " + ctx),
                "endings": [lm_eval_preprocess(e) for e in row["endings"]],
                "activity_label": row["activity_label"],
            },
            references={"label": int(row["label"]) if str(row["label"]).strip() else None},
            meta={
                "ind": row.get("ind"),
                "source_id": row.get("source_id"),
                "split_type": row.get("split_type"),
                "ctx_b_capitalized": True,
            },
        )


ADAPTER = Adapter(
    name="hellaswag",
    kind="eval",
    description="HellaSwag validation: context + 4 endings, gold label (alignment-tax task)",
    folder="hellaswag",
    hub_id="Rowan/hellaswag",
    read_local=read_local,
    read_hub=read_hub,
    notes="10,042 items; local text form does not capitalise ctx_b (lm-eval does)",
)
