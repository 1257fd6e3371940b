"""The demo task's pieces that depend on no model: task generation, constraint checkers and
repairs, the simulated labeler (scores, rankings, the rubric function), the ptx corpus."""

from __future__ import annotations

import pytest

from alignbench.data.records import Ranking
from alignbench.demo import constraints as C
from alignbench.demo import labeler
from alignbench.demo.ptx_corpus import ptx_texts
from alignbench.demo.tasks import generate_tasks, split_tasks, task_from_prompt, topic_of


# -- constraint checkers --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "constraint, good, bad",
    [
        (C.WordLimit(5), "one two three four five", "one two three four five six"),
        (C.RequiredWord("simple"), "It is Simple, really.", "It is simplest."),
        (C.BulletCount(2), "- first point\n- second point", "- first point\n- second\n- third"),
        (C.AllLowercase(), "all lower case here.", "Not all lower."),
        (C.StartsWith("Sure"), "Sure, here it is.", "Here it is, sure."),
        (C.EndsWithQuestion(), "It works. Any questions?", "Any questions? It works."),
        (C.NoCommas(), "No commas at all.", "One, two."),
    ],
)
def test_checkers_accept_good_and_reject_bad(constraint, good, bad):
    assert constraint.check(good)
    assert not constraint.check(bad)


def test_empty_response_satisfies_nothing():
    task = generate_tasks(1, seed=1)[0]
    lab = labeler.label(task.prompt, "   ")
    assert lab.n_satisfied == 0 and lab.score == 0.0


def test_phrases_parse_back_to_the_same_task():
    for task in generate_tasks(300, seed=7):
        back = task_from_prompt(task.prompt)
        assert back.constraints == task.constraints
        assert back.topic == task.topic == topic_of(task.prompt)


def test_generation_is_seeded_distinct_and_compatible():
    a, b = generate_tasks(60, seed=3), generate_tasks(60, seed=3)
    assert [t.prompt for t in a] == [t.prompt for t in b]
    assert [t.prompt for t in a] != [t.prompt for t in generate_tasks(60, seed=4)]
    assert len({t.prompt for t in a}) == 60
    for t in a:
        names = {c.name for c in t.constraints}
        assert 1 <= len(names) <= 2 and not {"bullet_count", "starts_with"} <= names


def test_splits_are_disjoint():
    s = split_tasks(10, 8, 6, 12, seed=0)
    groups = [{t.prompt for t in g} for g in (s.sft, s.rank, s.ppo, s.eval)]
    assert [len(g) for g in groups] == [10, 8, 6, 12]
    assert sum(len(g) for g in groups) == len(set().union(*groups))


@pytest.mark.parametrize(
    "response",
    [
        "Well, this is a long answer, with commas, about many things. It goes on and on for a while. Then it ends.",
        "",
        "x",
        "1. one\n2. two, three\n3. four five six seven eight nine ten eleven twelve thirteen fourteen",
    ],
)
def test_repair_satisfies_every_constraint_of_every_task(response):
    for task in generate_tasks(400, seed=11):
        fixed = C.repair_all(response, list(task.constraints), task.topic)
        assert all(c.check(fixed) for c in task.constraints), (task.prompt, fixed)


# -- the labeler ------------------------------------------------------------------------------------
PROMPT = "Explain how bees make honey. Answer in at most 20 words. End your answer with a question."


def test_constraints_dominate_quality():
    both = "Bees collect nectar and turn it into honey. Why not try some?"
    one = "Bees collect nectar from flowers and dry it into honey inside the hive."
    none = "Bees bees bees bees bees bees bees bees bees bees bees bees bees bees bees bees bees bees bees bees bees"
    la, lb, lc = (labeler.label(PROMPT, r) for r in (both, one, none))
    assert (la.n_satisfied, lb.n_satisfied, lc.n_satisfied) == (2, 1, 0)
    assert la.score > lb.score > lc.score
    assert int(lb.score) == 2 and lb.quality > 0.5  # answering (1) + one constraint; quality adds less than 1
    assert not lc.answers and lc.score < 1  # a loop of the topic word is no answer


BREAD = (
    "Write a short note about how bread rises. End your answer with a question. "
    "Write the whole answer in lowercase letters."
)
REAL_ATTEMPT = (
    "Bread rises due to the Maillard reaction, which is a natural process that occurs when sugar and yeast "
    "are combined. This reaction produces heat and reduces the Maillard reaction, which is a metabolic "
    "process that occurs in the human body"
)  # wrong, cut off, no constraint met -- but an answer


@pytest.mark.parametrize(
    "gamed",
    [
        "How does bread rise?",  # the one-liner that won 1.742 vs 0.698
        "how does bread rise?",  # ... now also lowercase: two constraints met
        "",
        " ",
        "?",
        "ok?",  # empty and near-empty
        "bread rises. " * 10 + "why?",  # a loop of the topic
        "today today today today today today today today today today bread?",
        "write a short note about how bread rises. end your answer with a question?",  # an echo of the instruction
        "sure! here is a short note. do you like it?",  # polite, constraint-following, says nothing
    ],
)
def test_short_empty_repetitive_or_echoed_answers_never_beat_a_real_answer(gamed):
    real = labeler.label(BREAD, REAL_ATTEMPT)
    fake = labeler.label(BREAD, gamed)
    assert real.answers and real.n_satisfied == 0
    assert not fake.answers and fake.score < 1 <= real.score
    assert labeler.rank(BREAD, [gamed, REAL_ATTEMPT]).ranks == [2, 1]


def test_a_real_answer_that_follows_the_constraints_wins_and_answering_is_what_counts():
    good = (
        "yeast in the dough eats sugar and breathes out carbon dioxide. the gas is trapped by gluten, so "
        "the bread rises as the bubbles grow. have you ever baked bread at home?"
    )
    lab = labeler.label(BREAD, good)
    assert lab.answers and lab.n_satisfied == 2 and lab.score > 3
    assert lab.score > labeler.score(BREAD, REAL_ATTEMPT) > labeler.score(BREAD, "how does bread rise?")
    # the same answer about another topic does not answer this instruction
    off = "yeast in the dough eats sugar. trains run on steel rails across the whole country every day. why?"
    assert not labeler.label(BREAD, off).answers
    assert labeler.label(BREAD, good).to_dict()["gate"]["topic_coverage"] == 1.0


def test_quality_parts_react_to_repetition_truncation_and_topic():
    base = labeler.quality_parts(PROMPT, "Bees gather nectar and make honey in the hive.")
    repeated = labeler.quality_parts(PROMPT, "make honey make honey make honey make honey make honey.")
    cut = labeler.quality_parts(PROMPT, "Bees gather nectar and make honey in the")
    off = labeler.quality_parts(PROMPT, "Trains run on steel rails across the country.")
    assert base == {"on_topic": 1.0, "distinct": 1.0, "complete": 1.0, "length": 1.0}
    assert repeated["distinct"] < 0.5
    assert cut["complete"] == 0.0
    assert off["on_topic"] == 0.0


def test_rank_gives_competition_ranks_with_ties_and_none_when_all_tied():
    why, plain = (
        "Bees make honey from the nectar of flowers they visit. Why?",
        "Bees make honey from nectar of flowers they visit.",
    )
    responses = [why, why, plain, "no"]
    ranking = labeler.rank(PROMPT, responses, id="x")
    assert isinstance(ranking, Ranking)
    assert ranking.ranks == [1, 1, 3, 4]
    Ranking.from_dict(ranking.to_dict())  # a valid record
    assert labeler.rank(PROMPT, ["same text.", "same text."]) is None


def test_rubric_judge_uses_the_labeler_on_plain_and_chatml_prompts():
    from alignbench.judges import make_judge

    judge = make_judge({"type": "rubric", "function": "alignbench.demo.labeler:rubric_score"})
    chat = (
        "<|im_start|>system\nYou are helpful.<|im_end|>\n"
        f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n"
    )
    good, bad = "Bees make honey from nectar they gather in flowers. Do you like it?", "Bees make honey from nectar."
    assert judge.score([chat, PROMPT], [good, good], ["a", "b"]) == [labeler.score(PROMPT, good)] * 2
    verdicts = judge.compare([PROMPT, PROMPT], [good, bad], [bad, bad], ["a", "b"])
    assert [j.verdict for j in verdicts] == ["A", "tie"]


def test_best_of_picks_the_highest_score_first_among_equals():
    answer = "Bees make honey from the nectar of flowers they visit. Why?"
    idx, lab = labeler.best_of(PROMPT, ["no", answer, answer])
    assert idx == 1 and lab.n_satisfied == 2


# -- ptx corpus -----------------------------------------------------------------------------------
def test_ptx_corpus_is_prose_from_the_python_docs_and_seeded():
    texts = ptx_texts(50, max_words=64, seed=0)
    assert len(texts) == 50
    assert all(12 <= len(t.text.split()) <= 64 for t in texts)
    assert all(t.id.startswith("pydoc:") for t in texts)
    assert [t.text for t in texts] == [t.text for t in ptx_texts(50, max_words=64, seed=0)]
    assert len(ptx_texts()) > 300
