"""Model specs: one string names a model, one function turns it into (model, tokenizer).

This module is the only place a spec string is parsed: every prefix (`openai:`, `vllm:`, `hf:`) and
builtin lives here.  Grammar (first match wins):
  smollm2-135m            builtin: packaged SmolLM2-135M-Instruct (see builtin.py)
  tiny-random[:SEED]      builtin: tiny seeded Llama for tests
  openai:MODEL@URL        a served model behind an OpenAI-compatible endpoint (generation only)
  vllm:SPEC               SPEC (any local or hub spec below) generated with the in-process vLLM engine
  PATH/TO/file.gguf       a local GGUF file (dequantised on load)
  PATH/TO/folder          a local HF folder: full model, or a peft adapter (adapter_config.json)
  hf:ORG/NAME[@REV]       a Hugging Face hub model (ORG/NAME alone works too when no such local path exists)
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from alignbench.errors import ModelSpecError
from alignbench.models import builtin
from alignbench.models.fingerprint import fingerprint_hub, fingerprint_path

TASKS = ("causal-lm", "reward")
OPENAI_PREFIX, VLLM_PREFIX, HUB_PREFIX = "openai:", "vllm:", "hf:"


@dataclass(frozen=True)
class ResolvedModel:
    """What a spec points at, before any weights are loaded."""

    spec: str
    kind: str  # builtin | folder | adapter | gguf | hub | openai
    path: str  # local folder/file, hub id, or endpoint URL
    gguf_file: str | None = None
    revision: str | None = None
    remote_model: str | None = None  # model name at an openai endpoint
    backend: str | None = None  # "vllm" for vllm:SPEC (generation on vLLM); None = transformers in-process

    @property
    def is_local(self) -> bool:
        return self.kind in ("builtin", "folder", "adapter", "gguf")

    @property
    def in_process(self) -> bool:
        """Whether generation runs on weights transformers loads here (False: an endpoint, or vLLM's own)."""
        return self.kind != "openai" and self.backend is None

    def fingerprint(self) -> str:
        if self.kind == "hub":
            return fingerprint_hub(self.path, self.revision)
        if self.kind == "openai":
            return fingerprint_hub(f"openai:{self.remote_model}@{self.path}", None)
        return fingerprint_path(self.path)


def parse_openai_spec(spec: str) -> tuple[str, str] | None:
    """`openai:MODEL@URL` -> (MODEL, URL); None for any other spec; ModelSpecError when malformed."""
    if not spec.startswith(OPENAI_PREFIX):
        return None
    model, sep, url = spec[len(OPENAI_PREFIX) :].partition("@")
    if not sep or not model or not url:
        raise ModelSpecError(
            f"model spec {spec!r}: expected openai:MODEL@URL, e.g. openai:gpt-4o-mini@http://localhost:8000/v1"
        )
    return model, url


def resolve(spec: str) -> ResolvedModel:
    """Resolve a spec string without loading weights (builtins are materialised on first use)."""
    spec = spec.strip()
    if not spec:
        raise ModelSpecError("empty model spec")
    if spec == "smollm2-135m":
        return ResolvedModel(spec, "builtin", str(builtin.smollm2_folder()))
    if spec == "tiny-random" or spec.startswith("tiny-random:"):
        seed_text = spec.partition(":")[2] or "0"
        if not seed_text.isdigit():
            raise ModelSpecError(f"model spec {spec!r}: the seed after 'tiny-random:' must be an integer")
        return ResolvedModel(spec, "builtin", str(builtin.tiny_random_folder(int(seed_text))))
    if spec.startswith(VLLM_PREFIX):
        inner = resolve(spec[len(VLLM_PREFIX) :])
        if inner.kind == "openai" or inner.backend:
            raise ModelSpecError(f"model spec {spec!r}: vllm: takes a local or hub model spec")
        return dataclasses.replace(inner, spec=spec, backend="vllm")
    remote = parse_openai_spec(spec)
    if remote is not None:
        return ResolvedModel(spec, "openai", remote[1], remote_model=remote[0])
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise ModelSpecError(f"model spec {spec!r}: GGUF file not found")
        return ResolvedModel(spec, "gguf", str(path.resolve()), gguf_file=path.name)
    if path.exists():
        if not path.is_dir():
            raise ModelSpecError(f"model spec {spec!r}: a local model must be a folder or a .gguf file")
        if (path / "adapter_config.json").exists():
            return ResolvedModel(spec, "adapter", str(path.resolve()))
        if (path / "config.json").exists():
            return ResolvedModel(spec, "folder", str(path.resolve()))
        raise ModelSpecError(f"model spec {spec!r}: folder has neither config.json nor adapter_config.json")
    hub_id = spec[len(HUB_PREFIX) :] if spec.startswith(HUB_PREFIX) else spec
    repo, _, revision = hub_id.partition("@")
    if repo.count("/") == 1 and all(repo.split("/")):
        return ResolvedModel(spec, "hub", repo, revision=revision or None)
    raise ModelSpecError(
        f"model spec {spec!r}: not a builtin ({', '.join(builtin.BUILTINS)}), an existing path, "
        "a .gguf file, hf:ORG/NAME, openai:MODEL@URL or vllm:SPEC"
    )


def _auto_class(task: str):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    if task == "causal-lm":
        return AutoModelForCausalLM
    if task == "reward":
        return AutoModelForSequenceClassification
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def load_tokenizer(resolved: ResolvedModel):
    from transformers import AutoTokenizer

    if resolved.kind == "adapter":
        base = json.loads((Path(resolved.path) / "adapter_config.json").read_text())["base_model_name_or_path"]
        source = resolved.path if (Path(resolved.path) / "tokenizer_config.json").exists() else resolve(base).path
        tokenizer = AutoTokenizer.from_pretrained(source)
    elif resolved.kind == "gguf":
        tokenizer = AutoTokenizer.from_pretrained(Path(resolved.path).parent, gguf_file=resolved.gguf_file)
    else:
        tokenizer = AutoTokenizer.from_pretrained(resolved.path, revision=resolved.revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(spec: str | ResolvedModel, task: str = "causal-lm", dtype: str = "float32", device: str | None = None):
    """Load (model, tokenizer) for a spec.  task='reward' gives a 1-label sequence classifier
    (a fresh scalar head when the checkpoint is a causal LM: the paper's RM initialisation)."""
    import torch

    resolved = spec if isinstance(spec, ResolvedModel) else resolve(spec)
    if resolved.kind == "openai":
        raise ModelSpecError(f"model spec {resolved.spec!r} is a remote endpoint: it can generate but not be loaded")
    auto = _auto_class(task)
    kwargs = {"dtype": getattr(torch, dtype)}
    if task == "reward":
        kwargs["num_labels"] = 1
    if resolved.kind == "gguf":
        from transformers import GgufConfig

        model = auto.from_pretrained(
            Path(resolved.path).parent,
            gguf_file=resolved.gguf_file,
            quantization_config=GgufConfig(dequantize=True),
            **kwargs,
        )
    elif resolved.kind == "adapter":
        from peft import AutoPeftModelForCausalLM, AutoPeftModelForSequenceClassification

        peft_auto = AutoPeftModelForCausalLM if task == "causal-lm" else AutoPeftModelForSequenceClassification
        model = peft_auto.from_pretrained(resolved.path, **kwargs)
    else:
        try:
            model = auto.from_pretrained(resolved.path, revision=resolved.revision, **kwargs)
        except OSError as exc:
            hint = " (no network? set HF_HUB_OFFLINE=1 and use a local folder)" if resolved.kind == "hub" else ""
            raise ModelSpecError(f"model spec {resolved.spec!r}: could not load: {exc}{hint}") from exc
    tokenizer = load_tokenizer(resolved)
    if task == "reward" and model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if task == "reward" and getattr(model.config, "reward_bias", None) is not None:
        # a normalised RM (alignbench train rm): restore the bias shift plain transformers drops for
        # bias-free heads
        from alignbench.models.reward_head import set_reward_bias  # lazy: keeps `alignbench --help` free of torch

        set_reward_bias(model, model.config.reward_bias)
    model.eval()
    if device:
        model.to(device)
    return model, tokenizer


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(spec: str) -> dict:
    """What `alignbench models show` prints."""
    resolved = resolve(spec)
    info = {"spec": spec, "kind": resolved.kind, "path": resolved.path, "fingerprint": resolved.fingerprint()}
    if resolved.kind == "openai":
        return info
    model, tokenizer = load_model(resolved)
    n = parameter_count(model)
    info.update(
        parameters=n,
        parameters_human=f"{n / 1e6:.1f}M",
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
        architecture=(model.config.architectures or [type(model).__name__])[0],
        vocab_size=model.config.vocab_size,
        context_length=getattr(model.config, "max_position_embeddings", None),
        chat_template=bool(getattr(tokenizer, "chat_template", None)),
    )
    return info


def default_device() -> str:
    import torch

    if os.environ.get("ALIGNBENCH_DEVICE"):
        return os.environ["ALIGNBENCH_DEVICE"]
    return "cuda" if torch.cuda.is_available() else "cpu"
