"""Model specs -> (model, tokenizer), builtin models, fingerprints."""

from alignbench.models.builtin import BUILTINS
from alignbench.models.fingerprint import fingerprint_path, fingerprint_state_dict
from alignbench.models.spec import (
    ResolvedModel,
    default_device,
    describe,
    load_model,
    load_tokenizer,
    parameter_count,
    resolve,
)

__all__ = [
    "BUILTINS",
    "ResolvedModel",
    "default_device",
    "describe",
    "fingerprint_path",
    "fingerprint_state_dict",
    "load_model",
    "load_tokenizer",
    "parameter_count",
    "resolve",
]
