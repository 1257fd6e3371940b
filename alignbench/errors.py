"""Errors the CLI turns into one clear line (exit code 2) instead of a traceback."""

from __future__ import annotations


class AlignbenchError(Exception):
    """Base class: a user-facing problem with input, configuration or environment."""


class ModelSpecError(AlignbenchError):
    """A model spec string could not be resolved to a loadable model."""


class DataError(AlignbenchError):
    """Bad input data. `problems` holds every `file:line: field: message` found, not just the first."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(self.problems)
        super().__init__(message)
