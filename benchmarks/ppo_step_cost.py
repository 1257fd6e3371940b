"""CPU cost of one PPO-ptx step on SmolLM2-135M: the demo's first PPO settings against issue #16's.

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ppo_step_cost.py [--steps 1]

Both runs use the packaged `smollm2-135m` as the policy (LoRA r=16) and, with a fresh scalar head, as the RM
(the step's cost does not depend on the weights), the demo's PPO prompts and ptx text, the same seed:

  before  4 steps x 8 rollouts, 2 PPO epochs of 2 minibatches, LoRA value model, ptx 4 x 128 tokens
  after   6 steps x 16 rollouts, 1 epoch of 4 minibatches, head-only critic, ptx 2 x 64 tokens, SFT reference
          sampled and scored every 3rd step

Each runs `--steps` PPO steps; the figure is this process's CPU time (time.process_time: user + system of all
threads), which on a shared machine measures the work where wall time measures the neighbours.  Model loading
is timed apart and subtracted.  Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BEFORE = dict(
    rollout_batch_size=8,
    mini_batch_size=4,
    num_ppo_epochs=2,
    learning_rate=5e-5,
    response_length=48,
    kl_coef=0.05,
    ptx_coef=0.5,
    ptx_batch_size=4,
    ptx_max_length=128,
    ref_score_steps=0,
    lora=dict(r=16, alpha=32, dropout=0.0),
)


def after() -> dict:
    from alignbench.demo.pipeline import DemoConfig

    return {k: v for k, v in DemoConfig().ppo.items() if k != "max_steps"}


def run(name: str, cfg: dict, steps: int, prompts: list[dict], ptx: list[dict]) -> dict:
    from alignbench.training import train_ppo_ptx

    with tempfile.TemporaryDirectory() as out:
        c0, w0 = time.process_time(), time.perf_counter()
        train_ppo_ptx(
            **cfg,
            model="smollm2-135m",
            reward_model="smollm2-135m",
            train_data=prompts,
            pretrain_data=ptx,
            output_dir=out,
            max_steps=steps,
            seed=0,
            disable_tqdm=True,
            merge_lora=False,
        )
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        log = [json.loads(line) for line in open(os.path.join(out, "train_log.jsonl"), encoding="utf-8")]
    rollouts = cfg["rollout_batch_size"] * steps
    return {
        "name": name,
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "steps": steps,
        "rollouts": rollouts,
        "mean_response_length": round(sum(r["response_length"] for r in log) / len(log), 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=1)
    a = p.parse_args()
    from alignbench.demo.ptx_corpus import ptx_texts
    from alignbench.demo.tasks import split_tasks
    from alignbench.models import load_model

    prompts = [{"prompt": t.prompt} for t in split_tasks(48, 40, 64, 48, seed=0).ppo]
    ptx = [{"text": t.text} for t in ptx_texts(256, seed=0)]
    load0 = os.getloadavg()[0]
    c0 = time.process_time()
    load_model("smollm2-135m")
    load_model("smollm2-135m", task="reward")
    load_cpu = time.process_time() - c0  # the two loads every run makes (policy, value/RM)
    rows = [run("before", BEFORE, a.steps, prompts, ptx), run("after", after(), a.steps, prompts, ptx)]
    for r in rows:
        r["cpu_s_per_step"] = round((r["cpu_s"] - load_cpu) / r["steps"], 1)
        r["cpu_s_per_rollout"] = round(r["cpu_s_per_step"] * r["steps"] / r["rollouts"], 2)
        print(
            f"{r['name']:7s} {r['cpu_s_per_step']:7.1f} CPU-s/step  {r['cpu_s_per_rollout']:6.2f} CPU-s/rollout  "
            f"(total {r['cpu_s']} CPU-s, {r['wall_s']} s wall, loads {load_cpu:.1f} CPU-s, "
            f"response length {r['mean_response_length']})"
        )
    ratio = rows[1]["cpu_s_per_rollout"] / rows[0]["cpu_s_per_rollout"]
    print(f"after/before CPU per rollout: {ratio:.2f}x")
    print(
        json.dumps(
            {
                "rows": rows,
                "load_cpu_s": round(load_cpu, 1),
                "per_rollout_ratio": round(ratio, 3),
                "load_avg_start": round(load0, 2),
                "load_avg_end": round(os.getloadavg()[0], 2),
                "threads": os.environ.get("OMP_NUM_THREADS"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
