"""Tune the demo's RL stage on a finished demo run: reward-model and PPO variants from the SAME SFT model.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/demo_rl_sweep.py --run runs/demo --rm '{"learning_rate": 3e-4}'
    ... benchmarks/demo_rl_sweep.py --run runs/demo --rm-path runs/demo/rm --ppo '{"kl_coef": 0.3, "seed": 1}'

`--run` is a demo run folder that went through `eval` (it holds sft/, rm/, data/ and the store with the
`winrate/labeler` greedy answers of base, SFT and PPO-ptx on the held-out eval prompts).  The keys given are
merged into the demo's own `DemoConfig.rm` / `DemoConfig.ppo`:

  --rm JSON     trains a reward model from the run's SFT model on the run's rankings (the demo's RM stage with
                those keys changed) and reports its AGREEMENT with the gold labeler: the share of the
                labeler-untied pairs among the stored base / SFT / PPO-ptx answers of each eval prompt that the
                RM orders like the labeler (held out: no eval prompt is a ranking prompt);
  --ppo JSON    trains PPO-ptx from the run's SFT model against the RM (--rm-path, or the one --rm just
                trained, or the run's), answers the eval prompts greedily, and reports the head-to-head gold win
                rate against the run's stored SFT answers (ties 1/2, 95% bootstrap CI over prompts), wins / ties /
                losses, and the train log's score, reference score, k3 KL and response length per step.

Each variant prints its wall and CPU seconds.  docs/demo.md "Tuning the RL stage" lists the variants measured
with it.  Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from itertools import combinations
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def stored_answers(run: Path) -> dict[str, dict]:
    """item -> {prompt, base, sft, ppo}: the greedy answers the run's win-rate eval stored."""
    from alignbench.demo.headtohead import stored_outputs
    from alignbench.store import Store

    store = Store(run)
    out = stored_outputs(store, store.latest_run_id(), "winrate/labeler")
    if not out:
        sys.exit(f"{run}: no winrate/labeler samples (run the demo through its eval stage first)")
    return out


def gold_pairs(answers: dict[str, dict]) -> list[tuple[str, str, str, int]]:
    """(prompt, a, b, +1 if the labeler prefers a else -1) over labeler-untied, non-identical answer pairs."""
    from alignbench.demo import labeler

    pairs = []
    for d in answers.values():
        resp = [d[m] for m in ("base", "sft", "ppo") if m in d]
        scores = [labeler.score(d["prompt"], r) for r in resp]
        for i, j in combinations(range(len(resp)), 2):
            if scores[i] != scores[j] and resp[i].strip() != resp[j].strip():
                pairs.append((d["prompt"], resp[i], resp[j], 1 if scores[i] > scores[j] else -1))
    return pairs


def rm_agreement(rm_path: str, pairs) -> float:
    from alignbench.models import load_model
    from alignbench.models.chat_format import encode_pair
    from alignbench.models.reward_head import reward_scores

    model, tok = load_model(rm_path, task="reward")
    texts = sorted({(p, r) for p, a, b, _ in pairs for r in (a, b)})
    ids = [encode_pair(tok, p, r, True, 192) for p, r in texts]
    score = dict(zip(texts, reward_scores(model, tok, ids, batch_size=16)))
    return sum((score[(p, a)] - score[(p, b)]) * y > 0 for p, a, b, y in pairs) / len(pairs)


def timed(fn):
    t, c = time.time(), time.process_time()
    result = fn()
    return result, round(time.time() - t, 1), round(time.process_time() - c, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, type=Path)
    parser.add_argument("--rm", type=json.loads, default=None, help="RM keys over DemoConfig.rm (JSON)")
    parser.add_argument("--rm-path", default=None, help="the RM PPO trains against (default: --rm's, else run/rm)")
    parser.add_argument("--ppo", type=json.loads, default=None, help="PPO keys over DemoConfig.ppo (JSON)")
    parser.add_argument("--out", type=Path, default=None, help="where the variants go (default: run/sweep)")
    args = parser.parse_args()

    from alignbench.demo.pipeline import DemoConfig

    cfg, run = DemoConfig(), args.run
    out = args.out or run / "sweep"
    out.mkdir(parents=True, exist_ok=True)
    answers = stored_answers(run)
    result: dict = {"run": str(run)}
    rm_path = args.rm_path or str(run / "rm")

    if args.rm is not None:
        from alignbench.training import train_reward_model

        keys = {**cfg.rm, **args.rm}
        name = "rm_" + "_".join(f"{k}={v}" for k, v in sorted(args.rm.items()))
        rm_path = str(out / name)
        res, wall, cpu = timed(
            lambda: train_reward_model(
                model=str(run / "sft"),
                train_data=str(run / "data" / "rankings.jsonl"),
                reference_data=str(run / "data" / "demonstrations.jsonl"),
                output_dir=rm_path,
                seed=cfg.seed,
                **keys,
            )
        )
        pairs = gold_pairs(answers)
        result["rm"] = {
            "keys": keys,
            "train_loss": res.metrics.get("train_loss"),
            "agreement_with_gold": round(rm_agreement(rm_path, pairs), 3),
            "n_pairs": len(pairs),
            "wall_s": wall,
            "cpu_s": cpu,
        }
        print(json.dumps({"rm": result["rm"]}), flush=True)

    if args.ppo is not None:
        import numpy as np

        from alignbench.demo import labeler
        from alignbench.engines import DecodingParams, make_generation_engine
        from alignbench.stats import mean_with_ci
        from alignbench.training import train_ppo_ptx

        keys = {"seed": cfg.seed, **cfg.ppo, **args.ppo}
        name = "ppo_" + "_".join(f"{k}={v}" for k, v in sorted(args.ppo.items())) + f"_rm={Path(rm_path).name}"
        ppo_path = out / name
        _, wall, cpu = timed(
            lambda: train_ppo_ptx(
                model=str(run / "sft"),
                reward_model=rm_path,
                train_data=str(run / "data" / "ppo_prompts.jsonl"),
                pretrain_data=str(run / "data" / "ptx.jsonl"),
                output_dir=str(ppo_path),
                disable_tqdm=True,
                **keys,
            )
        )
        ids = sorted(answers)
        engine = make_generation_engine(str(ppo_path), cache=None, batch_size=cfg.batch_size)
        greedy = DecodingParams(max_new_tokens=cfg.max_new_tokens, temperature=0.0, chat=True)
        gens = engine.generate([answers[i]["prompt"] for i in ids], greedy, n_samples=1)
        pref = []
        for i, g in zip(ids, gens):
            prompt, new, sft = answers[i]["prompt"], g[0].text, answers[i]["sft"]
            a, b = labeler.score(prompt, new), labeler.score(prompt, sft)
            pref.append(0.5 if new.strip() == sft.strip() or a == b else float(a > b))
        est = mean_with_ci(np.array(pref), seed=cfg.seed)
        log = [json.loads(line) for line in open(ppo_path / "train_log.jsonl")]
        result["ppo"] = {
            "keys": keys,
            "rm": rm_path,
            "headtohead_vs_sft_gold": [round(est.value, 3), round(est.ci_low, 3), round(est.ci_high, 3)],
            "wins_ties_losses": [pref.count(1.0), pref.count(0.5), pref.count(0.0)],
            "score": [round(r["score"], 3) for r in log],
            "score_ref": [round(r["score_ref"], 3) for r in log if "score_ref" in r],
            "kl_k3": [round(r["kl"], 3) for r in log],
            "response_length": [round(r["response_length"], 1) for r in log],
            "wall_s": wall,
            "cpu_s": cpu,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
