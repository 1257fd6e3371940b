"""The labeling package sits above store, data, judges and evals, beside reports: only the `label` command
imports it, and it imports nothing from reports, demo or commands (counting imports inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "alignbench"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_only_the_label_command_imports_labeling():
    importers = {
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if not p.is_relative_to(PACKAGE / "labeling")
        and any(m == "alignbench.labeling" or m.startswith("alignbench.labeling.") for m in _imports(p))
    }
    assert importers == {"commands/label.py"}


def test_labeling_imports_nothing_from_its_level_or_above():
    for path in (PACKAGE / "labeling").glob("*.py"):
        bad = [
            m for m in _imports(path) if m.startswith(("alignbench.reports", "alignbench.demo", "alignbench.commands"))
        ]
        assert not bad, (path.name, bad)
