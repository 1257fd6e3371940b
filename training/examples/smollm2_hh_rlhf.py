"""Real runs on SmolLM2-135M (CPU-sized): the K-way RM on HH-RLHF helpful-base, then a few PPO-ptx steps.

    HF_HUB_OFFLINE=1 .venv/bin/python training/examples/smollm2_hh_rlhf.py [--out runs/smollm2] [--pairs 500]

What it trains (scaled down honestly for a shared 2-core CPU):
  RM   from smollm2-135m (SmolLM2-135M-Instruct, our stand-in for the SFT model) with a fresh scalar head;
       `--pairs` HH-RLHF helpful-base test pairs (K=2, the adapter's shared-prefix prompts, chat template),
       20% held out (seeded); embeddings + lower `--freeze` blocks frozen; 1 epoch; max_length `--max-length`
       (prompt truncated from the left).
       Held-out pairwise accuracy with a 95% Wilson interval.
  PPO  policy = smollm2-135m + LoRA r=8 (reference = adapters disabled), value = RM + LoRA (frozen RM =
       adapters disabled), prompts = the held-out HH prompts, ptx on LAMBADA passages (γ = `--ptx`);
       `--ppo-steps` steps; seconds per step and peak RSS (resource.getrusage) are printed.
The last line is one JSON object of headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="runs/smollm2")
    p.add_argument("--pairs", type=int, default=200)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--freeze", type=int, default=26, help="freeze embeddings + this many lower blocks (of 30)")
    p.add_argument("--ppo-steps", type=int, default=3)
    p.add_argument("--ptx", type=float, default=1.0)
    p.add_argument("--skip-rm", action="store_true")
    a = p.parse_args()
    out = Path(a.out)
    from alignbench.data.adapters import load_dataset_items
    from alignbench.training import train_ppo_ptx, train_reward_model

    pairs = load_dataset_items("hh-rlhf-helpful", limit=a.pairs)
    figures = {}
    if not a.skip_rm:
        t0 = time.time()
        from alignbench.data import Demonstration

        # normalisation reference: 32 chosen replies as demonstrations (SmolLM2-Instruct is our SFT stand-in)
        reference = [Demonstration(messages=r.meta["messages"], response=r.responses[0]) for r in pairs[:32]]
        rm = train_reward_model(
            model="smollm2-135m",
            train_data=pairs,
            eval_fraction=0.2,
            freeze_layers=a.freeze,
            reference_data=reference,
            output_dir=str(out / "rm"),
            learning_rate=5e-5,
            num_train_epochs=1,
            per_device_train_batch_size=8,
            per_device_eval_batch_size=8,
            max_length=a.max_length,
            logging_steps=5,
            save_strategy="no",
            lr_scheduler_type="cosine",
            warmup_steps=3,
            disable_tqdm=True,
            seed=0,
        )
        m = rm.metrics
        figures.update(
            rm_pairwise_accuracy=m["pairwise_accuracy"],
            rm_accuracy_ci95=m["pairwise_accuracy_ci"],
            rm_heldout_pairs=m["n_pairs"],
            rm_train_pairs=a.pairs - m["n_prompts"],
            rm_train_steps=m["train_steps"],
            rm_wall_s=round(time.time() - t0, 1),
            rm_bias_shift=rm.lineage["normalization"]["bias"],
        )
        print("RM:", json.dumps(m))
    held = json.loads((out / "rm" / "alignbench.json").read_text())["datasets"]["train"]
    t0 = time.time()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    prompts = [{"prompt": r.prompt, "meta": {"messages": r.meta["messages"]}} for r in pairs[-100:]]
    train_ppo_ptx(
        model="smollm2-135m",
        reward_model=str(out / "rm"),
        train_data=prompts,
        pretrain_data="dataset:lambada",
        lora={"r": 8, "alpha": 16},
        output_dir=str(out / "ppo"),
        max_steps=a.ppo_steps,
        rollout_batch_size=4,
        mini_batch_size=2,
        num_ppo_epochs=1,
        response_length=24,
        learning_rate=1e-4,
        kl_coef=0.05,
        ptx_coef=a.ptx,
        ptx_batch_size=2,
        ptx_max_length=128,
        max_prompt_length=128,
        seed=0,
        disable_tqdm=True,
    )
    wall = time.time() - t0
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
    log = [json.loads(line) for line in open(out / "ppo" / "train_log.jsonl")]
    for row in log:
        print("PPO step", {k: round(v, 4) for k, v in row.items()})
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    figures.update(
        ppo_steps=len(log),
        ppo_wall_s=round(wall, 1),
        ppo_s_per_step_incl_load=round(wall / len(log), 1),
        ppo_cpu_s_per_step=round(cpu / len(log), 1),
        peak_rss_gib=round(peak_gib, 2),
        ppo_score_first=log[0]["score"],
        ppo_score_last=log[-1]["score"],
        ppo_kl_last=log[-1]["kl"],
        ppo_ptx_loss_first=log[0].get("ptx_loss"),
        ppo_ptx_loss_last=log[-1].get("ptx_loss"),
        rm_split=held.get("held_out"),
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
