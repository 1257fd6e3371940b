"""Generation engine on a tiny model: batching, seeds, stop strings, the store cache and resume."""

from __future__ import annotations

import pytest
import torch

from alignbench.engines import DecodingParams, make_generation_engine, sample_seed
from alignbench.errors import AlignbenchError
from alignbench.store import Store

PROMPTS = [
    "Hello there",
    "Write a long poem about the sea and the sky at night",
    "Hi",
    "What is the capital of France?",
    "x y z",
    "Tell me a story about a dragon.",
]


@pytest.fixture(scope="module")
def varied_model(tiny_model):
    """tiny-random's tied embeddings make it repeat its last token forever, which would hide ordering
    and padding bugs; this untied sibling (same tokenizer, larger init) writes varied text."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from alignbench.models.builtin import TINY_CONFIG

    tokenizer = tiny_model[1]
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **{**TINY_CONFIG, "tie_word_embeddings": False, "initializer_range": 0.3},
    )
    return LlamaForCausalLM(config).eval(), tokenizer


def engine(model, **kw):
    return make_generation_engine(model, fingerprint=kw.pop("fingerprint", "varied-test"), progress=False, **kw)


@pytest.mark.parametrize("chat", [False, True])
def test_greedy_batched_equals_unbatched(varied_model, chat):
    params = DecodingParams(max_new_tokens=12, chat=chat)
    batched = engine(varied_model, batch_size=6).generate(PROMPTS, params)
    single = engine(varied_model, batch_size=1).generate(PROMPTS, params)
    texts = [g[0].text for g in batched]
    assert texts == [g[0].text for g in single]
    assert len(set(texts)) == len(texts) and all(texts)  # varied, so the comparison means something


def test_greedy_matches_plain_generate_on_unpadded_input(varied_model):
    model, tokenizer = varied_model
    prompt = PROMPTS[1]
    ids = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        ref = model.generate(**ids, max_new_tokens=10, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    expected = tokenizer.decode(ref[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    out = engine(varied_model, batch_size=4).generate(PROMPTS, DecodingParams(max_new_tokens=10, chat=False))
    assert out[1][0].text == expected


def test_sampling_is_per_sample_reproducible(varied_model):
    params = DecodingParams(max_new_tokens=8, chat=False, temperature=1.0, top_p=0.95, seed=7)
    together = engine(varied_model, batch_size=8).generate(PROMPTS, params, n_samples=3)
    # a different batch composition, order and sample count must not change any sample
    alone = engine(varied_model, batch_size=1).generate(PROMPTS[::-1][:2], params, n_samples=2)
    assert [g.text for g in alone[0]] == [g.text for g in together[-1][:2]]
    assert [g.text for g in alone[1]] == [g.text for g in together[-2][:2]]
    assert len({g.text for g in together[1]}) == 3  # samples of one prompt differ
    assert together[0][2].seed == sample_seed(7, PROMPTS[0], 2)
    other_seed = engine(varied_model, batch_size=8).generate(
        PROMPTS[:1], DecodingParams(max_new_tokens=8, chat=False, temperature=1.0, top_p=0.95, seed=8)
    )
    assert other_seed[0][0].text != together[0][0].text


def test_stop_strings_truncate_and_finish_reasons(varied_model):
    free = engine(varied_model, batch_size=4).generate(PROMPTS, DecodingParams(max_new_tokens=12, chat=False))
    # pick a stop string that occurs mid-way in one output, so generation must stop there
    text = free[0][0].text
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    assert stop.strip(), text
    eng = engine(varied_model, batch_size=4)
    out = eng.generate(PROMPTS, DecodingParams(max_new_tokens=12, chat=False, stop=(stop,)))
    assert out[0][0].text == text[: text.find(stop)]
    assert out[0][0].finish_reason == "stop" and out[0][0].n_tokens < 12
    assert all(
        g[0].finish_reason == "length" and g[0].n_tokens == 12 for g, f in zip(out, free) if stop not in f[0].text
    )


def test_cache_hit_on_rerun_costs_no_model_call(varied_model, tmp_path):
    store = Store(tmp_path)
    params = DecodingParams(max_new_tokens=6, chat=True, temperature=0.8, seed=1)
    first = engine(varied_model, cache=store, batch_size=4)
    a = first.generate(PROMPTS, params, n_samples=2)
    assert first.model_calls == 3 and first.sequences_generated == 12 and not any(g.cached for s in a for g in s)
    again = engine(varied_model, cache=Store(tmp_path), batch_size=4)
    b = again.generate(PROMPTS, params, n_samples=2)
    assert again.model_calls == 0 and again.tokens_generated == 0
    assert [[g.text for g in s] for s in a] == [[g.text for g in s] for s in b] and all(g.cached for s in b for g in s)
    # a suite sharing some prompts and asking one more sample reuses the shared ones
    more = engine(varied_model, cache=store, batch_size=4)
    more.generate(PROMPTS[:2] + ["A brand new prompt"], params, n_samples=3)
    assert more.sequences_generated == 2 + 3
    # different decoding (raw instead of chat) or another model is a different cache entry
    raw = engine(varied_model, cache=store, batch_size=4)
    raw.generate(PROMPTS[:1], DecodingParams(max_new_tokens=6, chat=False, temperature=0.8, seed=1))
    other = engine(varied_model, cache=store, batch_size=4, fingerprint="another-model")
    other.generate(PROMPTS[:1], params)
    assert raw.model_calls == 1 and other.model_calls == 1


def test_greedy_samples_generated_once(varied_model, tmp_path):
    eng = engine(varied_model, cache=Store(tmp_path), batch_size=4)
    out = eng.generate(PROMPTS[:2], DecodingParams(max_new_tokens=5, chat=False), n_samples=4)
    assert eng.sequences_generated == 2 and all(len({g.text for g in s}) == 1 and len(s) == 4 for s in out)
    assert len(Store(tmp_path).frame("generations")) == 8


class Interrupt(Exception):
    pass


class FailingAfter:
    """Wraps a backend and raises on its k-th chunk, like a run killed part-way."""

    def __init__(self, inner, fail_on_call: int):
        self.inner, self.fail_on_call, self.calls = inner, fail_on_call, 0
        self.name, self.fingerprint, self.default_batch_size = "failing", inner.fingerprint, inner.default_batch_size
        self.prompt_mode, self.prompt_length = inner.prompt_mode, inner.prompt_length

    def generate(self, requests, params):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise Interrupt("killed")
        return self.inner.generate(requests, params)


def test_interrupted_run_resumes_without_regenerating(varied_model, tmp_path):
    params = DecodingParams(max_new_tokens=6, chat=False, temperature=1.0, seed=3)
    reference = engine(varied_model, batch_size=2).generate(PROMPTS, params, n_samples=2)  # no cache
    healthy = engine(varied_model, batch_size=2)
    with pytest.raises(Interrupt):
        make_generation_engine(
            FailingAfter(healthy.backend, fail_on_call=4), cache=Store(tmp_path), batch_size=2, progress=False
        ).generate(PROMPTS, params, n_samples=2)
    assert len(Store(tmp_path).frame("generations")) == 6  # 3 finished chunks of 2 were kept
    resumed = engine(varied_model, cache=Store(tmp_path), batch_size=2)
    out = resumed.generate(PROMPTS, params, n_samples=2)
    assert resumed.sequences_generated == 12 - 6 and resumed.model_calls == 3
    assert [[g.text for g in s] for s in out] == [[g.text for g in s] for s in reference]
    assert sum(g.cached for s in out for g in s) == 6


def test_fingerprint_defaults_to_weights_hash(tiny_model):
    eng = make_generation_engine(tiny_model, progress=False)
    from alignbench.models import resolve

    assert eng.fingerprint and eng.fingerprint == make_generation_engine(tiny_model, progress=False).fingerprint
    assert make_generation_engine("tiny-random", progress=False).fingerprint == resolve("tiny-random").fingerprint()


def test_bad_inputs_are_clear_errors(tiny_model):
    with pytest.raises(AlignbenchError, match="top_p"):
        DecodingParams(top_p=0)
    with pytest.raises(AlignbenchError, match="unknown key.*temprature"):
        DecodingParams.from_dict({"temprature": 0.7})
    assert DecodingParams.from_dict({"stop": "\n", "max_new_tokens": 3}).stop == ("\n",)
    eng = make_generation_engine(tiny_model, progress=False)
    with pytest.raises(AlignbenchError, match="prompt 1"):
        eng.generate(["ok", None], DecodingParams(max_new_tokens=2))
    with pytest.raises(AlignbenchError, match="vllm"):
        make_generation_engine("vllm:tiny-random")


def test_greedy_key_ignores_sampling_knobs(tiny_model):
    eng = make_generation_engine(tiny_model, fingerprint="fp", progress=False)
    a = eng.cache_key("p", DecodingParams(temperature=0, top_p=0.5, seed=3), 0)
    assert a == eng.cache_key("p", DecodingParams(temperature=0, seed=9), 0)
    assert a != eng.cache_key("p", DecodingParams(temperature=0, chat=False), 0)
    assert a != eng.cache_key("p", DecodingParams(temperature=0, system="Be brief."), 0)


def test_per_row_sampler_draws_from_the_softmax():
    from alignbench.engines.backends.hf import PerRowSampler

    scores = torch.tensor([[0.0, 1.0, 2.0, float("-inf"), 0.5]]).expand(4000, -1)
    picks = PerRowSampler(range(4000), "cpu")(None, scores).argmax(-1)  # one draw per row, one seed per row
    freqs = torch.bincount(picks, minlength=5) / 4000
    assert freqs[3] == 0  # a filtered-out token is never drawn
    assert (freqs - torch.softmax(scores[0], -1)).abs().max() < 0.03
    again = PerRowSampler([5, 5, 6], "cpu")
    draws = torch.stack([again(None, scores[:3]).argmax(-1) for _ in range(50)])
    assert torch.equal(draws[:, 0], draws[:, 1]) and not torch.equal(draws[:, 0], draws[:, 2])  # seed decides
