"""Head-to-head win rate of PPO-ptx against SFT, from the outputs the demo's win-rate eval already made.

The suite compares each candidate with the base model; the paper's claim is the ORDER PPO-ptx > SFT, so
the demo also judges PPO-ptx's answer against SFT's on every eval prompt, with the same judges (the gold
labeler and the learned RM).  No new generation: both answers are the greedy outputs stored by
`winrate/<judge>` (same prompt, same decoding).  Per judge:

    win_rate = mean over prompts of pref(ppo, sft),  pref = 1 win / 0.5 tie / 0 loss
    95% CI by percentile bootstrap over prompts (Wilson interval in meta), as the suite's win rate.

The figures go into the run's store as eval `headtohead/<judge>` (so reports and metrics.json show them)
and a few pairs are returned for the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from alignbench.stats import mean_with_ci, wilson_interval


def stored_outputs(store, run_id: str, source_eval: str = "winrate/labeler", baseline: str = "base") -> dict:
    """item id -> {"prompt": ..., <model>: its stored output for every candidate, <baseline>: the baseline's}: the
    outputs a win-rate eval stored (each sample row carries one candidate's output beside the baseline's)."""
    samples = store.frame("samples", run_id)
    out: dict[str, dict] = {}
    for r in samples[samples["eval"] == source_eval].itertuples():
        d = out.setdefault(r.item_id, {"prompt": r.prompt})
        d[r.model] = r.output
        d[baseline] = r.baseline
    return out


def head_to_head(
    run_dir: str | Path,
    judges: dict,
    candidate: str = "ppo",
    baseline: str = "sft",
    source_eval: str = "winrate/labeler",
    seed: int = 0,
    n_examples: int = 4,
) -> dict:
    """judges: {name: Judge}.  Returns {judge: {value, ci_low, ci_high, n, wins, ties, losses}, "examples": [...]}."""
    from alignbench.store import Store

    store = Store(run_dir)
    run_id = store.latest_run_id()
    answers = stored_outputs(store, run_id, source_eval)
    ids = sorted(i for i, d in answers.items() if candidate in d and baseline in d)
    if not ids:
        raise ValueError(f"{run_dir}: no {source_eval} samples of both {candidate} and {baseline}")
    prompts = [answers[i]["prompt"] for i in ids]
    cand = [answers[i][candidate] for i in ids]
    base = [answers[i][baseline] for i in ids]
    out: dict = {}
    verdicts: dict = {}
    for name, judge in judges.items():
        judgements = judge.compare(prompts, cand, base, ids)
        pref = np.array([np.nan if j.preference is None else j.preference for j in judgements], dtype=float)
        est = mean_with_ci(pref, seed=seed)
        n = int((~np.isnan(pref)).sum())
        wlo, whi = wilson_interval(float(np.nansum(pref)), n)
        counts = {"wins": int((pref == 1).sum()), "ties": int((pref == 0.5).sum()), "losses": int((pref == 0).sum())}
        eval_name = f"headtohead/{name}"
        store.put_item_metrics(
            run_id,
            eval_name,
            "win_rate",
            candidate,
            {i: (None if np.isnan(p) else float(p)) for i, p in zip(ids, pref)},
        )
        store.put_metric(
            run_id,
            eval_name,
            "win_rate",
            candidate,
            est.value,
            est.ci_low,
            est.ci_high,
            est.n,
            True,
            {
                "label": f"Win rate vs {baseline} ({name}), head to head",
                "baseline": baseline,
                "judge": name,
                "ci": "percentile bootstrap over prompts",
                "wilson_low": wlo,
                "wilson_high": whi,
                **counts,
            },
        )
        store.put_samples(
            run_id,
            eval_name,
            [
                {
                    "item_id": i,
                    "model": candidate,
                    "prompt": p,
                    "output": a,
                    "baseline": b,
                    "verdict": j.verdict,
                    "score": j.score_a,
                    "meta": {"judge": name, "baseline_score": j.score_b, "baseline_model": baseline},
                }
                for i, p, a, b, j in zip(ids, prompts, cand, base, judgements)
            ],
        )
        out[name] = {"value": est.value, "ci_low": est.ci_low, "ci_high": est.ci_high, "n": n, **counts}
        verdicts[name] = judgements
    # A few pairs where the answers differ, PPO-ptx wins first, then losses (the report shows both sides)
    first = next(iter(judges))
    differ = [k for k in range(len(ids)) if cand[k].strip() != base[k].strip()]
    differ.sort(key=lambda k: -(verdicts[first][k].preference or 0))
    pick = differ[: max(0, n_examples - 1)] + differ[-1:] if len(differ) > n_examples else differ
    out["examples"] = [
        {
            "item_id": ids[k],
            "prompt": prompts[k],
            candidate: cand[k],
            baseline: base[k],
            **{f"{name}_verdict": verdicts[name][k].verdict for name in judges},
            **{f"{name}_scores": [verdicts[name][k].score_a, verdicts[name][k].score_b] for name in judges},
        }
        for k in pick
    ]
    out["n_identical"] = len(ids) - len(differ)
    (Path(run_dir) / "metrics.json").write_text(json.dumps(store.metrics_dict(run_id), indent=2, sort_keys=True))
    return out
