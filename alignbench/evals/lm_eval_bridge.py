"""Run any lm-evaluation-harness task on the SAME model object alignbench loaded, and keep its results in
our store (so reports and `compare` treat them like our own evals).  Optional: `pip install
'alignbench[lm-eval]'`.

    # suite YAML
    - name: lm_eval
      tasks: [arc_easy, piqa]
      num_fewshot: 0

    # Python
    from alignbench.evals.lm_eval_bridge import evaluate_model
    results = evaluate_model(model, tokenizer, ["arc_easy"], limit=100)

Each task becomes eval `lm_eval/<task>`; each lm-eval metric `<name>,<filter>` becomes metric `<name>` (or
`<name>_<filter>` for a filter other than `none`), its CI = value ± 1.96 × lm-eval's stderr, and the
per-document values (lm-eval's logged samples) go to item_metrics under ids `<task>/<doc_id>`, so the
alignment-tax deltas against a baseline get a paired bootstrap CI like our built-in tasks.
"""

from __future__ import annotations

import math

from alignbench.errors import AlignbenchError

SPEC_KEYS = {"tasks", "num_fewshot", "lm_eval_kwargs"}
# lm-eval metrics where lower is better; everything else it reports is higher-is-better or neutral
_LOWER_IS_BETTER = {"perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte", "ter"}


def _import_lm_eval():
    try:
        import lm_eval
        from lm_eval.models.huggingface import HFLM
    except ImportError as exc:
        raise AlignbenchError(
            f"the lm-evaluation-harness bridge needs lm-eval: pip install 'alignbench[lm-eval]' ({exc})"
        ) from exc
    return lm_eval, HFLM


def evaluate_model(
    model,
    tokenizer,
    tasks: list[str],
    limit: int | None = None,
    num_fewshot: int | None = None,
    batch_size: int = 8,
    **kwargs,
) -> dict:
    """lm_eval.simple_evaluate on an already-loaded transformers model (wrapped in lm-eval's HFLM), with
    per-sample logging on; returns lm-eval's results dict."""
    lm_eval, HFLM = _import_lm_eval()
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
    return lm_eval.simple_evaluate(
        model=lm, tasks=list(tasks), limit=limit, num_fewshot=num_fewshot, log_samples=True, **kwargs
    )


def metric_rows(results: dict, task: str) -> list[dict]:
    """{metric, value, ci_low, ci_high, n, higher_is_better} for every numeric metric lm-eval reports for task."""
    res = results["results"].get(task, {})
    n = (results.get("n-samples", {}).get(task) or {}).get("effective")
    rows = []
    for key, value in res.items():
        if "," not in key or "_stderr" in key or not isinstance(value, (int, float)):
            continue
        name, _, filt = key.partition(",")
        stderr = res.get(f"{name}_stderr,{filt}")
        half = 1.96 * stderr if isinstance(stderr, (int, float)) and not math.isnan(stderr) else None
        rows.append(
            {
                "metric": name if filt == "none" else f"{name}_{filt}",
                "source_key": key,
                "value": float(value),
                "ci_low": None if half is None else float(value) - half,
                "ci_high": None if half is None else float(value) + half,
                "n": n,
                "higher_is_better": name not in _LOWER_IS_BETTER,
            }
        )
    return rows


def sample_values(results: dict, task: str, metric_key: str) -> dict[str, float]:
    """Per-document values of one metric from lm-eval's logged samples, keyed `<task>/<doc_id>`."""
    name = metric_key.partition(",")[0]
    out = {}
    for sample in (results.get("samples") or {}).get(task, []):
        value = sample.get(name)
        if isinstance(value, (int, float, bool)):
            out[f"{task}/{sample['doc_id']}"] = float(value)
    return out


def run(ctx, spec) -> None:
    from alignbench.evals.itemwise import put_delta

    tasks = spec.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise spec.error("tasks", "list the lm-evaluation-harness task names to run, e.g. [arc_easy]")
    per_model: dict[str, dict] = {}
    for model in ctx.models:
        hf_model, tokenizer = ctx.load(model)
        results = evaluate_model(
            hf_model,
            tokenizer,
            tasks,
            limit=ctx.item_limit(spec),
            num_fewshot=spec.get("num_fewshot"),
            batch_size=int(spec.get("batch_size") or 8),
            **(spec.get("lm_eval_kwargs") or {}),
        )
        per_model[model.name] = results
        for task in tasks:
            for row in metric_rows(results, task):
                eval_name = f"lm_eval/{task}"
                values = sample_values(results, task, row["source_key"])
                if values:
                    ctx.store.put_item_metrics(ctx.run_id, eval_name, row["metric"], model.name, values)
                ctx.store.put_metric(
                    ctx.run_id,
                    eval_name,
                    row["metric"],
                    model.name,
                    row["value"],
                    row["ci_low"],
                    row["ci_high"],
                    row["n"],
                    row["higher_is_better"],
                    {
                        "label": f"{task} {row['metric']} (lm-evaluation-harness)",
                        "task": task,
                        "num_fewshot": spec.get("num_fewshot"),
                        "source": "lm-eval",
                    },
                )
    if ctx.baseline is None:
        return
    base = per_model[ctx.baseline.name]
    for cand in ctx.candidates:
        for task in tasks:
            for row in metric_rows(per_model[cand.name], task):
                c = sample_values(per_model[cand.name], task, row["source_key"])
                b = sample_values(base, task, row["source_key"])
                if c and b:
                    put_delta(
                        ctx,
                        f"lm_eval/{task}",
                        row["metric"],
                        cand.name,
                        ctx.baseline.name,
                        c,
                        b,
                        row["higher_is_better"],
                        {"label": f"{task} {row['metric']}", "task": task},
                    )
