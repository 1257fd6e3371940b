"""SQuAD v1.1 / v2.0 exact match and F1, exactly as the official evaluation script defines them.

The official `evaluate-v2.0.py` is a script, not a library (and `evaluate.load("squad_v2")` needs the hub),
so its four small functions are restated here line for line: answer normalisation (lower case, drop
punctuation, drop the articles a/an/the, collapse whitespace), token-level F1, and the no-answer rule
(an unanswerable question's only gold answer is the empty string: the prediction scores 1 only if it
is empty too, and F1 is then 1 iff both token lists are empty).
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official order)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def get_tokens(s: str) -> list[str]:
    return normalize_answer(s).split() if s else []


def compute_exact(a_gold: str, a_pred: str) -> int:
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold: str, a_pred: str) -> float:
    gold_toks, pred_toks = get_tokens(a_gold), get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        # If either is no-answer, then F1 is 1 if they agree, 0 otherwise.
        return float(gold_toks == pred_toks)
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_toks)
    recall = num_same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def gold_answers(answers: list[str]) -> list[str]:
    """The official script's gold list: the non-empty normalised answers, or [''] for no-answer."""
    golds = [a for a in answers if normalize_answer(a)]
    return golds or [""]


def squad_scores(prediction: str, answers: list[str]) -> tuple[int, float]:
    """(exact match, F1) of one prediction: the max over the gold answers, as the official script."""
    golds = gold_answers(answers)
    return max(compute_exact(a, prediction) for a in golds), max(compute_f1(a, prediction) for a in golds)


# How a generative model says "no answer"; such outputs map to the empty prediction that the official v2
# script expects for unanswerable questions.  Compared after normalize_answer: an answer that IS (or starts
# with) one of the short phrases, or CONTAINS one of the long ones.
#   "not in background"  the InstructGPT paper's SQuAD v2 prompts ("Not in background." is their gold answer
#                        for unanswerable questions; shared/data/instructgpt-samples/squadv2_samples.csv.gz)
#   "unanswerable"       lm-evaluation-harness's squadv2 target for unanswerable questions (and our prompt's)
NO_ANSWER_STARTS = ("not in background", "unanswerable", "no answer", "none", "unknown", "i dont know", "n a")
NO_ANSWER_CONTAINS = (
    "unanswerable",
    "cannot be answered",
    "can not be answered",
    "not answerable",
    "cannot answer",
    "not mentioned in",
    "not stated in",
    "does not say",
    "doesnt say",
    "not in background",
)


def extract_prediction(generated: str, no_answer: Sequence[str] = ()) -> str:
    """A generated answer as a SQuAD prediction: its first line, or '' when it declines to answer.
    `no_answer`: extra no-answer strings (an eval spec's `no_answer:`), matched like NO_ANSWER_STARTS:
    the normalised answer equals one or starts with it."""
    text = generated.strip().split("\n", 1)[0].strip()
    norm = normalize_answer(text)
    starts = NO_ANSWER_STARTS + tuple(n for n in (normalize_answer(s) for s in no_answer) if n)
    if (
        not norm
        or any(norm == p or norm.startswith(p + " ") for p in starts)
        or any(p in norm for p in NO_ANSWER_CONTAINS)
    ):
        return ""
    return text
