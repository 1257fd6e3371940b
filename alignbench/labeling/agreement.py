"""Inter-annotator agreement as the paper computes it: over pairs of responses.

A ranking of K responses decides C(K,2) response pairs (i, j): i better, j better, or tied.  Two
labelers who ranked the same item agree on a pair when they decide it the same way.  Over items with
two or more labels, for every pair of labelers of the item and every response pair:

    agreement = sum_items agree_item / sum_items n_item          (n_item = C(labelers, 2) * C(K, 2))

The 95% CI is a percentile bootstrap over ITEMS (the comparisons of one item are not independent),
resampling (agree_item, n_item) together -- scipy.stats.bootstrap with paired=True on the ratio.
Gold agreement (the paper's screening) is the same count between a labeler and the researchers' label.
Compare items are the K = 2 case (one response pair: A better / B better / tie).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np


@dataclass(frozen=True)
class Agreement:
    value: float
    ci_low: float
    ci_high: float
    n_items: int
    n_comparisons: int

    def as_dict(self) -> dict:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n_items": self.n_items,
            "n_comparisons": self.n_comparisons,
        }


def pair_decisions(ranks: list[int]) -> list[int]:
    """For every response pair i < j: +1 (i better), -1 (j better), 0 (tie)."""
    return [int(np.sign(ranks[j] - ranks[i])) for i, j in combinations(range(len(ranks)), 2)]


def count_agreement(ranks_a: list[int], ranks_b: list[int]) -> tuple[int, int]:
    """(agreeing response pairs, response pairs) between two rankings of one item."""
    da, db = pair_decisions(ranks_a), pair_decisions(ranks_b)
    return sum(x == y for x, y in zip(da, db)), len(da)


def ratio_with_ci(agree: list[float], total: list[float], n_resamples: int = 2000, seed: int = 0) -> Agreement:
    """sum(agree) / sum(total) with a percentile bootstrap CI over items (paired resampling)."""
    a, t = np.asarray(agree, float), np.asarray(total, float)
    if t.sum() == 0:
        return Agreement(math.nan, math.nan, math.nan, 0, 0)
    value = float(a.sum() / t.sum())
    lo = hi = value
    if len(a) > 1 and len(set((a / np.maximum(t, 1)).tolist())) > 1:
        from scipy.stats import bootstrap

        res = bootstrap(
            (a, t),
            lambda x, y, axis=-1: x.sum(axis=axis) / y.sum(axis=axis),
            paired=True,
            vectorized=True,
            n_resamples=n_resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Agreement(value, lo, hi, len(a), int(t.sum()))


def inter_annotator(labels: list[dict], group: str | None = None, n_resamples: int = 2000, seed: int = 0) -> Agreement:
    """Agreement between labelers on items two or more of them labelled.  labels: dicts with item_id, labeler,
    grp, ranks (source order); group: count only pairs of labelers both in this group (train | heldout)."""
    by_item: dict[str, list[dict]] = defaultdict(list)
    for lab in labels:
        if group is None or lab["grp"] == group:
            by_item[lab["item_id"]].append(lab)
    agree, total = [], []
    for item_labels in by_item.values():
        if len(item_labels) < 2:
            continue
        a = n = 0
        for x, y in combinations(item_labels, 2):
            ag, cnt = count_agreement(x["ranks"], y["ranks"])
            a, n = a + ag, n + cnt
        agree.append(a)
        total.append(n)
    return ratio_with_ci(agree, total, n_resamples, seed)


def gold_agreement(labels: list[dict], n_resamples: int = 2000, seed: int = 0) -> dict[str, Agreement]:
    """{labeler: agreement with the gold ranks} over the gold items each labeler labelled."""
    per: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for lab in labels:
        if lab.get("gold_ranks") is not None:
            ag, cnt = count_agreement(lab["ranks"], lab["gold_ranks"])
            per[lab["labeler"]][0].append(ag)
            per[lab["labeler"]][1].append(cnt)
    return {name: ratio_with_ci(a, t, n_resamples, seed) for name, (a, t) in per.items()}
