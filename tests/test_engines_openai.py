"""OpenAI-compatible backend against a real HTTP server on 127.0.0.1 (failing and malformed replies too)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alignbench.engines import DecodingParams, make_generation_engine
from alignbench.engines.backends.openai import OpenAIChatClient, api_base
from alignbench.errors import AlignbenchError
from alignbench.store import Store


class FakeServer:
    """Answers /v1/chat/completions and /v1/completions with a text derived from the request.

    `script` is a list of behaviours consumed one per request ("ok", 429, 500, 400, "garbage",
    "no-choices", "no-content"); when empty every request is "ok".  `delay` seconds per request.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list = []
        self.delay = 0.0
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "t": time.monotonic(),
                            "auth": self.headers.get("Authorization"),
                        }
                    )
                    action = server.script.pop(0) if server.script else "ok"
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay)
                    if isinstance(action, int):
                        return self._send(action, b'{"error": "busy"}', {"Retry-After": "0"})
                    if action == "garbage":
                        return self._send(200, b"<html>proxy error</html>")
                    if action == "no-choices":
                        return self._send(200, b'{"choices": []}')
                    if action == "no-content":
                        return self._send(200, b'{"choices": [{"message": {}}]}')
                    if self.path.endswith("/chat/completions"):
                        prompt = body["messages"][-1]["content"]
                        choice = {
                            "message": {"role": "assistant", "content": f"chat:{prompt}|seed={body.get('seed')}"},
                            "finish_reason": "stop",
                        }
                    else:
                        choice = {"text": f"raw:{body['prompt']} END more", "finish_reason": "length"}
                    reply = {"choices": [choice], "usage": {"completion_tokens": 5}}
                    self._send(200, json.dumps(reply).encode())
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _send(self, status, payload, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def server():
    s = FakeServer()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def test_generation_through_endpoint_with_cache(server, tmp_path):
    spec = f"openai:my-model@{server.url}"
    params = DecodingParams(max_new_tokens=7, temperature=0.7, top_p=0.9, seed=1, stop=("\n",))
    eng = make_generation_engine(spec, cache=Store(tmp_path), progress=False, api_key="sk-test", backoff=0.01)
    out = eng.generate(["a", "b"], params, n_samples=2)
    assert out[0][0].text.startswith("chat:a|seed=") and out[0][0].text != out[0][1].text
    assert out[0][0].n_tokens == 5 and out[0][0].finish_reason == "stop"
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "my-model" and sent["body"]["max_tokens"] == 7
    assert sent["body"]["stop"] == ["\n"] and sent["body"]["top_p"] == 0.9
    assert {r["body"]["seed"] for r in server.requests} == {g.seed for s in out for g in s}
    rerun = make_generation_engine(spec, cache=Store(tmp_path), progress=False)
    assert rerun.generate(["a", "b"], params, n_samples=2) is not None
    assert rerun.model_calls == 0 and len(server.requests) == 4


def test_raw_mode_uses_completions_and_applies_stop_client_side(server):
    eng = make_generation_engine(f"openai:m@{server.url}", progress=False)
    out = eng.generate(["p"], DecodingParams(max_new_tokens=3, chat=False, stop=(" END",)))
    assert server.requests[0]["path"] == "/v1/completions" and "seed" not in server.requests[0]["body"]
    assert out[0][0].text == "raw:p" and out[0][0].finish_reason == "stop"


def test_retries_429_5xx_and_malformed_replies(server):
    server.script = [429, 503, "garbage", "no-choices", "no-content"]
    client = OpenAIChatClient(server.url, "m", max_retries=5, backoff=0.01)
    assert client.chat([[{"role": "user", "content": "hi"}]]) == ["chat:hi|seed=None"]
    assert client.requests_sent == 6


def test_gives_up_with_a_clear_error(server):
    server.script = ["garbage"] * 3
    client = OpenAIChatClient(server.url, "m", max_retries=2, backoff=0.01)
    with pytest.raises(AlignbenchError, match=r"gave up after 3 attempts.*not JSON"):
        client.chat([[{"role": "user", "content": "hi"}]])


def test_client_errors_are_not_retried(server):
    server.script = [400]
    client = OpenAIChatClient(server.url, "m", max_retries=5, backoff=0.01)
    with pytest.raises(AlignbenchError, match="HTTP 400"):
        client.chat([[{"role": "user", "content": "hi"}]])
    assert client.requests_sent == 1


def test_unreachable_endpoint_is_retried_then_reported():
    client = OpenAIChatClient("http://127.0.0.1:9", "m", max_retries=1, backoff=0.01, timeout=2)
    with pytest.raises(AlignbenchError, match="ConnectionError"):
        client.chat([[{"role": "user", "content": "hi"}]])


def test_concurrency_and_rate_limit(server):
    server.delay = 0.5  # long enough that 4 workers overlap even on a loaded machine
    parallel = OpenAIChatClient(server.url, "m", concurrency=4)
    msgs = [[{"role": "user", "content": str(i)}] for i in range(8)]
    assert parallel.chat(msgs) == [f"chat:{i}|seed=None" for i in range(8)]  # order kept
    assert server.max_in_flight > 1
    server.max_in_flight = 0
    OpenAIChatClient(server.url, "m", concurrency=1).chat(msgs[:3])
    assert server.max_in_flight == 1
    server.delay = 0.0
    limited = OpenAIChatClient(server.url, "m", concurrency=4, rps=20)
    t0 = time.monotonic()
    limited.chat(msgs[:5])
    assert time.monotonic() - t0 >= 4 / 20  # the 5th request may not start before 4 intervals have passed


def test_api_base():
    assert api_base("http://h:8000") == "http://h:8000/v1"
    assert api_base("http://h:8000/v1/") == "http://h:8000/v1"
    assert api_base("https://x.ai/openai/v1") == "https://x.ai/openai/v1"
