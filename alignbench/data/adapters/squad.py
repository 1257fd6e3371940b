"""SQuAD reading comprehension (Rajpurkar et al. 2016/2018) -> one EvalItem per question, from the
official JSON layout `{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}`.

Versions: v2.0 (default; 11,873 dev questions, 5,945 unanswerable), v1.1 (10,570 dev questions),
xquad.en (the 1,190 SQuAD v1.1 dev questions XQuAD uses, verbatim from the official file).
The shared v2.0/v1.1 files are rebuilt from the official explorer pages: answer texts are exact,
`answer_start` offsets are recomputed (see SOURCE.md); EM/F1 use texts only.

EvalItem fields:
  inputs      context, question, title
  references  answers (all annotator answer texts, duplicates kept as in the official file; [] when
              unanswerable), answer_starts, is_impossible
  meta        version, title, paragraph (index within the article)
Item ids: the official 24-hex question ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, hub_dataset, json_document
from alignbench.data.records import EvalItem
from alignbench.errors import DataError

VERSIONS = ("v2.0", "v1.1", "xquad.en")
FILE_OF_VERSION = {"v2.0": "dev-v2.0.json.gz", "v1.1": "dev-v1.1.json.gz", "xquad.en": "xquad.en.json"}
HUB_OF_VERSION = {"v2.0": "rajpurkar/squad_v2", "v1.1": "rajpurkar/squad", "xquad.en": "google/xquad"}


def _file(path: Path, version: str) -> Path:
    if path.is_file():
        return path
    for name in (FILE_OF_VERSION[version], FILE_OF_VERSION[version].removesuffix(".gz")):
        if (path / name).exists():
            return path / name
    raise DataError(f"squad: {path}: no {FILE_OF_VERSION[version]} for version {version}")


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    version = version or "v2.0"
    file = _file(path, version)
    doc = json_document(file)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f'{file}: data: missing (expected the official SQuAD layout {{"data": [...]}})')
    for a, article in enumerate(doc["data"]):
        title = article.get("title", "")
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            context = paragraph.get("context")
            if not isinstance(context, str):
                raise DataError(f"{file}: data[{a}].paragraphs[{p}].context: missing")
            for q, qa in enumerate(paragraph.get("qas", [])):
                report.rows += 1
                where = f"{file}: data[{a}].paragraphs[{p}].qas[{q}]"
                if not isinstance(qa.get("question"), str) or "id" not in qa:
                    raise DataError(f"{where}: question/id: missing")
                answers = qa.get("answers") or []
                yield EvalItem(
                    id=str(qa["id"]),
                    inputs={"context": context, "question": qa["question"], "title": title},
                    references={
                        "answers": [x["text"] for x in answers],
                        "answer_starts": [x.get("answer_start") for x in answers],
                        "is_impossible": bool(qa.get("is_impossible", not answers)),
                    },
                    meta={"version": version, "title": title, "paragraph": p},
                )


def read_hub(
    hub_id: str, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    version = version or "v2.0"
    config, hub_split = ("xquad.en", "validation") if version == "xquad.en" else (None, "validation")
    for _i, row in enumerate(
        hub_dataset(hub_id if hub_id != HUB_OF_VERSION["v2.0"] else HUB_OF_VERSION[version], config, split=hub_split)
    ):
        report.rows += 1
        answers = row["answers"]
        yield EvalItem(
            id=str(row["id"]),
            inputs={"context": row["context"], "question": row["question"], "title": row.get("title", "")},
            references={
                "answers": list(answers["text"]),
                "answer_starts": list(answers["answer_start"]),
                "is_impossible": not answers["text"],
            },
            meta={"version": version, "title": row.get("title", "")},
        )


ADAPTER = Adapter(
    name="squad",
    kind="eval",
    description="SQuAD dev questions with context and all annotator answers (v2.0 has unanswerable ones)",
    folder="squad",
    hub_id="rajpurkar/squad_v2",
    read_local=read_local,
    read_hub=read_hub,
    versions=VERSIONS,
    default_version="v2.0",
    notes="v2.0 11,873 (5,945 unanswerable); v1.1 10,570; xquad.en 1,190",
)
