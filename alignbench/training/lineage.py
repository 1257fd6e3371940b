"""Checkpoint lineage: `alignbench.json` next to the weights says exactly what produced them.

    stage            sft | rm | ppo
    base             the pretrained model at the root of the chain {spec, fingerprint}
    parent           the checkpoint this stage started from {spec, fingerprint, stage}
    inputs           other checkpoints used (ppo: the reward model) {role: {spec, fingerprint}}
    config           the full resolved recipe (alignbench keys + every trainer-config field)
    datasets         {role: {source, fingerprint, n_records}}
    metrics          final metrics of the stage
    normalization    rm only: the bias shift that makes the reference set score 0 on average
    packages, git_revision, created_at

The `datasets` entries are made where the stage reads its data (`training/datasets.py`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from alignbench.models import resolve
from alignbench.provenance import git_revision, package_versions

LINEAGE_FILE = "alignbench.json"


def read_lineage(checkpoint: str | Path) -> dict | None:
    path = Path(checkpoint) / LINEAGE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def model_ref(spec: str) -> dict:
    """{spec, fingerprint, stage} of a model spec (stage from its own lineage when it has one)."""
    resolved = resolve(str(spec))
    ref = {"spec": str(spec), "fingerprint": resolved.fingerprint()}
    if resolved.kind in ("folder", "adapter"):
        parent = read_lineage(resolved.path)
        if parent:
            ref["stage"] = parent.get("stage")
    return ref


def base_of(spec: str) -> dict:
    """The root of the chain: the parent's recorded base, or the parent itself when it has no lineage."""
    resolved = resolve(str(spec))
    if resolved.kind in ("folder", "adapter"):
        parent = read_lineage(resolved.path)
        if parent and parent.get("base"):
            return parent["base"]
    return {"spec": str(spec), "fingerprint": resolved.fingerprint()}


def write_lineage(
    output_dir: str | Path,
    *,
    stage: str,
    parent_spec: str,
    config: dict,
    datasets: dict,
    metrics: dict,
    inputs: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Write `alignbench.json` atomically (main process only: callers guard with is_main_process)."""
    record = {
        "stage": stage,
        "base": base_of(parent_spec),
        "parent": model_ref(parent_spec),
        "inputs": {role: model_ref(spec) for role, spec in (inputs or {}).items()},
        "config": config,
        "datasets": datasets,
        "metrics": metrics,
        **(extra or {}),
        "packages": package_versions(),
        "git_revision": git_revision(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = Path(output_dir) / LINEAGE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    tmp.replace(path)
    return path
