"""OpenAI-compatible HTTP backend (`openai:MODEL@URL`): vLLM's server, llama.cpp, TGI, OpenAI itself.

`OpenAIChatClient` is the reusable part (the LLM judge uses it too): a thread pool for concurrency, a
shared requests-per-second limit, and retries with exponential backoff (honouring Retry-After) on
429, 5xx, timeouts, dropped connections and malformed replies.  Other 4xx answers are not retried:
they mean the request itself is wrong.  Written on `requests` rather than the `openai` SDK so any
server that speaks the wire format works without another dependency.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence
from urllib.parse import urlparse

import requests

from alignbench.engines.decoding import DecodingParams, Generation, check_served_temperature, truncate_at_stop
from alignbench.errors import AlignbenchError

RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
MAX_STOP_STRINGS = 4  # the OpenAI API's limit; the rest are applied client-side


class RateLimiter:
    """At most `rps` request starts per second across all threads (None = unlimited)."""

    def __init__(self, rps: float | None):
        self.interval = 1.0 / rps if rps else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def api_base(url: str) -> str:
    """`http://host:8000` -> `http://host:8000/v1`; a URL with a path is kept as given."""
    url = url.rstrip("/")
    return url + "/v1" if urlparse(url).path in ("", "/") else url


class OpenAIChatClient:
    """A small client for OpenAI-compatible endpoints.

    client = OpenAIChatClient("http://localhost:8000/v1", "my-model", rps=5, concurrency=8)
    texts = client.chat([[{"role": "user", "content": "Hi"}], ...], temperature=0, max_tokens=64)
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        max_retries: int = 5,
        rps: float | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
    ):
        self.base_url = api_base(base_url)
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_retries = int(max_retries)
        self.concurrency = max(1, int(concurrency))
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.limiter = RateLimiter(rps)
        self._local = threading.local()
        self.requests_sent = 0  # every HTTP attempt, retries included
        self._count_lock = threading.Lock()

    # -- one request, with retries ------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            if self.api_key:
                session.headers["Authorization"] = f"Bearer {self.api_key}"
        return session

    def post(self, path: str, payload: dict, check=None, url: str | None = None) -> dict:
        """POST `payload` to base_url/path and return the JSON reply, retrying what is worth retrying.
        `check(body)` may raise ValueError for a reply that parses but lacks what the caller needs.
        `url` replaces base_url/path and skips the `choices` check (vLLM's /tokenize lives outside /v1)."""
        choices_expected = url is None
        url = url or f"{self.base_url}/{path.lstrip('/')}"
        last, delay = "no attempt made", 0.0
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(delay)
            delay = min(self.max_backoff, self.backoff * 2**attempt)  # before the next attempt, if any
            self.limiter.wait()
            with self._count_lock:
                self.requests_sent += 1
            try:
                reply = self._session().post(url, json=payload, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if reply.status_code in RETRY_STATUSES:
                last = f"HTTP {reply.status_code}: {reply.text[:200]}"
                retry_after = reply.headers.get("Retry-After", "")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = min(self.max_backoff, max(delay, float(retry_after)))
                continue
            if reply.status_code >= 400:
                raise AlignbenchError(f"{url}: HTTP {reply.status_code} (not retried): {reply.text[:300]}")
            try:
                body = reply.json()
            except ValueError:
                last = f"malformed reply (not JSON): {reply.text[:200]!r}"
                continue
            if not isinstance(body, dict) or (
                choices_expected and (not isinstance(body.get("choices"), list) or not body["choices"])
            ):
                last = f"malformed reply (no choices): {reply.text[:200]!r}"
                continue
            if check is not None:
                try:
                    check(body)
                except ValueError as exc:
                    last = f"malformed reply: {exc}"
                    continue
            return body
        raise AlignbenchError(f"{url}: gave up after {self.max_retries + 1} attempts; last error: {last}")

    def map(self, fn, items: Sequence[Any]) -> list[Any]:
        """fn over items on the thread pool, results in order (the first error is raised)."""
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    # -- chat ------------------------------------------------------------------------------------
    def chat_completions(self, messages_list: Sequence[list[dict]], **params) -> list[dict]:
        """Full reply bodies for each conversation (concurrently)."""
        return self.map(
            lambda msgs: self.post(
                "chat/completions", {"model": self.model, "messages": msgs, **params}, check=chat_text
            ),
            list(messages_list),
        )

    def chat(self, messages_list: Sequence[list[dict]], **params) -> list[str]:
        """The assistant's text for each conversation; params are passed through (temperature, max_tokens, ...)."""
        return [chat_text(body) for body in self.chat_completions(messages_list, **params)]

    def completions(self, prompts: Sequence[str], **params) -> list[dict]:
        return self.map(
            lambda p: self.post("completions", {"model": self.model, "prompt": p, **params}, check=completion_text),
            list(prompts),
        )


def chat_text(body: dict) -> str:
    """choices[0].message.content, or ValueError (which `post` retries as a malformed reply)."""
    choice = body["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        raise ValueError(f"no choices[0].message.content in {str(body)[:200]}")
    return message["content"]


def completion_text(body: dict) -> str:
    """choices[0].text, or ValueError."""
    choice = body["choices"][0]
    if not isinstance(choice, dict) or not isinstance(choice.get("text"), str):
        raise ValueError(f"no choices[0].text in {str(body)[:200]}")
    return choice["text"]


class OpenAIBackend:
    """Generation through an OpenAI-compatible server: /chat/completions in chat mode, /completions raw."""

    name = "openai"
    default_batch_size = 32  # requests per cache write; concurrency is the client's

    def __init__(
        self,
        model: str,
        url: str,
        fingerprint: str,
        api_key: str | None = None,
        rps: float | None = None,
        concurrency: int = 8,
        max_retries: int = 5,
        timeout: float = 120.0,
        backoff: float = 1.0,
    ):
        self.fingerprint = fingerprint
        self.client = OpenAIChatClient(
            url,
            model,
            api_key=api_key,
            max_retries=max_retries,
            rps=rps,
            concurrency=concurrency,
            timeout=timeout,
            backoff=backoff,
        )

    def prompt_mode(self, params: DecodingParams) -> dict:
        # The server applies its own chat template, which we cannot see: the endpoint is in the fingerprint.
        return {"mode": "chat", "template": "server"} if params.chat else {"mode": "raw"}

    def prompt_length(self, prompt: str, params: DecodingParams) -> int:
        return len(prompt)

    def _payload(self, params: DecodingParams, seed: int) -> dict:
        payload: dict[str, Any] = {"max_tokens": params.max_new_tokens, "temperature": params.temperature, "n": 1}
        if not params.greedy:
            payload.update(top_p=params.top_p, seed=seed)
            if params.top_k:
                payload["top_k"] = params.top_k  # vLLM / llama.cpp extension
        if params.stop:
            payload["stop"] = list(params.stop[:MAX_STOP_STRINGS])
        return payload

    def generate(self, requests_, params: DecodingParams) -> list[Generation]:
        check_served_temperature(params, self.name)

        def one(req) -> Generation:
            payload = self._payload(params, req.seed)
            if params.chat:
                messages = [{"role": "system", "content": params.system}] if params.system is not None else []
                messages.append({"role": "user", "content": req.prompt})
                body = self.client.post(
                    "chat/completions", {"model": self.client.model, "messages": messages, **payload}, check=chat_text
                )
                text = chat_text(body)
            else:
                body = self.client.post(
                    "completions", {"model": self.client.model, "prompt": req.prompt, **payload}, check=completion_text
                )
                text = completion_text(body)
            text, hit_stop = truncate_at_stop(text, params.stop)
            reason = body["choices"][0].get("finish_reason") or "stop"
            usage = body.get("usage") or {}
            return Generation(
                text, int(usage.get("completion_tokens") or 0), "stop" if hit_stop or reason != "length" else "length"
            )

        return self.client.map(one, list(requests_))


# -- log-likelihood through /v1/completions with echo (lm-eval's local-completions) ----------------------------
def server_root(base_url: str) -> str:
    """`http://host:8000/v1` -> `http://host:8000` (vLLM serves /tokenize there, beside /v1)."""
    return base_url.removesuffix("/v1")


class ServerTokenizer:
    """The served model's own tokenizer through vLLM's `POST /tokenize`, memoised: no local files needed and
    no doubt that client and server split text alike.  It names no EOS token (an empty context, scored
    after EOS, then needs a local tokenizer)."""

    eos_token_id = None
    bos_token_id = None

    def __init__(self, client: OpenAIChatClient):
        self.client = client
        self.url = server_root(client.base_url) + "/tokenize"
        self._memo: dict[tuple[str, bool], list[int]] = {}

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        key = (text, bool(add_special_tokens))
        if key not in self._memo:
            payload = {"model": self.client.model, "prompt": text, "add_special_tokens": bool(add_special_tokens)}
            try:
                body = self.client.post("", payload, check=_token_list, url=self.url)
            except AlignbenchError as exc:
                raise AlignbenchError(
                    f"{exc}\n(log-likelihood needs the served model's tokenizer: this endpoint has no "
                    "vLLM-style /tokenize, so pass tokenizer=<local folder or hub id>)"
                ) from exc
            self._memo[key] = [int(t) for t in body["tokens"]]
        return {"input_ids": list(self._memo[key])}


def _token_list(body: dict) -> None:
    if not isinstance(body.get("tokens"), list):
        raise ValueError(f"no tokens in {str(body)[:200]}")


def _echoed_logprobs(choice: dict, n_ctx: int, n_cont: int) -> tuple[float, bool]:
    """(sum of the continuation's log-probs, whether each of its tokens is the argmax) from an echoed choice.
    Positions are token indices of the prompt we sent (token ids, so the server cannot re-split them)."""
    lp = choice.get("logprobs") if isinstance(choice, dict) else None
    token_lps = lp.get("token_logprobs") if isinstance(lp, dict) else None
    end = n_ctx + n_cont
    if (
        not isinstance(token_lps, list)
        or len(token_lps) < end
        or any(not isinstance(x, (int, float)) for x in token_lps[n_ctx:end])
    ):
        raise AlignbenchError(
            "the endpoint did not return the prompt's log-probs (completions with echo=true, logprobs=1): vLLM's "
            f"OpenAI server does, OpenAI's hosted chat models do not; got {str(choice)[:200]}"
        )
    picked = [float(x) for x in token_lps[n_ctx:end]]
    tops = lp.get("top_logprobs") or []
    tops = tops[n_ctx:end] if len(tops) >= end else [None] * n_cont
    # greedy: the token's own log-prob is the largest offered at its position (values, not keys: two token ids
    # may decode to the same string key)
    greedy = all(isinstance(top, dict) and top and t >= max(top.values()) for t, top in zip(picked, tops))
    return sum(picked), greedy


class OpenAILoglikBackend:
    """Scores token-id prompts through `/v1/completions` with `echo=true, logprobs=1, max_tokens=1`, as
    lm-eval's `local-completions` does; the generated token is ignored.  Several prompts go in one request
    (`batch_size`), requests run `concurrency` at a time.

    tokenizer: a spec/folder/hub id or a tokenizer object; default: the served model name when it is a local
    folder (vLLM names a model by the path it was given), else the server's own /tokenize.
    max_length: default the server's `max_model_len` (vLLM's /v1/models), else 2048."""

    name = "openai"

    def __init__(
        self,
        model: str,
        url: str,
        tokenizer=None,
        max_length: int | None = None,
        batch_size: int = 8,
        api_key: str | None = None,
        rps: float | None = None,
        concurrency: int = 4,
        max_retries: int = 5,
        timeout: float = 300.0,
        backoff: float = 1.0,
        progress: bool | None = None,
    ):
        self.client = OpenAIChatClient(
            url,
            model,
            api_key=api_key,
            max_retries=max_retries,
            rps=rps,
            concurrency=concurrency,
            timeout=timeout,
            backoff=backoff,
        )
        self.batch_size = max(1, int(batch_size))
        self.progress = progress
        self.tokenizer = self._tokenizer(tokenizer, model)
        self.max_length = int(max_length or self._server_max_length() or 2048)

    def _tokenizer(self, tokenizer, model: str):
        from pathlib import Path

        if tokenizer is None and Path(model).expanduser().is_dir():
            tokenizer = model
        if tokenizer is None:
            return ServerTokenizer(self.client)
        if isinstance(tokenizer, str):
            from alignbench.models.spec import load_tokenizer, resolve

            return load_tokenizer(resolve(tokenizer))
        return tokenizer

    def _server_max_length(self) -> int | None:
        """vLLM lists max_model_len in /v1/models; other servers may not (then None)."""
        try:
            reply = self.client._session().get(f"{self.client.base_url}/models", timeout=self.client.timeout)
            for card in reply.json().get("data", []):
                if card.get("id") == self.client.model and card.get("max_model_len"):
                    return int(card["max_model_len"])
        except (requests.RequestException, ValueError, AttributeError, TypeError):
            pass
        return None

    def score_tokens(self, pairs, desc: str = "loglikelihood") -> list[tuple[float, bool]]:
        from tqdm.auto import tqdm

        batches = [list(pairs[i : i + self.batch_size]) for i in range(0, len(pairs), self.batch_size)]
        disable = (not sys.stderr.isatty()) if self.progress is None else not self.progress
        bar = tqdm(total=len(pairs), desc=desc, unit="req", disable=disable, dynamic_ncols=True)

        def one(batch):
            body = self.client.post(
                "completions",
                {
                    "model": self.client.model,
                    "prompt": [list(c) + list(x) for c, x in batch],
                    "echo": True,
                    "logprobs": 1,
                    "max_tokens": 1,
                    "temperature": 0,
                },
            )
            choices = sorted(body["choices"], key=lambda ch: ch.get("index", 0) if isinstance(ch, dict) else 0)
            if len(choices) != len(batch):
                raise AlignbenchError(
                    f"{self.client.base_url}/completions: {len(choices)} choices for {len(batch)} prompts"
                )
            bar.update(len(batch))
            return [_echoed_logprobs(ch, len(c), len(x)) for ch, (c, x) in zip(choices, batch)]

        with bar:
            return [r for rs in self.client.map(one, batches) for r in rs]
