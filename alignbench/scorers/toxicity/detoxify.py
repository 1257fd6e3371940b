"""Detoxify (Unitary's Jigsaw-trained BERT/RoBERTa classifiers): the default scorer where its weights are on disk.

Specs: `detoxify` (= `detoxify:original`), `detoxify:unbiased|multilingual|original-small|unbiased-small`
(weights from the torch hub cache, downloaded there on first use when the network allows), and
`detoxify:/path/to/model.ckpt[:/path/to/hf_folder]` for a local checkpoint.  Offline, a local checkpoint works
when its backbone (`config.arch.args.model_type`, e.g. "bert-base-uncased") resolves to a local HF folder: we
point it at the given folder (config + tokenizer of the backbone), which detoxify's own `huggingface_config_path`
does not fully do (it still looks the backbone name up on the hub).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from alignbench.errors import AlignbenchError
from alignbench.scorers.toxicity.base import ToxicityScorer

DEFAULT_MODEL_TYPE = "original"
# Backbone each released checkpoint names in config.arch.args.model_type (from the released checkpoints'
# configs); used only to tell cheaply, without loading a checkpoint, whether the backbone's HF config is cached.
BACKBONES = {
    "original": "bert-base-uncased",
    "unbiased": "roberta-base",
    "multilingual": "xlm-roberta-base",
    "original-small": "albert-base-v2",
    "unbiased-small": "albert-base-v2",
}
ENV_CHECKPOINT = "ALIGNBENCH_DETOXIFY_CHECKPOINT"
ENV_HF_DIR = "ALIGNBENCH_DETOXIFY_HF_DIR"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes") or os.environ.get(
        "ALIGNBENCH_OFFLINE", ""
    ).lower() in ("1", "true", "yes")


def hub_checkpoint_path(model_type: str = DEFAULT_MODEL_TYPE) -> Path:
    """Where torch.hub keeps the released checkpoint of `model_type` once downloaded."""
    import torch
    from detoxify.detoxify import MODEL_URLS

    return Path(torch.hub.get_dir()) / "checkpoints" / MODEL_URLS[model_type].rsplit("/", 1)[-1]


def local_weights_available(model_type: str = DEFAULT_MODEL_TYPE) -> bool:
    """True when Detoxify can load without a download: a configured local checkpoint ($ALIGNBENCH_DETOXIFY_CHECKPOINT),
    or the released checkpoint in the torch hub cache plus its backbone's config in the HF cache.  Looks at files
    only (no checkpoint is loaded, no network is touched)."""
    ckpt = os.environ.get(ENV_CHECKPOINT)
    if ckpt:
        return Path(ckpt).is_file()
    try:
        import detoxify  # noqa: F401
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    if not hub_checkpoint_path(model_type).is_file():
        return False
    return isinstance(try_to_load_from_cache(BACKBONES[model_type], "config.json"), str)


def parse_spec(arg: str | None) -> dict:
    """`original` | `/path/model.ckpt[:/path/hf_folder]` -> {"model_type"} or {"checkpoint", "hf_dir"}."""
    if not arg:
        ckpt = os.environ.get(ENV_CHECKPOINT)
        if ckpt:
            return {"checkpoint": ckpt, "hf_dir": os.environ.get(ENV_HF_DIR) or None}
        return {"model_type": DEFAULT_MODEL_TYPE}
    if arg in BACKBONES:
        return {"model_type": arg}
    ckpt, _, hf_dir = arg.partition(":")
    if not (ckpt.endswith(".ckpt") or ckpt.endswith(".pt") or Path(ckpt).is_file() or "/" in ckpt):
        raise AlignbenchError(
            f"detoxify:{arg}: unknown model type; use one of {', '.join(BACKBONES)} "
            f"or detoxify:/path/to/model.ckpt[:/path/to/hf_folder]"
        )
    return {"checkpoint": ckpt, "hf_dir": hf_dir or os.environ.get(ENV_HF_DIR) or None}


class DetoxifyScorer(ToxicityScorer):
    approximates = None

    def __init__(self, arg: str | None = None, device: str = "cpu"):
        spec = parse_spec(arg)
        try:
            import detoxify  # noqa: F401
        except ImportError as exc:
            raise AlignbenchError("the detoxify scorer needs the detoxify package: pip install detoxify") from exc
        if "checkpoint" in spec:
            self.model, self.tokenizer, self.class_names = _load_local(spec["checkpoint"], spec["hf_dir"], device)
            self.name = f"detoxify:{Path(spec['checkpoint']).name}"
            self.description = f"Detoxify checkpoint {spec['checkpoint']} (Jigsaw-trained classifier, local)"
        else:
            model_type = spec["model_type"]
            if offline() and not local_weights_available(model_type):
                raise AlignbenchError(
                    f"detoxify:{model_type}: weights are not on this machine "
                    f"({hub_checkpoint_path(model_type)} or the "
                    f"{BACKBONES[model_type]} config in the HF cache is missing) and HF_HUB_OFFLINE is set; use "
                    f"detoxify:/path/model.ckpt:/path/hf_folder, or --scorer distilled-perspective (offline)"
                )
            from detoxify.detoxify import load_checkpoint

            try:
                self.model, self.tokenizer, self.class_names = load_checkpoint(model_type=model_type, device=device)
            except Exception as exc:  # download / hub errors come in many types; the user needs the reason
                raise AlignbenchError(f"detoxify:{model_type}: could not load the weights: {exc}") from exc
            self.name = "detoxify" if model_type == DEFAULT_MODEL_TYPE else f"detoxify:{model_type}"
            self.description = f"Detoxify '{model_type}' (Unitary, Jigsaw-trained {BACKBONES[model_type]})"
        if "toxicity" not in self.class_names:
            raise AlignbenchError(f"{self.name}: checkpoint has no 'toxicity' class (classes: {self.class_names})")
        self._column = self.class_names.index("toxicity")
        self.device = device
        self.model.to(device).eval()

    def _score_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.no_grad():
            inputs = self.tokenizer(texts, return_tensors="pt", truncation=True, padding=True).to(self.device)
            logits = self.model(**inputs)[0]
            return torch.sigmoid(logits[:, self._column]).double().cpu().numpy()


def _load_local(checkpoint: str, hf_dir: str | None, device: str):
    """detoxify.load_checkpoint for a local file, with the backbone name replaced by a local HF folder."""
    import torch
    from detoxify.detoxify import get_model_and_tokenizer

    path = Path(checkpoint)
    if not path.is_file():
        raise AlignbenchError(f"detoxify:{checkpoint}: no such checkpoint file")
    try:
        # detoxify checkpoints are Lightning pickles holding a config dict: weights_only=False is required
        # (the same call detoxify itself makes); only load checkpoints you trust.
        loaded = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:
        raise AlignbenchError(f"detoxify:{checkpoint}: not a loadable torch checkpoint: {exc}") from exc
    try:
        args = dict(loaded["config"]["arch"]["args"])
        classes = list(loaded["config"]["dataset"]["args"]["classes"])
        state_dict = loaded["state_dict"]
    except (KeyError, TypeError) as exc:
        raise AlignbenchError(
            f"detoxify:{checkpoint}: not a Detoxify checkpoint (needs config.arch.args, "
            f"config.dataset.args.classes and state_dict; missing {exc})"
        ) from exc
    if hf_dir:
        if not (Path(hf_dir) / "config.json").is_file():
            raise AlignbenchError(f"detoxify:{checkpoint}:{hf_dir}: HF folder has no config.json")
        args["model_type"] = str(hf_dir)
    elif offline() and not Path(str(args.get("model_type", ""))).is_dir():
        raise AlignbenchError(
            f"detoxify:{checkpoint}: its backbone {args.get('model_type')!r} is not a local folder and HF_HUB_OFFLINE "
            f"is set; give one: detoxify:{checkpoint}:/path/to/{args.get('model_type')}"
        )
    rename = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
    model, tokenizer = get_model_and_tokenizer(**args, state_dict=state_dict)
    return model, tokenizer, [rename.get(c, c) for c in classes]
