"""A training stage's data: records of one kind from a recipe's data key, plus the `datasets` entry the
checkpoint's lineage keeps for them ({source, fingerprint, n_records, kind}).

A data key is a path or `hf:` spec (read by `alignbench.data.read_records`), `data:NAME?...` (any adapter, the
same grammar suites use), `dataset:NAME[@SPLIT]` (an adapter's records, prompts of any adapter for PPO, an eval
set's passages as pretraining text), or, in Python, a list of records.  Files are fingerprinted by their
bytes (`fingerprint_source`); in-memory records (the demo builds them) by a hash of their canonical JSON, so
both are reproducible names.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from alignbench.data import PretrainText, Prompt, Record, fingerprint_source, parse_record, read_records
from alignbench.data.adapters import get_adapter, load_dataset_items, prompts_of, resolve_source
from alignbench.data.sources import DATASET_PREFIX, OLD_DATASET_PREFIX, canonical_data_spec, parse_dataset_spec
from alignbench.errors import AlignbenchError


def load_data(source: Any, kind: str, role: str) -> tuple[list[Record], dict]:
    """Records of `kind` from a source (path / hf: spec) or an in-memory list, plus their lineage entry."""
    if source is None:
        raise AlignbenchError(f"{role}: no data given")
    if isinstance(source, (list, tuple)):
        records = [r if isinstance(r, Record) else parse_record(kind, r) for r in source]
        digest = hashlib.sha256()
        for r in records:
            digest.update(json.dumps(r.to_dict(), sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
        entry = {"source": "<in-memory records>", "fingerprint": digest.hexdigest()[:16], "n_records": len(records)}
    elif str(source).startswith((DATASET_PREFIX, OLD_DATASET_PREFIX)):
        records, entry = _load_adapter(str(source), kind)
    else:
        records = read_records(source, kind)
        entry = {"source": str(source), "fingerprint": fingerprint_source(source), "n_records": len(records)}
    if not records:
        raise AlignbenchError(f"{role}: {entry['source']} holds no {kind} records")
    entry["kind"] = kind
    return records, entry


def _load_adapter(spec: str, kind: str) -> tuple[list[Record], dict]:
    """`data:NAME[?split=..&subset=..]` -> records from a real-data adapter (alignbench.data.adapters), e.g.
    `data:hh-rlhf-helpful` (K=2 rankings) or, for prompts, the prompts of any adapter's records.  The old
    spelling `dataset:NAME[@SPLIT]` is accepted with a hint (data/sources.py canonical_data_spec)."""
    spec = canonical_data_spec(spec)
    name, choices = parse_dataset_spec(spec)
    records = load_dataset_items(name, **choices)
    if kind == "prompt" and records and not isinstance(records[0], Prompt):
        records = prompts_of(records)
    elif kind == "pretrain" and records and records[0].kind == "eval":
        records = [_as_text(r, spec) for r in records]
    elif records and records[0].kind != kind:
        raise AlignbenchError(f"{spec}: gives {records[0].kind} records, this stage needs {kind} records")
    where, location = resolve_source(get_adapter(name), choices.get("source"))
    fingerprint = fingerprint_source(location) if where == "local" else fingerprint_source(f"hf:{location}")
    return records, {"source": spec, "location": str(location), "fingerprint": fingerprint, "n_records": len(records)}


def _as_text(item, spec: str):
    """An eval item's full passage as pretraining text (e.g. LAMBADA's context + target)."""
    text = item.references.get("text") or item.inputs.get("text") or item.inputs.get("context")
    if not isinstance(text, str) or not text.strip():
        raise AlignbenchError(f"{spec}: item {item.id} has no text/context to use as pretraining text")
    return PretrainText(text=text, id=item.id)


def split_holdout(records: list, fraction: float, seed: int) -> tuple[list, list]:
    """Seeded random split (train, held-out); fraction 0 -> (records, [])."""
    if not fraction:
        return list(records), []
    if not 0 < fraction < 1:
        raise AlignbenchError(f"eval_fraction must be in (0, 1), got {fraction}")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    n_eval = max(1, round(len(records) * fraction))
    held = set(order[:n_eval])
    return [r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held]


def load_train_eval(opts: dict, kind: str, seed: int) -> tuple[list, list, dict]:
    """The (train, held-out) records of a stage and their `datasets` lineage entries: `eval_data` when given,
    else a seeded `eval_fraction` of `train_data`; `limit` caps the training records last."""
    train, train_entry = load_data(opts["train_data"], kind, "train_data")
    datasets = {"train": train_entry}
    if opts.get("eval_data") is not None:
        held_out, datasets["eval"] = load_data(opts["eval_data"], kind, "eval_data")
    else:
        train, held_out = split_holdout(train, opts.get("eval_fraction") or 0.0, seed)
        if held_out:
            train_entry["held_out"] = {"fraction": opts["eval_fraction"], "seed": seed, "n": len(held_out)}
    if opts.get("limit"):
        train = train[: int(opts["limit"])]
    return train, held_out, datasets
