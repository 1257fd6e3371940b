"""Imports point down: the package's import graph follows the layer map in docs/architecture.md.

Every module under `alignbench/` is parsed with `ast` (imports inside functions count: a lazy import is still a
dependency), mapped to its layer, and checked for
- upward imports (a module importing from a higher layer), and
- cycles: between modules, and between packages (two packages of one layer may use each other only one way).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "alignbench"

# Lowest first.  A module may import from its own layer's packages (acyclically) and from any lower layer.
LAYERS: list[tuple[str, ...]] = [
    ("config", "errors", "provenance", "version", "stats", "schemas", "progress"),
    ("models", "data", "store"),
    ("engines", "scorers", "judges"),
    ("training", "evals"),
    ("reports", "demo", "labeling"),
    ("commands", "cli"),
]


def package_of(module: str) -> str:
    """`alignbench.evals.suite` -> `evals`; `alignbench` itself -> `` (the root package, base layer)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(module: str) -> int:
    pkg = package_of(module)
    if pkg == "":
        return 0
    for i, names in enumerate(LAYERS):
        if pkg in names:
            return i
    raise AssertionError(f"{module}: package {pkg!r} has no layer; add it to LAYERS and docs/architecture.md")


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the alignbench modules it imports anywhere in its body (top level or inside functions)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    pkg = root.name
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import: resolve against this module's package
                    anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import sub` names the submodule when one exists, else the package itself
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for name in names:
                if name == pkg or name.startswith(pkg + "."):
                    while name not in files and "." in name:  # `import a.b.func` style: keep the module part
                        name = name.rsplit(".", 1)[0]
                    if name != mod:
                        targets.add(name)
        graph[mod] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (iterative DFS, white/grey/black)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child) :] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every upward import, plus one module cycle and one package cycle if any; each names both ends."""
    out = []
    for mod in sorted(graph):
        for target in sorted(graph[mod]):
            if layer_of(target) > layer_of(mod):
                out.append(f"upward import: {mod} (layer {layer_of(mod)}) imports {target} (layer {layer_of(target)})")
    out += [f"module cycle: {' -> '.join(c)}" for c in all_cycles(graph)]
    packages: dict[str, set[str]] = {}
    for mod, targets in graph.items():
        for target in targets:
            a, b = package_of(mod), package_of(target)
            if a and b and a != b:
                packages.setdefault(a, set()).add(b)
    out += [f"package cycle: {' -> '.join(c)}" for c in all_cycles(packages)]
    return out


def all_cycles(graph: dict[str, set[str]], limit: int = 50) -> list[list[str]]:
    """Cycles until none is left, breaking each found one at its closing edge so the next can show."""
    graph = {k: set(v) for k, v in graph.items()}
    found = []
    while len(found) < limit and (cycle := find_cycle(graph)):
        found.append(cycle)
        graph[cycle[-2]].discard(cycle[-1])
    return found


# ---------------------------------------------------------------------------------------------------------------


def test_every_package_has_a_layer():
    for mod in import_graph():
        layer_of(mod)


def test_imports_point_down():
    problems = violations(import_graph())
    assert not problems, "\n".join(problems)


def test_checker_rejects_upward_and_circular_imports():
    graph = {
        "alignbench.models.spec": {"alignbench.training.reward"},  # upward: models (1) -> training (3)
        "alignbench.training.reward": set(),
        "alignbench.data.readers": {"alignbench.data.adapters"},  # cycle inside data
        "alignbench.data.adapters": {"alignbench.data.readers"},
        "alignbench.engines.x": {"alignbench.judges.y"},  # package cycle within one layer
        "alignbench.judges.y": set(),
        "alignbench.judges.z": {"alignbench.engines.w"},
        "alignbench.engines.w": set(),
    }
    problems = violations(graph)
    assert any("upward import: alignbench.models.spec" in p and "alignbench.training.reward" in p for p in problems)
    assert any(p.startswith("module cycle:") and "alignbench.data.readers" in p for p in problems)
    assert any(p.startswith("package cycle:") and "engines" in p and "judges" in p for p in problems)
    fixed = {k: set() for k in graph}
    assert violations(fixed) == []


def test_planted_upward_import_fails(tmp_path):
    copy = tmp_path / "alignbench"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("resources", "__pycache__"))
    assert violations(import_graph(copy)) == []
    target = copy / "models" / "builtin.py"
    # planted inside a function: a lazy import is still an import
    target.write_text(target.read_text() + "\n\ndef _planted():\n    from alignbench.evals.runner import run_suite\n")
    problems = violations(import_graph(copy))
    assert any("alignbench.models.builtin" in p and "alignbench.evals.runner" in p for p in problems), problems


@pytest.mark.parametrize("layer", range(len(LAYERS)))
def test_layers_name_real_packages(layer):
    # a package listed in LAYERS that does not exist is a stale map (labeling may arrive later: allowed)
    for pkg in LAYERS[layer]:
        if pkg in ("labeling",):
            continue
        assert (ROOT / pkg).is_dir() or (ROOT / f"{pkg}.py").is_file(), pkg
