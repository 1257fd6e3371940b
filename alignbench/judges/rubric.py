"""Rubric judge: a Python function or a declarative rule set scores each response; higher wins.

Used for simulated labelers (the demo's constraint-following labeler is a function) and constraint
checks.  Two forms:

    {type: rubric, function: "my_pkg.labeler:score"}      # fn(prompt, response, item) -> float
    {type: rubric, function: "path/to/file.py:score"}     # a file works too
    {type: rubric, rules: {max_words: 50, must_include: [thanks], lowercase: true}}

With rules, a response's score is the number of rules it satisfies (each rule counts 1, or its
`weights:` entry).  Rules: max_words, min_words, max_chars, min_chars, must_include (all of a list, case
insensitive), must_exclude (none of a list), regex (must match), forbid_regex (must not match),
lowercase / uppercase (no upper- / lower-case letters), starts_with, ends_with, max_sentences.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from alignbench.errors import AlignbenchError
from alignbench.judges.base import ScoringJudge

RULES = (
    "max_words",
    "min_words",
    "max_chars",
    "min_chars",
    "must_include",
    "must_exclude",
    "regex",
    "forbid_regex",
    "lowercase",
    "uppercase",
    "starts_with",
    "ends_with",
    "max_sentences",
)


def load_function(path: str) -> Callable:
    """`module.sub:function` or `path/to/file.py:function` -> the function."""
    target, sep, attr = path.rpartition(":")
    if not sep or not target or not attr:
        raise AlignbenchError(f"rubric function {path!r}: expected 'module:function' or 'file.py:function'")
    try:
        if target.endswith(".py"):
            file = Path(target).expanduser()
            if not file.is_file():
                raise AlignbenchError(f"rubric function {path!r}: {file} not found")
            spec = importlib.util.spec_from_file_location(f"alignbench_rubric_{file.stem}", file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ImportError as exc:
        raise AlignbenchError(f"rubric function {path!r}: cannot import {target!r}: {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise AlignbenchError(f"rubric function {path!r}: {target} has no function {attr!r}")
    return fn


def _words(text: str) -> list[str]:
    return text.split()


def _check_rule(rule: str, value: Any, text: str) -> bool:
    low = text.lower()
    if rule == "max_words":
        return len(_words(text)) <= value
    if rule == "min_words":
        return len(_words(text)) >= value
    if rule == "max_chars":
        return len(text) <= value
    if rule == "min_chars":
        return len(text) >= value
    if rule == "must_include":
        return all(str(v).lower() in low for v in _as_list(value))
    if rule == "must_exclude":
        return not any(str(v).lower() in low for v in _as_list(value))
    if rule == "regex":
        return re.search(value, text) is not None
    if rule == "forbid_regex":
        return re.search(value, text) is None
    if rule == "lowercase":
        return (text == text.lower()) == bool(value)
    if rule == "uppercase":
        return (text == text.upper()) == bool(value)
    if rule == "starts_with":
        return text.lstrip().lower().startswith(str(value).lower())
    if rule == "ends_with":
        return text.rstrip().lower().endswith(str(value).lower())
    if rule == "max_sentences":
        return len([s for s in re.split(r"[.!?]+", text) if s.strip()]) <= value
    raise AssertionError(rule)


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def validate_rules(rules: Any, weights: Any = None) -> None:
    if not isinstance(rules, dict) or not rules:
        raise AlignbenchError("rubric judge: rules must be a non-empty mapping, e.g. {max_words: 50}")
    for rule, value in rules.items():
        if rule not in RULES:
            raise AlignbenchError(f"rubric judge: rules.{rule}: unknown rule; known: {', '.join(RULES)}")
        if rule in ("max_words", "min_words", "max_chars", "min_chars", "max_sentences") and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise AlignbenchError(f"rubric judge: rules.{rule}: must be a non-negative integer, got {value!r}")
        if rule in ("regex", "forbid_regex"):
            try:
                re.compile(value)
            except (re.error, TypeError) as exc:
                raise AlignbenchError(f"rubric judge: rules.{rule}: not a valid regular expression: {exc}") from exc
    for rule in weights or {}:
        if rule not in rules:
            raise AlignbenchError(f"rubric judge: weights.{rule}: no such rule in rules")


class RubricJudge(ScoringJudge):
    type = "rubric"

    def __init__(
        self,
        function: str | Callable | None = None,
        rules: dict | None = None,
        weights: dict | None = None,
        name: str | None = None,
        tolerance: float = 0.0,
    ):
        if (function is None) == (rules is None):
            raise AlignbenchError("rubric judge: give exactly one of `function` or `rules`")
        self.tolerance = float(tolerance)
        if function is not None:
            self.fn = load_function(function) if isinstance(function, str) else function
            if not callable(self.fn):
                raise AlignbenchError("rubric judge: `function` must be callable or 'module:function'")
            label = (
                function
                if isinstance(function, str)
                else f"{self.fn.__module__}:{getattr(self.fn, '__qualname__', type(self.fn).__qualname__)}"
            )
            self.name = name or f"rubric:{label.rpartition(':')[2]}"
            self.rules = None
        else:
            validate_rules(rules, weights)
            self.fn = None
            self.rules = dict(rules)
            self.weights = {k: float(v) for k, v in (weights or {}).items()}
            self.name = name or "rubric:rules"
        from alignbench.store import content_key

        self.fingerprint = content_key(self.name, self.rules, getattr(self, "weights", None))[:16]

    def rule_results(self, text: str) -> dict[str, bool]:
        """Which rules a response satisfies (rules form only)."""
        return {rule: _check_rule(rule, value, text) for rule, value in (self.rules or {}).items()}

    def score(
        self,
        prompts: Sequence[str],
        texts: Sequence[str],
        item_ids: Sequence[str],
        items: Sequence[dict] | None = None,
    ) -> list[float]:
        self._check_lengths(prompts=prompts, texts=texts, item_ids=item_ids, items=items)
        out = []
        for i, (prompt, text) in enumerate(zip(prompts, texts)):
            if self.fn is not None:
                value = self.fn(prompt, text, items[i] if items is not None else {"id": item_ids[i]})
                try:
                    out.append(float(value))
                except (TypeError, ValueError) as exc:
                    raise AlignbenchError(
                        f"rubric judge {self.name}: function returned {value!r} for item "
                        f"{item_ids[i]}, expected a number"
                    ) from exc
            else:
                results = self.rule_results(text)
                out.append(float(sum(self.weights.get(r, 1.0) for r, ok in results.items() if ok)))
        return out
