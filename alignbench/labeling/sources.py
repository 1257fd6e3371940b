"""Where a project's items come from: an eval run folder, or a JSONL/CSV file; plus the gold set.

  rank    FILE rows {id, prompt, responses: [K = 2..9 texts], models: [K names] (optional)}
          RUN_DIR: per item of one eval, the baseline's and every candidate's output (K = models)
  compare FILE rows {id, prompt, candidate, baseline, models: [candidate name, baseline name] (optional)}
          RUN_DIR: per item of one eval, one candidate's output vs the baseline's (the win-rate samples)
  gold    FILE rows {id, ranks: [...]} (rank; source order) or {id, verdict: A|B|tie} (compare; A = candidate),
          naming an item of the source; a row that also carries the item's texts adds it as a gold-only item.

Responses keep their source order in the project (compare: [candidate, baseline]); the page shows them
in a seeded random order per item (`display`), remembered so every label maps back to its model.
"""

from __future__ import annotations

import random
from pathlib import Path

from alignbench.errors import AlignbenchError, DataError
from alignbench.labeling.labels import LabelError, check_ranks, ranks_of_verdict
from alignbench.labeling.project import TASKS, Project

MAX_K = 9


def _rows(path: Path):
    from alignbench.data.readers import DataProblem, iter_rows

    for row in iter_rows(path):
        if isinstance(row.data, DataProblem):
            yield row.origin, None, f"{row.origin}: {row.data.field}: {row.data.message}"
        elif not isinstance(row.data, dict):
            yield row.origin, None, f"{row.origin}: (record): must be an object"
        else:
            yield row.origin, row.data, None


def _texts(d: dict, key: str, origin: str, problems: list) -> list[str] | None:
    value = d.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{origin}: {key}: must be a list of non-empty strings")
        return None
    return value


def _item_from_row(d: dict, origin: str, task: str, problems: list) -> dict | None:
    """One source item from a file row, or None (problems appended)."""
    n = len(problems)
    item_id = d.get("id", d.get("item_id"))
    if item_id in (None, ""):
        problems.append(f"{origin}: id: missing")
    prompt = d.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append(f"{origin}: prompt: missing or empty")
    if task == "rank":
        responses = _texts(d, "responses", origin, problems)
        if responses is not None and not 2 <= len(responses) <= MAX_K:
            problems.append(f"{origin}: responses: K={len(responses)}: need 2 to {MAX_K} responses")
    else:
        responses = []
        for key in ("candidate", "baseline"):
            if not isinstance(d.get(key), str) or not d[key].strip():
                problems.append(f"{origin}: {key}: missing or empty")
            else:
                responses.append(d[key])
    models = d.get("models") or (d.get("meta") or {}).get("models") or []
    if models and (
        not isinstance(models, list)
        or len(models) != len(responses or [])
        or not all(isinstance(m, str) for m in models)
    ):
        problems.append(f"{origin}: models: must list one name per response")
    if len(problems) > n:
        return None
    return {
        "item_id": str(item_id),
        "prompt": prompt,
        "responses": responses,
        "models": models,
        "meta": {"origin": origin},
    }


def items_from_file(path: Path, task: str) -> list[dict]:
    problems: list[str] = []
    items = []
    for origin, d, problem in _rows(path):
        if problem:
            problems.append(problem)
            continue
        item = _item_from_row(d, origin, task, problems)
        if item is not None:
            items.append(item)
    _check_ids(items, problems)
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s) in {task} items", problems)
    return items


def _check_ids(items: list[dict], problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for it in items:
        if it["item_id"] in seen:
            problems.append(f"{it['meta']['origin']}: id: {it['item_id']!r} repeats {seen[it['item_id']]}")
        seen.setdefault(it["item_id"], it["meta"]["origin"])


def items_from_run(run_dir: Path, task: str, eval_name: str | None, candidate: str | None) -> tuple[list[dict], dict]:
    """Items from an eval run's samples table (see docs/architecture.md), plus where they came from."""
    from alignbench.store import STORE_FILE, Store

    if not (run_dir / STORE_FILE).is_file():
        raise AlignbenchError(f"{run_dir}: not a run folder (no {STORE_FILE} inside)")
    store = Store(run_dir)
    try:
        row = store.conn.execute(
            "SELECT s.run_id FROM samples s JOIN runs r ON r.run_id = s.run_id WHERE s.baseline IS"
            " NOT NULL ORDER BY r.created_at DESC, r.rowid DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise AlignbenchError(
                f"{run_dir}: no pairwise samples (candidate vs baseline) in this run; run a winrate eval"
            )
        run_id = row[0]
        samples = store.frame("samples", run_id)
        models = {
            r["name"]: {"spec": r["spec"], "fingerprint": r["fingerprint"], "role": r["role"], "info": r["info"]}
            for _, r in store.frame("models", run_id).iterrows()
        }
    finally:
        store.close()
    samples = samples[samples["baseline"].notna()]
    evals = list(dict.fromkeys(samples["eval"]))
    eval_name = eval_name or evals[0]
    if eval_name not in evals:
        raise AlignbenchError(
            f"--eval: {eval_name!r} has no pairwise samples in {run_dir} (evals: {', '.join(evals)})"
        )
    samples = samples[samples["eval"] == eval_name]
    candidates = list(dict.fromkeys(samples["model"]))
    baseline = next((n for n, m in models.items() if m["role"] == "baseline"), "baseline")
    if task == "compare":
        if candidate is None and len(candidates) > 1:
            raise AlignbenchError(
                f"{run_dir}: {len(candidates)} candidates ({', '.join(candidates)}); pick one with --candidate"
            )
        candidate = candidate or candidates[0]
        if candidate not in candidates:
            raise AlignbenchError(
                f"--candidate: {candidate!r} is not a candidate of {run_dir} ({', '.join(candidates)})"
            )
        chosen = samples[samples["model"] == candidate]
        items = [
            {
                "item_id": str(s.item_id),
                "prompt": s.prompt or "",
                "responses": [s.output or "", s.baseline or ""],
                "models": [candidate, baseline],
                "meta": {},
            }
            for s in chosen.itertuples()
        ]
    else:
        items = []
        for item_id, group in samples.groupby("item_id", sort=False):
            group = group.set_index("model").reindex(candidates).dropna(subset=["output"])
            responses = [group["baseline"].iloc[0]] + list(group["output"])
            if len(responses) >= 2:
                items.append(
                    {
                        "item_id": str(item_id),
                        "prompt": group["prompt"].iloc[0] or "",
                        "responses": responses[:MAX_K],
                        "models": ([baseline] + list(group.index))[:MAX_K],
                        "meta": {},
                    }
                )
    source = {
        "run_dir": str(run_dir.resolve()),
        "run_id": run_id,
        "eval": eval_name,
        "baseline": baseline,
        "candidate": candidate if task == "compare" else None,
        "models": models,
    }
    return items, source


def apply_gold(path: Path, task: str, items: list[dict]) -> list[dict]:
    """Mark the gold file's items (adding gold-only ones); returns the new item list."""
    by_id = {it["item_id"]: it for it in items}
    problems: list[str] = []
    added = []
    for origin, d, problem in _rows(path):
        if problem:
            problems.append(problem)
            continue
        item_id = str(d.get("id", d.get("item_id", "")))
        item = by_id.get(item_id)
        if item is None:
            if not item_id:
                problems.append(f"{origin}: id: missing")
                continue
            if "prompt" not in d:
                problems.append(
                    f"{origin}: id: {item_id!r} is not an item of the source (add prompt and responses to "
                    "make it a gold-only item)"
                )
                continue
            item = _item_from_row(d, origin, task, problems)
            if item is None:
                continue
            item["in_source"] = False
            added.append(item)
            by_id[item_id] = item
        k = len(item["responses"])
        try:
            if task == "compare" and d.get("verdict") is not None:
                verdict = {"a": "A", "b": "B", "tie": "tie"}.get(str(d["verdict"]).strip().lower())
                if verdict is None:
                    raise LabelError(400, f"verdict: must be A, B or tie, got {d['verdict']!r}")
                ranks = ranks_of_verdict(verdict)
            elif isinstance(d.get("ranks"), list) and all(isinstance(r, int) for r in d["ranks"]):
                ranks = check_ranks(d["ranks"], k)
            else:
                raise LabelError(
                    400,
                    "ranks: missing (give the researcher's ranks"
                    + (", or verdict A/B/tie)" if task == "compare" else ")"),
                )
        except LabelError as exc:
            problems.append(f"{origin}: {exc}")
            continue
        item["is_gold"], item["gold_ranks"] = True, ranks
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s) in gold labels", problems)
    return items + added


def create_project(
    folder: str | Path,
    task: str,
    source: str | Path,
    overlap: float = 0.2,
    overlap_labelers: int = 2,
    gold: str | Path | None = None,
    seed: int = 0,
    eval_name: str | None = None,
    candidate: str | None = None,
) -> Project:
    """Build PROJECT_DIR/project.sqlite from a run folder or a file (see the module docstring)."""
    if task not in TASKS:
        raise AlignbenchError(f"--task: must be one of {', '.join(TASKS)}, got {task!r}")
    if not 0.0 <= overlap <= 1.0:
        raise AlignbenchError(f"--overlap: must be a share in [0, 1], got {overlap}")
    if overlap_labelers < 2:
        raise AlignbenchError(f"--overlap-labelers: must be 2 or more, got {overlap_labelers}")
    src = Path(source)
    if src.is_dir():
        items, origin = items_from_run(src, task, eval_name, candidate)
    elif src.is_file():
        items, origin = items_from_file(src, task), {"file": str(src.resolve())}
    else:
        raise AlignbenchError(f"--from: {src}: no such run folder or file")
    if not items:
        raise AlignbenchError(f"--from: {src}: no items")
    if gold is not None:
        items = apply_gold(Path(gold), task, items)
    rng = random.Random(seed)
    order = list(range(len(items)))
    rng.shuffle(order)
    regular = [i for i in order if not items[i].get("is_gold")]
    overlapping = set(rng.sample(regular, round(overlap * len(regular))))
    rows = []
    for position, i in enumerate(order):
        it = items[i]
        display = list(range(len(it["responses"])))
        random.Random(f"{seed}:{it['item_id']}").shuffle(display)
        rows.append(
            {**it, "position": position, "display": display, "copies": overlap_labelers if i in overlapping else 1}
        )
    project = Project(folder, create=True)
    project.write_meta(
        {
            "task": task,
            "seed": seed,
            "overlap": overlap,
            "overlap_labelers": overlap_labelers,
            "source": origin,
            "gold": None if gold is None else str(Path(gold).resolve()),
        }
    )
    project.add_items(rows)
    return project
