"""Alignment tax: official SQuAD v2 EM/F1 on edge cases, lm-eval's acc/acc_norm, LAMBADA and Winogrande
request shapes, loaders on the real files, deltas with paired bootstrap on tiny-random."""

from __future__ import annotations

import pytest

from alignbench.evals import alignment_tax as at
from alignbench.evals import squad_metrics as sq


@pytest.mark.parametrize(
    "gold,pred,em,f1",
    [
        ("the Eiffel Tower", "Eiffel Tower", 1, 1.0),  # article dropped
        ("An apple", "apple.", 1, 1.0),  # article and punctuation
        ("Normandy, France", "normandy france!", 1, 1.0),  # case and punctuation
        ("in the 10th century", "10th century", 0, 0.8),  # P=1, R=2/3 -> F1=0.8
        ("Rollo", "Duke Rollo of Normandy", 0, 0.4),  # P=1/4, R=1 -> 0.4
        ("theater", "the ater", 0, 0.0),  # "the" only removed as a whole word
    ],
)
def test_squad_em_f1_official_definition(gold, pred, em, f1):
    assert sq.compute_exact(gold, pred) == em
    assert sq.compute_f1(gold, pred) == pytest.approx(f1)


def test_squad_no_answer_rule():
    # unanswerable: gold answers [] -> [''], only the empty prediction scores
    assert sq.squad_scores("", []) == (1, 1.0)
    assert sq.squad_scores("Paris", []) == (0, 0.0)
    # answerable question, empty prediction scores 0
    assert sq.squad_scores("", ["Paris"]) == (0, 0.0)
    # max over gold answers; an answer that normalises to nothing is not a gold answer
    assert sq.squad_scores("the Paris", ["London", "Paris", "the"]) == (1, 1.0)
    assert sq.extract_prediction("Unanswerable.") == ""
    assert sq.extract_prediction(" The answer cannot be answered from the passage") == ""  # article then phrase
    assert sq.extract_prediction("Paris\nQuestion: more") == "Paris"


def test_choice_accuracy_and_norm_differ_as_lm_eval():
    choices = ["a", "a much longer ending"]
    lls = [-3.0, -10.0]  # per char: -3.0 vs -0.5
    assert at.choice_accuracy(lls, 0) == 1.0
    assert at.choice_accuracy_norm(lls, choices, 0) == 0.0
    assert at.choice_accuracy_norm(lls, choices, 1) == 1.0


def test_request_shapes():
    assert at.winogrande_requests(["Ann helped Sue because Ann", "Ann helped Sue because Sue"], "was kind.") == [
        ("Ann helped Sue because Ann", " was kind."),
        ("Ann helped Sue because Sue", " was kind."),
    ]
    assert at.lambada_request("he opened the", "door") == ("he opened the", " door")


@pytest.mark.parametrize(
    "name,kwargs,count",
    [("hellaswag", {}, 10042), ("lambada", {}, 5153), ("winogrande", {}, 1267), ("squad", {"version": "v2.0"}, 11873)],
)
def test_task_loaders_count(shared_data, name, kwargs, count):
    from alignbench.data.adapters import load_dataset_items

    items = load_dataset_items(name, source=shared_data / name, **kwargs)
    assert len(items) == count
    if name == "squad":
        assert sum(bool(it.references["is_impossible"]) for it in items) == 5945


def test_run_stores_both_models_and_paired_deltas(tmp_path, shared_data):
    import json

    import numpy as np

    from alignbench.evals.runner import run_suite
    from alignbench.store import Store

    suite = {
        "name": "t",
        "evals": [
            {"name": "alignment_tax/hellaswag", "type": "alignment_tax"},
            {"name": "alignment_tax/winogrande", "type": "alignment_tax"},
        ],
    }
    out = run_suite(
        suite,
        ["cand=tiny-random:3"],
        baseline="base=tiny-random:4",
        out=tmp_path / "run",
        limit=6,
        cache=False,
        progress=False,
    )
    m = json.loads((out / "metrics.json").read_text())
    im = Store(out).frame("item_metrics")
    for ev, metric in (
        ("alignment_tax/hellaswag", "acc"),
        ("alignment_tax/hellaswag", "acc_norm"),
        ("alignment_tax/winogrande", "acc"),
    ):
        c = im[(im["eval"] == ev) & (im.metric == metric) & (im.model == "cand")].set_index("item_id").value
        b = im[(im["eval"] == ev) & (im.metric == metric) & (im.model == "base")].set_index("item_id").value
        assert len(c) == len(b) == 6
        delta = m[ev][f"{metric}_delta"]["cand"]
        assert delta["value"] == pytest.approx(float(np.mean(c - b.loc[c.index])))
        assert delta["baseline"] == "base" and delta["n"] == 6
        assert delta["ci_low"] <= delta["value"] <= delta["ci_high"]
        assert set(m[ev][metric]) == {"cand", "base"}


def test_translation_file_errors_name_the_line(tmp_path):
    from alignbench.errors import DataError

    f = tmp_path / "wmt.jsonl"
    f.write_text('{"source": "Bonjour.", "reference": "Hello."}\n{"source": "", "reference": "x"}\n')
    with pytest.raises(DataError, match=r"wmt.jsonl:2"):
        at.translation_items(str(f))


def test_lm_eval_bridge_says_how_to_install(monkeypatch):
    import builtins

    from alignbench.errors import AlignbenchError
    from alignbench.evals import lm_eval_bridge

    real_import = builtins.__import__

    def no_lm_eval(name, *args, **kwargs):
        if name == "lm_eval" or name.startswith("lm_eval."):
            raise ImportError("No module named 'lm_eval'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lm_eval)
    with pytest.raises(AlignbenchError, match=r"alignbench\[lm-eval\]"):
        lm_eval_bridge.evaluate_model(None, None, ["arc_easy"])


def test_lm_eval_results_become_metric_rows():
    from alignbench.evals import lm_eval_bridge

    results = {
        "results": {
            "arc_easy": {
                "alias": "arc_easy",
                "acc,none": 0.5,
                "acc_stderr,none": 0.1,
                "acc_norm,none": 0.25,
                "acc_norm_stderr,none": "N/A",
            }
        },
        "n-samples": {"arc_easy": {"original": 2376, "effective": 4}},
        "samples": {"arc_easy": [{"doc_id": 0, "acc": 1.0}, {"doc_id": 1, "acc": 0.0}]},
    }
    rows = {r["metric"]: r for r in lm_eval_bridge.metric_rows(results, "arc_easy")}
    assert set(rows) == {"acc", "acc_norm"}
    assert rows["acc"]["ci_low"] == pytest.approx(0.5 - 0.196) and rows["acc"]["n"] == 4
    assert rows["acc_norm"]["ci_low"] is None
    assert lm_eval_bridge.sample_values(results, "arc_easy", "acc,none") == {"arc_easy/0": 1.0, "arc_easy/1": 0.0}


def test_squad_recognises_the_papers_and_lm_evals_no_answer_strings(shared_data):
    """Regression: "Not in background." (the InstructGPT paper's no-answer string) was scored as an answer,
    so every correct abstention on the paper's own samples counted as wrong (EM 43.96 -> 29.04)."""
    import pandas as pd

    assert sq.extract_prediction("Not in background.") == ""
    assert sq.extract_prediction(" not in background\nQ: next") == ""
    assert sq.extract_prediction("unanswerable") == ""  # lm-eval squadv2's no-answer target
    assert sq.extract_prediction("The background says 1978") == "The background says 1978"
    # configurable: a spec's `no_answer:` strings are no-answers too, and only for that call
    assert sq.extract_prediction("Pas de réponse.", ["pas de réponse"]) == ""
    assert sq.extract_prediction("Pas de réponse.") == "Pas de réponse."
    df = pd.read_csv(shared_data / "instructgpt-samples" / "squadv2_samples.csv.gz")
    golds = [[] if r == "Not in background." else r.split("|") for r in df["ref_text"]]
    em = [sq.squad_scores(sq.extract_prediction(str(s)), g)[0] for s, g in zip(df["sample"].fillna(""), golds)]
    assert len(em) == 2400 and 100 * sum(em) / len(em) == pytest.approx(43.958, abs=0.01)
    abstained_right = sum(
        e
        for e, g, s in zip(em, golds, df["sample"].fillna(""))
        if not g and str(s).strip().startswith("Not in background")
    )
    assert abstained_right > 300


def test_squad_spec_no_answer_must_be_a_list_of_strings():
    from alignbench.evals import alignment_tax
    from alignbench.evals.suite import EvalSpec

    assert alignment_tax.validate(
        EvalSpec(name="alignment_tax/squad_v2", type="alignment_tax", options={"no_answer": "nope"})
    ) == ["no_answer: must be a list of strings"]
    assert (
        alignment_tax.validate(
            EvalSpec(name="alignment_tax/squad_v2", type="alignment_tax", options={"no_answer": ["nope"]})
        )
        == []
    )
