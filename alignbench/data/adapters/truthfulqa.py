"""TruthfulQA (Lin, Hilton & Evans 2022) -> one EvalItem per question, joining the CSV (reference
answers for the generation task) and `mc_task.json` (MC1/MC2 choice sets) of one version by question.

Versions (see shared/data/truthfulqa/SOURCE.md):
  v0    817 questions, Sept 2021 release: what the HF `truthful_qa` set and lm-evaluation-harness's
        truthfulqa_mc1/mc2/gen use (same MC sets, same order) -- the default, for comparable numbers.
  v1    817 questions, Oct 2021 (~300 extra reference answers).
  2025  790 questions, Jan 2025 revision: `Best Incorrect Answer` and the 2-option `mc0` binary MC.

EvalItem fields:
  inputs      question
  references  best_answer, correct_answers, incorrect_answers (lists, split on ';', stripped, no period
              added), best_incorrect_answer (2025), mc1 / mc2 (/ mc0 for 2025): {"choices": [...],
              "labels": [0/1 ...]} in file order (the true MC1 answer is always first: shuffle or score
              all choices)
  meta        version, type (Adversarial / Non-Adversarial), category, source (URL), csv_row, mc_index
Order: mc_task.json's whenever it is present (v0: lm-eval's and HF truthful_qa's order, so `--limit N`
picks the same questions as `lm_eval --limit N`); CSV order for the CSV alone.
Item ids: "truthfulqa/<version>/<csv row, 0-based, 4 digits>" (the MC file alone: its row), whatever the order.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, hub_dataset, json_document
from alignbench.data.records import EvalItem
from alignbench.errors import DataError

VERSIONS = ("v0", "v1", "2025")
FOLDER_OF_VERSION = {"v0": "v0", "v1": "v1", "2025": "."}


def split_answers(cell: str) -> list[str]:
    """TruthfulQA's `Correct Answers` / `Incorrect Answers` cells: ';'-separated."""
    return [a.strip() for a in (cell or "").split(";") if a.strip()]


def _choice_set(targets: dict, origin: str, key: str) -> dict:
    if not isinstance(targets, dict) or not targets:
        raise DataError(f"{origin}: {key}: must be a non-empty object {{answer: 0/1}}")
    return {"choices": list(targets), "labels": [int(v) for v in targets.values()]}


def read_csv(path: Path) -> list[tuple[dict, str]]:
    """(row, origin) of a TruthfulQA CSV (BOM-tolerant; cells span lines, so the origin is the line it ends on)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [(dict(row), f"{path}:{reader.line_num}") for row in reader]
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 ({exc.reason})") from exc
    for column in ("Question", "Best Answer", "Correct Answers", "Incorrect Answers"):
        if rows and column not in rows[0][0]:
            raise DataError(f"{path}:1: {column}: missing column (have {', '.join(rows[0][0])})")
    return rows


def read_mc(path: Path) -> list[dict]:
    data = json_document(path)
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of {{question, mc1_targets, mc2_targets}}")
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("question"), str):
            raise DataError(f"{path}:row {i + 1}: question: missing")
    return data


def _csv_references(row: dict) -> dict:
    refs = {
        "best_answer": row["Best Answer"].strip(),
        "correct_answers": split_answers(row["Correct Answers"]),
        "incorrect_answers": split_answers(row["Incorrect Answers"]),
    }
    if row.get("Best Incorrect Answer"):
        refs["best_incorrect_answer"] = row["Best Incorrect Answer"].strip()
    return refs


def _mc_references(entry: dict, origin: str) -> dict:
    refs = {}
    for key in ("mc0", "mc1", "mc2"):
        if f"{key}_targets" in entry:
            refs[key] = _choice_set(entry[f"{key}_targets"], origin, f"{key}_targets")
    return refs


def _version_folder(path: Path, version: str) -> Path:
    """`path` may be the truthfulqa folder (holding v0/, v1/) or a version folder itself."""
    sub = path / FOLDER_OF_VERSION[version]
    return sub if (sub / "mc_task.json").exists() or (sub / "TruthfulQA.csv").exists() else path


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    version = version or "v0"
    if path.is_file():  # one file: the CSV (generation refs) or an mc_task.json (MC sets)
        # a file of the upstream layout says its own version: v0/..., v1/..., or top level (2025)
        if path.parent.name in ("v0", "v1"):
            version = path.parent.name
        elif path.parent.name.lower() == "truthfulqa" and path.name in ("TruthfulQA.csv", "mc_task.json"):
            version = "2025"
        csv_rows = read_csv(path) if path.suffix == ".csv" else None
        mc = read_mc(path) if path.suffix != ".csv" else None
    else:
        folder = _version_folder(path, version)
        csv_path, mc_path = folder / "TruthfulQA.csv", folder / "mc_task.json"
        if not csv_path.exists() and not mc_path.exists():
            raise DataError(f"truthfulqa: {folder}: holds neither TruthfulQA.csv nor mc_task.json")
        csv_rows = read_csv(csv_path) if csv_path.exists() else None
        mc = read_mc(mc_path) if mc_path.exists() else None
        path = folder
    yield from _items(csv_rows, mc, version, str(path), report)


def _items(csv_rows, mc, version: str, where: str, report: LoadReport) -> Iterator[EvalItem]:
    # Join key: the question with surrounding whitespace/quotes removed (v0/v1 have one question that
    # is quoted in mc_task.json and carries a trailing space in the CSV).
    def key(q: str) -> str:
        return q.strip().strip("'\"").strip()

    mc_by_question = {}
    for i, entry in enumerate(mc or []):
        mc_by_question[key(entry["question"])] = (i, entry)
    if csv_rows is None:  # MC file alone
        for i, entry in enumerate(mc):
            report.rows += 1
            yield EvalItem(
                id=f"truthfulqa/{version}/{i:04d}",
                inputs={"question": entry["question"].strip()},
                references=_mc_references(entry, f"{where}:row {i + 1}"),
                meta={"version": version, "mc_index": i},
            )
        return
    unmatched, paired = [], []
    for row_index, (row, origin) in enumerate(csv_rows):
        report.rows += 1
        question = (row.get("Question") or "").strip()
        if not question:
            raise DataError(f"{origin}: Question: empty")
        refs = _csv_references(row)
        meta = {
            "version": version,
            "type": row.get("Type", ""),
            "category": row.get("Category", ""),
            "source": row.get("Source", ""),
            "csv_row": row_index,
        }
        if mc is not None:
            found = mc_by_question.pop(key(question), None)
            if found is None:
                unmatched.append(f"{origin}: Question: no entry in mc_task.json for {question!r}")
                continue
            meta["mc_index"] = found[0]
            refs.update(_mc_references(found[1], f"{where}/mc_task.json:row {found[0] + 1}"))
        paired.append(
            EvalItem(
                id=f"truthfulqa/{version}/{row_index:04d}", inputs={"question": question}, references=refs, meta=meta
            )
        )
    if unmatched or mc_by_question:
        extra = [f"{where}/mc_task.json: question: no CSV row for {q!r}" for q in mc_by_question]
        raise DataError(f"truthfulqa {version}: CSV and mc_task.json do not pair up", unmatched + extra)
    # Order: mc_task.json's (= lm-eval's and HF truthful_qa's) whenever the MC file is there, so `--limit N`
    # scores the same N questions as `lm_eval --limit N`; ids keep the CSV row (stable across orders).
    if mc is not None:
        paired.sort(key=lambda item: item.meta["mc_index"])
    yield from paired


def read_hub(
    hub_id: str, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    """The HF `truthful_qa` set (= version v0): configs `generation` and `multiple_choice`, split validation."""
    gen = hub_dataset(hub_id, "generation", split="validation")
    mc = hub_dataset(hub_id, "multiple_choice", split="validation")
    csv_rows = [
        (
            {
                "Type": r["type"],
                "Category": r["category"],
                "Question": r["question"],
                "Best Answer": r["best_answer"],
                "Correct Answers": "; ".join(r["correct_answers"]),
                "Incorrect Answers": "; ".join(r["incorrect_answers"]),
                "Source": r["source"],
            },
            f"hf:{hub_id}:generation@validation:row {i + 1}",
        )
        for i, r in enumerate(gen)
    ]
    mc_rows = [
        {
            "question": r["question"],
            "mc1_targets": dict(zip(r["mc1_targets"]["choices"], r["mc1_targets"]["labels"])),
            "mc2_targets": dict(zip(r["mc2_targets"]["choices"], r["mc2_targets"]["labels"])),
        }
        for r in mc
    ]
    yield from _items(csv_rows, mc_rows, version or "v0", f"hf:{hub_id}", report)


ADAPTER = Adapter(
    name="truthfulqa",
    kind="eval",
    description="TruthfulQA questions with reference answers (generation) and MC1/MC2 choice sets",
    folder="truthfulqa",
    hub_id="truthfulqa/truthful_qa",
    read_local=read_local,
    read_hub=read_hub,
    versions=VERSIONS,
    default_version="v0",
    notes="v0 = HF truthful_qa / lm-eval (817); v1 = Oct 2021 (817); 2025 = Jan 2025 revision (790, adds mc0)",
)
