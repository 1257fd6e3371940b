"""DROP exact match and F1, as the official evaluation script defines them.

The official script (`drop_eval.py` of allenai/allennlp-reading-comprehension, also shipped with the DROP data)
is a script, not a library, and `evaluate.load("drop")` needs the hub, so its functions are restated here:

- answer normalisation, token by token (tokens split on spaces and hyphens): lower case, drop punctuation unless
  the token is a number, numbers rewritten as float(text) ("7761" -> "7761.0"), articles a/an/the dropped,
  whitespace collapsed; empty tokens removed;
- an answer is a list of spans (bags of normalised tokens); EM = 1 iff the normalised span sets are equal (same
  count); F1 aligns predicted and gold bags one-to-one (Hungarian assignment, scipy's linear_sum_assignment)
  maximising the summed bag F1, where a pair whose gold bag has numbers scores 0 unless the predicted bag shares
  one of them; F1 = mean over max(#gold, #predicted) of the aligned scores, rounded to 2 decimals;
- several gold answers: the max EM and max F1 over them.
"""

from __future__ import annotations

import re
import string

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_EXCLUDE = set(string.punctuation)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _remove_punc(text: str) -> str:
    return text if _is_number(text) else "".join(ch for ch in text if ch not in _EXCLUDE)


def _normalize_number(text: str) -> str:
    return str(float(text)) if _is_number(text) else text


def normalize_answer(text: str) -> str:
    parts = [
        " ".join(_ARTICLES.sub(" ", _normalize_number(_remove_punc(token.lower()))).split())
        for token in re.split(" |-", text)
    ]
    return " ".join(p for p in parts if p.strip()).strip()


def _answer_to_bags(answer) -> tuple[list[str], list[set[str]]]:
    spans = list(answer) if isinstance(answer, (list, tuple)) else [answer]
    normalized = [normalize_answer(s) for s in spans]
    return normalized, [set(s.split()) for s in normalized]


def _bag_f1(predicted: set[str], gold: set[str]) -> float:
    inter = len(gold & predicted)
    precision = 1.0 if not predicted else inter / len(predicted)
    recall = 1.0 if not gold else inter / len(gold)
    return 0.0 if precision == 0.0 and recall == 0.0 else 2 * precision * recall / (precision + recall)


def _numbers_match(gold: set[str], predicted: set[str]) -> bool:
    gold_numbers = {w for w in gold if _is_number(w)}
    return not gold_numbers or bool(gold_numbers & {w for w in predicted if _is_number(w)})


def _align_bags(predicted: list[set[str]], gold: list[set[str]]) -> np.ndarray:
    from scipy.optimize import linear_sum_assignment

    scores = np.zeros((len(gold), len(predicted)))
    for g, gold_bag in enumerate(gold):
        for p, pred_bag in enumerate(predicted):
            if _numbers_match(gold_bag, pred_bag):
                scores[g, p] = _bag_f1(pred_bag, gold_bag)
    rows, cols = linear_sum_assignment(-scores)
    best = np.zeros(max(len(gold), len(predicted)))
    for r, c in zip(rows, cols):
        best[r] = max(best[r], scores[r, c])
    return best


def get_metrics(predicted, gold) -> tuple[float, float]:
    """(EM, F1) of one prediction against one gold answer (each a string or a list of spans)."""
    pred_spans, pred_bags = _answer_to_bags(predicted)
    gold_spans, gold_bags = _answer_to_bags(gold)
    em = float(set(pred_spans) == set(gold_spans) and len(pred_spans) == len(gold_spans))
    return em, round(float(np.mean(_align_bags(pred_bags, gold_bags))), 2)


def drop_scores(prediction: str, golds: list) -> tuple[float, float]:
    """(EM, F1): the max over gold answers, as the official script."""
    scores = [get_metrics(prediction, g) for g in golds] or [(0.0, 0.0)]
    return max(s[0] for s in scores), max(s[1] for s in scores)
