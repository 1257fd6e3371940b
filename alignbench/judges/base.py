"""The judge interface: one call compares two responses per prompt, another scores single responses.

Every judgement says who judged (`judge`), what the judge said (`raw`: model output, score pair, label
row) and the verdict: "A" (the first text wins), "B", "tie", or None when the judge could not decide
(an unparseable LLM reply, a failed request); None is reported, never silently counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from alignbench.errors import AlignbenchError

VERDICTS = ("A", "B", "tie")


@dataclass
class Judgement:
    verdict: str | None  # "A" | "B" | "tie" | None (judge failed)
    score_a: float | None = None  # the judge's score of text A, when it gives scores
    score_b: float | None = None
    raw: str | None = None  # what the judge said, verbatim
    judge: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def preference(self) -> float | None:
        """1 when A wins, 0.5 for a tie, 0 when B wins, None when the judge failed."""
        return {"A": 1.0, "tie": 0.5, "B": 0.0}.get(self.verdict) if self.verdict else None


def verdict_from_scores(score_a: float, score_b: float, tolerance: float = 0.0) -> str:
    """A when A's score is higher by more than `tolerance`, B when lower, tie otherwise."""
    diff = score_a - score_b
    if abs(diff) <= tolerance:
        return "tie"
    return "A" if diff > 0 else "B"


class Judge:
    """Base class.  Subclasses set `name` and implement `compare`, and `score` when they give scores."""

    name: str = "judge"
    type: str = ""
    gives_scores: bool = False
    fingerprint: str = ""

    def compare(
        self,
        prompts: Sequence[str],
        texts_a: Sequence[str],
        texts_b: Sequence[str],
        item_ids: Sequence[str],
        items: Sequence[dict] | None = None,
    ) -> list[Judgement]:
        raise NotImplementedError

    def score(
        self,
        prompts: Sequence[str],
        texts: Sequence[str],
        item_ids: Sequence[str],
        items: Sequence[dict] | None = None,
    ) -> list[float]:
        raise AlignbenchError(f"judge {self.name!r} ({self.type}) gives verdicts, not scores")

    @staticmethod
    def _check_lengths(**arrays) -> int:
        lengths = {k: len(v) for k, v in arrays.items() if v is not None}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"judge inputs must be aligned, got lengths {lengths}")
        return next(iter(lengths.values()), 0)


class ScoringJudge(Judge):
    """A judge that scores each response on its own; compare() scores both sides and turns the score
    difference into a verdict (tie when |difference| <= tolerance)."""

    gives_scores = True
    tolerance: float = 0.0

    def compare(self, prompts, texts_a, texts_b, item_ids, items=None) -> list[Judgement]:
        n = self._check_lengths(prompts=prompts, texts_a=texts_a, texts_b=texts_b, item_ids=item_ids, items=items)
        scores = self.score(
            list(prompts) * 2,
            list(texts_a) + list(texts_b),
            list(item_ids) * 2,
            None if items is None else list(items) * 2,
        )
        out = []
        for a, b in zip(scores[:n], scores[n:]):
            out.append(
                Judgement(verdict_from_scores(a, b, self.tolerance), a, b, raw=f"{a:.6g} vs {b:.6g}", judge=self.name)
            )
        return out
