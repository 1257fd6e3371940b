"""Rubric judge: declarative rules and Python functions (the demo's simulated labeler is one)."""

from __future__ import annotations

import pytest

from alignbench.errors import AlignbenchError
from alignbench.judges import make_judge


def test_rules_count_satisfied_constraints_and_compare_by_score():
    judge = make_judge(
        {
            "type": "rubric",
            "rules": {"max_words": 5, "must_include": ["Paris"], "lowercase": True, "forbid_regex": r"\d"},
        }
    )
    texts = ["it is paris.", "The capital is Paris, of course, as everyone knows", "paris 1", "no idea"]
    assert judge.score(["q"] * 4, texts, list("abcd")) == [4.0, 2.0, 3.0, 3.0]
    assert judge.rule_results("paris 1") == {
        "max_words": True,
        "must_include": True,
        "lowercase": True,
        "forbid_regex": False,
    }
    out = judge.compare(
        ["q", "q", "q"], [texts[0], texts[1], texts[2]], [texts[1], texts[0], texts[3]], ["1", "2", "3"]
    )
    assert [j.verdict for j in out] == ["A", "B", "tie"]
    assert (out[0].score_a, out[0].score_b) == (4.0, 2.0) and out[0].judge == "rubric:rules"


def test_rule_weights_and_tolerance():
    judge = make_judge(
        {
            "type": "rubric",
            "rules": {"must_include": "yes", "max_chars": 10},
            "weights": {"must_include": 3},
            "tolerance": 1.5,
        }
    )
    assert judge.score(["q", "q"], ["yes", "no"], ["1", "2"]) == [4.0, 1.0]
    # a 1-point difference is within tolerance -> tie
    assert judge.compare(["q"], ["a very long answer here"], ["short"], ["1"])[0].verdict == "tie"


def word_budget(prompt, response, item):
    """A simulated labeler: prefers answers within the item's word budget, then shorter ones."""
    budget = item.get("budget", 10)
    n = len(response.split())
    return (1.0 if n <= budget else 0.0) - n / 1000


def test_function_rubric_gets_the_item_and_can_be_named_by_import_path(tmp_path):
    by_callable = make_judge({"type": "rubric", "function": word_budget, "name": "budget"})
    items = [{"budget": 2}, {"budget": 5}]
    out = by_callable.compare(
        ["p", "p"], ["one two three", "one two three"], ["one", "one two three four five six"], ["1", "2"], items=items
    )
    assert [j.verdict for j in out] == ["B", "A"] and out[0].judge == "budget"
    file = tmp_path / "labeler.py"
    file.write_text("def score(prompt, response, item):\n    return float('please' in response)\n")
    by_path = make_judge({"type": "rubric", "function": f"{file}:score"})
    assert by_path.score(["p", "p"], ["please do", "do"], ["1", "2"]) == [1.0, 0.0]
    by_module = make_judge({"type": "rubric", "function": "alignbench.judges.rubric:_words"})
    assert by_module.name == "rubric:_words"


def test_rubric_errors_are_clear(tmp_path):
    with pytest.raises(AlignbenchError, match="exactly one of"):
        make_judge({"type": "rubric"})
    with pytest.raises(AlignbenchError, match="rules.max_wordz: unknown rule"):
        make_judge({"type": "rubric", "rules": {"max_wordz": 3}})
    with pytest.raises(AlignbenchError, match="rules.regex: not a valid regular expression"):
        make_judge({"type": "rubric", "rules": {"regex": "("}})
    with pytest.raises(AlignbenchError, match="cannot import"):
        make_judge({"type": "rubric", "function": "no_such_module_xyz:f"})
    with pytest.raises(AlignbenchError, match="has no function 'nope'"):
        make_judge({"type": "rubric", "function": "alignbench.judges.rubric:nope"})
    judge = make_judge({"type": "rubric", "function": lambda p, r, i: "high"})
    with pytest.raises(AlignbenchError, match="returned 'high' for item x"):
        judge.score(["p"], ["r"], ["x"])
    with pytest.raises(AlignbenchError, match="unknown judge type 'oracle'"):
        make_judge({"type": "oracle"})
