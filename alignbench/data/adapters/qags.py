"""QAGS human factual-consistency annotations (Wang, Cho & Lewis 2020) -> one EvalItem per summary.

Each summary sentence was judged by 3 crowdworkers ("is this sentence supported by the article?").
Binarisation (the QAGS paper's own rule): a sentence is consistent iff at least 2 of its 3 votes are
"yes" (strict majority of the votes it has); a summary is consistent iff every sentence is.  Under
this rule CNN/DM has 113/235 consistent summaries and XSum 116/239.  The graded score (mean "yes"
rate over all votes, which the QAGS paper correlates metrics with) is kept as `yes_rate`.

EvalItem fields:
  inputs      document (the source article), summary (sentences joined by one space)
  references  consistent (bool), label (1 consistent / 0 not, as SummEdits), yes_rate,
              sentences, sentence_consistent [bool], sentence_yes_votes [int], sentence_votes [int]
  meta        subset (cnndm | xsum)
Item ids: "qags/<subset>/<row, 3 digits>" (the files carry no ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, jsonl_rows, need, pick_files
from alignbench.data.records import EvalItem
from alignbench.errors import DataError

SUBSETS = ("cnndm", "xsum")


def to_item(row: dict, origin: str, subset: str, index: int) -> EvalItem:
    article = need(row, "article", origin)
    sentences = need(row, "summary_sentences", origin, list)
    if not sentences:
        raise DataError(f"{origin}: summary_sentences: empty")
    texts, yes, votes = [], [], []
    for j, s in enumerate(sentences):
        responses = s.get("responses") if isinstance(s, dict) else None
        if not isinstance(s, dict) or not isinstance(s.get("sentence"), str) or not responses:
            raise DataError(f"{origin}: summary_sentences[{j}]: needs 'sentence' and non-empty 'responses'")
        texts.append(s["sentence"].strip())
        yes.append(sum(r.get("response") == "yes" for r in responses))
        votes.append(len(responses))
    sentence_ok = [2 * y > n for y, n in zip(yes, votes)]
    consistent = all(sentence_ok)
    return EvalItem(
        id=f"qags/{subset}/{index:03d}",
        inputs={"document": article, "summary": " ".join(texts)},
        references={
            "consistent": consistent,
            "label": int(consistent),
            "yes_rate": sum(yes) / sum(votes),
            "sentences": texts,
            "sentence_consistent": sentence_ok,
            "sentence_yes_votes": yes,
            "sentence_votes": votes,
        },
        meta={"subset": subset},
    )


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    pattern = f"mturk_{subset}.jsonl*" if subset else "mturk_*.jsonl*"
    for file in pick_files(path, pattern, "qags"):
        file_subset = subset or file.name.split(".")[0].removeprefix("mturk_")
        for i, (row, origin) in enumerate(jsonl_rows(file)):
            report.rows += 1
            yield to_item(row, origin, file_subset, i)


ADAPTER = Adapter(
    name="qags",
    kind="eval",
    description="QAGS: news article + model summary + crowdworker consistency votes per sentence",
    folder="qags",
    hub_id=None,
    read_local=read_local,
    subsets=SUBSETS,
    notes="cnndm 235 (113 consistent), xsum 239 (116 consistent); no hub copy",
)
