"""Problems found in a user's file, rendered `file:line: field: what is wrong`, all at once.

Every schema of alignbench.schemas reports through `SchemaError`: a list of `Problem`s, each naming the
file, the line (when the file has lines), the dotted field and what is wrong, with a did-you-mean for
unknown keys.  `pydantic_problems` turns a pydantic ValidationError into these, so the models stay plain
pydantic and the CLI still prints one clear block and exits 2 (AlignbenchError).
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alignbench.errors import AlignbenchError

Path_ = tuple  # a field path inside a file: ("evals", 0, "decoding", "top_p")


@dataclass
class Problem:
    source: str  # the file (or "<suite>" for an in-memory dict)
    line: int | None  # 1-based, None where the input has no lines
    field: str  # dotted path, "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SchemaError(AlignbenchError):
    """One or more problems in one user-facing file; the message lists every one of them."""

    def __init__(self, problems: list[Problem] | str, what: str = "invalid"):
        if isinstance(problems, str):  # one preformatted message (kept for callers that build their own)
            self.problems = []
            super().__init__(problems)
            return
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            message = f"{self.problems[0].source}: {len(self.problems)} problems ({what})\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(message)


def field_name(path: Iterable) -> str:
    """("evals", 0, "decoding", "top_p") -> "evals[0].decoding.top_p"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(lines: dict, path: tuple) -> int | None:
    """The line of `path`, else of its closest ancestor that has one."""
    path = tuple(path)
    while path:  # the file itself () has no line worth naming
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _models_in(annotation) -> list[type]:
    """The pydantic models an annotation may hold (list[M], M | None, dict[str, M] ...)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _known_keys(model: type, loc: tuple) -> list[str]:
    """Field names (aliases where set) of the model that sits at `loc` under `model`."""
    models = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        nxt = []
        for m in models:
            info = m.model_fields.get(part) or next((f for f in m.model_fields.values() if f.alias == part), None)
            if info is not None:
                nxt += _models_in(info.annotation)
        models = nxt
        if not models:
            return []
    return sorted({f.alias or n for m in models for n, f in m.model_fields.items()})


def unknown_key_message(key: Any, known: Iterable[str]) -> str:
    known = sorted(known)
    if not isinstance(key, str):
        return f"key {short(key)} is not a string" + (f" (known keys: {', '.join(known)})" if known else "")
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"unknown key{hint}" + (f" (known: {', '.join(known)})" if known and len(known) <= 40 else "")


_MESSAGES = {
    "missing": "missing",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "literal_error": None,  # pydantic's "Input should be 'a' or 'b'" reads well
}


def pydantic_problems(
    exc, source: str, lines: dict, data: Any, model: type | None = None, prefix: tuple = ()
) -> list[Problem]:
    """A pydantic ValidationError as Problems; `prefix` is where the validated value sits in the file."""
    problems, seen = [], set()
    for err in exc.errors():
        # keep only the parts of loc that exist in the data (pydantic adds union / validator tags)
        path, value, loc_model = [], data, []
        for part in err["loc"]:
            if (
                isinstance(value, dict)
                and part in value
                or isinstance(value, list)
                and isinstance(part, int)
                and 0 <= part < len(value)
            ):
                path.append(part)
                loc_model.append(part)
                value = value[part]
            elif err["type"] == "missing" and part == err["loc"][-1]:
                path.append(part)
        kind = err["type"]
        if kind == "extra_forbidden":
            known = _known_keys(model, tuple(loc_model[:-1])) if model is not None else []
            message = unknown_key_message(path[-1] if path else "?", known)
        elif kind == "invalid_key":
            message = f"key {short(err['input'])} is not a string"
        elif kind in ("value_error", "assertion_error"):
            message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        else:
            message = _MESSAGES.get(kind) or err["msg"].replace("Input should be ", "must be ")
            if kind != "missing":
                message += f" (got {short(err.get('input'))})"
        full = prefix + tuple(path)
        if full in seen:  # a union reports one error per member; the first reads best
            continue
        seen.add(full)
        problems.append(Problem(source, line_of(lines, full), field_name(full), message))
    return problems
