"""Issue #13: hypothesis fuzz over every user-facing format (suites, gates, recipes, CLI overrides, data files of
every record kind as JSONL / JSON / CSV).  The generators are scripts/fuzz_front_door.py's (its longer campaign
is the benchmark); here hypothesis drives them with a small example budget so the file stays fast.

For every input: no traceback; a known-invalid input is refused (exit 2; `data validate` exits 1 = "problems
found") with a message naming the file, and its line where the input has lines; nothing is written to a run
folder or output_dir.  Random byte mutations of valid files may be accepted or refused, never crash."""

from __future__ import annotations

import importlib.util
import random
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_spec = importlib.util.spec_from_file_location(
    "fuzz_front_door", Path(__file__).resolve().parents[1] / "scripts" / "fuzz_front_door.py"
)
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_front_door"] = fuzz  # dataclasses look their module up while the class is built
_spec.loader.exec_module(fuzz)

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _check(case):
    with tempfile.TemporaryDirectory() as tmp:
        outcome = fuzz.run_case(case, Path(tmp) / "case")
    where = f"{case.name}: exit {outcome.code}: {outcome.err[:500]}"
    assert not outcome.traceback, where
    assert not outcome.wrong_accept, where
    assert not outcome.no_file, where
    assert not outcome.no_line, where
    assert not outcome.wrote_store, where


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_fuzz_suites(rng):
    _check(fuzz.suite_case(rng))


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_fuzz_gates(rng):
    _check(fuzz.gates_case(rng))


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_fuzz_recipes_and_overrides(rng):
    _check(fuzz.recipe_case(rng) if rng.random() < 0.7 else fuzz.override_case(rng))


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_fuzz_records_of_every_kind_and_format(rng):
    _check(fuzz.record_case(rng))


@SETTINGS
@given(st.randoms(use_true_random=False))
def test_fuzz_structural_malformations(rng):
    _check(fuzz.structural_case(rng))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.randoms(use_true_random=False))
def test_fuzz_random_mutations_never_crash(rng):
    _check(fuzz.mutation_case(rng))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.sampled_from(["suite", "gates", "recipe", "jsonl", "csv", "json"]), st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(which, data):
    name = {"suite": "suite.yaml", "gates": "gates.yaml", "recipe": "recipe.yaml"}.get(which, f"data.{which}")
    argv = {
        "suite": ["eval", "-m", "tiny-random", "-s", "{dir}/suite.yaml", "-o", "{dir}/run", "--dry-run"],
        "gates": ["compare", "{dir}/base", "{dir}/cand", "--gates", "{dir}/gates.yaml"],
        "recipe": ["train", "sft", "{dir}/recipe.yaml", "--output_dir", "{dir}/out", "--dry-run"],
    }.get(which, ["data", "validate", "--kind", "prompt", f"{{dir}}/{name}"])
    fmt = which if which in ("suite", "gates", "recipe") else f"data-prompt.{which}"
    _check(
        fuzz.Case(
            fmt, f"bytes {which} {data[:40]!r}", {name: data}, argv, expect="any", subject=name, store=["run", "out"]
        )
    )


def test_campaign_generators_cover_every_format():
    rng = random.Random(0)
    formats = {fuzz.make_case(rng).format.split(".")[0].split("-")[0] for _ in range(400)}
    assert formats >= {"suite", "gates", "recipe", "override", "cli", "data"}
