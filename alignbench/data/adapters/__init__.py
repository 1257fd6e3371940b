"""Adapters for the real public data sets: one module per data set, each turning the upstream format
into typed records (Ranking for HH-RLHF, EvalItem for the eval sets).

    from alignbench.data.adapters import load_dataset_items, ADAPTERS
    items = load_dataset_items("truthfulqa", version="v1")            # list[EvalItem]
    pairs = load_dataset_items("hh-rlhf", subset="helpful-base", limit=100)   # list[Ranking]

`source=None` reads the data set's folder under `shared_data_dir()` when it exists, else the Hugging
Face hub copy (`datasets.load_dataset`); `source="hf"` forces the hub, `source="hf:ORG/NAME"` names
another hub id with the same schema, any other string/Path is a local folder (same layout as the
shared one) or one file of the data set.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Iterator

from alignbench.data.adapters import (  # noqa: E402  (registry order = order in `alignbench data list`)
    hellaswag,
    hh_rlhf,
    lambada,
    qags,
    realtoxicityprompts,
    squad,
    summedits,
    truthfulqa,
    truthfulqa_judge,
    winogrande,
)
from alignbench.data.adapters.base import Adapter, LoadReport
from alignbench.errors import DataError

ADAPTERS: dict[str, Adapter] = {
    module.ADAPTER.name: module.ADAPTER
    for module in (
        hh_rlhf,
        truthfulqa,
        truthfulqa_judge,
        realtoxicityprompts,
        qags,
        summedits,
        hellaswag,
        squad,
        lambada,
        winogrande,
    )
}


# Short names for common choices: alias -> (adapter, default choices the caller may still override).
ALIASES: dict[str, tuple[str, dict]] = {
    "hh-rlhf-helpful": ("hh-rlhf", {"subset": "helpful-base"}),
    "hh-rlhf-harmless": ("hh-rlhf", {"subset": "harmless-base"}),
    "rtp": ("realtoxicityprompts", {}),
    "squad_v2": ("squad", {"version": "v2.0"}),
}


def get_adapter(name: str) -> Adapter:
    name = ALIASES.get(name, (name, {}))[0]
    if name not in ADAPTERS:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(ADAPTERS)} (aliases: {', '.join(ALIASES)})")
    return ADAPTERS[name]


def resolve_source(adapter: Adapter, source: str | Path | None = None) -> tuple[str, str | Path]:
    """("local", path) or ("hub", hub_id): where `load_dataset_items` will read this adapter from."""
    if source is None:
        # Every place is tried and named before any hub fallback (config.shared_data_candidates).
        from alignbench.config import find_shared_data

        folder, tried = find_shared_data(adapter.folder)
        if folder is not None:
            return "local", folder
        places = "; ".join(tried)
        if adapter.hub_id and adapter.read_hub:
            # Said before the hub is tried, so an offline "Couldn't reach" below comes with where we looked.
            print(
                f"alignbench: {adapter.name}: no local copy (tried {places}); reading the hub copy "
                f"{adapter.hub_id} (set ALIGNBENCH_SHARED_DATA to the folder holding {adapter.folder}/)",
                file=sys.stderr,
            )
            return "hub", adapter.hub_id
        raise DataError(
            f"{adapter.name}: no local copy (tried {places}; set ALIGNBENCH_SHARED_DATA, or pass "
            "source= / --source) and no Hugging Face hub copy is known"
        )
    text = str(source)
    if text == "hf" or text.startswith("hf:"):
        if adapter.read_hub is None:
            raise DataError(f"{adapter.name}: no hub reader; pass a local folder or file")
        hub_id = text[3:] if text.startswith("hf:") else adapter.hub_id
        if not hub_id:
            raise DataError(f"{adapter.name}: no default hub id; use source='hf:ORG/NAME'")
        return "hub", hub_id
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{adapter.name}: {path}: no such file or folder")
    return "local", path


def iter_dataset_items(
    name: str,
    source: str | Path | None = None,
    split: str | None = None,
    version: str | None = None,
    limit: int | None = None,
    subset: str | None = None,
    report: LoadReport | None = None,
) -> Iterator:
    """Typed records of data set `name`, lazily.  `report` (a LoadReport) is filled with the counts."""
    adapter = get_adapter(name)
    defaults = ALIASES.get(name, (name, {}))[1]
    split, subset = split or defaults.get("split"), subset or defaults.get("subset")
    version = version or defaults.get("version")
    adapter.check_choice("split", split, adapter.splits)
    adapter.check_choice("subset", subset, adapter.subsets)
    adapter.check_choice("version", version, adapter.versions)
    split = split or adapter.default_split
    version = version or adapter.default_version
    report = report if report is not None else LoadReport()
    where, location = resolve_source(adapter, source)
    report.source = f"{name} ({location})"
    if where == "local":
        records = adapter.read_local(Path(location), split=split, subset=subset, version=version, report=report)
    else:
        records = adapter.read_hub(location, split=split, subset=subset, version=version, report=report)
    for record in itertools.islice(records, limit):
        report.records += 1
        yield record


def load_dataset_items(
    name: str,
    source: str | Path | None = None,
    split: str | None = None,
    version: str | None = None,
    limit: int | None = None,
    subset: str | None = None,
    report: LoadReport | None = None,
) -> list:
    """All typed records of data set `name` (see the module docstring for `source`)."""
    return list(
        iter_dataset_items(
            name, source=source, split=split, version=version, limit=limit, subset=subset, report=report
        )
    )


def prompts_of(records) -> list:
    """Prompt records to sample from, for evals that only need the question (e.g. win rate on HH-RLHF
    prompts): a Ranking's prompt (chat turns in meta["messages"] when the adapter gives them), an
    EvalItem's `prompt` or `question` input.  Ids and meta are kept."""
    from alignbench.data.records import EvalItem, Prompt, Ranking

    out = []
    for record in records:
        if isinstance(record, (Ranking, Prompt)):
            out.append(Prompt(prompt=record.prompt, id=record.id, meta=dict(record.meta)))
        elif isinstance(record, EvalItem) and ("prompt" in record.inputs or "question" in record.inputs):
            out.append(
                Prompt(
                    prompt=record.inputs.get("prompt") or record.inputs["question"],
                    id=record.id,
                    meta=dict(record.meta),
                )
            )
        else:
            raise DataError(f"{getattr(record, 'id', record)}: {type(record).__name__} has no prompt to sample from")
    return out


__all__ = [
    "ALIASES",
    "prompts_of",
    "ADAPTERS",
    "Adapter",
    "LoadReport",
    "get_adapter",
    "iter_dataset_items",
    "load_dataset_items",
    "resolve_source",
]
