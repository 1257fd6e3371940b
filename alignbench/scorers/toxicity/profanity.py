"""alt-profanity-check: a linear SVM on TF-IDF whose weights ship in its PyPI wheel.  Fast and offline, but it
detects profanity, not toxicity: it ranks texts poorly against Perspective (CV Spearman in docs/toxicity.md)."""

from __future__ import annotations

import numpy as np

from alignbench.scorers.toxicity.base import ToxicityScorer


class ProfanityCheckScorer(ToxicityScorer):
    name = "profanity-check"
    approximates = None
    description = "alt-profanity-check P(offensive): TF-IDF + linear SVM, offline; a profanity detector"

    def __init__(self):
        from alignbench.scorers.toxicity.features import profanity_probability

        profanity_probability(["warm-up"])  # fail now, with the install hint, if the package is missing
        self._predict = profanity_probability

    def _score_batch(self, texts: list[str]) -> np.ndarray:
        return self._predict(texts).astype(np.float64)
