"""Log-likelihood through an OpenAI-compatible server (/v1/completions, echo + logprobs, as vLLM serves it)
equals the hf engine: the fake server below computes its echoed log-probs with a plain forward of the tiny
model, the way vLLM would, and the client must turn them into the same scores as LoglikEngine."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from alignbench.engines import LoglikEngine
from alignbench.engines.backends.openai import OpenAILoglikBackend, _echoed_logprobs
from alignbench.engines.loglik import BackendLoglikEngine, make_loglik_engine
from alignbench.errors import AlignbenchError
from alignbench.evals import truthfulqa as tqa


class EchoServer:
    """/v1/completions with echo=true, logprobs=1 (token-id prompts, one or a list), /tokenize, /v1/models.

    echo=False in a reply mimics a server that ignores echo; tokenize=False answers /tokenize with 404."""

    def __init__(self, model, tokenizer, echo: bool = True, tokenize: bool = True, max_model_len: int = 1024):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/v1/models":
                    return self._send(200, {"data": [{"id": "tiny", "max_model_len": max_model_len}]})
                self._send(404, {"error": "no such path"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append({"path": self.path, "body": body})
                if self.path == "/tokenize":
                    if not tokenize:
                        return self._send(404, {"detail": "Not Found"})
                    ids = tokenizer(body["prompt"], add_special_tokens=body.get("add_special_tokens", True))[
                        "input_ids"
                    ]
                    return self._send(200, {"tokens": ids, "count": len(ids), "max_model_len": max_model_len})
                prompts = body["prompt"]
                if prompts and isinstance(prompts[0], int):
                    prompts = [prompts]
                choices = [
                    dict(index=i, **server.complete(ids, echo and body.get("echo"))) for i, ids in enumerate(prompts)
                ]
                self._send(200, {"object": "text_completion", "choices": choices})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.model, self.tokenizer = model, tokenizer
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def complete(self, ids: list[int], echo: bool) -> dict:
        """What vLLM returns for one prompt with max_tokens=1, logprobs=1: the echoed prompt (first token
        without a log-prob) followed by one greedy token; top_logprobs holds the token itself and the top-1."""
        with torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([ids])).logits[0].float()
        lp = torch.log_softmax(logits, dim=-1)
        nxt = int(lp[-1].argmax())
        seq = ids + [nxt]
        text = lambda t: self.tokenizer.decode([t])
        token_lps, tops = [None], [None]
        for j in range(1, len(seq)):
            row, tok = lp[j - 1], seq[j]
            best = int(row.argmax())
            token_lps.append(float(row[tok]))
            tops.append({text(tok): float(row[tok]), text(best): float(row[best])})
        if not echo:
            token_lps, tops, seq = token_lps[-1:], tops[-1:], seq[-1:]
        return {
            "text": "".join(text(t) for t in seq),
            "finish_reason": "length",
            "logprobs": {"tokens": [text(t) for t in seq], "token_logprobs": token_lps, "top_logprobs": tops},
        }

    def close(self):
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def tqa_requests(shared_data):
    from alignbench.data.adapters import load_dataset_items

    items = load_dataset_items("truthfulqa", source=shared_data / "truthfulqa", version="v0", limit=6)
    requests = []
    for item in items:
        ctx, choices, _ = tqa.mc_requests(item)
        requests += [(ctx, " " + c) for c in choices]
    return items, requests


@pytest.fixture
def served(tiny_model):
    server = EchoServer(*tiny_model)
    yield server
    server.close()


@pytest.mark.parametrize("tokenizer", ["tiny-random", None], ids=["local-tokenizer", "server-tokenize"])
def test_served_loglik_equals_hf_engine_on_truthfulqa(served, tiny_model, tqa_requests, tokenizer):
    _, requests = tqa_requests
    want = LoglikEngine(*tiny_model).loglikelihood(requests)
    engine = make_loglik_engine(f"openai:tiny@{served.url}", tokenizer=tokenizer, batch_size=8, concurrency=2)
    assert isinstance(engine, BackendLoglikEngine)
    got = engine.loglikelihood(requests)
    assert len(got) == len(want) == len(requests) > 30
    for g, w in zip(got, want):
        assert g.logprob == pytest.approx(w.logprob, abs=1e-4)
        assert (g.is_greedy, g.n_tokens) == (w.is_greedy, w.n_tokens)
    completions = [r for r in served.requests if r["path"] == "/v1/completions"]
    assert len(completions) == -(-len(requests) // 8)  # 8 token-id prompts per request
    assert all(r["body"]["echo"] is True and r["body"]["logprobs"] == 1 for r in completions)
    assert all(
        isinstance(p, list) and all(isinstance(t, int) for t in p) for r in completions for p in r["body"]["prompt"]
    )
    tokenized = [r for r in served.requests if r["path"] == "/tokenize"]
    assert bool(tokenized) == (tokenizer is None)
    assert engine.max_length == 1024  # from /v1/models


def test_served_truthfulqa_mc_scores_equal_hf(served, tiny_model, tqa_requests):
    items, _ = tqa_requests
    want = tqa.score_mc(LoglikEngine(*tiny_model), items)
    got = tqa.score_mc(make_loglik_engine(f"openai:tiny@{served.url}", tokenizer="tiny-random"), items)
    for it in items:
        assert got["mc1"][it.id] == want["mc1"][it.id]
        assert got["mc2"][it.id] == pytest.approx(want["mc2"][it.id], abs=1e-4)


def test_greedy_flag_comes_from_top_logprobs():
    choice = {
        "logprobs": {
            "token_logprobs": [None, -1.0, -0.5, -2.0],
            "top_logprobs": [None, {"a": -1.0}, {"b": -0.5, "c": -0.9}, {"d": -2.0, "e": -0.1}],
        }
    }
    assert _echoed_logprobs(choice, 1, 2) == (-1.5, True)
    assert _echoed_logprobs(choice, 2, 2) == (-2.5, False)


def test_server_that_ignores_echo_is_a_clear_error(tiny_model):
    server = EchoServer(*tiny_model, echo=False)
    try:
        engine = make_loglik_engine(f"openai:tiny@{server.url}", tokenizer="tiny-random")
        with pytest.raises(AlignbenchError, match="did not return the prompt's log-probs"):
            engine.loglikelihood([("Q: Is the sky blue?\nA:", " Yes.")])
        assert len([r for r in server.requests if r["path"] == "/v1/completions"]) == 1  # not retried
    finally:
        server.close()


def test_endpoint_without_tokenize_asks_for_a_tokenizer(tiny_model):
    server = EchoServer(*tiny_model, tokenize=False)
    try:
        engine = make_loglik_engine(f"openai:tiny@{server.url}")
        with pytest.raises(AlignbenchError, match="pass tokenizer="):
            engine.loglikelihood([("Q: Is the sky blue?\nA:", " Yes.")])
        # the empty-context rule (score after EOS) needs a tokenizer that names EOS
        with pytest.raises(AlignbenchError, match="empty context"):
            engine.loglikelihood([("", "Yes.")])
    finally:
        server.close()


def test_empty_context_with_a_local_tokenizer_equals_hf(served, tiny_model):
    requests = [("", "The cat sat."), ("Paris is the capital of", " France")]
    want = LoglikEngine(*tiny_model).loglikelihood(requests)
    got = OpenAILoglikBackend("tiny", served.url, tokenizer="tiny-random")
    engine = BackendLoglikEngine(got, got.tokenizer, got.max_length)
    for g, w in zip(engine.loglikelihood(requests), want):
        assert g.logprob == pytest.approx(w.logprob, abs=1e-4) and g.n_tokens == w.n_tokens


def test_local_specs_still_get_the_hf_engine(tiny_model):
    engine = make_loglik_engine(tiny_model, batch_size=4)
    assert type(engine) is LoglikEngine and engine.batch_size == 4
    with pytest.raises(AlignbenchError, match="unknown log-likelihood backend"):
        make_loglik_engine("tiny-random", backend="tgi")


def test_eval_suite_scores_truthfulqa_mc_through_the_served_model(served, tmp_path):
    """`alignbench eval` (run_suite) with an openai: spec scores MC through the server, equal to the hf run."""
    import json as _json

    from alignbench.evals.runner import run_suite

    suite = {"name": "t", "evals": [{"name": "truthfulqa_mc", "version": "v0"}]}
    runs = {
        name: run_suite(suite, [f"m={spec}"], out=tmp_path / name, limit=3, cache=False, progress=False)
        for name, spec in (("hf", "tiny-random"), ("served", f"openai:tiny@{served.url}"))
    }
    metrics = {name: _json.loads((out / "metrics.json").read_text())["truthfulqa_mc"] for name, out in runs.items()}
    for key in ("mc1", "mc2"):
        assert metrics["served"][key]["m"]["n"] == metrics["hf"][key]["m"]["n"] == 3
        assert metrics["served"][key]["m"]["value"] == pytest.approx(metrics["hf"][key]["m"]["value"], abs=1e-4)
    assert any(r["path"] == "/v1/completions" and r["body"].get("echo") for r in served.requests)
