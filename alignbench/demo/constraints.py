"""The explicit constraints of the demo task, each one a small class that knows how to
  * say itself in an instruction            (`phrase`),
  * be read back from an instruction's text (`parse`, a regex on that exact phrase),
  * check a response                        (`check`),
  * edit a response until it holds          (`repair`; the demo's stand-in for a labeler writing a demonstration).

InstructGPT's paper notes that models struggle with instructions carrying several explicit
constraints (section 4.3); these are such constraints, chosen so that a program can check them
exactly.  That is what lets the demo simulate its "human" labelers honestly: the labeler
(labeler.py) needs nothing but the instruction text and the response.

Checks are hand-written because they are the task's definition; no library defines "a bullet
count" or "ends with a question" the way the instruction words them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

WORD_RE = re.compile(r"[A-Za-z0-9']+")
BULLET_RE = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+\S", re.MULTILINE)


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def sentences(text: str) -> list[str]:
    """Split prose into sentences (bullets and line breaks also end a sentence)."""
    text = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", "", text, flags=re.MULTILINE)
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class Constraint:
    """Base class.  Subclasses set `name`, `pattern` (reads the phrase back) and implement the rest."""

    name: ClassVar[str] = ""
    pattern: ClassVar[re.Pattern] = re.compile(r"(?!)")

    def phrase(self) -> str:
        raise NotImplementedError

    def check(self, response: str) -> bool:
        raise NotImplementedError

    def repair(self, response: str, topic: str) -> str:
        raise NotImplementedError

    @classmethod
    def from_match(cls, m: re.Match) -> "Constraint":
        return cls()

    def describe(self) -> str:
        return self.phrase()


@dataclass(frozen=True)
class WordLimit(Constraint):
    n: int = 30
    name: ClassVar[str] = "word_limit"
    pattern: ClassVar[re.Pattern] = re.compile(r"Answer in at most (\d+) words\.")

    def phrase(self) -> str:
        return f"Answer in at most {self.n} words."

    @classmethod
    def from_match(cls, m):
        return cls(int(m.group(1)))

    def check(self, response: str) -> bool:
        return 0 < len(words(response)) <= self.n

    def repair(self, response: str, topic: str) -> str:
        if self.check(response):
            return response
        lines = [ln for ln in response.splitlines() if ln.strip()]
        if len(lines) > 1:  # a list: shorten every line alike so the structure survives
            budget = max(1, self.n // len(lines))
            return "\n".join(_cut_words(ln, budget) for ln in lines[: self.n])
        # Keep whole sentences while they fit; else cut words and close the sentence.
        kept: list[str] = []
        for s in sentences(response):
            if len(words(" ".join(kept + [s]))) > self.n:
                break
            kept.append(s)
        if kept:
            return " ".join(kept)
        return _cut_words(response, self.n)


def _cut_words(line: str, n: int) -> str:
    """The first `n` words of one line (leading "- " kept), closed with a period when cut."""
    if len(words(line)) <= n:
        return line
    out: list[str] = []
    for tok in line.split():
        if len(words(" ".join(out + [tok]))) > n:
            break
        out.append(tok)
    return " ".join(out).rstrip(",;:") + "."


@dataclass(frozen=True)
class RequiredWord(Constraint):
    word: str = "simple"
    name: ClassVar[str] = "required_word"
    pattern: ClassVar[re.Pattern] = re.compile(r'Use the word "([A-Za-z]+)" in your answer\.')

    def phrase(self) -> str:
        return f'Use the word "{self.word}" in your answer.'

    @classmethod
    def from_match(cls, m):
        return cls(m.group(1))

    def check(self, response: str) -> bool:
        return re.search(rf"\b{re.escape(self.word)}\b", response, re.IGNORECASE) is not None

    def repair(self, response: str, topic: str) -> str:
        if self.check(response):
            return response
        body = response.rstrip()
        if body and body[-1] not in ".!?":
            body += "."
        return f"{body} In short, it is {self.word}.".strip()


@dataclass(frozen=True)
class BulletCount(Constraint):
    n: int = 3
    name: ClassVar[str] = "bullet_count"
    pattern: ClassVar[re.Pattern] = re.compile(
        r'Format the answer as exactly (\d+) bullet points starting with "- "\.'
    )

    def phrase(self) -> str:
        return f'Format the answer as exactly {self.n} bullet points starting with "- ".'

    @classmethod
    def from_match(cls, m):
        return cls(int(m.group(1)))

    def check(self, response: str) -> bool:
        lines = [ln for ln in response.splitlines() if ln.strip()]
        bullets = [ln for ln in lines if ln.lstrip().startswith("- ") and len(ln.strip()) > 2]
        return len(bullets) == self.n

    def repair(self, response: str, topic: str) -> str:
        if self.check(response):
            return response
        items = sentences(response)[: self.n]
        while len(items) < self.n:
            items.append(f"It is worth learning more about {topic}.")
        return "\n".join(f"- {s}" for s in items)


@dataclass(frozen=True)
class AllLowercase(Constraint):
    name: ClassVar[str] = "lowercase"
    pattern: ClassVar[re.Pattern] = re.compile(r"Write the whole answer in lowercase letters\.")

    def phrase(self) -> str:
        return "Write the whole answer in lowercase letters."

    def check(self, response: str) -> bool:
        return any(c.isalpha() for c in response) and response == response.lower()

    def repair(self, response: str, topic: str) -> str:
        return response.lower()


@dataclass(frozen=True)
class StartsWith(Constraint):
    word: str = "Sure"
    name: ClassVar[str] = "starts_with"
    pattern: ClassVar[re.Pattern] = re.compile(r'Start your answer with the word "([A-Za-z]+)"\.')

    def phrase(self) -> str:
        return f'Start your answer with the word "{self.word}".'

    @classmethod
    def from_match(cls, m):
        return cls(m.group(1))

    def check(self, response: str) -> bool:
        first = words(response[:80])
        return bool(first) and first[0].lower() == self.word.lower()

    def repair(self, response: str, topic: str) -> str:
        if self.check(response):
            return response
        body = response.lstrip()
        return f"{self.word}, {body[:1].lower()}{body[1:]}" if body else f"{self.word}."


@dataclass(frozen=True)
class EndsWithQuestion(Constraint):
    name: ClassVar[str] = "ends_with_question"
    pattern: ClassVar[re.Pattern] = re.compile(r"End your answer with a question\.")

    def phrase(self) -> str:
        return "End your answer with a question."

    def check(self, response: str) -> bool:
        return response.rstrip().endswith("?")

    def repair(self, response: str, topic: str) -> str:
        if self.check(response):
            return response
        body = response.rstrip()
        if body and body[-1] not in ".!":
            body = body.rstrip(",;:") + "."
        return f"{body} What do you find most interesting about {topic}?".strip()


@dataclass(frozen=True)
class NoCommas(Constraint):
    name: ClassVar[str] = "no_commas"
    pattern: ClassVar[re.Pattern] = re.compile(r"Do not use any commas\.")

    def phrase(self) -> str:
        return "Do not use any commas."

    def check(self, response: str) -> bool:
        return bool(response.strip()) and "," not in response

    def repair(self, response: str, topic: str) -> str:
        return re.sub(r"\s*,\s*", " ", response)


CONSTRAINT_TYPES: dict[str, type[Constraint]] = {
    c.name: c for c in (WordLimit, RequiredWord, BulletCount, AllLowercase, StartsWith, EndsWithQuestion, NoCommas)
}

# Pairs that cannot both hold (a bullet list cannot start with a word).
INCOMPATIBLE = {frozenset({"bullet_count", "starts_with"})}

# Order in which repairs are applied: structure first, case and punctuation last, so that a later
# edit cannot undo an earlier one (e.g. lowercase after adding the required word).
REPAIR_ORDER = [
    "bullet_count",
    "word_limit",
    "required_word",
    "starts_with",
    "ends_with_question",
    "no_commas",
    "lowercase",
]


def parse_constraints(instruction: str) -> list[Constraint]:
    """Every constraint phrased in `instruction`, in the order they appear."""
    found: list[tuple[int, Constraint]] = []
    for cls in CONSTRAINT_TYPES.values():
        for m in cls.pattern.finditer(instruction):
            found.append((m.start(), cls.from_match(m)))
    return [c for _, c in sorted(found, key=lambda x: x[0])]


def repair_all(response: str, constraints: list[Constraint], topic: str, rounds: int = 3) -> str:
    """Apply every constraint's repair in REPAIR_ORDER until all hold (a few rounds: a word-limit cut
    can remove the required word, which the next round adds back after a shorter cut)."""
    ordered = sorted(constraints, key=lambda c: REPAIR_ORDER.index(c.name))
    text = response.strip() or f"Here is a short answer about {topic}."
    for _ in range(rounds):
        for c in ordered:
            text = c.repair(text, topic)
        if all(c.check(text) for c in constraints):
            return text
        # Leave room for additions made after the word-limit cut.
        ordered = [WordLimit(max(4, c.n - 12)) if isinstance(c, WordLimit) else c for c in ordered]
    return text
