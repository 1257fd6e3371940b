"""LLM judge against a real local HTTP server that speaks the OpenAI chat-completions protocol, with
position-biased, malformed, failing and flaky replies."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alignbench.errors import AlignbenchError
from alignbench.judges import make_judge
from alignbench.judges.llm import combine_orders, parse_verdict
from alignbench.store import Store

_ANSWER = re.compile(r"\[The start of Assistant (A|B)'s answer\]\n(.*?)\n\[The end of", re.S)


class FakeJudgeServer(BaseHTTPRequestHandler):
    """Prefers the answer that contains GOOD.  Words in the user request change its behaviour:
    BIASED always says A; GARBLE answers without a verdict; HALFGARBLE garbles only when the GOOD answer
    is shown first; DOWN always fails with 500; FLAKY fails once per distinct request then works;
    BADJSON returns a body that is not JSON; NOKEY needs an API key."""

    requests: list = []
    seen: set = set()
    lock = threading.Lock()

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: str | bytes):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/chat/completions":
            return self._send(404, '{"error": "not found"}')
        body = json.loads(raw)
        user = body["messages"][-1]["content"]
        with self.lock:
            self.requests.append(body)
            first_time = raw not in self.seen
            self.seen.add(raw)
        answers = dict(_ANSWER.findall(user))
        if "NOKEY" in user and self.headers.get("Authorization") != "Bearer sekret":
            return self._send(401, '{"error": {"message": "invalid api key"}}')
        if "DOWN" in user or ("FLAKY" in user and first_time):
            return self._send(500, '{"error": "overloaded"}')
        if "BADJSON" in user:
            return self._send(200, "<html>gateway</html>")
        good_a, good_b = "GOOD" in answers.get("A", ""), "GOOD" in answers.get("B", "")
        if "BIASED" in user:
            content = "Both fine, but the first is better.\n[[A]]"
        elif "GARBLE" in user and ("HALFGARBLE" not in user or good_a):
            content = "Hmm, hard to say. Assistant A is detailed while Assistant B is concise."
        elif good_a == good_b:
            content = "They are equivalent.\n[[tie]]"
        else:
            content = f"Answer {'A' if good_a else 'B'} is correct.\n[[{'A' if good_a else 'B'}]]"
        reply = {
            "id": "x",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        }
        self._send(200, json.dumps(reply))


@pytest.fixture()
def server():
    FakeJudgeServer.requests = []
    FakeJudgeServer.seen = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeJudgeServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _judge(url, cache=None, **kw):
    spec = {"type": "llm", "model": f"openai:judge-model@{url}", "retries": 2, "backoff": 0.01, "timeout": 5, **kw}
    return make_judge(spec, cache=cache)


def test_parse_verdict():
    assert parse_verdict("reasoning...\n[[A]]") == "A"
    assert parse_verdict("[[ b ]]") == "B"
    assert parse_verdict("[[tie]]") == "tie" and parse_verdict("[[C]]") == "tie"
    assert parse_verdict("B") == "B" and parse_verdict(" 'A'. ") == "A"
    assert parse_verdict("[[A]] no wait [[B]]") is None  # contradictory
    assert parse_verdict("Assistant A is better") is None  # no verdict marker: not guessed
    assert parse_verdict("") is None and parse_verdict(None) is None


def test_combine_orders_cancels_position_bias():
    assert combine_orders("A", "A") == ("A", False)
    assert combine_orders("B", "B") == ("B", False)
    assert combine_orders("A", "B") == ("tie", True)  # flips with position
    assert combine_orders("A", "tie") == ("tie", True)
    assert combine_orders(None, "B") == ("B", False)
    assert combine_orders(None, None) == (None, False)


def test_llm_judge_against_a_local_openai_server(server, tmp_path):
    store = Store(tmp_path)
    judge = _judge(server, cache=store)
    prompts = ["q1", "q2", "q3 BIASED", "q4 GARBLE", "q5 HALFGARBLE", "q6 DOWN", "q7 FLAKY", "q8 BADJSON"]
    a = ["GOOD answer", "meh", "GOOD", "GOOD", "GOOD", "GOOD", "meh", "GOOD"]
    b = ["meh", "GOOD answer", "meh", "meh", "meh", "meh", "GOOD", "meh"]
    ids = [f"i{k}" for k in range(8)]
    out = judge.compare(prompts, a, b, ids)
    verdicts = [j.verdict for j in out]
    # q1/q2: consistent both ways; q3: always "A" -> flips with position -> tie; q4: unparseable both ways;
    # q5: unparseable with the GOOD answer first, fine when swapped -> that order decides; q6: server down;
    # q7: 500 once then fine (retried); q8: 200 with a non-JSON body -> failure.
    assert verdicts == ["A", "B", "tie", None, "A", None, "B", None]
    assert out[2].meta["inconsistent"] and out[2].meta["orders"] == {"AB": "A", "BA": "B"}
    assert out[3].meta["parse_failures"] == 2 and out[3].meta["request_failures"] == 0
    assert out[4].meta["parse_failures"] == 1
    assert out[5].meta["request_failures"] == 2 and "HTTP 500" in json.loads(out[5].raw)["AB"]
    assert out[7].meta["request_failures"] == 2 and "malformed" in json.loads(out[7].raw)["AB"]
    assert out[0].judge == "llm:judge-model" and "[[A]]" in json.loads(out[0].raw)["AB"]
    # Both orders were really sent: candidate first and second.
    sent = [r["messages"][-1]["content"] for r in FakeJudgeServer.requests if "q1" in r["messages"][-1]["content"]]
    assert len(sent) == 2 and sent[0] != sent[1]
    assert all(r["model"] == "judge-model" and r["temperature"] == 0.0 for r in FakeJudgeServer.requests)

    # Rerun: successful replies come from the store; only the failed ones are asked again.
    before = len(FakeJudgeServer.requests)
    again = _judge(server, cache=store).compare(prompts, a, b, ids)
    assert [j.verdict for j in again] == verdicts
    retried = FakeJudgeServer.requests[before:]
    assert retried and all(
        ("DOWN" in r["messages"][-1]["content"] or "BADJSON" in r["messages"][-1]["content"]) for r in retried
    )
    rows = store.frame("judgements")
    assert set(rows["judge"]) == {"llm:judge-model"} and rows["raw"].notna().all()


def test_llm_judge_without_swap_and_with_custom_template(server):
    judge = _judge(
        server,
        swap=False,
        template="Q: {prompt}\n[The start of Assistant A's answer]\n{response_a}\n"
        "[The end of A]\n[The start of Assistant B's answer]\n{response_b}\n[The end of B]",
    )
    out = judge.compare(["q BIASED"], ["x"], ["y"], ["1"])
    assert out[0].verdict == "A"  # without the swap, position bias goes straight into the verdict
    assert len(FakeJudgeServer.requests) == 1
    assert FakeJudgeServer.requests[0]["messages"][-1]["content"].startswith("Q: q BIASED")


def test_llm_judge_client_errors_raise_and_keys_are_sent(server, monkeypatch):
    with pytest.raises(AlignbenchError, match="HTTP 401"):
        _judge(server).compare(["NOKEY"], ["GOOD"], ["x"], ["1"])
    monkeypatch.setenv("MY_JUDGE_KEY", "sekret")
    assert _judge(server, api_key_env="MY_JUDGE_KEY").compare(["NOKEY"], ["GOOD"], ["x"], ["1"])[0].verdict == "A"
    with pytest.raises(AlignbenchError, match="HTTP 404"):
        _judge(server.replace("/v1", "/v2")).compare(["q"], ["a"], ["b"], ["1"])


def test_llm_judge_spec_errors():
    with pytest.raises(AlignbenchError, match="must contain {response_b}"):
        make_judge({"type": "llm", "model": "openai:m@http://x/v1", "template": "{prompt} {response_a}"})
    with pytest.raises(AlignbenchError, match="base_url"):
        make_judge({"type": "llm", "model": "gpt"})
    with pytest.raises(AlignbenchError, match="unknown key 'temp'"):
        make_judge({"type": "llm", "model": "openai:m@http://x/v1", "temp": 0})
