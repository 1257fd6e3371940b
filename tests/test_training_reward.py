"""The K-way ranking reward model: the loss against independently computed pairwise losses, ties, mixed K in
one batch, a tiny RM learning a synthetic preference, normalisation and loadability."""

from __future__ import annotations

import json
import random

import pytest
import torch
import torch.nn.functional as F

from alignbench.data import Ranking
from alignbench.models.chat_format import encode_pair
from alignbench.training.reward import (
    KWayRankingCollator,
    KWayRewardConfig,
    KWayRewardTrainer,
    kway_ranking_loss,
    tokenize_rankings,
)


def _independent_loss(model, tokenizer, rankings, max_length=64) -> float:
    """The paper's loss computed the slow, obvious way: every pair scored by its own forwards, each prompt's
    pair losses averaged, then prompts averaged."""
    per_prompt = []
    with torch.no_grad():
        for rec in rankings:

            def score(text, prompt=rec.prompt):
                ids = torch.tensor([encode_pair(tokenizer, prompt, text, False, max_length)])
                return model(input_ids=ids).logits[0, 0].double()

            losses = [-F.logsigmoid(score(rec.responses[w]) - score(rec.responses[lo])) for w, lo in rec.pairs()]
            if losses:
                per_prompt.append(sum(losses) / len(losses))
    return float(sum(per_prompt) / len(per_prompt))


def _batch_loss(model, tokenizer, rankings, max_length=64):
    ds = tokenize_rankings(rankings, tokenizer, False, max_length)
    batch = KWayRankingCollator(tokenizer.pad_token_id)([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.squeeze(-1)
    loss, stats = kway_ranking_loss(rewards, batch["ranks"], batch["group_sizes"].tolist())
    return float(loss), stats, batch


@pytest.fixture(scope="module")
def tiny_rm():
    from alignbench.models import load_model

    torch.manual_seed(0)
    return load_model("tiny-random", task="reward")


def test_kway_loss_equals_mean_of_independent_pairwise_losses(tiny_rm):
    model, tok = tiny_rm
    rng = random.Random(1)
    rankings = []
    for i, k in enumerate([4, 2, 9, 3]):  # mixed K in ONE batch
        ranks = list(range(1, k + 1))
        rng.shuffle(ranks)
        rankings.append(
            Ranking(
                prompt=f"Question {i}: name a colour.",
                ranks=ranks,
                responses=[f"answer {j} " + "word " * rng.randint(0, 6) for j in range(k)],
            )
        )
    loss, stats, batch = _batch_loss(model, tok, rankings)
    assert batch["input_ids"].shape[0] == 4 + 2 + 9 + 3  # each response forwarded once
    assert stats["pairs"] == 6 + 1 + 36 + 3
    assert abs(loss - _independent_loss(model, tok, rankings)) < 1e-6
    # per-prompt weighting: NOT the plain mean over all pairs (that would let the K=9 prompt dominate)
    flat = []
    with torch.no_grad():
        for rec in rankings:
            s = [
                model(input_ids=torch.tensor([encode_pair(tok, rec.prompt, r, False, 64)])).logits[0, 0]
                for r in rec.responses
            ]
            flat += [float(-F.logsigmoid(s[w] - s[lo])) for w, lo in rec.pairs()]
    assert abs(loss - sum(flat) / len(flat)) > 1e-4


def test_ties_contribute_no_term():
    rewards = torch.tensor([0.3, -1.2, 2.0, 0.1, 5.0])
    ranks = torch.tensor([1, 1, 3, 1, 2])  # prompt A: K=3 with a tie at the top; prompt B: K=2
    loss, stats = kway_ranking_loss(rewards, ranks, [3, 2])
    a = (-F.logsigmoid(torch.tensor(0.3 - 2.0)) - F.logsigmoid(torch.tensor(-1.2 - 2.0))) / 2  # (0,2), (1,2) only
    b = -F.logsigmoid(torch.tensor(0.1 - 5.0))
    assert stats["pairs"] == 3
    assert abs(float(loss) - float((a + b) / 2)) < 1e-6
    # swapping the tied responses' scores changes nothing about the tie itself
    swapped, _ = kway_ranking_loss(torch.tensor([-1.2, 0.3, 2.0, 0.1, 5.0]), ranks, [3, 2])
    assert abs(float(swapped) - float(loss)) < 1e-6


def test_ties_in_a_model_batch_match_independent_losses(tiny_rm):
    model, tok = tiny_rm
    rankings = [
        Ranking(prompt="p1", responses=["a", "b b", "c c c", "d"], ranks=[1, 2, 2, 4]),
        Ranking(prompt="p2", responses=["x", "y"], ranks=[2, 1]),
    ]
    loss, stats, _ = _batch_loss(model, tok, rankings)
    assert stats["pairs"] == 5 + 1
    assert abs(loss - _independent_loss(model, tok, rankings)) < 1e-6


def _synthetic(n: int, seed: int) -> list[Ranking]:
    """Rankings by a hidden rule the RM must find: the quality word in the answer."""
    words = ["excellent", "good", "okay", "bad"]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        topic = f"{rng.choice(['cats', 'rain', 'tea', 'boats', 'jazz', 'bread'])} {rng.randint(0, 999)}"
        chosen = rng.sample(words, rng.choice([2, 3, 4]))
        plain = [words.index(w) for w in chosen]
        out.append(
            Ranking(
                prompt=f"Tell me about {topic}.",
                responses=[f"About {topic}: {w}." for w in chosen],
                ranks=[1 + sum(o < x for o in plain) for x in plain],
            )
        )
    return out


def test_tiny_rm_learns_synthetic_preference_normalised_and_loadable(tmp_path):
    from transformers import AutoModelForSequenceClassification

    from alignbench.models import load_model
    from alignbench.models.reward_head import reward_scores
    from alignbench.training import train_reward_model

    demos = tmp_path / "demos.jsonl"
    demos.write_text(
        "".join(
            json.dumps({"prompt": f"Tell me about tea {i}.", "response": f"About tea {i}: good."}) + "\n"
            for i in range(12)
        )
    )
    result = train_reward_model(
        model="tiny-random",
        train_data=_synthetic(96, 1),
        eval_data=_synthetic(40, 2),
        reference_data=str(demos),
        chat_template=False,
        output_dir=str(tmp_path / "rm"),
        learning_rate=3e-3,
        num_train_epochs=2,
        per_device_train_batch_size=8,
        max_length=48,
        save_strategy="no",
        logging_steps=4,
        disable_tqdm=True,
    )
    m = result.metrics
    assert m["pairwise_accuracy"] > 0.9, m
    assert m["top1_accuracy"] > 0.9, m
    assert m["pairwise_accuracy_ci"][0] <= m["pairwise_accuracy"] <= m["pairwise_accuracy_ci"][1]

    lineage = json.loads((tmp_path / "rm" / "alignbench.json").read_text())
    assert lineage["stage"] == "rm" and lineage["parent"]["spec"] == "tiny-random"
    assert lineage["datasets"]["reference"]["n_records"] == 12
    assert lineage["config"]["trainer_args"]["learning_rate"] == 3e-3
    assert lineage["packages"]["trl"] and "git_revision" in lineage
    shift = lineage["normalization"]["bias"]
    assert shift == pytest.approx(-lineage["normalization"]["reference_mean_before"])

    # alignbench's loader restores the shift: the reference set now scores 0 on average
    model, tok = load_model(str(tmp_path / "rm"), task="reward")
    ref = [encode_pair(tok, f"Tell me about tea {i}.", f"About tea {i}: good.", False, 48) for i in range(12)]
    assert abs(sum(reward_scores(model, tok, ref)) / 12) < 1e-4
    # plain transformers loads the folder too (a bias-free head ignores score.bias: scores differ by the shift)
    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path / "rm")
    plain_mean = sum(reward_scores(plain, tok, ref)) / 12
    assert plain_mean == pytest.approx(-shift, abs=1e-3)


def test_trainer_rejects_pairwise_datasets(tiny_rm, tmp_path):
    from datasets import Dataset

    from alignbench.errors import AlignbenchError

    model, tok = tiny_rm
    args = KWayRewardConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none")
    with pytest.raises(AlignbenchError, match="tokenize_rankings"):
        KWayRewardTrainer(
            model=model,
            args=args,
            processing_class=tok,
            train_dataset=Dataset.from_dict({"chosen": ["a"], "rejected": ["b"]}),
        )
