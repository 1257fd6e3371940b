"""Win rate against a baseline (the paper's headline metric, Figure 1).

For every prompt the candidate and the baseline answer, a judge prefers one (a tie counts 1/2), and we
report per candidate:
  win_rate      mean preference, 95% CI by percentile bootstrap over prompts (Wilson interval in meta)
  lc_win_rate   AlpacaEval-style length-controlled win rate (stats.lc_win_rate)
  tie_rate      share of ties
  mean_length   mean response length in characters, candidate and baseline
  mean_score    mean judge score per model, when the judge gives scores (reward model, rubric, human)
Judge failures (an LLM reply with no verdict) are left out of the win rate and counted in its meta.

Suite entry:
    - name: winrate
      dataset: hh-rlhf-helpful        # adapter name (+ subset/split/source), alias, or a JSONL/CSV of prompts
      single_turn: true               # keep only one-turn prompts (HH-RLHF is ~70% multi-turn)
      decoding: {max_new_tokens: 64, temperature: 0.0}
      baseline_decoding: {temperature: 0.7}   # optional: decode the baseline differently
      judge: {type: reward_model, model: runs/rm}     # or judges: [...] -> eval names winrate/<judge>

Work is done in chunks of `batch_size` prompts (the eval's own key, else the engines' batch given to the run
with `--batch-size`, else 16): generate baseline, generate candidates, judge, store.  A chunk smaller than the
engines' batch would cap every generation call at it (the demo's batch of 48 ran as 3 x 16).  A run that dies
part-way keeps every finished chunk: on rerun the generations come from the cache
and judgements of unchanged (prompt, outputs, judge) from the store.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np

from alignbench.errors import AlignbenchError
from alignbench.stats import lc_win_rate, mean_with_ci, wilson_interval
from alignbench.store import content_key

SPEC_KEYS = {"subset", "split", "source", "version", "single_turn", "baseline_decoding", "n_resamples", "lc_resamples"}
# Friendly names for common prompt sets: alias -> (adapter, options)
DATASET_ALIASES = {
    "hh-rlhf-helpful": ("hh-rlhf", {"subset": "helpful-base"}),
    "hh-rlhf-harmless": ("hh-rlhf", {"subset": "harmless-base"}),
}
DEFAULT_BATCH = 16


@dataclass
class PromptItem:
    item_id: str
    prompt: str  # what the models are asked (one user turn in chat mode)
    payload: dict  # stored in `items`; judges see it (messages for multi-turn RM scoring)


def validate(spec) -> list[str]:
    problems = []
    if not spec.get("dataset"):
        problems.append("dataset: missing (an adapter name such as hh-rlhf-helpful, or a file of prompts)")
    for key in ("decoding", "baseline_decoding"):
        if spec.get(key) is not None and not isinstance(spec.get(key), dict):
            problems.append(f"{key}: must be a mapping")
    spec.judge_specs()  # raises a SuiteError naming the file and key
    return problems


# -- prompts ---------------------------------------------------------------------------------------------
def _record_prompt(record) -> tuple[str, dict] | None:
    """(prompt text, payload) of a typed record; None when it carries no prompt."""
    from alignbench.data.records import Demonstration, EvalItem, Prompt, Ranking

    meta = dict(getattr(record, "meta", {}) or {})
    messages = meta.pop("messages", None)
    if isinstance(record, Demonstration) and record.messages:
        messages = record.chat()
    if messages:
        users = [m for m in messages if m["role"] == "user"]
        if len(messages) == 1 and users:
            text = users[0]["content"]
        else:  # multi-turn: the transcript, speaker-labelled, ending with the last user turn
            text = "\n\n".join(f"{'User' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in messages)
        return text, {"prompt": text, "messages": messages, "meta": meta}
    if isinstance(record, (Prompt, Ranking, Demonstration)) and record.prompt:
        return record.prompt, {"prompt": record.prompt, "meta": meta}
    if isinstance(record, EvalItem):
        for key in ("prompt", "instruction", "question", "text"):
            if isinstance(record.inputs.get(key), str):
                return record.inputs[key], {"prompt": record.inputs[key], "meta": meta}
    return None


def load_prompts(spec, limit: int | None) -> tuple[list[PromptItem], str, str | None]:
    """The eval's prompts, the dataset name and its fingerprint."""
    from pathlib import Path

    dataset = str(spec.get("dataset"))
    single_turn = bool(spec.get("single_turn", False))
    path = Path(dataset).expanduser()
    if path.exists():
        from alignbench.data.sources import fingerprint_source, iter_records

        records = iter_records(path, "prompt")  # streamed: --limit N reads only the rows it needs
        fingerprint = fingerprint_source(path)
    else:
        from alignbench.data.adapters import iter_dataset_items

        name, options = DATASET_ALIASES.get(dataset, (dataset, {}))
        options = {**options, **{k: spec.get(k) for k in ("subset", "split", "source", "version") if spec.get(k)}}
        records = iter_dataset_items(name, **options)
        fingerprint = hashlib.sha256(repr(sorted(options.items())).encode() + name.encode()).hexdigest()[:16]
    items: list[PromptItem] = []
    seen = set()
    for record in records:
        found = _record_prompt(record)
        if found is None:
            continue
        text, payload = found
        if single_turn and len(payload.get("messages") or [1]) > 1:
            continue
        item_id = str(getattr(record, "id", None) or hashlib.sha256(text.encode()).hexdigest()[:12])
        if item_id in seen:
            continue
        seen.add(item_id)
        items.append(PromptItem(item_id, text, payload))
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise spec.error(
            "dataset", f"{dataset}: no prompts found" + (" (single_turn: true left none)" if single_turn else "")
        )
    return items, dataset, fingerprint


# -- the eval ---------------------------------------------------------------------------------------------
def _decoding(spec, ctx, key: str, base: dict | None = None):
    from alignbench.engines import DecodingParams

    values = dict(base or {})
    values.update(spec.get(key) or {})
    values.setdefault("seed", ctx.seed)
    try:
        return DecodingParams.from_dict(values)
    except AlignbenchError as exc:
        raise spec.error(key, str(exc)) from exc


def run(ctx, spec) -> None:
    if ctx.baseline is None:
        raise AlignbenchError(f"{spec.source}: winrate compares each candidate with a baseline: pass --baseline SPEC")
    items, dataset, dataset_fp = load_prompts(spec, ctx.item_limit(spec))
    params = _decoding(spec, ctx, "decoding")
    base_params = (
        _decoding(spec, ctx, "baseline_decoding", base=spec.get("decoding") or {})
        if spec.get("baseline_decoding")
        else params
    )
    judges = [ctx.judge(j) for j in spec.judge_specs()]
    names = [spec.name] if len(judges) == 1 else [f"{spec.name}/{j.name}" for j in judges]
    for name in names:
        ctx.store.add_items(
            ctx.run_id,
            name,
            [(it.item_id, it.payload) for it in items],
            dataset=dataset,
            dataset_fingerprint=dataset_fp,
        )

    # results[(eval name, candidate)] = per-item lists, in item order
    results: dict[tuple[str, str], dict[str, list]] = {
        (name, cand.name): {"pref": [], "len_a": [], "len_b": [], "score_a": [], "score_b": [], "meta": []}
        for name in names
        for cand in ctx.candidates
    }
    batch = int(spec.get("batch_size") or ctx.batch_size or DEFAULT_BATCH)
    bar = ctx.progress(total=len(items), desc=f"{spec.name}")
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        prompts = [it.prompt for it in chunk]
        base_texts = [g[0].text for g in ctx.engine(ctx.baseline).generate(prompts, base_params, desc="baseline")]
        for cand in ctx.candidates:
            cand_texts = [g[0].text for g in ctx.engine(cand).generate(prompts, params, desc=cand.name)]
            for name, judge in zip(names, judges):
                judgements = _judge_chunk(ctx, name, cand.name, judge, chunk, cand_texts, base_texts)
                acc = results[(name, cand.name)]
                samples = []
                for it, a, b, j in zip(chunk, cand_texts, base_texts, judgements):
                    acc["pref"].append(math.nan if j.preference is None else j.preference)
                    acc["len_a"].append(len(a))
                    acc["len_b"].append(len(b))
                    acc["score_a"].append(math.nan if j.score_a is None else j.score_a)
                    acc["score_b"].append(math.nan if j.score_b is None else j.score_b)
                    acc["meta"].append(j.meta)
                    samples.append(
                        {
                            "item_id": it.item_id,
                            "model": cand.name,
                            "prompt": it.prompt,
                            "output": a,
                            "baseline": b,
                            "verdict": j.verdict,
                            "score": j.score_a,
                            "meta": {"judge": j.judge, "baseline_score": j.score_b, "raw": j.raw},
                        }
                    )
                ctx.store.put_samples(ctx.run_id, name, samples)
        bar.update(len(chunk))
    bar.close()

    for name, judge in zip(names, judges):
        for cand in ctx.candidates:
            _write_metrics(
                ctx, spec, name, judge, cand.name, [it.item_id for it in items], results[(name, cand.name)], dataset
            )


def _judge_chunk(ctx, eval_name: str, cand_name: str, judge, chunk, cand_texts, base_texts):
    """Judge one chunk, reusing this run's stored judgements of identical inputs (resume)."""
    from alignbench.judges import Judgement

    keys = [
        content_key("winrate", ctx.run_id, eval_name, cand_name, judge.name, judge.fingerprint, it.prompt, a, b)
        for it, a, b in zip(chunk, cand_texts, base_texts)
    ]
    stored = ctx.store.get_judgements(keys)
    todo = [i for i, k in enumerate(keys) if k not in stored]
    fresh = {}
    if todo:
        out = judge.compare(
            [chunk[i].prompt for i in todo],
            [cand_texts[i] for i in todo],
            [base_texts[i] for i in todo],
            [chunk[i].item_id for i in todo],
            items=[chunk[i].payload for i in todo],
        )
        fresh = dict(zip(todo, out))
        ctx.store.put_judgements(
            [
                {
                    "judgement_key": keys[i],
                    "run_id": ctx.run_id,
                    "eval": eval_name,
                    "item_id": chunk[i].item_id,
                    "model": cand_name,
                    "judge": j.judge or judge.name,
                    "verdict": j.verdict,
                    "score": j.score_a,
                    "raw": j.raw,
                    "meta": {
                        **j.meta,
                        "score_a": j.score_a,
                        "score_b": j.score_b,
                        "a": cand_name,
                        "b": ctx.baseline.name,
                    },
                }
                for i, j in fresh.items()
            ]
        )
    judgements = []
    for i, key in enumerate(keys):
        if i in fresh:
            judgements.append(fresh[i])
            continue
        row = stored[key]
        meta = json.loads(row["meta_json"])
        judgements.append(
            Judgement(
                verdict=row["verdict"],
                score_a=meta.pop("score_a", None),
                score_b=meta.pop("score_b", None),
                raw=row["raw"],
                judge=row["judge"],
                meta={k: v for k, v in meta.items() if k not in ("a", "b")},
            )
        )
    return judgements


def _write_metrics(ctx, spec, name: str, judge, cand: str, item_ids: list[str], acc: dict, dataset: str) -> None:
    store, run_id, base = ctx.store, ctx.run_id, ctx.baseline.name
    seed = ctx.seed
    n_boot = int(spec.get("n_resamples") or 2000)
    pref = np.array(acc["pref"], dtype=float)
    judged = ~np.isnan(pref)
    n_items, n_judged = len(pref), int(judged.sum())
    failures = {
        "n_failed": n_items - n_judged,
        "parse_failures": int(sum(m.get("parse_failures", 0) for m in acc["meta"])),
        "request_failures": int(sum(m.get("request_failures", 0) for m in acc["meta"])),
        "position_flips": int(sum(bool(m.get("inconsistent")) for m in acc["meta"])),
    }
    common = {"baseline": base, "judge": judge.name, "dataset": dataset}
    if n_judged == 0:
        raise AlignbenchError(
            f"{spec.source}: the judge {judge.name} gave no usable verdict for {cand} "
            f"({failures}); see the judgements table in {ctx.run_dir}"
        )
    store.put_item_metrics(
        run_id, name, "win_rate", cand, {i: (None if math.isnan(p) else p) for i, p in zip(item_ids, pref)}
    )
    win = mean_with_ci(pref, n_resamples=n_boot, seed=seed)
    wlo, whi = wilson_interval(float(np.nansum(pref)), n_judged)
    store.put_metric(
        run_id,
        name,
        "win_rate",
        cand,
        win.value,
        win.ci_low,
        win.ci_high,
        win.n,
        True,
        {
            "label": f"Win rate vs {base} ({judge.name})",
            **common,
            "ci": "percentile bootstrap over prompts",
            "wilson_low": wlo,
            "wilson_high": whi,
            "n_items": n_items,
            **failures,
        },
    )
    la, lb = np.array(acc["len_a"], float), np.array(acc["len_b"], float)
    lc = lc_win_rate(pref, la, lb, n_resamples=int(spec.get("lc_resamples") or 200), seed=seed)
    store.put_metric(
        run_id,
        name,
        "lc_win_rate",
        cand,
        lc.value,
        lc.ci_low,
        lc.ci_high,
        lc.n,
        True,
        {
            "label": f"Length-controlled win rate vs {base} ({judge.name})",
            **common,
            "method": "logistic GLM on tanh(standardised length difference), at zero difference",
        },
    )
    ties = np.where(judged, (pref == 0.5).astype(float), np.nan)
    store.put_item_metrics(
        run_id, name, "tie_rate", cand, {i: (None if math.isnan(t) else t) for i, t in zip(item_ids, ties)}
    )
    tie = mean_with_ci(ties, n_resamples=n_boot, seed=seed)
    store.put_metric(
        run_id,
        name,
        "tie_rate",
        cand,
        tie.value,
        tie.ci_low,
        tie.ci_high,
        tie.n,
        None,
        {"label": f"Tie rate vs {base} ({judge.name})", **common},
    )
    for model, lengths in ((cand, la), (base, lb)):
        store.put_item_metrics(run_id, name, "mean_length", model, dict(zip(item_ids, lengths.tolist())))
        est = mean_with_ci(lengths, n_resamples=n_boot, seed=seed)
        store.put_metric(
            run_id,
            name,
            "mean_length",
            model,
            est.value,
            est.ci_low,
            est.ci_high,
            est.n,
            None,
            {"label": f"Mean response length, characters ({model})", **common},
        )
    sa, sb = np.array(acc["score_a"], float), np.array(acc["score_b"], float)
    if not np.all(np.isnan(sa)):
        for model, scores in ((cand, sa), (base, sb)):
            store.put_item_metrics(
                run_id,
                name,
                "mean_score",
                model,
                {i: (None if math.isnan(s) else s) for i, s in zip(item_ids, scores)},
            )
            est = mean_with_ci(scores, n_resamples=n_boot, seed=seed)
            store.put_metric(
                run_id,
                name,
                "mean_score",
                model,
                est.value,
                est.ci_low,
                est.ci_high,
                est.n,
                True,
                {"label": f"Mean {judge.name} score ({model})", **common},
            )
