"""TruthfulQA judge training data: the human-labelled GPT-judge / GPT-info fine-tuning sets, joined to each
question's reference answers.

- `finetune_truth.jsonl.gz` / `finetune_info.jsonl.gz` (shared data `truthfulqa/`, SOURCE.md): 22,434 lines
  `{"prompt": "Q: <question>\\nA: <answer>\\nTrue:" (or "Helpful:"), "completion": " yes"|" no"}`; both files hold
  the same 18,311 distinct (question, answer) pairs, some repeated (a pair repeated with both labels keeps the mean).
- References: the question's `Correct Answers` / `Incorrect Answers` of `v1/TruthfulQA.csv` (the 817-question set
  the judge data was written for), falling back to `v0/` for a question v1 reworded; "I have no comment." is a true
  reference as in TruthfulQA's own metrics.

`load_judge_data(aspect)` returns one row per distinct (question, answer) pair with its mean label; the pair is also
the cross-validation group, so no duplicate spans folds.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alignbench.errors import DataError

ASPECTS = {"truth": ("finetune_truth.jsonl.gz", "True"), "info": ("finetune_info.jsonl.gz", "Helpful")}
NO_COMMENT = "I have no comment."


def truthfulqa_dir(source: str | Path | None = None) -> Path:
    from alignbench.config import shared_data_dir

    return Path(source) if source else shared_data_dir() / "truthfulqa"


def split_answers(cell: str) -> list[str]:
    """A `;`-separated answers cell -> answers, stripped, each ending in a period (TruthfulQA's formatting)."""
    out = []
    for a in (cell or "").split(";"):
        a = a.strip()
        if a:
            out.append(a if a.endswith(".") else a + ".")
    return out


def load_references(folder: Path) -> dict[str, tuple[list[str], list[str]]]:
    """question -> (true refs, false refs); v1 wins over v0 where both have the question."""
    refs: dict[str, tuple[list[str], list[str]]] = {}
    for version in ("v0", "v1"):
        path = folder / version / "TruthfulQA.csv"
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                true_refs = split_answers(row["Correct Answers"])
                if NO_COMMENT not in true_refs:
                    true_refs.append(NO_COMMENT)
                refs[row["Question"].strip()] = (true_refs, split_answers(row["Incorrect Answers"]))
    if not refs:
        raise DataError(f"{folder}: no v0/ or v1/ TruthfulQA.csv to take reference answers from")
    return refs


def parse_prompt(prompt: str, suffix: str, where: str) -> tuple[str, str]:
    """("Q: q\\nA: a\\n<suffix>:") -> (q, a), or a DataError naming `where`."""
    tail = f"\n{suffix}:"
    if not prompt.startswith("Q: ") or "\nA:" not in prompt or not prompt.endswith(tail):
        raise DataError(f"{where}: prompt: expected 'Q: ...\\nA: ...\\n{suffix}:', got {prompt[:60]!r}")
    q, _, a = prompt[3 : -len(tail)].partition("\nA:")
    return q.strip(), a.strip()


@dataclass
class JudgeData:
    questions: list[str]  # per distinct pair
    answers: list[str]
    labels: np.ndarray  # mean human label (1 = yes) per pair
    counts: np.ndarray  # how many lines carried the pair
    references: dict[str, tuple[list[str], list[str]]]
    aspect: str
    files: list[str]
    n_lines: int

    def subset(self, idx) -> JudgeData:
        idx = list(idx)
        return JudgeData(
            [self.questions[i] for i in idx],
            [self.answers[i] for i in idx],
            self.labels[idx],
            self.counts[idx],
            self.references,
            self.aspect,
            self.files,
            self.n_lines,
        )


def load_judge_data(aspect: str, source: str | Path | None = None) -> JudgeData:
    if aspect not in ASPECTS:
        raise DataError(f"--aspect {aspect!r}: choose truth or info")
    folder = truthfulqa_dir(source)
    fname, suffix = ASPECTS[aspect]
    path = folder / fname
    if not path.is_file():
        raise DataError(f"{path}: missing (the TruthfulQA judge data; see shared data truthfulqa/SOURCE.md)")
    refs = load_references(folder)
    sums: dict[tuple[str, str], list[float]] = {}
    n = 0
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: not JSON: {exc}") from exc
            completion = str(row.get("completion", "")).strip()
            if completion not in ("yes", "no"):
                raise DataError(f"{where}: completion: expected ' yes' or ' no', got {row.get('completion')!r}")
            q, a = parse_prompt(str(row.get("prompt", "")), suffix, where)
            sums.setdefault((q, a), []).append(1.0 if completion == "yes" else 0.0)
            n += 1
    pairs = list(sums)  # first-seen order: deterministic
    missing = sorted({q for q, _ in pairs if q not in refs})
    if missing:
        raise DataError(f"{path}: {len(missing)} question(s) with no reference answers in v0/v1, e.g. {missing[0]!r}")
    return JudgeData(
        [q for q, _ in pairs],
        [a for _, a in pairs],
        np.array([np.mean(sums[p]) for p in pairs]),
        np.array([len(sums[p]) for p in pairs]),
        refs,
        aspect,
        [fname],
        n,
    )


@dataclass
class ReleaseLabels:
    """The InstructGPT release's TruthfulQA samples with the paper's GPT-judge (truth) or GPT-info (info) value,
    one row per sample: extra training answers in the style of RLHF-tuned models, labelled by the judge ours
    stands in for (`alignbench judges train truthfulqa --release FILE`)."""

    questions: list[str]
    answers: list[str]
    labels: np.ndarray  # the released P(yes) per sample
    policies: list[str]  # model_type per sample (gpt-xl ... ppo-ptx-175b)
    lines: list[int]  # the sample's line in the file
    path: str
    sha256: str

    def subset(self, idx) -> ReleaseLabels:
        idx = list(idx)
        pick = lambda xs: [xs[i] for i in idx]
        return ReleaseLabels(
            pick(self.questions),
            pick(self.answers),
            self.labels[idx],
            pick(self.policies),
            pick(self.lines),
            self.path,
            self.sha256,
        )


def load_release_labels(path: str | Path, aspect: str) -> ReleaseLabels:
    """Read `truthful_qa_samples.csv` (format: alignbench/data/instructgpt_samples.py); a file of another format
    or with malformed rows is a DataError naming file:line: field."""
    import hashlib

    from alignbench.data.instructgpt_samples import read_sample_file

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (the release's truthful_qa_samples.csv)")
    f = read_sample_file(path)
    if f.kind != "truthfulqa":
        raise DataError(f"{path}:1: header: a {f.kind} samples file; --release takes the TruthfulQA samples")
    col = "true" if aspect == "truth" else "info"
    return ReleaseLabels(
        [r.fields["question"].strip() for r in f.rows],
        [r.fields["answer"].strip() for r in f.rows],
        np.array([r.fields[col] for r in f.rows], dtype=np.float64),
        [r.model for r in f.rows],
        [r.line for r in f.rows],
        str(path),
        hashlib.sha256(path.read_bytes()).hexdigest(),
    )
