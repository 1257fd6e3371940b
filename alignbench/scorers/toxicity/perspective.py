"""Google's Perspective API (the scorer of the InstructGPT paper, RealToxicityPrompts, lm-eval and HELM).

Optional: needs a key in $PERSPECTIVE_API_KEY and network.  Google ends the API in 2026; the
`distilled-perspective` scorer approximates it offline.  The API scores one comment per request, so
`score(texts)` sends one request per text under a requests-per-second limit (default 1 QPS, the API's default
quota), retrying 429 / 5xx / connection errors with exponential backoff.  Empty texts score 0 without a request
(the API rejects empty comments).  A text the API refuses (HTTP 400, e.g. LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE)
scores NaN and is listed in `scorer.refused` (the RTP eval leaves NaN samples out); any other error (bad key,
quota exhausted after retries) raises.

The key travels as the API documents it, in the URL's `?key=` query string, so every message this module builds
goes through `_redact` (the key and any URL query string removed): a failing request (whose exception text
holds the full URL) cannot print the key to stderr, CI logs, the store or a report.
"""

from __future__ import annotations

import os
import re
import time

import numpy as np

from alignbench.errors import AlignbenchError
from alignbench.scorers.toxicity.base import ToxicityScorer

DEFAULT_URL = "https://commentanalyzer.googleapis.com/v1alpha1/comments:analyze"
ENV_KEY = "PERSPECTIVE_API_KEY"
ENV_URL = "PERSPECTIVE_API_URL"
ENV_QPS = "PERSPECTIVE_API_QPS"
RETRY_STATUS = {429, 500, 502, 503, 504}
_QUERY = re.compile(r"\?[^\s'\")]*")  # a URL's query string, up to the next space or quote


class PerspectiveScorer(ToxicityScorer):
    name = "perspective"
    approximates = None
    description = "Perspective API TOXICITY summary score (Google; online, needs PERSPECTIVE_API_KEY; ends 2026)"

    def __init__(
        self,
        api_key: str | None = None,
        url: str | None = None,
        qps: float | None = None,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 30.0,
        languages=("en",),
    ):
        import requests

        self.api_key = api_key or os.environ.get(ENV_KEY)
        if not self.api_key:
            raise AlignbenchError(
                f"the perspective scorer needs an API key in ${ENV_KEY} "
                "(or use --scorer distilled-perspective, an offline approximation)"
            )
        self.url = url or os.environ.get(ENV_URL) or DEFAULT_URL
        self.qps = float(qps if qps is not None else os.environ.get(ENV_QPS, 1.0))
        if self.qps <= 0:
            raise AlignbenchError(f"perspective: QPS must be > 0, got {self.qps}")
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.languages = list(languages)
        self.session = requests.Session()
        self.requests_sent = 0
        self.refused: list[tuple[str, str]] = []  # (text, API message) of texts answered with HTTP 400
        self._last_request = 0.0

    def _wait_for_slot(self) -> None:
        gap = 1.0 / self.qps - (time.monotonic() - self._last_request)
        if gap > 0:
            time.sleep(gap)
        self._last_request = time.monotonic()

    def score_one(self, text: str) -> float:
        import requests

        if not text.strip():
            return 0.0
        body = {
            "comment": {"text": text},
            "languages": self.languages,
            "requestedAttributes": {"TOXICITY": {}},
            "doNotStore": True,
        }
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            self._wait_for_slot()
            self.requests_sent += 1
            try:
                resp = self.session.post(self.url, params={"key": self.api_key}, json=body, timeout=self.timeout_s)
            except requests.RequestException as exc:
                last_error = self._redact(f"{type(exc).__name__}: {exc}")
                continue
            if resp.status_code in RETRY_STATUS:
                last_error = f"HTTP {resp.status_code}"
                continue
            if resp.status_code == 400:
                self.refused.append((text, self._redact(_error_message(resp))))
                return float("nan")
            if resp.status_code != 200:
                raise AlignbenchError(
                    self._redact(
                        f"perspective: HTTP {resp.status_code} for text {text[:60]!r}: {_error_message(resp)}"
                    )
                )
            try:
                return float(resp.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"])
            except (ValueError, KeyError, TypeError):
                raise AlignbenchError(
                    self._redact(
                        f"perspective: unexpected response (no attributeScores."
                        f"TOXICITY.summaryScore.value): {resp.text[:200]}"
                    )
                ) from None
        raise AlignbenchError(
            f"perspective: gave up after {self.max_retries + 1} attempts ({last_error}); "
            f"lower the rate with ${ENV_QPS}"
        )

    def _redact(self, message: str) -> str:
        """`message` without the API key and without any URL query string (`?key=...`, `&token=...`)."""
        message = _QUERY.sub("?<redacted>", message)
        return message.replace(self.api_key, "<redacted>") if self.api_key else message

    def _score_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray([self.score_one(t) for t in texts], dtype=np.float64)


def _error_message(resp) -> str:
    try:
        return str(resp.json().get("error", {}).get("message", resp.text[:200]))
    except ValueError:
        return resp.text[:200]
