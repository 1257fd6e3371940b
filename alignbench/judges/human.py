"""Human judge: pairwise labels read from a file (JSONL, CSV, ...), keyed by item.

One row per label: `item_id`, and `verdict` ("A" | "B" | "tie"; A = the candidate, the first text
compared) and/or `score_a`, `score_b` (e.g. 1-7 Likert); optional `labeler`.  Several labelers may
label one item: the item's verdict is the majority by mean preference (A=1, tie=1/2, B=0; an exact
1/2 is a tie) and scores are averaged; `meta` keeps every label and the agreement rate.

Bad rows are reported with file:line and field; asking for an item nobody labelled is an error that
names the file and the missing item ids (a silent gap would bias the win rate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from alignbench.errors import DataError
from alignbench.judges.base import VERDICTS, Judge, Judgement

_VERDICT_ALIASES = {"a": "A", "b": "B", "tie": "tie", "t": "tie", "=": "tie", "c": "tie"}


def _number(value, origin: str, field: str, problems: list) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        problems.append(f"{origin}: {field}: must be a number, got {value!r}")
        return None


class HumanJudge(Judge):
    type = "human"

    def __init__(self, labels: str | Path, name: str | None = None):
        from alignbench.data.readers import DataProblem
        from alignbench.data.sources import fingerprint_source, iter_source_rows

        self.path = str(labels)
        self.name = name or f"human:{Path(labels).stem}"
        self.fingerprint = fingerprint_source(labels)
        self.labels: dict[str, list[dict]] = {}
        problems: list[str] = []
        for row in iter_source_rows(labels):
            if isinstance(row.data, DataProblem):
                problems.append(f"{row.origin}: {row.data.field}: {row.data.message}")
                continue
            d = row.data
            if not isinstance(d, dict):
                problems.append(f"{row.origin}: (record): must be an object")
                continue
            item_id = d.get("item_id")
            if item_id in (None, ""):
                problems.append(f"{row.origin}: item_id: missing")
                continue
            verdict = d.get("verdict")
            if verdict not in (None, ""):
                verdict = _VERDICT_ALIASES.get(str(verdict).strip().lower())
                if verdict is None:
                    problems.append(
                        f"{row.origin}: verdict: must be one of {', '.join(VERDICTS)}, got {d.get('verdict')!r}"
                    )
                    continue
            else:
                verdict = None
            score_a = _number(d.get("score_a"), row.origin, "score_a", problems)
            score_b = _number(d.get("score_b"), row.origin, "score_b", problems)
            if verdict is None and (score_a is None or score_b is None):
                problems.append(f"{row.origin}: verdict: missing (give verdict A/B/tie, or both score_a and score_b)")
                continue
            if verdict is None:
                verdict = "A" if score_a > score_b else "B" if score_b > score_a else "tie"
            self.labels.setdefault(str(item_id), []).append(
                {
                    "verdict": verdict,
                    "score_a": score_a,
                    "score_b": score_b,
                    "labeler": d.get("labeler"),
                    "origin": row.origin,
                }
            )
        if problems:
            raise DataError(f"{labels}: {len(problems)} problem(s) in human labels", problems)

    def compare(
        self,
        prompts: Sequence[str],
        texts_a: Sequence[str],
        texts_b: Sequence[str],
        item_ids: Sequence[str],
        items: Sequence[dict] | None = None,
    ) -> list[Judgement]:
        self._check_lengths(prompts=prompts, texts_a=texts_a, texts_b=texts_b, item_ids=item_ids, items=items)
        missing = [str(i) for i in item_ids if str(i) not in self.labels]
        if missing:
            shown = ", ".join(missing[:10]) + (f" ... ({len(missing)} in all)" if len(missing) > 10 else "")
            raise DataError(f"{self.path}: no human label for item(s) {shown}")
        out = []
        for item_id in item_ids:
            labels = self.labels[str(item_id)]
            prefs = [{"A": 1.0, "tie": 0.5, "B": 0.0}[lab["verdict"]] for lab in labels]
            mean = sum(prefs) / len(prefs)
            verdict = "A" if mean > 0.5 else "B" if mean < 0.5 else "tie"
            sa = [lab["score_a"] for lab in labels if lab["score_a"] is not None]
            sb = [lab["score_b"] for lab in labels if lab["score_b"] is not None]
            agreement = sum(lab["verdict"] == verdict for lab in labels) / len(labels)
            out.append(
                Judgement(
                    verdict=verdict,
                    score_a=sum(sa) / len(sa) if sa else None,
                    score_b=sum(sb) / len(sb) if sb else None,
                    raw="; ".join(f"{lab['labeler'] or '?'}={lab['verdict']}" for lab in labels),
                    judge=self.name,
                    meta={
                        "n_labels": len(labels),
                        "agreement": agreement,
                        "labelers": [lab["labeler"] for lab in labels],
                        "origins": [lab["origin"] for lab in labels],
                    },
                )
            )
        return out
