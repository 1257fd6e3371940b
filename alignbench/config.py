"""Process-wide settings read from the environment: where caches and shared data live.

Everything here is a function, not a module constant, so tests can point the
environment somewhere else and see the change at once.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$ALIGNBENCH_CACHE`, default `~/.cache/alignbench`; created on first use."""
    path = Path(os.environ.get("ALIGNBENCH_CACHE", Path.home() / ".cache" / "alignbench")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkout_root() -> Path | None:
    """The project checkout this package runs from (the folder holding pyproject.toml next to alignbench/),
    or None for an installed wheel."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "alignbench").is_dir() else None


def shared_data_candidates() -> list[tuple[Path, str]]:
    """Where the real data sets may live, in the order they are tried, each with why:
    1. `$ALIGNBENCH_SHARED_DATA` when set, and then only it (an explicit choice is never second-guessed);
    2. `shared/data` beside the project checkout (<checkout>/../shared/data), found from the package's own
       location, so the same command finds the same data from any current directory;
    3. `../shared/data` from the current directory (an installed wheel run inside a project folder)."""
    if os.environ.get("ALIGNBENCH_SHARED_DATA"):
        return [(Path(os.environ["ALIGNBENCH_SHARED_DATA"]).expanduser().resolve(), "$ALIGNBENCH_SHARED_DATA")]
    out: list[tuple[Path, str]] = []
    root = checkout_root()
    if root is not None:
        out.append(((root.parent / "shared" / "data").resolve(), "beside the checkout"))
    out.append(((Path.cwd() / ".." / "shared" / "data").resolve(), "../shared/data from the current folder"))
    seen: set[Path] = set()
    return [(p, why) for p, why in out if not (p in seen or seen.add(p))]


def shared_data_dir() -> Path:
    """Real public data sets (TruthfulQA, HH-RLHF, ...): the first of shared_data_candidates() that exists,
    else the first candidate (so an error names the place the user asked for)."""
    candidates = shared_data_candidates()
    return next((p for p, _ in candidates if p.is_dir()), candidates[0][0])


def find_shared_data(folder: str) -> tuple[Path | None, list[str]]:
    """(the first candidate base holding `folder`, every place tried as "PATH (why)")."""
    tried = []
    for base, why in shared_data_candidates():
        path = base / folder
        if path.exists():
            return path, tried
        tried.append(f"{path} ({why})")
    return None, tried


def resources_dir() -> Path:
    """Package data shipped inside the wheel (suites, recipes, demo data, the toxicity head)."""
    return Path(__file__).resolve().parent / "resources"
