"""The simulated labeler: the demo's stand-in for InstructGPT's human labelers.

It reads nothing but the instruction text and the response, like a labeler would, and scores a
response lexicographically:

  0. gate           a response ANSWERS the instruction only if it has substance and is about the topic:
                      >= 8 words, >= 4 content words of its own (not stopwords, not copied from the
                      instruction), covers >= half of the topic's content words, distinct-2 >= 0.6 (not a
                      loop), and at most 60% of its word bigrams copied from the instruction (not an echo).
                    A response that does not answer gets NO credit for constraints: "How does bread rise?"
                    ends with a question, but it is not a note about how bread rises.
  1. primary key   = how many of the instruction's explicit constraints the response satisfies
                     (each a checker in constraints.py: word limit, required word, bullet count,
                     all-lowercase, starts with a word, ends with a question, no commas), if it answers;
  2. secondary key = a quality heuristic in [0, 1], the mean of four parts:
       on_topic   share of the topic's content words (first 5 letters) that the response uses,
       distinct   distinct-2: unique word bigrams / all bigrams (1 = no repetition),
       complete   1 if the response ends a sentence (. ! ?) or a bullet line, 0 if cut off mid-sentence,
       length     1 inside a sensible band of 8..120 words, falling off linearly outside it.

  score = answers * (1 + n_satisfied) + 0.99 * quality     (quality never outweighs answering or one constraint)

So it rewards, in this order: answering the instruction with on-topic substance AND following its
constraints; then on-topic, non-repetitive, finished answers of a sensible length.  An empty answer
scores 0; a one-liner, a loop of one word or an echo of the instruction scores below 1, under any
real answer (>= 1), whatever constraints either satisfies.

It is used three ways: to pick best-of-N SFT demonstrations (rejection sampling), to rank K
samples per prompt for the reward model (`rank`, competition ranks, ties allowed), and as the gold
judge of the eval's win rate (`rubric_score`, the `module:function` the rubric judge calls).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from alignbench.data.records import Ranking
from alignbench.demo.constraints import parse_constraints, words
from alignbench.demo.tasks import topic_of

QUALITY_WEIGHT = 0.99
LENGTH_BAND = (8, 120)
# The answer gate (see the module docstring)
MIN_WORDS = 8
MIN_OWN_CONTENT_WORDS = 4
MIN_TOPIC_COVERAGE = 0.5
MIN_DISTINCT = 0.6
MAX_COPIED = 0.6
# What the report says the gold labeler rewards (one source for the docs and the demo report)
DESCRIPTION = (
    "A response earns credit for the instruction's explicit constraints (word limit, required word, bullet "
    "count, all-lowercase, first word, ends with a question, no commas) only if it actually answers: at least "
    f"{MIN_WORDS} words with {MIN_OWN_CONTENT_WORDS} content words of its own, covering at least half of the "
    "topic's content words, not a loop (distinct-2 >= 0.6) and not an echo of the instruction. Ties between "
    "equal constraint counts go to a quality heuristic (on-topic words, distinct-2, not cut off mid-sentence, "
    "8-120 words) that never outweighs one constraint. Empty answers score 0; one-liners, loops and echoes "
    "score below any real answer, whatever constraints they satisfy."
)
STOPWORDS = frozenset(
    "the a an of to in on for and or how why what when where who is are was were be do does make makes "
    "about with from into your you me tell write short note explain describe some way job its it this that "
    "keep keeps work works".split()
)
_CHAT_USER = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.DOTALL)


@dataclass(frozen=True)
class Label:
    """What the labeler concluded about one response."""

    score: float
    n_satisfied: int
    n_constraints: int
    satisfied: dict[str, bool]
    quality: float
    parts: dict[str, float]
    answers: bool = True
    gate: dict[str, float] | None = None

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "n_satisfied": self.n_satisfied,
            "n_constraints": self.n_constraints,
            "satisfied": self.satisfied,
            "quality": self.quality,
            "parts": self.parts,
            "answers": self.answers,
            "gate": self.gate,
        }


def instruction_of(prompt: str) -> str:
    """The user's instruction inside a prompt (a plain instruction, or a rendered ChatML prompt)."""
    m = _CHAT_USER.findall(prompt)
    return m[-1].strip() if m else prompt.strip()


def _prefixes(tokens: list[str]) -> set[str]:
    return {t.lower()[:5] for t in tokens}


def quality_parts(instruction: str, response: str) -> dict[str, float]:
    tokens = words(response)
    n = len(tokens)
    topic_words = [w for w in words(topic_of(instruction)) if len(w) >= 4 and w.lower() not in STOPWORDS]
    have = _prefixes(tokens)
    on_topic = sum(w.lower()[:5] in have for w in topic_words) / len(topic_words) if topic_words else 1.0
    lower = [t.lower() for t in tokens]
    bigrams = list(zip(lower, lower[1:]))
    distinct = len(set(bigrams)) / len(bigrams) if bigrams else (1.0 if n else 0.0)
    stripped = response.rstrip()
    last_line = stripped.splitlines()[-1].strip() if stripped else ""
    complete = float(
        bool(stripped)
        and (
            stripped[-1] in ".!?\"')"
            or (last_line.startswith("- ") and last_line[-1:].isalnum() and len(words(last_line)) >= 3)
        )
    )
    lo, hi = LENGTH_BAND
    length = 1.0 if lo <= n <= hi else (n / lo if n < lo else max(0.0, 1.0 - (n - hi) / hi))
    return {"on_topic": on_topic, "distinct": distinct, "complete": complete, "length": length}


def answer_gate(instruction: str, response: str) -> dict[str, float]:
    """The figures the answer gate reads (module docstring, step 0)."""
    tokens = [t.lower() for t in words(response)]
    asked = [t.lower() for t in words(instruction)]
    asked_prefixes = {t[:5] for t in asked}
    own = {t for t in tokens if len(t) >= 3 and t not in STOPWORDS and t[:5] not in asked_prefixes}
    bigrams = list(pairwise(tokens))
    asked_bigrams = set(pairwise(asked))
    topic_words = [w for w in words(topic_of(instruction)) if len(w) >= 4 and w.lower() not in STOPWORDS]
    have = _prefixes(tokens)
    coverage = sum(w.lower()[:5] in have for w in topic_words) / len(topic_words) if topic_words else 1.0
    return {
        "words": len(tokens),
        "own_content_words": len(own),
        "topic_coverage": coverage,
        "distinct": len(set(bigrams)) / len(bigrams) if bigrams else 0.0,
        "copied": sum(b in asked_bigrams for b in bigrams) / len(bigrams) if bigrams else 1.0,
    }


def answers(gate: dict[str, float]) -> bool:
    return (
        gate["words"] >= MIN_WORDS
        and gate["own_content_words"] >= MIN_OWN_CONTENT_WORDS
        and gate["topic_coverage"] >= MIN_TOPIC_COVERAGE
        and gate["distinct"] >= MIN_DISTINCT
        and gate["copied"] <= MAX_COPIED
    )


def label(prompt: str, response: str) -> Label:
    """Score one response to one instruction (see the module docstring for the rules)."""
    instruction = instruction_of(prompt)
    constraints = parse_constraints(instruction)
    nonempty = bool(response.strip())
    gate = answer_gate(instruction, response)
    answered = nonempty and answers(gate)
    satisfied = {f"{i}:{c.name}": bool(nonempty and c.check(response)) for i, c in enumerate(constraints)}
    parts = (
        quality_parts(instruction, response)
        if nonempty
        else {"on_topic": 0.0, "distinct": 0.0, "complete": 0.0, "length": 0.0}
    )
    quality = sum(parts.values()) / len(parts)
    n_sat = sum(satisfied.values())
    credited = 1 + n_sat if answered else 0
    return Label(
        score=round(credited + QUALITY_WEIGHT * quality, 6),
        n_satisfied=n_sat,
        n_constraints=len(constraints),
        satisfied=satisfied,
        quality=round(quality, 6),
        parts=parts,
        answers=answered,
        gate={k: round(v, 4) for k, v in gate.items()},
    )


def score(prompt: str, response: str) -> float:
    return label(prompt, response).score


def rubric_score(prompt: str, response: str, item: dict | None = None) -> float:
    """The rubric judge's function (`{type: rubric, function: "alignbench.demo.labeler:rubric_score"}`):
    the labeler's score of one response, higher is better.  `item` (the eval item) is not needed: the
    constraints are read from the prompt text itself."""
    return score(prompt, response)


def competition_ranks(scores: list[float]) -> list[int]:
    """Standard competition ranking ("1224"): 1 + number of strictly better scores."""
    return [1 + sum(o > s for o in scores) for s in scores]


def rank(prompt: str, responses: list[str], id: str | None = None) -> Ranking | None:
    """The labeler's ranking of K responses to one prompt (the paper's step 2), ties allowed.
    Returns None when all K are tied: such a ranking carries no preference to learn from."""
    labels = [label(prompt, r) for r in responses]
    ranks = competition_ranks([lab.score for lab in labels])
    if len(set(ranks)) == 1:
        return None
    return Ranking(
        prompt=instruction_of(prompt),
        responses=list(responses),
        ranks=ranks,
        id=id,
        meta={
            "labeler": "alignbench.demo.labeler",
            "scores": [lab.score for lab in labels],
            "n_satisfied": [lab.n_satisfied for lab in labels],
        },
    )


def best_of(prompt: str, responses: list[str]) -> tuple[int, Label]:
    """Index and label of the best response (first one among equals): rejection sampling's pick."""
    labels = [label(prompt, r) for r in responses]
    best = max(range(len(responses)), key=lambda i: (labels[i].score, -i))
    return best, labels[best]
