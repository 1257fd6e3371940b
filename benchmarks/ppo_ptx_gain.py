"""Plain PPO (γ=0) against PPO-ptx (γ>0) from the same SFT model and RM, same seeds: does ptx limit the tax?

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=2 .venv/bin/python benchmarks/ppo_ptx_gain.py --run runs/demo
    ... benchmarks/ppo_ptx_gain.py --run /tmp/quick --quick            # on a `demo --quick` folder (smoke run)

`--run` is a demo run folder (`alignbench demo`); the stages it lacks up to the RM are run first (demo
pipeline, same config), so the SFT model, the RM, the PPO prompts and the ptx text are the demo's own.
Then, from that SFT policy and RM, with the demo's PPO settings and seed:

  ppo      ptx_coef = 0           (the update is exactly plain PPO; the ptx text is only measured)
  ppo_ptx  ptx_coef = --gamma     (default: the demo's)

and measures, for SFT, PPO and PPO-ptx:
  - gold win rate vs SFT on the demo's held-out eval prompts (greedy, 48 tokens; judge = the simulated
    labeler), 95% bootstrap CI over prompts;
  - reward and KL curves (the train logs: RM score of the policy, of the SFT reference on the same prompts,
    k3 KL, ptx loss);
  - drift on held-out pretraining text: per-text LM loss minus SFT's, on ptx paragraphs NOT used in training;
  - drift on LAMBADA (/work/shared/data/lambada): NLL of the last word given the passage minus SFT's, and
    last-word accuracy (teacher-forced argmax, lm-eval's `is_greedy`);
  with paired-bootstrap CIs of PPO-ptx − PPO (negative drift difference = ptx reduced the tax).
Budget: <= 45 min on 2 idle cores at the demo's settings.  Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def per_text_lm_loss(spec: str, texts: list[str], max_length: int) -> list[float]:
    """Mean token NLL of each text under the model (one text per forward: no padding effects)."""
    import torch

    from alignbench.models import load_model

    model, tok = load_model(spec)
    model.eval()
    out = []
    with torch.no_grad():
        for text in texts:
            ids = tok(text, return_tensors="pt", truncation=True, max_length=max_length, add_special_tokens=False)[
                "input_ids"
            ]
            out.append(float(model(input_ids=ids, labels=ids).loss))
    return out


def lambada_scores(spec: str, items: list[tuple[str, str]]) -> tuple[list[float], list[float]]:
    """Per passage: NLL of the last word (summed over its tokens) and 1 if every token is the argmax."""
    import torch

    from alignbench.models import load_model

    model, tok = load_model(spec)
    model.eval()
    nll, greedy = [], []
    with torch.no_grad():
        for context, target in items:
            ctx = tok(context, add_special_tokens=False)["input_ids"][-400:]
            tgt = tok(target, add_special_tokens=False)["input_ids"]
            ids = torch.tensor([ctx + tgt])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, len(ctx) - 1 : -1].float(), -1)
            t = torch.tensor(tgt)
            nll.append(float(-logp[torch.arange(len(tgt)), t].sum()))
            greedy.append(float(bool((logp.argmax(-1) == t).all())))
    return nll, greedy


def greedy_answers(spec: str, prompts: list[str], max_new_tokens: int) -> list[str]:
    from alignbench.engines import DecodingParams, make_generation_engine

    engine = make_generation_engine(spec, batch_size=16)
    params = DecodingParams(max_new_tokens=max_new_tokens, temperature=0.0, chat=True, seed=0)
    return [row[0].text for row in engine.generate(prompts, params, desc=Path(spec).name)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="demo run folder (stages up to the RM are run if missing)")
    p.add_argument("--quick", action="store_true", help="the folder is (or becomes) a `demo --quick` run")
    p.add_argument("--gamma", type=float, default=None, help="ptx_coef of PPO-ptx (default: the demo's)")
    p.add_argument("--steps", type=int, default=None, help="PPO steps of both runs (default: the demo's)")
    p.add_argument("--held-out-texts", type=int, default=64)
    p.add_argument("--lambada", type=int, default=100)
    p.add_argument("--eval-prompts", type=int, default=None, help="cap on the eval prompts (default: all)")
    a = p.parse_args()

    import numpy as np

    from alignbench.demo import labeler
    from alignbench.demo.pipeline import Demo, DemoConfig
    from alignbench.demo.ptx_corpus import ptx_texts
    from alignbench.stats import mean_with_ci, paired_bootstrap
    from alignbench.training import train_ppo_ptx

    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    run = Path(a.run)
    cfg = DemoConfig.quick_config() if a.quick else DemoConfig()
    Demo(cfg, run).run(stop_after="rm")  # finished stages are skipped
    ppo_cfg = {**cfg.ppo, **({"max_steps": a.steps} if a.steps else {})}
    gamma = cfg.ppo.get("ptx_coef", 0.5) if a.gamma is None else a.gamma
    folders = {}
    for name, coef in (("ppo", 0.0), ("ppo_ptx", gamma)):
        out = run / "ptx_gain" / name
        if not (out / "alignbench.json").is_file():
            train_ppo_ptx(
                **{**ppo_cfg, "ptx_coef": coef},
                model=str(run / "sft"),
                reward_model=str(run / "rm"),
                train_data=str(run / "data" / "ppo_prompts.jsonl"),
                pretrain_data=str(run / "data" / "ptx.jsonl"),
                output_dir=str(out),
                seed=cfg.seed,
                disable_tqdm=True,
            )
        folders[name] = str(out)
    models = {"sft": str(run / "sft"), **folders}

    # held-out pretraining text: paragraphs of the same corpus that PPO-ptx never saw
    used = {r["text"] for r in read_jsonl(run / "data" / "ptx.jsonl")}
    held = [t.text for t in ptx_texts(None, seed=cfg.seed + 1) if t.text not in used][: a.held_out_texts]
    from alignbench.data.adapters import load_dataset_items

    lam = [i.references["text"] for i in load_dataset_items("lambada", limit=a.lambada)]
    lam_items = [(t.rsplit(" ", 1)[0], " " + t.rsplit(" ", 1)[1]) for t in lam]
    prompts = [r["prompt"] for r in read_jsonl(run / "data" / "eval_prompts.jsonl")][: a.eval_prompts]

    per = {}
    for name, spec in models.items():
        nll, greedy = lambada_scores(spec, lam_items)
        per[name] = {
            "text_loss": per_text_lm_loss(spec, held, cfg.ppo.get("ptx_max_length", 128) * 2),
            "lambada_nll": nll,
            "lambada_acc": greedy,
            "answers": greedy_answers(spec, prompts, cfg.max_new_tokens),
        }

    summary: dict = {
        "run": str(run),
        "gamma": gamma,
        "steps": ppo_cfg.get("max_steps"),
        "seed": cfg.seed,
        "n_eval_prompts": len(prompts),
        "n_held_out_texts": len(held),
        "n_lambada": len(lam_items),
    }
    for name in ("ppo", "ppo_ptx"):
        judged = labeler_prefs(labeler, prompts, per[name]["answers"], per["sft"]["answers"])
        win = mean_with_ci(judged)
        drift_text = paired_bootstrap(per[name]["text_loss"], per["sft"]["text_loss"])
        drift_lam = paired_bootstrap(per[name]["lambada_nll"], per["sft"]["lambada_nll"])
        log = read_jsonl(Path(folders[name]) / "train_log.jsonl")
        summary[name] = {
            "gold_win_rate_vs_sft": [round(win.value, 4), round(win.ci_low, 4), round(win.ci_high, 4)],
            "drift_text_loss": [round(drift_text.value, 4), round(drift_text.ci_low, 4), round(drift_text.ci_high, 4)],
            "drift_lambada_nll": [round(drift_lam.value, 4), round(drift_lam.ci_low, 4), round(drift_lam.ci_high, 4)],
            "lambada_acc": round(float(np.mean(per[name]["lambada_acc"])), 4),
            "curves": {k: [round(r[k], 4) for r in log if k in r] for k in ("score", "score_ref", "kl", "ptx_loss")},
        }
        print(
            f"{name:8s} gold win rate vs SFT {win.value:.3f} [{win.ci_low:.3f}, {win.ci_high:.3f}] | drift: held-out "
            f"text loss {drift_text.value:+.4f} [{drift_text.ci_low:+.4f}, {drift_text.ci_high:+.4f}], LAMBADA NLL "
            f"{drift_lam.value:+.4f} [{drift_lam.ci_low:+.4f}, {drift_lam.ci_high:+.4f}], LAMBADA acc "
            f"{summary[name]['lambada_acc']:.3f} (SFT {np.mean(per['sft']['lambada_acc']):.3f})"
        )
        print(
            f"         RM score per step {summary[name]['curves']['score']} "
            f"| SFT ref {summary[name]['curves']['score_ref']}"
            f" | KL (k3) {summary[name]['curves']['kl']}"
        )
    # the paper's claim: ptx reduces the drift (PPO-ptx − PPO < 0), paired over the same texts
    for key, label in (("text_loss", "held-out text loss"), ("lambada_nll", "LAMBADA NLL")):
        d = paired_bootstrap(per["ppo_ptx"][key], per["ppo"][key])
        summary[f"ptx_minus_ppo_{key}"] = [round(d.value, 4), round(d.ci_low, 4), round(d.ci_high, 4)]
        print(f"PPO-ptx − PPO, {label}: {d.value:+.4f} [{d.ci_low:+.4f}, {d.ci_high:+.4f}] (p={d.p_value:.3f})")
    summary["sft_lambada_acc"] = round(float(np.mean(per["sft"]["lambada_acc"])), 4)
    summary.update(
        wall_s=round(time.perf_counter() - t0, 1),
        cpu_s=round(time.process_time(), 1),
        load_avg_start=round(load0, 2),
        load_avg_end=round(os.getloadavg()[0], 2),
    )
    print(json.dumps(summary))
    return 0


def labeler_prefs(labeler, prompts, answers, baseline) -> list[float]:
    """1 / 0.5 / 0 per prompt: the gold labeler's verdict of `answers` against `baseline` (identical = tie)."""
    out = []
    for prompt, a, b in zip(prompts, answers, baseline):
        sa, sb = labeler.score(prompt, a), labeler.score(prompt, b)
        out.append(1.0 if sa > sb else 0.5 if sa == sb else 0.0)
    return out


if __name__ == "__main__":
    sys.exit(main())
