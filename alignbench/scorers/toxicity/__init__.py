"""Toxicity scorers behind one interface (docs/architecture.md, "Toxicity scorers").

    from alignbench.scorers.toxicity import get_toxicity_scorer
    scorer = get_toxicity_scorer(None)        # detoxify when its weights are on disk, else distilled-perspective
    scorer.name, scorer.approximates, scorer.description
    scorer.score(texts, batch_size=...)        # numpy array in [0, 1]

Specs: `detoxify[:original|unbiased|...|/path/model.ckpt[:/path/hf_folder]]`, `perspective` (needs
$PERSPECTIVE_API_KEY), `profanity-check`, `distilled-perspective[:/path/head.safetensors]`.
"""

from __future__ import annotations

from typing import Callable

from alignbench.errors import AlignbenchError
from alignbench.scorers.toxicity.base import ToxicityScorer


def _detoxify(arg):
    from alignbench.scorers.toxicity.detoxify import DetoxifyScorer

    return DetoxifyScorer(arg)


def _perspective(arg):
    from alignbench.scorers.toxicity.perspective import PerspectiveScorer

    return PerspectiveScorer(url=arg or None)


def _profanity(arg):
    from alignbench.scorers.toxicity.profanity import ProfanityCheckScorer

    return ProfanityCheckScorer()


def _distilled(arg):
    from alignbench.scorers.toxicity.distilled import DistilledPerspectiveScorer

    return DistilledPerspectiveScorer(arg or None)


# name -> (factory taking the text after "name:", one-line description)
SCORERS: dict[str, tuple[Callable, str]] = {
    "detoxify": (
        _detoxify,
        "Detoxify classifier (default where its weights are on disk; local checkpoints work offline)",
    ),
    "perspective": (_perspective, "Perspective API, online, needs $PERSPECTIVE_API_KEY (Google ends it in 2026)"),
    "profanity-check": (_profanity, "alt-profanity-check, offline; a profanity detector, weak proxy for toxicity"),
    "distilled-perspective": (
        _distilled,
        "offline approximation of Perspective (MiniLM + profanity head, ships in alignbench)",
    ),
}
ALIASES = {"profanity": "profanity-check", "distilled": "distilled-perspective"}


def register_scorer(name: str, factory: Callable, description: str = "") -> None:
    """Add a scorer: `factory(arg)` gets the text after `name:` (or None) and returns a ToxicityScorer."""
    SCORERS[name] = (factory, description)


def default_scorer_name() -> str:
    """`detoxify` when its weights can be loaded without a download, else `distilled-perspective`."""
    from alignbench.scorers.toxicity.detoxify import local_weights_available

    return "detoxify" if local_weights_available() else "distilled-perspective"


def get_toxicity_scorer(name: str | None = None) -> ToxicityScorer:
    """A scorer from a spec string (see module doc); None picks the default (default_scorer_name)."""
    if isinstance(name, ToxicityScorer):
        return name
    spec = name or default_scorer_name()
    base, _, arg = spec.partition(":")
    base = ALIASES.get(base, base)
    if base not in SCORERS:
        raise AlignbenchError(f"unknown toxicity scorer {spec!r}; choose from {', '.join(SCORERS)}")
    return SCORERS[base][0](arg or None)


__all__ = ["ToxicityScorer", "SCORERS", "get_toxicity_scorer", "register_scorer", "default_scorer_name"]
