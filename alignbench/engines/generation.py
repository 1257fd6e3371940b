"""The generation engine: cache lookups, length-sorted batching, incremental writes, resume.

The engine owns everything that does not depend on how text is produced; a backend (backends/hf.py,
backends/openai.py, backends/vllm.py) only turns a chunk of (prompt, sample index, seed) requests into
`Generation`s.  Every generation is stored under `generation_key(model fingerprint, prompt, decoding,
sample index)` as soon as its chunk finishes, so a rerun costs nothing, an interrupted run resumes
where it stopped, and two suites sharing prompts share generations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from alignbench.engines.decoding import DecodingParams, Generation, sample_seed
from alignbench.errors import AlignbenchError
from alignbench.store import Store, generation_key


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    sample_index: int
    seed: int


class GenerationBackend(Protocol):
    """What a backend provides.  `generate` must return one Generation per request, in order."""

    name: str
    fingerprint: str
    default_batch_size: int

    def prompt_mode(self, params: DecodingParams) -> dict: ...  # e.g. {"mode": "chat", "template": "<sha>"}

    def prompt_length(self, prompt: str, params: DecodingParams) -> int: ...

    def generate(self, requests: Sequence[GenerationRequest], params: DecodingParams) -> list[Generation]: ...


def _progress(total: int, desc: str, enabled: bool | None):
    """A bar on a terminal, a line every $ALIGNBENCH_PROGRESS_INTERVAL s in logs (alignbench.progress)."""
    from alignbench.progress import progress_bar

    return progress_bar(total=total, desc=desc, unit="gen", enabled=enabled, smoothing=0.1)


class GenerationEngine:
    """Generates through a backend, reading and writing the store's generation cache.

    model_calls: how many chunks were sent to the backend (zero on a fully cached rerun);
    sequences_generated / tokens_generated: what the backend actually produced.
    """

    def __init__(
        self,
        backend: GenerationBackend,
        cache: Store | None = None,
        batch_size: int | None = None,
        progress: bool | None = None,
    ):
        self.backend = backend
        self.cache = cache
        self.batch_size = int(batch_size or backend.default_batch_size)
        if self.batch_size < 1:
            raise AlignbenchError(f"batch_size must be >= 1, got {batch_size}")
        self.progress = progress
        self.model_calls = 0
        self.sequences_generated = 0
        self.tokens_generated = 0

    @property
    def fingerprint(self) -> str:
        return self.backend.fingerprint

    def decoding_key(self, params: DecodingParams) -> dict:
        """The decoding part of the cache key: the params plus what the backend did to the prompt."""
        return {**params.to_dict(), **self.backend.prompt_mode(params)}

    def cache_key(self, prompt: str, params: DecodingParams, sample_index: int) -> str:
        return generation_key(self.fingerprint, prompt, self.decoding_key(params), sample_index)

    def generate(
        self, prompts: Sequence[str], params: DecodingParams | None = None, n_samples: int = 1, desc: str = "generate"
    ) -> list[list[Generation]]:
        """One list of `n_samples` Generations per prompt (cached ones have `cached=True`)."""
        params = params or DecodingParams()
        if n_samples < 1:
            raise AlignbenchError(f"n_samples must be >= 1, got {n_samples}")
        prompts = list(prompts)
        for i, p in enumerate(prompts):
            if not isinstance(p, str):
                raise AlignbenchError(f"prompt {i}: expected a string, got {type(p).__name__}")
        decoding = self.decoding_key(params)
        # Greedy samples are all equal: compute sample 0 once and file it under every index.
        n_distinct = 1 if params.greedy else n_samples
        keys = {(p, i): generation_key(self.fingerprint, p, decoding, i) for p in prompts for i in range(n_samples)}

        results: dict[tuple[str, int], Generation] = {}
        if self.cache is not None:
            found = self.cache.get_generations(list(keys.values()))
            for (p, i), key in keys.items():
                row = found.get(key)
                if row is not None:
                    results[(p, i)] = Generation(
                        row["text"],
                        row["n_tokens"] or 0,
                        row["finish_reason"] or "stop",
                        cached=True,
                        seed=row["seed"],
                    )
        if params.greedy:
            for p, i in keys:
                if (p, i) not in results and (p, 0) in results:
                    results[(p, i)] = results[(p, 0)]

        todo = sorted({(p, i) for (p, i) in keys if (p, i) not in results and i < n_distinct})
        requests = [GenerationRequest(p, i, sample_seed(params.seed, p, i)) for p, i in todo]
        # Longest first: padding waste is smallest within a chunk, and an out-of-memory shows up at once.
        lengths = {p: self.backend.prompt_length(p, params) for p in {r.prompt for r in requests}}
        requests.sort(key=lambda r: (-lengths[r.prompt], r.prompt, r.sample_index))

        with _progress(len(requests), desc, self.progress) as bar:
            for start in range(0, len(requests), self.batch_size):
                chunk = requests[start : start + self.batch_size]
                outs = self.backend.generate(chunk, params)
                if len(outs) != len(chunk):
                    raise AlignbenchError(
                        f"backend {self.backend.name} returned {len(outs)} generations for {len(chunk)} requests"
                    )
                self.model_calls += 1
                self.sequences_generated += len(chunk)
                self.tokens_generated += sum(o.n_tokens for o in outs)
                rows = []
                for req, out in zip(chunk, outs):
                    out.seed = None if params.greedy else req.seed
                    indices = range(n_samples) if params.greedy else [req.sample_index]
                    for i in indices:
                        results[(req.prompt, i)] = out
                        rows.append(
                            dict(
                                gen_key=keys[(req.prompt, i)],
                                model_fingerprint=self.fingerprint,
                                prompt=req.prompt,
                                decoding=decoding,
                                sample_index=i,
                                seed=out.seed,
                                text=out.text,
                                n_tokens=out.n_tokens,
                                finish_reason=out.finish_reason,
                            )
                        )
                if self.cache is not None:  # written per chunk: this is what makes an interrupted run resumable
                    self.cache.put_generations(rows)
                bar.update(len(chunk))
                bar.set_postfix(tok_s=f"{self.tokens_generated / max(bar.format_dict['elapsed'], 1e-9):.1f}")
        return [[results[(p, i)] for i in range(n_samples)] for p in prompts]


def make_generation_engine(
    model,
    cache: Store | None = None,
    batch_size: int | None = None,
    backend: str | None = None,
    fingerprint: str | None = None,
    progress: bool | None = None,
    **backend_options,
) -> GenerationEngine:
    """An engine for a model spec (`smollm2-135m`, a folder, `openai:MODEL@URL`, `vllm:SPEC`), a
    `(model, tokenizer)` pair, or a ready backend.

    backend: "hf" (default for local models), "vllm" (in-process vLLM), "openai" (implied by openai: specs).
    fingerprint: required identity for an in-memory pair (default: a hash of its weights).
    backend_options: passed to the backend (e.g. dtype/device for hf; api_key/rps/concurrency for openai).
    """
    if hasattr(model, "generate") and hasattr(model, "prompt_mode"):  # already a backend
        return GenerationEngine(model, cache=cache, batch_size=batch_size, progress=progress)
    if isinstance(model, tuple):
        from alignbench.engines.backends.hf import HFBackend

        hf_model, tokenizer = model
        if backend not in (None, "hf"):
            raise AlignbenchError(f"a (model, tokenizer) pair runs on the hf backend, not {backend!r}")
        if fingerprint is None:
            from alignbench.models import fingerprint_state_dict

            fingerprint = fingerprint_state_dict(hf_model)
        return GenerationEngine(
            HFBackend(hf_model, tokenizer, fingerprint=fingerprint, **backend_options),
            cache=cache,
            batch_size=batch_size,
            progress=progress,
        )
    if not isinstance(model, str):
        raise AlignbenchError(f"model must be a spec string or a (model, tokenizer) pair, got {type(model).__name__}")
    spec = model
    from alignbench.models import resolve

    resolved = resolve(spec)
    if resolved.backend == "vllm":  # vllm:SPEC
        backend = "vllm"
    if resolved.kind == "openai" or backend == "openai":
        if resolved.kind != "openai":
            raise AlignbenchError(f"backend 'openai' needs an openai:MODEL@URL spec, got {spec!r}")
        from alignbench.engines.backends.openai import OpenAIBackend

        be = OpenAIBackend(
            resolved.remote_model, resolved.path, fingerprint=fingerprint or resolved.fingerprint(), **backend_options
        )
    elif backend == "vllm":
        from alignbench.engines.backends.vllm import VLLMBackend

        be = VLLMBackend(resolved, fingerprint=fingerprint or resolved.fingerprint(), **backend_options)
    elif backend in (None, "hf"):
        from alignbench.engines.backends.hf import HFBackend

        be = HFBackend.from_spec(resolved, fingerprint=fingerprint, **backend_options)
    else:
        raise AlignbenchError(f"unknown generation backend {backend!r}: use hf, vllm or openai")
    return GenerationEngine(be, cache=cache, batch_size=batch_size, progress=progress)
