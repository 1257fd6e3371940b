"""Agreement and per-model metrics on simulated labelers with planted noise: the computed value matches the
planted rate within its 95% CI, through the real project (assignment, submission, storage).

Noise model: a labeler gives the true ranking with probability q, else a uniformly random permutation.  For a
response pair, the true ranking decides it; a random permutation agrees with any fixed decision half the time.
So two labelers agree on a pair with probability q^2 + (1 - q^2)/2, and a labeler agrees with gold with
probability q + (1 - q)/2."""

from __future__ import annotations

import json
import random

import pytest
from helpers_labeling import write_rank_items

from alignbench.labeling import create_project
from alignbench.labeling.agreement import (
    count_agreement,
    gold_agreement,
    inter_annotator,
    pair_decisions,
)
from alignbench.labeling.assignment import next_item
from alignbench.labeling.export import export_rows
from alignbench.labeling.metrics import compute
from alignbench.labeling.project import to_source_order

K = 4


def test_pair_decisions_and_counting():
    assert pair_decisions([1, 1, 3, 4]) == [0, 1, 1, 1, 1, 1]
    assert count_agreement([1, 2, 3, 4], [1, 2, 3, 4]) == (6, 6)
    assert count_agreement([1, 2, 3, 4], [4, 3, 2, 1]) == (0, 6)
    assert count_agreement([1, 1], [1, 2]) == (0, 1)


def _simulate(
    tmp_path,
    n_items: int,
    labelers: dict[str, tuple[str, float]],
    overlap: float,
    gold_n: int = 0,
    flag_rates: dict[int, float] | None = None,
    seed: int = 0,
):
    """Run every labeler through the project until nothing is left; responses' true order = source order."""
    items = write_rank_items(tmp_path / "items.jsonl", n_items, k=K)
    gold = None
    if gold_n:
        gold = tmp_path / "gold.jsonl"
        gold.write_text(
            "".join(json.dumps({"id": f"q{i:04d}", "ranks": list(range(1, K + 1))}) + "\n" for i in range(gold_n))
        )
    project = create_project(tmp_path / "proj", "rank", items, overlap=overlap, gold=gold, seed=seed)
    rng = random.Random(seed)
    # flags planted exactly: model j's response is flagged on a random round(rate * n) of the items
    flagged = {
        j: set(random.Random(f"flags{j}").sample(range(n_items), round(rate * n_items)))
        for j, rate in (flag_rates or {}).items()
    }
    ids = {
        name: project.labeler_for_token(project.add_labeler(name, group))["labeler_id"]
        for name, (group, _) in labelers.items()
    }
    active = list(labelers)
    while active:
        for name in list(active):
            item = next_item(project, ids[name])
            if item is None:
                active.remove(name)
                continue
            q = labelers[name][1]
            source = list(range(1, K + 1)) if rng.random() < q else rng.sample(range(1, K + 1), K)
            index = int(item["item_id"][1:])
            flags = [["hallucination"] if index in flagged.get(j, ()) else [] for j in range(K)]
            likert = [7 - j for j in range(K)]
            display = item["display"]
            label = {
                "ranks": [source[s] for s in display],
                "likert": [likert[s] for s in display],
                "flags": [flags[s] for s in display],
            }
            assert to_source_order(label["ranks"], display) == source
            assert project.submit(ids[name], item["item_id"], label) == "recorded"
    return project


def test_inter_annotator_agreement_matches_the_planted_rate(tmp_path):
    q = 0.6
    project = _simulate(tmp_path, 300, {"ann": ("train", q), "bob": ("train", q), "cid": ("heldout", q)}, overlap=1.0)
    labels = project.all_labels()
    est = inter_annotator(labels)
    planted = q * q + (1 - q * q) / 2
    assert est.n_items == 300 and est.n_comparisons == 300 * 6
    assert est.ci_low <= planted <= est.ci_high, (est, planted)
    assert est.ci_high - est.ci_low < 0.1
    # train-only agreement counts only pairs of train labelers: fewer items, same planted rate
    train = inter_annotator(labels, "train")
    assert 0 < train.n_items < est.n_items and train.ci_low <= planted <= train.ci_high


def test_agreement_detects_a_different_noise_level(tmp_path):
    """The CI is narrow enough to tell q=0.9 labelers from the q=0.6 rate above."""
    project = _simulate(tmp_path, 300, {"ann": ("train", 0.9), "bob": ("train", 0.9)}, overlap=1.0, seed=1)
    est = inter_annotator(project.all_labels())
    assert est.ci_low <= 0.9 * 0.9 + (1 - 0.81) / 2 <= est.ci_high
    assert est.ci_low > 0.6 * 0.6 + (1 - 0.36) / 2


def test_gold_agreement_screens_the_weak_labeler(tmp_path):
    project = _simulate(tmp_path, 260, {"good": ("train", 0.8), "weak": ("train", 0.1)}, overlap=0.0, gold_n=200)
    gold = gold_agreement(project.all_labels())
    for name, q in (("good", 0.8), ("weak", 0.1)):
        assert gold[name].n_items == 200
        assert gold[name].ci_low <= q + (1 - q) / 2 <= gold[name].ci_high, (name, gold[name])
    rows, notes = export_rows(project, "rankings", min_gold_agreement=0.75)
    assert rows and {r["meta"]["labeler"] for r in rows} == {"good"}
    assert any("left out labeler weak: gold agreement" in n for n in notes)
    admitted = {r["labeler"]: r["admitted"] for r in export_rows(project, "labelers", min_gold_agreement=0.75)[0]}
    assert admitted == {"good": True, "weak": False}


def test_flag_rates_and_likert_means_per_model_match_what_was_planted(tmp_path):
    rates = {0: 0.3, 1: 0.05, 2: 0.0, 3: 0.6}
    project = _simulate(tmp_path, 300, {"ann": ("train", 1.0)}, overlap=0.0, flag_rates=rates)
    rows = {(r["eval"], r["metric"], r["model"]): r for r in compute(project)}
    for j, rate in rates.items():
        r = rows[("human_flags", "flag_hallucination", f"model-{j}")]
        assert r["value"] == pytest.approx(rate) and r["n"] == 300 and r["higher_is_better"] is False
        assert r["ci_low"] <= rate <= r["ci_high"] and (rate == 0 or r["ci_high"] - r["ci_low"] > 0.01)
        assert rows[("human_flags", "flag_sexual_content", f"model-{j}")]["value"] == 0.0
        assert rows[("human_likert", "likert_mean", f"model-{j}")]["value"] == pytest.approx(7 - j)
