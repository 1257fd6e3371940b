"""SFT then PPO-ptx on tiny-random.

The SFT run teaches the tiny model to answer with words "yes"/"no"; the toy reward is the fraction of "yes".
PPO runs (module-scoped, shared by the tests):
  A  ptx_coef=0 with pretraining data, checkpoint at step 3    B  no pretraining data at all (ptx off)
  C  ptx_coef=1                                                D  resumed from A's checkpoint-3
  E  like B with a head-only critic (value_head_only)
"""

from __future__ import annotations

import json
import random
import shutil

import pytest
import torch

from alignbench.data import Demonstration, PretrainText

STEPS = 6
PPO = dict(
    max_steps=STEPS,
    rollout_batch_size=8,
    mini_batch_size=4,
    num_ppo_epochs=2,
    response_length=8,
    learning_rate=3e-3,
    kl_coef=0.05,
    chat_template=False,
    disable_tqdm=True,
    seed=0,
)
PROMPTS = [{"prompt": f"Answer {i}:"} for i in range(100, 116)]


def yes_fraction(prompts, responses):
    return [r.split().count("yes") / max(1, len(r.split())) for r in responses]


@pytest.fixture(scope="module")
def sft(tmp_path_factory):
    from alignbench.training import train_sft

    rng = random.Random(0)
    demos = [
        Demonstration(prompt=f"Answer {i}:", response=" ".join(rng.choice(["yes", "no"]) for _ in range(6)))
        for i in range(48)
    ]
    out = tmp_path_factory.mktemp("sft")
    return train_sft(
        model="tiny-random",
        train_data=demos,
        output_dir=str(out),
        learning_rate=1e-2,
        num_train_epochs=3,
        per_device_train_batch_size=8,
        logging_steps=1,
        save_strategy="no",
        disable_tqdm=True,
        chat_template=False,
        lr_scheduler_type="constant",
    )


@pytest.fixture(scope="module")
def texts(shared_data):
    from alignbench.data.adapters import load_dataset_items

    items = load_dataset_items("lambada", limit=48)
    passages = [i.references["text"] for i in items]
    return passages[:32], passages[32:]  # ptx training texts, held-out texts


@pytest.fixture(scope="module")
def runs(sft, texts, tmp_path_factory):
    from alignbench.training import train_ppo_ptx

    root = tmp_path_factory.mktemp("ppo")
    pretrain = [PretrainText(text=t) for t in texts[0]]
    out = {}
    out["A"] = train_ppo_ptx(
        model=str(sft.output_dir),
        train_data=PROMPTS,
        reward_fn=yes_fraction,
        pretrain_data=pretrain,
        ptx_coef=0.0,
        save_steps=3,
        output_dir=str(root / "A"),
        **PPO,
    )
    out["B"] = train_ppo_ptx(
        model=str(sft.output_dir), train_data=PROMPTS, reward_fn=yes_fraction, output_dir=str(root / "B"), **PPO
    )
    out["C"] = train_ppo_ptx(
        model=str(sft.output_dir),
        train_data=PROMPTS,
        reward_fn=yes_fraction,
        pretrain_data=pretrain,
        ptx_coef=1.0,
        output_dir=str(root / "C"),
        **PPO,
    )
    out["E"] = train_ppo_ptx(
        model=str(sft.output_dir),
        train_data=PROMPTS,
        reward_fn=yes_fraction,
        output_dir=str(root / "E"),
        value_head_only=True,
        **PPO,
    )
    (root / "D").mkdir()
    shutil.copytree(root / "A" / "checkpoint-3", root / "D" / "checkpoint-3")
    out["D"] = train_ppo_ptx(
        model=str(sft.output_dir),
        train_data=PROMPTS,
        reward_fn=yes_fraction,
        pretrain_data=pretrain,
        ptx_coef=0.0,
        save_steps=3,
        output_dir=str(root / "D"),
        resume=True,
        **PPO,
    )
    return out


def _log(result) -> list[dict]:
    return [json.loads(line) for line in open(result.output_dir / "train_log.jsonl")]


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


# ---------------------------------------------------------------------------------------------- SFT
def test_sft_loss_is_on_the_response_only(tmp_path):
    from trl import SFTConfig

    from alignbench.models import load_model
    from alignbench.training.sft import make_sft_trainer

    model, tok = load_model("tiny-random")
    demo = Demonstration(prompt="What colour is the sky?", response="Blue, on a clear day.")
    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", max_length=128)
    trainer = make_sft_trainer(model, tok, args, [demo], chat=True)
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    trained = labels != -100
    prompt_len = len(
        tok.apply_chat_template(demo.chat(), add_generation_prompt=True, tokenize=True, return_dict=False)
    )
    assert not trained[:prompt_len].any()  # every prompt token (system, user turn, assistant header) is masked
    assert trained[prompt_len:].all()
    assert torch.equal(labels[trained], ids[trained])
    assert tok.decode(ids[trained]).startswith("Blue, on a clear day.")


def test_sft_loss_falls_and_lineage(sft):
    m = sft.metrics
    assert m["last_logged_loss"] < 0.5 * m["first_logged_loss"], m
    lineage = json.loads((sft.output_dir / "alignbench.json").read_text())
    assert lineage["stage"] == "sft"
    assert lineage["base"]["spec"] == "tiny-random" and len(lineage["base"]["fingerprint"]) == 16
    assert lineage["datasets"]["train"]["source"] == "<in-memory records>"
    assert lineage["datasets"]["train"]["n_records"] == 48
    assert lineage["config"]["trainer_args"]["num_train_epochs"] == 3


# ---------------------------------------------------------------------------------------------- PPO
def _sample_reward(model_dir, n=32) -> float:
    from alignbench.models import load_model

    model, tok = load_model(str(model_dir))
    tok.padding_side = "left"
    torch.manual_seed(123)
    enc = tok([f"Answer {200 + i}:" for i in range(n)], return_tensors="pt", padding=True)
    out = model.generate(**enc, do_sample=True, top_k=0, max_new_tokens=8, pad_token_id=tok.pad_token_id)
    texts = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return sum(yes_fraction(None, texts)) / n


def test_ppo_raises_toy_reward_with_bounded_kl(sft, runs):
    before, after = _sample_reward(sft.output_dir), _sample_reward(runs["B"].output_dir)
    assert after > before + 0.1, (before, after)
    log = _log(runs["B"])
    assert len(log) == STEPS
    assert all(0 <= row["kl"] < 10 for row in log[1:]), [row["kl"] for row in log]
    assert log[0]["kl"] == pytest.approx(0.0, abs=1e-4)  # first rollout: policy == reference
    for key in ("reward", "kl", "entropy", "value_loss", "policy_loss", "clip_frac", "response_length"):
        assert key in log[-1]
    lineage = json.loads((runs["B"].output_dir / "alignbench.json").read_text())
    assert lineage["stage"] == "ppo" and lineage["parent"]["stage"] == "sft"
    assert lineage["base"]["spec"] == "tiny-random"


def test_ppo_with_a_head_only_critic_also_raises_the_reward(sft, runs):
    """value_head_only: the critic is a head on the frozen value model's states (the cheap setting)."""
    before, after = _sample_reward(sft.output_dir), _sample_reward(runs["E"].output_dir)
    assert after > before + 0.1, (before, after)
    log = _log(runs["E"])
    assert log[-1]["value_loss"] < log[0]["value_loss"]  # the head learns the returns


def test_log_has_nonnegative_kl_the_reference_score_and_the_ptx_loss(runs):
    log = _log(runs["C"])
    assert all(row["kl"] >= 0 for row in log)  # k3 is non-negative for every sample
    assert any(abs(row["kl_k1"]) > 1e-6 for row in log[1:])  # k1 (the reward's KL) is logged beside it
    for row in log:  # the SFT reference is sampled on the same prompts every step (ref_score_steps=1)
        assert row["score_gain"] == pytest.approx(row["score"] - row["score_ref"])
        assert row["ptx_loss"] > 0
    # the policy's reward pulls away from the frozen reference's on the same prompts
    late = log[len(log) // 2 :]
    assert sum(r["score_gain"] for r in late) / len(late) > 0.05, [r["score_gain"] for r in log]


def test_ptx_coef_zero_is_bit_identical_to_ptx_off(runs):
    a, b = _weights(runs["A"].output_dir), _weights(runs["B"].output_dir)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    log_a, log_b = _log(runs["A"]), _log(runs["B"])
    assert "ptx_loss" in log_a[0] and "ptx_loss" not in log_b[0]  # γ=0 still measures the LM loss on ptx text
    assert [{k: v for k, v in r.items() if k != "ptx_loss"} for r in log_a] == log_b


def test_ptx_limits_drift_on_held_out_pretraining_text(sft, runs, texts):
    from alignbench.models import load_model
    from alignbench.training.ppo_ptx import pretrain_lm_loss

    held_out = texts[1]
    loss = {}
    for name, folder in (("sft", sft.output_dir), ("ppo", runs["A"].output_dir), ("ptx", runs["C"].output_dir)):
        model, tok = load_model(str(folder))
        loss[name] = pretrain_lm_loss(model, tok, held_out, max_length=128)
    # same seed, same prompts: with γ>0 the held-out LM loss ends lower than with γ=0 (less drift from text)
    assert loss["ptx"] < loss["ppo"] - 0.1, loss
    assert _log(runs["C"])[-1]["ptx_loss"] < _log(runs["C"])[0]["ptx_loss"]


def test_resume_reproduces_the_unbroken_run(runs):
    assert _log(runs["D"]) == _log(runs["A"])  # steps 1-3 restored from the checkpoint, 4-6 recomputed
    a, d = _weights(runs["A"].output_dir), _weights(runs["D"].output_dir)
    assert all(torch.equal(a[k], d[k]) for k in a)


def test_resume_without_checkpoint_is_a_clear_error(sft, tmp_path):
    from alignbench.errors import AlignbenchError
    from alignbench.training import train_ppo_ptx

    with pytest.raises(AlignbenchError, match="no checkpoint"):
        train_ppo_ptx(
            model=str(sft.output_dir),
            train_data=PROMPTS,
            reward_fn=yes_fraction,
            output_dir=str(tmp_path),
            resume=True,
            **{**PPO, "max_steps": 1},
        )


def test_policy_logprobs_match_the_full_logits(tiny_model):
    """policy_logprobs runs the LM head on the response positions only; the log-probabilities and entropies
    must equal those taken from the full logits of the same forward."""
    from trl.trainer.utils import entropy_from_logits, selective_log_softmax

    from alignbench.training.ppo_ptx import policy_logprobs, positions

    model, _ = tiny_model
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, model.config.vocab_size, (3, 14), generator=g)
    mask = torch.ones_like(ids)
    mask[0, :3] = 0  # a left-padded prompt, as rollouts have
    pos = positions(mask)
    ctx, temp = 9, 0.7
    with torch.no_grad():
        got, ent = policy_logprobs(model, ids, mask, pos, ctx, temp, with_entropy=True)
        full = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).logits
    ref_logits = full[:, ctx - 1 : -1].float() / temp
    assert got.shape == (3, 14 - ctx)
    torch.testing.assert_close(got, selective_log_softmax(ref_logits, ids[:, ctx:]))
    torch.testing.assert_close(ent, entropy_from_logits(ref_logits))
