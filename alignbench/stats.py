"""Statistics shared by evals, reports and `compare`: confidence intervals over items.

All functions are pure (arrays in, numbers out) and seeded, so the same inputs always give the same
interval.  Intervals are 95% unless `confidence` says otherwise.

* `bootstrap_ci`      percentile bootstrap over items (scipy.stats.bootstrap, vectorised)
* `wilson_interval`   Wilson score interval for a proportion (ties may count as half a success)
* `paired_bootstrap`  difference of a statistic between two aligned per-item arrays (same items, two models)
* `balanced_accuracy_draws`  bootstrap draws of balanced accuracy, (TPR + TNR) / 2, for judges against one truth
* `agreement_stats`   a judge against a reference judge: Spearman, balanced accuracy, order of per-policy figures
* `order_swaps`       the pairs of groups two judges order oppositely, and whether the reference's own gap is
                      significant (cluster bootstrap over the items the groups share, e.g. questions)
* `mean_with_ci`      (value, lo, hi) for a mean over items: the helper evals call
* `lc_win_rate`       AlpacaEval-style length-controlled win rate (logistic GLM on the length difference)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

DEFAULT_RESAMPLES = 2000
ORDER_BLOCK_CELLS = 20_000_000  # order_swaps: resamples x clusters counted at once (float64: 160 MB)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval and the number of items behind it."""

    value: float
    ci_low: float
    ci_high: float
    n: int

    def __iter__(self):  # value, lo, hi = estimate
        return iter((self.value, self.ci_low, self.ci_high))


def _as_array(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-d array of per-item values, got shape {arr.shape}")
    return arr


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable = np.mean,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of `statistic` over items.  `statistic(x, axis=-1)` must be vectorised
    (np.mean, np.median ...).  One item or constant values give a zero-width interval."""
    arr = _as_array(values)
    if arr.size == 0:
        return math.nan, math.nan
    if arr.size == 1 or np.all(arr == arr[0]):
        v = float(statistic(arr, axis=-1))
        return v, v
    from scipy.stats import bootstrap

    res = bootstrap(
        (arr,),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def mean_with_ci(
    values: Sequence[float], n_resamples: int = DEFAULT_RESAMPLES, confidence: float = 0.95, seed: int = 0
) -> Estimate:
    """Mean over items with its percentile-bootstrap CI; NaN values (items that could not be scored) are
    dropped and not counted in n."""
    arr = _as_array(values)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    lo, hi = bootstrap_ci(arr, np.mean, n_resamples, confidence, seed)
    return Estimate(float(arr.mean()), lo, hi, int(arr.size))


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion successes/n.  Written out (it is three lines) because
    scipy's binomtest only takes whole successes and we count a tie as half a win."""
    if n <= 0:
        return math.nan, math.nan
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class PairedDifference:
    """statistic(a) - statistic(b) over the same items, with a bootstrap CI and a two-sided p-value for
    'no difference' (the share of resampled differences on the other side of zero, doubled)."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    statistic: Callable = np.mean,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """Difference between two aligned per-item arrays (a[i] and b[i] are the same item), resampling items
    jointly so the item-to-item variation shared by both models cancels.  Items where either is NaN are
    dropped."""
    x, y = _as_array(a), _as_array(b)
    if x.shape != y.shape:
        raise ValueError(f"paired arrays must be aligned: {x.size} vs {y.size} items")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = int(x.size)
    if n == 0:
        return PairedDifference(math.nan, math.nan, math.nan, 0, math.nan)
    diff = float(statistic(x, axis=-1) - statistic(y, axis=-1))
    # Hand-rolled resampling (not scipy.stats.bootstrap) because we also need the resampled
    # differences themselves for the p-value; one (n_resamples, n) index matrix keeps it vectorised.
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    boot = statistic(x[idx], axis=-1) - statistic(y[idx], axis=-1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return PairedDifference(diff, float(lo), float(hi), n, _bootstrap_p(boot))


def _bootstrap_p(draws: np.ndarray) -> float:
    """Two-sided p-value of "the difference is 0" from its bootstrap draws: twice the smaller tail at 0."""
    if np.all(draws == draws[0]):
        return 1.0 if draws[0] == 0 else 0.0
    return float(min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0))))


def balanced_accuracy_draws(
    truth: Sequence[bool],
    verdicts: dict[str, Sequence[bool]],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Per judge, balanced accuracy (TPR + TNR) / 2 of its verdicts against `truth` on resampled items; one
    resample is shared by all judges, so their differences are paired.  Resamples holding one class only are
    dropped (balanced accuracy is undefined there).  Hand-rolled because balanced accuracy is not a mean over
    items, which is what `bootstrap_ci` resamples; one (n_resamples, n) index matrix keeps it vectorised."""
    y = np.asarray(truth, dtype=bool)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, y.size, size=(n_resamples, y.size))
    yb = y[idx]
    pos, neg = yb.sum(axis=1), (~yb).sum(axis=1)
    ok = (pos > 0) & (neg > 0)
    out = {}
    for name, v in verdicts.items():
        vb = np.asarray(v, dtype=bool)[idx]
        tpr = (vb & yb).sum(axis=1)[ok] / pos[ok]
        tnr = (~vb & ~yb).sum(axis=1)[ok] / neg[ok]
        out[name] = (tpr + tnr) / 2
    return out


def order_swaps(
    ours: Sequence[float],
    theirs: Sequence[float],
    groups: Sequence[str],
    clusters: Sequence | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """The pairs of groups (policies) whose per-group means `ours` and `theirs` order oppositely, each with the
    p-value of the reference's own gap between the two.

    A reference figure is itself an estimate: with 100 questions per policy, GPT-judge's % truthful carries a CI of
    about +-0.05-0.08, so two policies it puts 0.004 apart are not ordered by it at all, and no judge can be held to
    that order.  A swap counts as significant when the reference's gap is (two-sided p < 1 - confidence), by a
    bootstrap that resamples `clusters` -- the items the groups share, e.g. the TruthfulQA questions every policy
    answered -- with all of a cluster's samples together (every sample its own cluster when None), so the groups'
    means move together as they do when the same questions are asked again.  Also counts the pairs the reference orders
    significantly: the most swaps that could matter.  Hand-rolled: scipy's bootstrap resamples items, not clusters
    shared across groups; (resamples, clusters) count matrices, a block of resamples at a time, keep it vectorised."""
    x, y = np.asarray(ours, float), np.asarray(theirs, float)
    grp = np.asarray(groups, dtype=object)
    cl = np.arange(len(x)) if clusters is None else np.asarray(clusters, dtype=object)
    names = sorted(set(grp.tolist()))
    _, c_idx = np.unique(cl.astype(str), return_inverse=True)
    n_c = int(c_idx.max()) + 1 if len(c_idx) else 0
    rng = np.random.default_rng(seed)
    mean_x, mean_y = {}, {}
    for g in names:
        m = grp == g
        mean_x[g], mean_y[g] = float(x[m].mean()), float(y[m].mean())
    boot_y: dict = {g: [] for g in names}
    # resamples in blocks, so the count matrix stays ~160 MB however many clusters (every sample its own cluster
    # when clusters is None); one generator in order, so the draws do not depend on the block size
    block = max(1, ORDER_BLOCK_CELLS // max(n_c, 1))
    for start in range(0, n_resamples, block):
        r = min(block, n_resamples - start)
        draws = rng.integers(0, max(n_c, 1), size=(r, n_c))
        weight = np.zeros((r, n_c))  # weight[i, c]: how often resample i drew cluster c
        np.add.at(weight, (np.repeat(np.arange(r), n_c), draws.ravel()), 1.0)
        for g in names:
            m = grp == g
            w = weight[:, c_idx[m]]
            with np.errstate(invalid="ignore", divide="ignore"):
                boot_y[g].append((w @ y[m]) / w.sum(axis=1))  # NaN where a resample drew none of g's clusters
    boot_y = {g: np.concatenate(v) if v else np.zeros(0) for g, v in boot_y.items()}
    swaps, n_sig_pairs = [], 0
    for i, g in enumerate(names):
        for h in names[i + 1 :]:
            d = boot_y[g] - boot_y[h]
            d = d[~np.isnan(d)]
            gap = mean_y[g] - mean_y[h]
            # one cluster: its resamples carry no variation to judge by
            p = 1.0 if gap == 0 or not len(d) or n_c < 2 else _bootstrap_p(d)
            significant = p < 1 - confidence
            n_sig_pairs += significant
            if (mean_x[g] - mean_x[h]) * gap < 0:
                swaps.append(
                    {
                        "policies": [g, h],
                        "ours": [mean_x[g], mean_x[h]],
                        "theirs": [mean_y[g], mean_y[h]],
                        "theirs_p": p,
                        "theirs_significant": bool(significant),
                    }
                )
    return {
        "swaps": swaps,
        "n_swaps": len(swaps),
        "n_significant_swaps": sum(s["theirs_significant"] for s in swaps),
        "n_pairs": len(names) * (len(names) - 1) // 2,
        "n_significant_pairs": int(n_sig_pairs),
    }


def agreement_stats(
    ours: Sequence[float],
    theirs: Sequence[float],
    groups: Sequence[str],
    threshold: float = 0.5,
    strict: bool = True,
    group_stat: str = "verdict",
    clusters: Sequence | None = None,
) -> dict:
    """How far a judge's scores agree with a reference judge's on the same samples (NaN on either side: left out).

    Spearman of the scores; balanced accuracy of our verdicts against theirs (verdict: score > threshold, or >= when
    not `strict`) with its 95% bootstrap CI; raw agreement; and whether the ORDER of the groups (policies) matches:
    Kendall tau between the per-group statistics -- the share of yes verdicts (`group_stat="verdict"`, e.g. % truthful)
    or the mean score ("score", e.g. expected toxicity) -- with the largest per-group difference, and the pairs
    ordered oppositely (`order_swaps`; `clusters`: the item each sample belongs to, e.g. its question), of which
    `significant_order_swaps` are pairs the reference itself separates (p < 0.05)."""
    from scipy.stats import kendalltau, spearmanr

    a, b = np.asarray(ours, float), np.asarray(theirs, float)
    grp = np.asarray(groups, dtype=object)
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b, grp = a[ok], b[ok], grp[ok]
    cl = None if clusters is None else np.asarray(clusters, dtype=object)[ok]
    cut = (lambda x: x > threshold) if strict else (lambda x: x >= threshold)
    ya, yb = cut(a), cut(b)
    bal, lo, hi = (math.nan,) * 3
    if 0 < yb.sum() < len(yb):
        bal = float(((ya & yb).sum() / yb.sum() + (~ya & ~yb).sum() / (~yb).sum()) / 2)
        lo, hi = (float(x) for x in np.percentile(balanced_accuracy_draws(yb, {"ours": ya})["ours"], [2.5, 97.5]))
    names = sorted(set(grp.tolist()))
    stat_a, stat_b = (ya, yb) if group_stat == "verdict" else (a, b)
    per = {g: (float(stat_a[grp == g].mean()), float(stat_b[grp == g].mean())) for g in names}
    xs, ys = [v[0] for v in per.values()], [v[1] for v in per.values()]
    tau = float(kendalltau(xs, ys)[0]) if len(names) > 1 and len(set(xs)) > 1 and len(set(ys)) > 1 else math.nan
    order = order_swaps(stat_a.astype(float), stat_b.astype(float), grp, cl)
    return {
        # undefined (NaN) when either side is constant, e.g. a subset where the reference says the same everywhere
        "spearman": float(spearmanr(a, b)[0]) if len(set(a)) > 1 and len(set(b)) > 1 else math.nan,
        "balanced_accuracy": bal,
        "balanced_accuracy_ci": (lo, hi),
        "agreement": float((ya == yb).mean()) if len(a) else math.nan,
        "kendall_tau_policies": tau,
        "max_policy_difference": max((abs(x - y) for x, y in per.values()), default=math.nan),
        "order_swaps": order["swaps"],
        "significant_order_swaps": order["n_significant_swaps"],
        "significant_policy_pairs": order["n_significant_pairs"],
        "policy_stat": group_stat,
        "policies": {g: {"ours": x, "theirs": y} for g, (x, y) in per.items()},
        "n": len(a),
        "n_policies": len(names),
    }


# -- length-controlled win rate ---------------------------------------------------------------------------
# The GLM's length coefficient is (all but) unpenalised, as in AlpacaEval's reference fit: its
# LogisticRegressionCV picks C from logspace(-4, 4, 10) by 5-fold CV, and whenever that choice is not
# binding (C >= ~1e2) the fit is the maximum-likelihood one.  Earlier versions used C=1 (an L2 penalty
# that moved LC by 3-4 points on 200 items).  C=1e6 only keeps the fit finite when a length threshold
# separates wins from losses (no MLE exists then); elsewhere it moves LC by < 1e-5.
LC_C = 1e6


def _lc_fit(pref: np.ndarray, x: np.ndarray) -> float:
    """Fit logit P(A preferred) = b0 + b1 * x by maximum likelihood with fractional labels (ties = 0.5)
    and return sigmoid(b0), the win rate predicted at zero length difference (AlpacaEval's
    `length_controlled_v1` without its instruction-difficulty and gamed-baseline terms, see
    `lc_win_rate`).  sklearn's LogisticRegression has no fractional labels, so each item enters twice,
    as a win with weight p and a loss with weight 1 - p (the same likelihood; AlpacaEval does the same).
    The intercept is unpenalised; b1 carries the negligible ridge 1/(2 * LC_C) * b1^2."""
    from scipy.special import expit
    from sklearn.linear_model import LogisticRegression

    if np.all(pref == pref[0]):  # perfectly separated: the MLE is the boundary
        return float(pref[0])
    X = np.concatenate([x, x])[:, None]
    y = np.concatenate([np.ones_like(pref), np.zeros_like(pref)])
    w = np.concatenate([pref, 1 - pref])
    model = LogisticRegression(C=LC_C, solver="lbfgs", max_iter=10_000, tol=1e-10)
    model.fit(X, y, sample_weight=w)
    return float(expit(model.intercept_[0]))


def length_feature(len_a: Sequence[float], len_b: Sequence[float]) -> np.ndarray:
    """AlpacaEval's length term: tanh of the length difference divided by its standard deviation
    (sample standard deviation, ddof=1, as pandas computes it there)."""
    delta = _as_array(len_a) - _as_array(len_b)
    sd = delta.std(ddof=1) if delta.size > 1 else 0.0
    return np.tanh(delta / sd) if sd > 0 else np.zeros_like(delta)


def lc_win_rate(
    preferences: Sequence[float],
    len_a: Sequence[float],
    len_b: Sequence[float],
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Length-controlled win rate of A over B (Dubois et al. 2024, AlpacaEval 2.0): regress the per-item
    preference (1 = A wins, 0.5 = tie, 0 = B wins) on tanh(standardised length difference) with a
    logistic GLM, and report the predicted win rate at zero length difference.  The CI is a percentile
    bootstrap over items (the GLM is refitted on each resample, so fewer resamples than elsewhere).

    Reference: AlpacaEval's `length_controlled_v1` (alpaca_eval/metrics/glm_winrate.py), formula
    `tanh(std_delta_len) + instruction_difficulty + not_gamed_baseline - 1`, fitted by an L1
    LogisticRegressionCV.  We keep its length term, its fractional labels and its prediction at zero
    length difference, and fit by maximum likelihood (see `LC_C`).  We omit (docs/evals.md):
    instruction_difficulty (fitted on AlpacaEval's 805 instructions across its leaderboard, meaningless
    for other prompts), the "gamed baseline" rows (hub data for those instructions), and the CV over the
    L1 strength, which also penalises the win-rate term itself and so, when CV picks C=1e-4, returns
    exactly 50% whatever the data."""
    pref = _as_array(preferences)
    la, lb = _as_array(len_a), _as_array(len_b)
    keep = ~np.isnan(pref)
    pref, la, lb = pref[keep], la[keep], lb[keep]
    n = int(pref.size)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    x = length_feature(la, lb)
    value = _lc_fit(pref, x)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        boots.append(_lc_fit(pref[idx], length_feature(la[idx], lb[idx])))
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha]) if boots else (math.nan, math.nan)
    return Estimate(value, float(lo), float(hi), n)
