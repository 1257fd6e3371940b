"""Reward-model judge on tiny-random loaded as a 1-label sequence classifier."""

from __future__ import annotations

import pytest
import torch

from alignbench.judges import make_judge


@pytest.fixture(scope="module")
def rm_pair():
    from alignbench.models import load_model

    return load_model("tiny-random", task="reward")  # a fresh (random) scalar head on the tiny LM


@pytest.fixture(scope="module")
def rm_judge(rm_pair):
    return make_judge({"type": "reward_model", "model": "tiny-random", "batch_size": 3, "loaded": rm_pair})


def test_scores_are_the_rm_output_on_the_chat_formatted_pair(rm_judge, rm_pair):
    prompts = ["What is 2+2?", "Name a colour.", "Say hi", "Why is the sky blue?"]
    texts = ["4", "Blue, or perhaps a long answer about many colours of the rainbow.", "hi", "Rayleigh scattering."]
    scores = rm_judge.score(prompts, texts, ["1", "2", "3", "4"])
    model, tok = rm_pair
    for prompt, text, score in zip(prompts, texts, scores):
        chat = tok.apply_chat_template(
            [{"role": "user", "content": prompt}, {"role": "assistant", "content": text}], tokenize=False
        )
        ids = tok(chat, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            expected = model(input_ids=ids).logits[0, 0].item()
        # batched with padding, one at a time without: same score
        assert score == pytest.approx(expected, abs=1e-4)
    assert len(set(round(s, 6) for s in scores)) == 4


def test_compare_turns_score_differences_into_verdicts(rm_judge):
    prompts = ["q1", "q2", "q3"]
    a = ["alpha", "beta gamma", "same"]
    b = ["delta epsilon zeta", "eta", "same"]
    out = rm_judge.compare(prompts, a, b, ["1", "2", "3"])
    for j in out:
        assert j.verdict == ("A" if j.score_a > j.score_b else "B" if j.score_b > j.score_a else "tie")
    assert out[2].verdict == "tie"  # identical texts score identically
    swapped = rm_judge.compare(prompts, b, a, ["1", "2", "3"])
    flip = {"A": "B", "B": "A", "tie": "tie"}
    assert [j.verdict for j in swapped] == [flip[j.verdict] for j in out]
    wide = make_judge({"type": "reward_model", "model": "tiny-random", "tolerance": 1e9})
    assert {j.verdict for j in wide.compare(prompts, a, b, ["1", "2", "3"])} == {"tie"}
    assert rm_judge.name == "rm:tiny-random" and rm_judge.gives_scores and len(rm_judge.fingerprint) == 16


def test_items_with_chat_messages_are_scored_as_multi_turn(rm_judge):
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you?"},
    ]
    flat = rm_judge.score(["how are you?"], ["fine"], ["1"])
    multi = rm_judge.score(["how are you?"], ["fine"], ["1"], items=[{"messages": messages}])
    assert flat[0] != pytest.approx(multi[0])


def test_scores_do_not_depend_on_batch_composition(rm_pair):
    """The same texts scored alone, among longer texts, among shorter ones and at other batch sizes give the
    same scores (float tolerance), also when the model's pad id differs from the tokenizer's."""
    model, _ = rm_pair
    targets = (["Why is the sky blue?", "Name a colour."], ["Rayleigh scattering of sunlight.", "green"])
    long_text = "a long answer that goes on " * 12
    mixes = [([], []), (["q"] * 3, [long_text] * 3), (["q"] * 2, ["x", "y"]), (["p", "q"], [long_text, "z"])]
    saved = model.config.pad_token_id
    try:
        for pad_id in (saved, 0):  # 0 (<unk>): a model whose config names a pad id the tokenizer does not use
            model.config.pad_token_id = pad_id
            ref = None
            for batch_size in (1, 2, 16):
                judge = make_judge(
                    {"type": "reward_model", "model": "tiny-random", "batch_size": batch_size, "loaded": rm_pair}
                )
                for extra_p, extra_t in mixes:
                    prompts, texts = list(targets[0]) + extra_p, list(targets[1]) + extra_t
                    got = judge.score(prompts, texts, [str(i) for i in range(len(texts))])[:2]
                    ref = ref or got
                    assert got == pytest.approx(ref, abs=1e-5)
    finally:
        model.config.pad_token_id = saved


def test_identical_responses_tie_whatever_the_batches(rm_pair):
    judge = make_judge({"type": "reward_model", "model": "tiny-random", "batch_size": 2, "loaded": rm_pair})
    a = ["same answer", "x", "a much longer answer with many more tokens in it than the others"]
    b = ["y y y y y y y y y", "same answer", "same answer"]
    prompts = ["q", "q", "q"]
    out = judge.compare(prompts + ["q"], a + ["same answer"], b + ["same answer"], ["1", "2", "3", "4"])
    assert out[3].verdict == "tie" and out[3].score_a == out[3].score_b
    assert out[0].score_a == out[1].score_b == out[2].score_b  # one (prompt, text): one score
