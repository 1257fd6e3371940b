"""Typed records for every kind of data the recipe uses, with validation that names the field.

One record type per concept of the paper:
  Demonstration  prompt (or chat messages) -> labeler-written response         (SFT)
  Ranking        prompt + K=2..9 responses with ranks, ties allowed             (RM)
  Prompt         a prompt to sample from                                        (PPO, evals)
  PretrainText   plain text for the ptx term                                    (PPO-ptx)
  EvalItem       one eval question: input fields + references                   (evals)

`from_dict` raises RecordError listing every problem as (field, message); readers add the
file and line so the user sees `file:line: field: message`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

MIN_K, MAX_K = 2, 9


class RecordError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def _text(d: dict, key: str, problems: list, required: bool = True) -> str | None:
    if key not in d or d[key] is None:
        if required:
            problems.append((key, "missing"))
        return None
    value = d[key]
    if not isinstance(value, str):
        problems.append((key, f"must be a string, got {type(value).__name__}"))
        return None
    if required and not value.strip():
        problems.append((key, "empty"))
    return value


def _messages(d: dict, key: str, problems: list) -> list[dict] | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        problems.append((key, "must be a non-empty list of {role, content}"))
        return None
    for i, m in enumerate(value):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            problems.append((f"{key}[{i}]", "must be an object with string 'role' and 'content'"))
        elif m["role"] not in ("system", "user", "assistant"):
            problems.append((f"{key}[{i}].role", f"must be system, user or assistant, got {m['role']!r}"))
    return value


@dataclass
class Record:
    kind: ClassVar[str] = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}


@dataclass
class Demonstration(Record):
    kind: ClassVar[str] = "demonstration"
    response: str
    prompt: str | None = None
    messages: list[dict] | None = None  # chat turns before the response (alternative to prompt)
    id: str | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "Demonstration":
        problems: list = []
        _check_common(d, problems)
        response = _text(d, "response", problems)
        prompt = _text(d, "prompt", problems, required=False)
        messages = _messages(d, "messages", problems)
        if prompt is None and d.get("messages") is None and not any(f == "prompt" for f, _ in problems):
            problems.append(("prompt", "missing (give 'prompt' or 'messages')"))
        elif prompt is not None and not prompt.strip():
            problems.append(("prompt", "empty"))
        if problems:
            raise RecordError(problems)
        return cls(response=response, prompt=prompt, messages=messages, id=_id(d), meta=d.get("meta") or {})

    def chat(self) -> list[dict]:
        """The conversation up to the response, as chat messages."""
        return list(self.messages) if self.messages else [{"role": "user", "content": self.prompt}]


@dataclass
class Ranking(Record):
    """K responses to one prompt.  ranks[i] is response i's place: 1 = best; equal ranks are ties."""

    kind: ClassVar[str] = "ranking"
    prompt: str
    responses: list[str]
    ranks: list[int]
    id: str | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "Ranking":
        problems: list = []
        _check_common(d, problems)
        prompt = _text(d, "prompt", problems)
        responses = d.get("responses")
        ranks = d.get("ranks")
        if responses is None:
            problems.append(("responses", "missing"))
        elif not isinstance(responses, list) or not all(isinstance(r, str) for r in responses):
            problems.append(("responses", "must be a list of strings"))
        else:
            if not MIN_K <= len(responses) <= MAX_K:
                problems.append(("responses", f"K={len(responses)}: need {MIN_K} to {MAX_K} responses"))
            for i, r in enumerate(responses):
                if not r.strip():
                    problems.append((f"responses[{i}]", "empty"))
        if ranks is None:
            problems.append(("ranks", "missing"))
        elif not isinstance(ranks, list) or not all(isinstance(r, int) and not isinstance(r, bool) for r in ranks):
            problems.append(("ranks", "must be a list of integers"))
        elif isinstance(responses, list):
            if len(ranks) != len(responses):
                problems.append(("ranks", f"has {len(ranks)} entries for {len(responses)} responses"))
            elif not _is_ranking(ranks):
                problems.append(
                    (
                        "ranks",
                        f"{ranks} is not a ranking: ranks start at 1 and tied places skip "
                        "(a permutation of 1..K, or competition ranks like [1, 1, 3, 4])",
                    )
                )
            elif len(set(ranks)) == 1 and len(ranks) >= MIN_K:
                problems.append(("ranks", "all responses tied: the ranking carries no preference"))
        if problems:
            raise RecordError(problems)
        return cls(prompt=prompt, responses=responses, ranks=ranks, id=_id(d), meta=d.get("meta") or {})

    @property
    def k(self) -> int:
        return len(self.responses)

    def pairs(self) -> list[tuple[int, int]]:
        """(winner index, loser index) for every untied pair: the C(K,2) comparisons minus ties."""
        return [(i, j) for i in range(self.k) for j in range(self.k) if self.ranks[i] < self.ranks[j]]


def _is_ranking(ranks: list[int]) -> bool:
    """Standard competition ranking ("1224"): each rank = 1 + number of strictly better responses."""
    return all(r == 1 + sum(o < r for o in ranks) for r in ranks)


@dataclass
class Prompt(Record):
    kind: ClassVar[str] = "prompt"
    prompt: str
    id: str | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "Prompt":
        problems: list = []
        _check_common(d, problems)
        prompt = _text(d, "prompt", problems)
        if problems:
            raise RecordError(problems)
        return cls(prompt=prompt, id=_id(d), meta=d.get("meta") or {})


@dataclass
class PretrainText(Record):
    kind: ClassVar[str] = "pretrain"
    text: str
    id: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "PretrainText":
        problems: list = []
        _check_common(d, problems, has_meta=False)
        text = _text(d, "text", problems)
        if problems:
            raise RecordError(problems)
        return cls(text=text, id=_id(d))


@dataclass
class EvalItem(Record):
    """One eval question.  `inputs` are what the model sees (question, context, choices ...);
    `references` what it is scored against (answers, labels, gold index ...)."""

    kind: ClassVar[str] = "eval"
    id: str
    inputs: dict
    references: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "EvalItem":
        problems: list = []
        _check_common(d, problems)
        item_id = _id(d)
        if item_id is None:
            problems.append(("id", "missing"))
        inputs = d.get("inputs")
        if not isinstance(inputs, dict) or not inputs:
            problems.append(("inputs", "missing or not a non-empty object"))
        references = d.get("references", {})
        if not isinstance(references, dict):
            problems.append(("references", "must be an object"))
        if problems:
            raise RecordError(problems)
        return cls(id=item_id, inputs=inputs, references=references, meta=d.get("meta") or {})


def _id(d: dict) -> str | None:
    value = d.get("id")
    return None if value is None else str(value)


def _check_common(d: dict, problems: list, has_meta: bool = True) -> None:
    """`id`: a non-empty string or an integer (ids key the store and join runs: a list, an object, a bool,
    a float such as Infinity, or "" would be silently turned into a string); `meta`: an object."""
    value = d.get("id")
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            problems.append(("id", f"must be a string or an integer, got {type(value).__name__} {_short(value)}"))
        elif isinstance(value, str) and not value.strip():
            problems.append(("id", "empty"))
    if has_meta and d.get("meta") is not None and not isinstance(d["meta"], dict):
        problems.append(
            ("meta", f"must be an object (JSON {{...}}), got {type(d['meta']).__name__} {_short(d['meta'])}")
        )


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


RECORD_KINDS: dict[str, type[Record]] = {
    cls.kind: cls for cls in (Demonstration, Ranking, Prompt, PretrainText, EvalItem)
}


def parse_record(kind: str, d: Any) -> Record:
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}; choose from {', '.join(RECORD_KINDS)}")
    if not isinstance(d, dict):
        raise RecordError([("(record)", f"must be a JSON object, got {type(d).__name__}")])
    return RECORD_KINDS[kind].from_dict(d)
