"""K-way RM trainer vs TRL's pairwise RewardTrainer on the same rankings: time per epoch and the loss at step 0.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/rm_kway.py [--prompts-k4 48] [--prompts-k8 24] [--repeats 2]

Rankings are built from real data: TruthfulQA questions (../shared/data/truthfulqa/TruthfulQA.csv) with K
real answers ranked strictly -- the correct answers first (the best answer on top, then in the listed
order), then the incorrect ones in the listed order.  Ours: one batch element = one prompt with its K
responses (K forwards).  TRL: the same rankings expanded to their C(K,2) (chosen, rejected) pairs (2
forwards each), with as many sequences per optimiser step as ours (`prompts * K / 2` pairs per step), so
the ideal time ratio is (K-1).  Issue target: >= 0.8 * (K-1).

Model: a randomly initialised Llama of ~30M parameters (hidden 384, 6 layers, the SmolLM2 tokenizer),
big enough that compute (not Trainer overhead) dominates, small enough for a CPU; fp32, CPU.  Both
trainers run side by side in one process, alternating, each `--repeats` times, on `--threads` torch threads;
the minimum per epoch counts.  The headline ratio uses this process's CPU time (time.process_time), because on
a shared, oversubscribed machine wall time mostly measures the neighbours; the wall-time ratio is printed too.
The last line is one JSON object of headline figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402


def truthfulqa_rankings(k: int, n: int):
    import pandas as pd

    from alignbench.config import shared_data_dir
    from alignbench.data import Ranking

    table = pd.read_csv(shared_data_dir() / "truthfulqa" / "TruthfulQA.csv")
    out = []
    for _, row in table.iterrows():
        best = row["Best Answer"]
        correct = [best] + [a.strip() for a in row["Correct Answers"].split(";") if a.strip() != best]
        wrong = [a.strip() for a in row["Incorrect Answers"].split(";")]
        answers = list(dict.fromkeys(a for a in correct + wrong if a))  # unique, ranked order
        if len(answers) < k or len(correct) < 1:
            continue
        answers = answers[:k]
        out.append(Ranking(prompt=row["Question"], responses=answers, ranks=list(range(1, k + 1))))
        if len(out) == n:
            break
    return out


def make_model(seed: int = 0):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    from alignbench.models.builtin import smollm2_tokenizer_folder

    tok = AutoTokenizer.from_pretrained(smollm2_tokenizer_folder())
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=384,
        intermediate_size=1024,
        num_hidden_layers=6,
        num_attention_heads=6,
        num_key_value_heads=2,
        max_position_embeddings=512,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    return LlamaForSequenceClassification(config), tok


def common_args(out: str, batch: int):
    return dict(
        output_dir=out,
        use_cpu=True,
        bf16=False,
        report_to="none",
        num_train_epochs=1,
        learning_rate=1e-5,
        per_device_train_batch_size=batch,
        save_strategy="no",
        logging_steps=10_000,
        disable_tqdm=True,
        dataloader_drop_last=False,
        max_length=128,
        seed=0,
        lr_scheduler_type="constant",
    )


def run_ours(rankings, prompts_per_step: int):
    from alignbench.training.reward import KWayRankingCollator, KWayRewardConfig, KWayRewardTrainer, tokenize_rankings

    model, tok = make_model()
    ds = tokenize_rankings(rankings, tok, False, 128)
    with tempfile.TemporaryDirectory() as out:
        trainer = KWayRewardTrainer(
            model=model,
            args=KWayRewardConfig(**common_args(out, prompts_per_step)),
            train_dataset=ds,
            processing_class=tok,
            data_collator=KWayRankingCollator(tok.pad_token_id),
        )
        loss0 = step0_loss_ours(trainer, ds)
        return timed_train(trainer), loss0, trainer.state.global_step


def timed_train(trainer) -> dict:
    """Wall time and this process's CPU time of one epoch (CPU time is the fairer figure on a shared machine)."""
    w0, c0 = time.perf_counter(), time.process_time()
    trainer.train()
    return {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}


def step0_loss_ours(trainer, ds) -> float:
    """The K-way loss of the untrained model over the whole data set (per-prompt mean, then mean)."""
    from alignbench.training.reward import kway_ranking_loss

    batch = trainer.data_collator([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        out = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        rewards = out.logits.squeeze(-1)
    return float(kway_ranking_loss(rewards, batch["ranks"], batch["group_sizes"].tolist())[0])


def run_trl(rankings, pairs_per_step: int):
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from alignbench.models.chat_format import encode_pair

    model, tok = make_model()
    rows = {"chosen_ids": [], "rejected_ids": []}
    for rec in rankings:
        for w, lo in rec.pairs():
            rows["chosen_ids"].append(encode_pair(tok, rec.prompt, rec.responses[w], False, 128))
            rows["rejected_ids"].append(encode_pair(tok, rec.prompt, rec.responses[lo], False, 128))
    ds = Dataset.from_dict(rows)
    with tempfile.TemporaryDirectory() as out:
        trainer = RewardTrainer(
            model=model, args=RewardConfig(**common_args(out, pairs_per_step)), train_dataset=ds, processing_class=tok
        )
        batch = trainer.data_collator([ds[i] for i in range(len(ds))])
        with torch.no_grad():
            loss0 = float(trainer.compute_loss(trainer.model, dict(batch)))
        return timed_train(trainer), loss0, trainer.state.global_step


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--prompts-k4", type=int, default=48)
    p.add_argument("--prompts-k8", type=int, default=24)
    p.add_argument("--prompts-per-step", type=int, default=4)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: no spin-waiting on a loaded machine)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    summary = {
        "model": "random Llama 384x6 (~30M params, SmolLM2 tokenizer), fp32 CPU",
        "data": "TruthfulQA questions, K real answers strictly ranked",
    }
    for k, n in ((4, a.prompts_k4), (8, a.prompts_k8)):
        rankings = truthfulqa_rankings(k, n)
        pairs_per_step = a.prompts_per_step * k // 2  # same sequences per optimiser step as ours
        ours_t, trl_t = [], []
        for _ in range(a.repeats):
            t, loss_ours, steps_ours = run_ours(rankings, a.prompts_per_step)
            ours_t.append(t)
            t, loss_trl, steps_trl = run_trl(rankings, pairs_per_step)
            trl_t.append(t)
        best = {clock: (min(t[clock] for t in ours_t), min(t[clock] for t in trl_t)) for clock in ("cpu", "wall")}
        ratio = best["cpu"][1] / best["cpu"][0]
        target = 0.8 * (k - 1)
        print(
            f"K={k}: {len(rankings)} prompts = {len(rankings) * math.comb(k, 2)} pairs | CPU s/epoch: ours "
            f"{best['cpu'][0]:.2f} ({steps_ours} steps), TRL pairwise {best['cpu'][1]:.2f} ({steps_trl} steps) | "
            f"ratio {ratio:.2f}x (target >= {target:.1f}x) | wall ratio {best['wall'][1] / best['wall'][0]:.2f}x | "
            f"step-0 loss ours {loss_ours:.7f} TRL {loss_trl:.7f} (|diff| {abs(loss_ours - loss_trl):.1e})"
        )
        summary[f"k{k}"] = {
            "prompts": len(rankings),
            "pairs": len(rankings) * math.comb(k, 2),
            "ours_cpu_s_per_epoch": round(best["cpu"][0], 2),
            "trl_cpu_s_per_epoch": round(best["cpu"][1], 2),
            "ours_wall_s_per_epoch": round(best["wall"][0], 2),
            "trl_wall_s_per_epoch": round(best["wall"][1], 2),
            "speedup_cpu": round(ratio, 2),
            "speedup_wall": round(best["wall"][1] / best["wall"][0], 2),
            "target": target,
            "meets_target": ratio >= target,
            "loss_step0_ours": loss_ours,
            "loss_step0_trl": loss_trl,
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
