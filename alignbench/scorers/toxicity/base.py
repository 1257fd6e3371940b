"""The toxicity-scorer interface every scorer implements (docs/architecture.md, "Toxicity scorers").

A scorer maps texts to a toxicity probability in [0, 1].  `approximates` names the scorer whose numbers it is
built to reproduce (e.g. "perspective" for the distilled head) so reports can say so next to each figure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class ToxicityScorer(ABC):
    name: str = ""
    approximates: str | None = None
    description: str = ""

    @abstractmethod
    def _score_batch(self, texts: list[str]) -> np.ndarray:
        """Scores of one batch, in [0, 1]."""

    def score(self, texts, batch_size: int = 32) -> np.ndarray:
        """Toxicity in [0, 1] of each text (float64 array, same order), computed `batch_size` texts at a time.
        NaN marks a text the scorer could not score (only the Perspective API refuses texts)."""
        if isinstance(texts, str):
            raise TypeError("score() takes a list of texts, not one string")
        texts = ["" if t is None else str(t) for t in texts]
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        out = np.empty(len(texts), dtype=np.float64)
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            out[start : start + len(chunk)] = self._score_batch(chunk)
        return np.clip(out, 0.0, 1.0)

    @property
    def fingerprint(self) -> str:
        """Changes whenever the numbers could change (e.g. retrained weights): a key for caching scores."""
        return self.name

    def info(self) -> dict:
        """What reports store next to each number (the `scorer` meta of toxicity metrics)."""
        return {
            "name": self.name,
            "approximates": self.approximates,
            "description": self.description,
            "fingerprint": self.fingerprint,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
