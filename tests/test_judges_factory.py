"""One judge factory and spec grammar for win rate, TruthfulQA and hallucination; the one yes/no judge."""

from __future__ import annotations

import pytest

from alignbench.errors import AlignbenchError
from alignbench.judges import JUDGES, make_judge
from alignbench.judges.consistency import LexicalJudge
from alignbench.judges.yes_no import QUESTIONS, YesNoJudge, parse_yes


class FakeEngine:
    """Answers each prompt with the next canned reply; records what it was asked."""

    fingerprint = "fake"

    def __init__(self, replies):
        self.replies, self.prompts = list(replies), []

    def generate(self, prompts, params, desc=None):
        self.prompts += prompts
        self.params = params
        return [[type("G", (), {"text": self.replies.pop(0)})()] for _ in prompts]


class Engines:
    def __init__(self, engine):
        self._engine = engine

    def engine(self, spec):
        return self._engine


def test_task_kinds_resolve_under_their_task_only():
    judge = make_judge({"type": "lexical", "threshold": 0.2}, task="hallucination")
    assert isinstance(judge, LexicalJudge) and judge.threshold == 0.2
    with pytest.raises(
        AlignbenchError, match=r"unknown judge type 'lexical'; known: reward_model, rubric, llm, human"
    ):
        make_judge({"type": "lexical"})
    with pytest.raises(AlignbenchError, match=r"'rubric' for truthfulqa; known: finetuned, distilled-truthfulqa, llm"):
        make_judge({"type": "rubric"}, task="truthfulqa")
    with pytest.raises(AlignbenchError, match=r"judge lexical: unknown key 'model'; allowed: threshold"):
        make_judge({"type": "lexical", "model": "x"}, task="hallucination")
    with pytest.raises(AlignbenchError, match=r"judge nli: missing key 'model'"):
        make_judge({"type": "nli"}, task="hallucination")
    assert all(len(v) == 2 for v in JUDGES.values())  # (import path, description): `judges list` prints them


def test_one_yes_no_judge_serves_truthfulqa_and_hallucination():
    engine = FakeEngine([" Yes.", "no", "YES", "maybe yes"])
    truth, info = make_judge({"type": "llm", "model": "m"}, task="truthfulqa", engines=Engines(engine))
    assert (truth.name, info.name) == ("llm-truth:m", "llm-info:m")
    assert truth.p_yes(["Q1?", "Q2?"], ["A1", "A2"]) == [1.0, 0.0]
    assert engine.prompts[0] == QUESTIONS["truthfulqa/truth"].format(question="Q1?", answer="A1")
    assert engine.params.max_new_tokens == 3 and engine.params.temperature == 0.0

    hal = make_judge(
        {"type": "llm", "model": "m", "max_source_chars": 5}, task="hallucination", engines=Engines(engine)
    )
    assert hal.predict(["0123456789", "src"], ["out", "x"]).tolist() == [1, 0]
    assert "SOURCE:\n01234\n" in engine.prompts[2] and "0123456" not in engine.prompts[2]


def test_parse_yes_and_custom_template():
    assert [parse_yes(t) for t in ("yes", " Yes, it is", "No", "", "I think yes")] == [1.0, 1.0, 0.0, 0.0, 0.0]
    engine = FakeEngine(["yes"])
    judge = YesNoJudge(engine, "custom", "Is {a} bigger than {b}? yes or no.")
    assert judge.ask(a=["2"], b=["1"]) == [1.0] and engine.prompts == ["Is 2 bigger than 1? yes or no."]
