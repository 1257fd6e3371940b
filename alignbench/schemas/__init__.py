"""The validation layer: every user-facing file and option is checked here, in one place, before any model
or data set loads (docs/architecture.md "Validation").

    from alignbench.schemas import load_yaml, SchemaError
    doc = load_yaml(path)                   # bounded, strict YAML with the line of every value
    validate_gates(doc)                     # pydantic models per file kind; SchemaError lists every problem

Imports nothing above alignbench.errors, so data, evals, training and reports can all use it.
"""

from alignbench.schemas.problems import (
    Problem,
    SchemaError,
    field_name,
    pydantic_problems,
    unknown_key_message,
)
from alignbench.schemas.yamlfile import YamlDoc, load_yaml, parse_yaml

__all__ = [
    "Problem",
    "SchemaError",
    "YamlDoc",
    "field_name",
    "load_yaml",
    "parse_yaml",
    "pydantic_problems",
    "unknown_key_message",
]
