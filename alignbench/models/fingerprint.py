"""Model fingerprints: a short stable hash that names exactly which weights produced a result.

Caches key generations by it and lineage records it, so two different checkpoints never share
cached outputs and a report can prove which weights it describes.  For a folder it hashes the
config plus every weight file; file hashes are memoised by (path, size, mtime) in the cache dir
because hashing 500 MB of safetensors on every `eval` would cost seconds each time.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from alignbench.config import cache_dir

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
_MEMO_FILE = "file_hashes.json"


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    memo_path = cache_dir() / _MEMO_FILE
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if key in memo:
        return memo[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    memo[key] = digest.hexdigest()
    # A per-process temporary name: two evals starting at once on a fresh cache would otherwise write and
    # rename the same file, and the second rename fails (FileNotFoundError) or publishes half a file.
    tmp = memo_path.with_name(f"{memo_path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    memo_path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(memo))
    tmp.replace(memo_path)
    return memo[key]


def fingerprint_path(path: str | Path) -> str:
    """Fingerprint of a local model: a folder (config + adapter config + weight files) or one file."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(_file_sha256(path).encode())
    else:
        for name in ("config.json", "adapter_config.json"):
            if (path / name).exists():
                digest.update((path / name).read_bytes())
        for weight in sorted(p for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES):
            digest.update(weight.name.encode())
            digest.update(_file_sha256(weight).encode())
    return digest.hexdigest()[:16]


def fingerprint_hub(repo_id: str, revision: str | None) -> str:
    """A hub model is named by its id and resolved commit: the weights behind a commit never change."""
    return hashlib.sha256(f"hub:{repo_id}@{revision or 'main'}".encode()).hexdigest()[:16]


def fingerprint_state_dict(model, extra: str = "") -> str:
    """Fingerprint of an in-memory model (tiny-random, a model mid-training): config + every tensor's bytes."""
    digest = hashlib.sha256(extra.encode())
    digest.update(model.config.to_json_string(use_diff=False).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(
            tensor.detach().cpu().contiguous().view(-1).view(dtype=__import__("torch").uint8).numpy().tobytes()
        )
    return digest.hexdigest()[:16]
