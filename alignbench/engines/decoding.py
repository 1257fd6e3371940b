"""Decoding parameters, the Generation record, and the per-sample seed.

`DecodingParams` is what a suite writes down ("64 new tokens, nucleus 0.9, stop at a blank line");
the engine adds what the backend did with the prompt (chat template or raw) before using it as part
of the generation cache key, so two runs share a cached output only when they decoded identically.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from alignbench.errors import AlignbenchError

FINISH_REASONS = ("stop", "length")  # as OpenAI: "stop" = EOS or a stop string, "length" = max_new_tokens
MAX_SERVED_TEMPERATURE = 2.0  # vLLM and the OpenAI API take temperature in [0, 2]; hf takes any >= 0


@dataclass(frozen=True)
class DecodingParams:
    """How to decode.  temperature == 0 means greedy (top_p/top_k are then ignored).

    chat: wrap the prompt as one user turn with the tokenizer's chat template (raw text otherwise).
    system: an optional system message for chat mode (None = the template's default).
    stop: generation ends at the first of these strings; the returned text excludes it.
    seed: base seed; sample i of prompt p uses `sample_seed(seed, p, i)` (reproducible on its own).
    top_k: 0 = off (transformers' convention); -1 (vLLM's older "off") is read as 0, so both spellings share
    one cache key.
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    stop: tuple[str, ...] = ()
    chat: bool = True
    system: str | None = None
    seed: int = 0

    def __post_init__(self):
        # lists from YAML/JSON become tuples so params stay hashable and canonical
        object.__setattr__(self, "stop", tuple(self.stop or ()))
        if self.top_k == -1:
            object.__setattr__(self, "top_k", 0)
        if self.max_new_tokens < 1:
            raise AlignbenchError(f"decoding: max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise AlignbenchError(f"decoding: temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise AlignbenchError(f"decoding: top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise AlignbenchError(f"decoding: top_k must be >= 0 (0 or -1 = off), got {self.top_k}")
        if any(not s for s in self.stop):
            raise AlignbenchError("decoding: stop strings must be non-empty")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        if self.greedy:  # sampling knobs do not change a greedy output: keep them out of the cache key
            d.update(top_p=1.0, top_k=0, seed=0)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "DecodingParams":
        """From a suite YAML mapping; unknown keys are an error that names them."""
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise AlignbenchError(f"decoding: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if isinstance(d.get("stop"), str):
            d["stop"] = (d["stop"],)
        return cls(**d)


def check_served_temperature(params: DecodingParams, backend: str) -> None:
    """vLLM (in-process or served) and the OpenAI API reject temperature > 2; say so before any request
    rather than clamp, which would silently decode differently from what the cache key records."""
    if params.temperature > MAX_SERVED_TEMPERATURE:
        raise AlignbenchError(
            f"decoding: temperature {params.temperature} is above {MAX_SERVED_TEMPERATURE:g}, the most the "
            f"{backend} backend accepts (vLLM and the OpenAI API cap it there); lower it or use the hf "
            "backend"
        )


@dataclass
class Generation:
    """One sampled continuation.  n_tokens counts generated tokens (stop string included, EOS included)."""

    text: str
    n_tokens: int
    finish_reason: str
    cached: bool = False
    seed: int | None = None
    meta: dict = field(default_factory=dict)


def sample_seed(base_seed: int, prompt: str, sample_index: int) -> int:
    """The seed of sample `sample_index` of `prompt`: a hash, so it does not depend on which other
    prompts share the batch, on batch order, or on how many samples were asked for."""
    digest = hashlib.sha256(f"{base_seed}\x1f{sample_index}\x1f{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut `text` at the earliest stop string; returns (text, whether a stop string was found)."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
