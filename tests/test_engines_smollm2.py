"""On the real SmolLM2-135M-Instruct: the library's greedy output is plain transformers' output."""

from __future__ import annotations

import pytest
import torch

from alignbench.engines import DecodingParams, LoglikEngine, make_generation_engine

pytestmark = pytest.mark.slow

PROMPTS = ["What is the capital of France?", "Give me three tips for staying healthy."]


def test_greedy_identical_to_plain_transformers(smollm2):
    model, tokenizer = smollm2
    params = DecodingParams(max_new_tokens=16, chat=True)
    ours = make_generation_engine(smollm2, fingerprint="smollm2", batch_size=2, progress=False).generate(
        PROMPTS, params
    )
    for prompt, gens in zip(PROMPTS, ours):
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with torch.inference_mode():
            ref = model.generate(**ids, max_new_tokens=16, do_sample=False)
        new = ref[0, ids["input_ids"].shape[1] :]
        assert gens[0].text == tokenizer.decode(new, skip_special_tokens=True)
        assert gens[0].text.strip()  # a real answer, not an empty string


def test_loglik_prefix_reuse_matches_naive_on_smollm2(smollm2):
    model, tokenizer = smollm2
    ctx = "Q: What is the capital of France?\nA:"
    requests = [(ctx, " Paris."), (ctx, " London."), (ctx, " The capital of France is Paris.")]
    a = LoglikEngine(model, tokenizer, progress=False).loglikelihood(requests)
    b = LoglikEngine(model, tokenizer, reuse_prefix=False, progress=False).loglikelihood(requests)
    assert all(abs(x.logprob - y.logprob) < 1e-4 for x, y in zip(a, b))
    assert a[0].logprob > a[1].logprob  # the model knows this one
