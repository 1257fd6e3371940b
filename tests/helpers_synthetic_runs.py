"""Synthetic run folders written through the real Store API, following docs/architecture.md
"Naming of evals and metrics": what `alignbench eval` writes, with per-item values we control so
tests can plant a regression on exactly one metric.

`make_run(dir, seed=0)` twice gives identical runs; `effects={"toxicity/respectful.emt": 0.2}`
shifts that metric's per-item values for the candidate; `flip={"winrate.win_rate": 2}` drops the
two highest items to the floor (a small change inside the noise).
"""

from __future__ import annotations

import numpy as np

from alignbench.store import Store

# (eval, metric, higher_is_better, kind, base rate, label).  kind: "binary" (0/1 per item),
# "score" (a value in [0, 1]), "win" (1 / 0.5 / 0), "delta" (-1 / 0 / 1, alignment tax).
SPECS = [
    ("winrate", "win_rate", True, "win", 0.75, "Win rate vs baseline"),
    ("truthfulqa_mc", "mc1", True, "binary", 0.30, "TruthfulQA MC1"),
    ("truthfulqa_mc", "mc2", True, "score", 0.45, "TruthfulQA MC2"),
    ("truthfulqa_gen/qa_prompt", "truthful", True, "binary", 0.55, "TruthfulQA truthful (QA prompt)"),
    (
        "truthfulqa_gen/qa_prompt",
        "truthful_informative",
        True,
        "binary",
        0.35,
        "TruthfulQA truthful×informative (QA prompt)",
    ),
    ("truthfulqa_gen/instruction", "truthful", True, "binary", 0.60, "TruthfulQA truthful (instruction)"),
    (
        "truthfulqa_gen/instruction",
        "truthful_informative",
        True,
        "binary",
        0.40,
        "TruthfulQA truthful×informative (instruction)",
    ),
    ("toxicity/respectful", "emt", False, "score", 0.15, "RealToxicityPrompts EMT (respectful)"),
    ("toxicity/respectful", "toxicity_prob", False, "binary", 0.10, "Toxicity probability (respectful)"),
    ("toxicity/none", "emt", False, "score", 0.22, "RealToxicityPrompts EMT (no prompt)"),
    ("toxicity/none", "toxicity_prob", False, "binary", 0.18, "Toxicity probability (no prompt)"),
    (
        "hallucination/summarization",
        "hallucination_rate",
        False,
        "binary",
        0.25,
        "Hallucination rate (summarization, 50% of tasks)",
    ),
    ("alignment_tax/hellaswag", "acc_delta", True, "delta", 0.0, "Alignment tax: HellaSwag acc Δ"),
    ("alignment_tax/squad", "f1_delta", True, "delta", 0.0, "Alignment tax: SQuAD F1 Δ"),
]
PAIRWISE = ("winrate", "alignment_tax")  # stored under the candidate only


def _item_values(kind: str, rate: float, n: int, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(n)
    if kind == "binary":
        return (u < rate).astype(float)
    if kind == "score":
        return np.clip(rate + 0.15 * rng.standard_normal(n), 0, 1)
    if kind == "win":
        return np.where(u < rate - 0.05, 1.0, np.where(u < rate + 0.05, 0.5, 0.0))
    if kind == "delta":
        return np.where(u < 0.1, -1.0, np.where(u > 0.9, 1.0, 0.0))
    if kind == "zero":  # a delta of 0 on every item (candidate and baseline agree)
        return np.zeros(n)
    raise ValueError(kind)


def _ci(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (1000, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def make_run(
    run_dir,
    *,
    seed: int = 0,
    n_items: int = 60,
    candidate: str = "smollm2-ppo",
    candidate_fp: str = "fp-ppo",
    baseline: str = "smollm2-sft",
    baseline_fp: str = "fp-sft",
    effects: dict | None = None,
    flip: dict | None = None,
    drop_items: dict | None = None,
    candidate_size: int | None = 134_515_008,
    train_logs: bool = True,
    specs=SPECS,
    one_step_logs: bool = False,
) -> str:
    """Write one eval run (candidate vs baseline) to run_dir; returns the run id."""
    effects, flip, drop_items = effects or {}, flip or {}, drop_items or {}
    store = Store(run_dir)
    run = store.start_run(
        "eval", {"suite": "instructgpt-small", "limit": n_items}, suite="instructgpt-small", seed=seed
    )
    # What the suite runner records (evals/context.py model_info): kind, path, size, the checkpoint's lineage
    # (training/lineage.py write_lineage format).
    lineage = {
        "stage": "ppo_ptx",
        "parent": {"spec": "runs/sft", "fingerprint": baseline_fp, "stage": "sft"},
        "base": {"spec": "smollm2-135m", "fingerprint": "fp-base"},
        "inputs": {"reward_model": {"spec": "runs/rm", "fingerprint": "fp-rm", "stage": "rm"}},
        "config": {"learning_rate": 1.4e-5, "kl_coef": 0.02, "ptx_coef": 27.8},
        "metrics": {"reward": 0.41},
    }
    size = {"size": candidate_size} if candidate_size else {}
    store.add_model(
        run,
        candidate,
        f"runs/{candidate}",
        candidate_fp,
        "candidate",
        {"kind": "folder", "path": f"runs/{candidate}", **size, "lineage": lineage},
    )
    store.add_model(run, baseline, "runs/sft", baseline_fp, "baseline", {"kind": "folder", "path": "runs/sft", **size})
    store.add_model(run, "rm-judge", "runs/rm", "fp-rm", "judge", {})
    rng = np.random.default_rng(seed)
    for eval_name, metric, hib, kind, rate, label in specs:
        key = f"{eval_name}.{metric}"
        ids = [f"{eval_name.split('/')[0]}-{i:03d}" for i in range(n_items)]
        store.add_items(
            run,
            eval_name,
            [(i, {"prompt": f"prompt {i}", "prompt_toxicity": (k % 10) / 10}) for k, i in enumerate(ids)],
            dataset=eval_name.split("/")[0],
            dataset_fingerprint="dfp-" + eval_name.split("/")[0],
        )
        models = [(candidate, 0.0)] if eval_name.split("/")[0] in PAIRWISE else [(candidate, 0.0), (baseline, -0.05)]
        for model, offset in models:
            values = _item_values(kind, rate + offset, n_items, rng)
            if model == candidate:
                values = values + effects.get(key, 0.0)
                if kind in ("binary", "win", "score"):
                    values = np.clip(values, 0, 1)
                if flip.get(key):  # noise: the k highest items drop to the floor (a small, one-way change)
                    values[np.argsort(-values, kind="stable")[: flip[key]]] = -1.0 if kind == "delta" else 0.0
            keep = ids[: n_items - drop_items.get(key, 0)] if model == candidate else ids
            vals = values[: len(keep)]
            store.put_item_metrics(run, eval_name, metric, model, dict(zip(keep, vals.tolist())))
            lo, hi = _ci(vals, seed)
            store.put_metric(
                run,
                eval_name,
                metric,
                model,
                float(vals.mean()),
                lo,
                hi,
                n=len(keep),
                higher_is_better=hib,
                meta={
                    "label": label,
                    "dataset": eval_name.split("/")[0],
                    "dataset_version": "v1",
                    **({"baseline": baseline, "judge": "rm-judge"} if eval_name == "winrate" else {}),
                },
            )
        if eval_name == "winrate":
            store.put_samples(
                run,
                eval_name,
                [
                    {
                        "item_id": i,
                        "model": candidate,
                        "prompt": f"Explain item {k} <b>simply</b>.",
                        "output": f"candidate answer {k}",
                        "baseline": f"baseline answer {k}",
                        "verdict": ["A", "B", "tie"][k % 3],
                        "score": None,
                    }
                    for k, i in enumerate(ids[:6])
                ],
            )
        elif eval_name.startswith("toxicity/"):
            store.put_samples(
                run,
                eval_name,
                [
                    {
                        "item_id": i,
                        "model": candidate,
                        "prompt": f"So I said {k}",
                        "output": f"continuation {k}",
                        "score": float(k) / 10,
                    }
                    for k, i in enumerate(ids[:4])
                ],
            )
    if train_logs:
        for step in range(1) if one_step_logs else range(0, 50, 5):
            store.put_train_logs(
                run, step, {"reward": 0.1 + 0.01 * step, "kl": 0.002 * step, "ptx_loss": 3.0 - 0.01 * step}
            )
    store.finish_run(run)
    store.close()
    return run
