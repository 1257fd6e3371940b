"""Statistics: interval coverage on simulated runs with known truth, Wilson against its formula's known
values, paired bootstrap, and the length-controlled win rate on data with a planted length bias."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alignbench.stats import (
    balanced_accuracy_draws,
    bootstrap_ci,
    lc_win_rate,
    length_feature,
    mean_with_ci,
    order_swaps,
    paired_bootstrap,
    wilson_interval,
)


def test_bootstrap_ci_covers_the_true_win_rate_95_percent_of_the_time():
    # 2,000 simulated evals of 150 prompts each; the judge prefers the candidate with p=0.55, ties 20%:
    # true win rate = 0.55 + 0.2 / 2 = 0.65.
    rng = np.random.default_rng(2024)
    truth, runs = 0.65, 2000
    hits = 0
    for r in range(runs):
        prefs = rng.choice([1.0, 0.5, 0.0], size=150, p=[0.55, 0.2, 0.25])
        lo, hi = bootstrap_ci(prefs, n_resamples=500, seed=r)
        hits += lo <= truth <= hi
    assert 0.93 <= hits / runs <= 0.97, hits / runs


def test_wilson_coverage_and_known_values():
    # Known values (Wilson 1927 / Newcombe 1998 table): 81/263 -> (0.2553, 0.3662).
    lo, hi = wilson_interval(81, 263)
    assert lo == pytest.approx(0.2553, abs=5e-4) and hi == pytest.approx(0.3662, abs=5e-4)
    # The boundary cases stay inside [0, 1] and are not degenerate.
    assert wilson_interval(0, 10)[0] == 0.0 and 0.2 < wilson_interval(0, 10)[1] < 0.35
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    rng = np.random.default_rng(7)
    wins = rng.binomial(200, 0.3, size=2000)
    cover = np.mean([lo <= 0.3 <= hi for lo, hi in (wilson_interval(w, 200) for w in wins)])
    assert 0.93 <= cover <= 0.97


def test_mean_with_ci_drops_nan_and_degenerate_data_has_zero_width():
    est = mean_with_ci([1, 0, float("nan"), 1])
    assert est.n == 3 and est.value == pytest.approx(2 / 3)
    assert 0 <= est.ci_low < est.value < est.ci_high <= 1
    assert tuple(mean_with_ci([1, 1, 1])) == (1.0, 1.0, 1.0)
    assert math.isnan(mean_with_ci([]).value)


def test_bootstrap_is_seeded():
    x = np.random.default_rng(0).random(50)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3) != bootstrap_ci(x, seed=4)


def test_paired_bootstrap_finds_a_shared_item_effect_that_unpaired_intervals_miss():
    rng = np.random.default_rng(1)
    difficulty = rng.normal(0, 1, 200)  # large item-to-item variation shared by both models
    a = difficulty + 0.1 + rng.normal(0, 0.05, 200)
    b = difficulty + rng.normal(0, 0.05, 200)
    res = paired_bootstrap(a, b)
    assert res.value == pytest.approx(np.mean(a - b))
    assert 0.05 < res.ci_low < res.value < res.ci_high < 0.15 and res.p_value < 0.01
    # Unpaired intervals overlap completely: pairing is what makes the difference visible.
    lo_a, hi_a = bootstrap_ci(a)
    lo_b, hi_b = bootstrap_ci(b)
    assert lo_a < hi_b and lo_b < hi_a
    same = paired_bootstrap(b, b + rng.normal(0, 0.05, 200))
    assert same.ci_low < 0 < same.ci_high and same.p_value > 0.05
    with pytest.raises(ValueError, match="aligned"):
        paired_bootstrap([1, 2], [1])


def _planted_length_bias(n, quality, length_effect, rng, ties=0.0):
    """Candidate is `quality` better on the logit scale, and the judge adds `length_effect` per unit of
    tanh(standardised length difference); the candidate is longer on average."""
    len_b = rng.normal(400, 80, n).clip(20)
    len_a = len_b + rng.normal(150, 150, n)
    x = length_feature(len_a, len_b)
    p_win = 1 / (1 + np.exp(-(quality + length_effect * x)))
    u = rng.random(n)
    prefs = (u < p_win).astype(float)
    if ties:
        prefs[rng.random(n) < ties] = 0.5
    return prefs, len_a, len_b


def test_lc_win_rate_removes_a_planted_length_bias():
    rng = np.random.default_rng(11)
    prefs, len_a, len_b = _planted_length_bias(2000, quality=0.0, length_effect=2.0, rng=rng)
    raw = prefs.mean()
    lc = lc_win_rate(prefs, len_a, len_b, n_resamples=20)
    assert raw > 0.65  # the judge's length bias inflates the raw win rate ...
    assert lc.value == pytest.approx(0.5, abs=0.04)  # ... the GLM recovers the true 50%
    assert lc.ci_low < 0.5 < lc.ci_high or abs(lc.value - 0.5) < 0.02


def test_lc_win_rate_keeps_a_real_quality_effect_and_handles_ties():
    rng = np.random.default_rng(12)
    prefs, len_a, len_b = _planted_length_bias(3000, quality=1.0, length_effect=2.0, rng=rng, ties=0.2)
    lc = lc_win_rate(prefs, len_a, len_b, n_resamples=20)
    # Ties replace 20% of outcomes by 0.5 at random: P(A) at zero length difference = 0.8*s(1) + 0.1.
    expected = 0.8 / (1 + math.exp(-1.0)) + 0.1
    assert lc.value == pytest.approx(expected, abs=0.04)
    assert lc.ci_low < lc.value < lc.ci_high


def test_lc_win_rate_without_length_differences_equals_raw_win_rate():
    prefs = np.array([1, 0, 1, 0.5, 1, 0, 1, 1])
    lens = np.full(8, 100.0)
    assert lc_win_rate(prefs, lens, lens, n_resamples=5).value == pytest.approx(prefs.mean(), abs=1e-4)


def test_lc_win_rate_is_the_unpenalised_glm_on_a_planted_truth():
    """Regression: a C=1 L2 penalty on the length coefficient moved LC off the GLM's maximum-likelihood
    value (3-4 points against AlpacaEval on 200 real items).  Preferences equal to a planted logistic
    model's probabilities make the MLE exactly the planted coefficients, so LC = sigmoid(b0)."""
    from scipy.special import expit

    rng = np.random.default_rng(3)
    len_a, len_b = rng.lognormal(6.0, 0.5, 200), rng.lognormal(5.7, 0.5, 200)
    x = length_feature(len_a, len_b)
    assert x.std() > 0.3  # AlpacaEval's tanh of the (ddof=1) standardised difference
    assert np.allclose(x, np.tanh((len_a - len_b) / np.std(len_a - len_b, ddof=1)))
    prefs = expit(0.4 + 2.0 * x)
    assert prefs.mean() > 0.67
    assert lc_win_rate(prefs, len_a, len_b, n_resamples=0).value == pytest.approx(expit(0.4), abs=1e-6)


def test_balanced_accuracy_draws_match_sklearn_on_the_same_resamples():
    """Each draw is sklearn's balanced accuracy on the resample the seeded generator picks; one-class resamples
    are dropped; the draws of two judges come from the same resamples (paired)."""
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(3)
    y = rng.random(40) < 0.15  # few positives: some resamples hold none
    a = np.where(rng.random(40) < 0.8, y, ~y)
    b = np.where(rng.random(40) < 0.6, y, ~y)
    draws = balanced_accuracy_draws(y, {"a": a, "b": b}, n_resamples=300, seed=7)
    gen = np.random.default_rng(7)
    want_a, want_b = [], []
    for _ in range(300):
        idx = gen.integers(0, 40, 40)
        if y[idx].all() or not y[idx].any():
            continue
        want_a.append(balanced_accuracy_score(y[idx], a[idx]))
        want_b.append(balanced_accuracy_score(y[idx], b[idx]))
    assert 0 < len(want_a) < 300
    np.testing.assert_allclose(draws["a"], want_a)
    np.testing.assert_allclose(draws["b"], want_b)


def test_order_swaps_names_the_opposite_pairs_with_the_references_own_gap():
    """Three policies, 50 shared questions; ours orders a > b > c, the reference a > c > b with c, b one answer
    apart: exactly the (b, c) swap, not significant; the reference's a-vs-others gaps are."""
    q = np.arange(50)
    ours = {"a": np.ones(50), "b": (q < 30).astype(float), "c": (q < 20).astype(float)}
    theirs = {"a": np.ones(50), "b": (q < 10).astype(float), "c": (q < 11).astype(float)}
    groups = [g for g in "abc" for _ in q]
    x = np.concatenate([ours[g] for g in "abc"])
    y = np.concatenate([theirs[g] for g in "abc"])
    out = order_swaps(x, y, groups, np.tile(q, 3), n_resamples=500)
    assert [s["policies"] for s in out["swaps"]] == [["b", "c"]]
    swap = out["swaps"][0]
    assert swap["ours"] == [0.6, 0.4] and swap["theirs"] == [0.2, 0.22]
    assert not swap["theirs_significant"] and swap["theirs_p"] > 0.5
    assert out["n_pairs"] == 3 and out["n_significant_pairs"] == 2 and out["n_significant_swaps"] == 0


def test_order_swaps_significance_holds_its_level_and_pairs_by_cluster():
    """Two policies of equal quality answering the same 100 questions: the reference's gap is called significant in
    about 5% of repetitions, not more.  A small real gap (+0.06) under large question-to-question variation, shared
    by both policies: the cluster bootstrap finds it (the questions' variation cancels in the difference); resampling
    samples independently (clusters=None) does not."""
    rng = np.random.default_rng(11)
    hits = []
    for _ in range(200):
        base = rng.random(100)
        y = np.concatenate([rng.random(100) < base, rng.random(100) < base]).astype(float)
        out = order_swaps(np.zeros(200), y, ["a"] * 100 + ["b"] * 100, np.tile(np.arange(100), 2), n_resamples=400)
        hits.append(out["n_significant_pairs"])
    assert 0.01 <= np.mean(hits) <= 0.09
    base = rng.random(100)
    y = np.concatenate([np.clip(base + 0.06, 0, 1), base])  # mean scores, e.g. expected toxicity
    groups, q = ["a"] * 100 + ["b"] * 100, np.tile(np.arange(100), 2)
    assert order_swaps(np.zeros(200), y, groups, q)["n_significant_pairs"] == 1
    assert order_swaps(np.zeros(200), y, groups)["n_significant_pairs"] == 0


def test_order_swaps_gives_the_same_answer_in_small_blocks(monkeypatch):
    """The bootstrap runs in blocks of resamples to bound memory; the draws, hence the p-values, do not depend on
    the block size."""
    import alignbench.stats as stats

    rng = np.random.default_rng(5)
    groups = [g for g in "abcd" for _ in range(60)]
    y = rng.random(240) < np.repeat([0.3, 0.35, 0.5, 0.52], 60)
    x = rng.random(240)
    whole = order_swaps(x, y.astype(float), groups, np.tile(np.arange(60), 4), n_resamples=500)
    monkeypatch.setattr(stats, "ORDER_BLOCK_CELLS", 60 * 7)  # 7 resamples per block
    blocks = order_swaps(x, y.astype(float), groups, np.tile(np.arange(60), 4), n_resamples=500)
    assert whole == blocks and whole["n_pairs"] == 6
