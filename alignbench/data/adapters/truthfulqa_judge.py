"""TruthfulQA's GPT-judge / GPT-info fine-tuning sets -> Demonstrations, to train (or check) a truth or
informativeness judge with `alignbench train sft`: prompt "Q: <question>\\nA: <answer>\\nTrue:" (or
"Helpful:"), response " yes" / " no" (leading space kept: the judge is read as P(" yes") vs P(" no")).
Labels are human judgements of model answers; upstream says such judges "should be used as a metric for
TruthfulQA only" (and the files carry TruthfulQA's canary: never mix them into general training data).

Subsets: truth (finetune_truth), info (finetune_info).  Versions: current (top-level files, 22,434 lines
each) and v0 (22,114).  meta: subset, version, label (True for " yes"), question, answer.
Item ids: "truthfulqa-judge/<subset>/<version>/<line index>".
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, jsonl_rows, need, pick_files
from alignbench.data.records import Demonstration
from alignbench.errors import DataError

SUBSETS = ("truth", "info")
VERSIONS = ("current", "v0")


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[Demonstration]:
    version = version or "current"
    folder = path / "v0" if version == "v0" and (path / "v0").is_dir() and path.is_dir() else path
    for name in [subset] if subset else SUBSETS:
        for file in pick_files(folder, f"finetune_{name}.jsonl*", "truthfulqa-judge"):
            file_subset = subset or name
            for i, (row, origin) in enumerate(jsonl_rows(file)):
                report.rows += 1
                prompt, completion = need(row, "prompt", origin), need(row, "completion", origin)
                if completion.strip() not in ("yes", "no"):
                    raise DataError(f"{origin}: completion: must be ' yes' or ' no', got {completion!r}")
                question, _, rest = prompt.removeprefix("Q: ").partition("\nA: ")
                answer = rest.rsplit("\n", 1)[0]
                yield Demonstration(
                    response=completion,
                    prompt=prompt,
                    id=f"truthfulqa-judge/{file_subset}/{version}/{i}",
                    meta={
                        "subset": file_subset,
                        "version": version,
                        "label": completion.strip() == "yes",
                        "question": question,
                        "answer": answer,
                    },
                )
            if path.is_file():
                return


ADAPTER = Adapter(
    name="truthfulqa-judge",
    kind="demonstration",
    description="TruthfulQA GPT-judge/GPT-info fine-tuning sets: 'Q: ..\\nA: ..\\nTrue:' -> ' yes'/' no'",
    folder="truthfulqa",
    hub_id=None,
    read_local=read_local,
    subsets=SUBSETS,
    versions=VERSIONS,
    default_version="current",
    notes="truth and info, 22,434 lines each (v0: 22,114); for judges of TruthfulQA only (canary)",
)
