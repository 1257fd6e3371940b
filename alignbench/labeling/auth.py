"""Labeler tokens: a random secret in the labeler's personal URL; the project stores only its sha256.

The token carries 192 random bits (`secrets.token_urlsafe(24)`), so a plain (unsalted, fast) hash is
enough: nobody can guess a preimage, and the hash lets us find the labeler with one indexed lookup.
The web app takes the token from `Authorization: Bearer TOKEN` (API clients) or from the HttpOnly,
SameSite=Strict cookie that `/login?token=...` sets, and never writes it to a log.
"""

from __future__ import annotations

import hashlib
import secrets

COOKIE = "alignbench_label"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def personal_url(host: str, port: int, token: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/login?token={token}"
