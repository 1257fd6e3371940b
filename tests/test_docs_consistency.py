"""One source per figure: a timing claimed in README.md, docs/*.md and the `--help` texts either appears in
one place only or says the same number everywhere.  Covered: the demo's wall time, `--quick`'s, the setup's.

A claim is a duration ("23.7 min", "about a minute", "70-second", "1,422 s", "6 min 41 s") in a sentence
that names the topic; budgets and targets ("budget: 15 minutes", "Target: ≤ 15 minutes") are not claims.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# topic -> (a sentence is about it when it matches `about`, unless it matches `unless`)
TOPICS = {
    "demo wall time": (r"\bdemo\b|default run|make demo", r"--quick|\bquick\b|smoke"),
    "--quick wall time": (r"--quick|quick run", None),
    "setup time": (r"\bsetup\b|make setup", None),
}
NOT_A_CLAIM = re.compile(r"(budget|target|≤|at most|limit)[^.|]{0,25}$", re.I)
NOT_AFTER = re.compile(r"\s*(budget|load)", re.I)  # "its 15-minute budget", "the 1-minute load average"
DURATION = re.compile(
    r"(?P<min>\d+(?:\.\d+)?)\s*min(?:utes?)?(?:\s+(?P<sec2>\d+)\s*s\b)?"
    r"|(?P<sec>\d[\d,]*(?:\.\d+)?)(?:\s*|-)(?:s|sec|seconds?|second)\b"
    r"|(?P<mins>\d+(?:\.\d+)?)-minutes?\b"
    r"|(?P<one>about a minute|a minute)",
    re.I,
)


def _minutes(m: re.Match) -> float:
    if m.group("min"):
        return float(m.group("min")) + float(m.group("sec2") or 0) / 60
    if m.group("sec"):
        return float(m.group("sec").replace(",", "")) / 60
    if m.group("mins"):
        return float(m.group("mins"))
    return 1.0


def claims(text: str) -> dict[str, set[float]]:
    """{topic: durations in minutes (rounded to 0.1)} claimed in `text`."""
    out: dict[str, set[float]] = {}
    # Sentences; blank lines, list items, table rows, headings and each command line of a code block apart.
    for sentence in re.split(r"(?<=[.;!?])\s+|\n\s*\n|\n(?=\s*(?:[-*|#]|alignbench |make |python |\$ ))", text):
        sentence = " ".join(sentence.split())
        for topic, (about, unless) in TOPICS.items():
            if not re.search(about, sentence, re.I) or (unless and re.search(unless, sentence, re.I)):
                continue
            code = [c.span() for c in re.finditer(r"`[^`]*`", sentence)]
            for m in DURATION.finditer(sentence):
                if NOT_A_CLAIM.search(sentence[: m.start()]) or NOT_AFTER.match(sentence[m.end() :]):
                    continue
                if any(a <= m.start() < b for a, b in code):  # `done in 41.2 s` in a quoted log line: an example
                    continue
                out.setdefault(topic, set()).add(round(_minutes(m), 1))
    return out


def help_texts() -> str:
    from alignbench.cli import build_parser

    parser = build_parser()
    texts = [parser.format_help()]
    for action in parser._subparsers._group_actions:  # every command's --help, and its subcommands'
        for sub in action.choices.values():
            texts.append(sub.format_help())
            for nested in getattr(sub, "_subparsers", None)._group_actions if sub._subparsers else []:
                texts += [p.format_help() for p in nested.choices.values()]
    return "\n\n".join(texts)


def sources() -> dict[str, str]:
    out = {"README.md": (ROOT / "README.md").read_text()}
    out.update({f"docs/{p.name}": p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))})
    out["--help"] = help_texts()
    return out


def test_the_claim_finder_finds_what_the_issue_quoted():
    assert claims("The default run takes about 15 minutes on 2 CPU cores.") == {"demo wall time": {15.0}}
    assert claims("`alignbench demo --quick` runs the same pipeline in about a minute.") == {
        "--quick wall time": {1.0}
    }
    assert claims("the suite runs in under 2 minutes after a 70-second setup.") == {"setup time": {1.2, 2.0}}
    assert claims("make demo took 1,422 s = 23.7 min.") == {"demo wall time": {23.7}}
    assert claims("`make setup`: 6 min 41 s") == {"setup time": {6.7}}
    assert claims("The demo's budget: 15 minutes, 8 GB.") == {}
    assert claims("Target: ≤ 15 minutes for the demo.") == {}
    assert claims("The demo is over its 15-minute budget; make demo checks the 1-minute load average.") == {}
    assert claims("In a log, `make demo` prints `[winrate] done in 41.2 s`.") == {}
    block = "make demo\nalignbench demo --out x   # the real run, ~15 min\nalignbench demo --quick   # (< 2 min)\n"
    assert claims(block) == {"demo wall time": {15.0}, "--quick wall time": {2.0}}


def _pairs():
    found = {name: claims(text) for name, text in sources().items()}
    for topic in TOPICS:
        where = {name: c[topic] for name, c in found.items() if topic in c}
        names = sorted(where)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                yield topic, a, where[a], b, where[b]


def _cases():
    cases = []
    for topic, a, va, b, vb in _pairs():
        cases.append(pytest.param(topic, a, va, b, vb, id=f"{topic}: {a} vs {b}"))
    return cases or [pytest.param(None, None, None, None, None, id="no figure in two places")]


@pytest.mark.parametrize("topic, a, va, b, vb", _cases())
def test_no_two_places_disagree(topic, a, va, b, vb):
    if topic is None:
        return
    # One place may hold more figures than the other (several machine states); none may hold one the other
    # contradicts: the smaller set must be part of the larger.
    assert va <= vb or vb <= va, (
        f"{topic}: {a} says {sorted(va)} min, {b} says {sorted(vb)} min; state it in "
        f'one place (docs/demo.md, "Measured figures") and point there'
    )


def test_the_demo_figures_live_in_docs_demo_md():
    found = {name: claims(text) for name, text in sources().items()}
    demo = found["docs/demo.md"]
    assert 23.7 in demo["demo wall time"] and "103 GFLOP/s" in (ROOT / "docs" / "demo.md").read_text()
    assert "docs/demo.md" in sources()["--help"]  # `demo --help` points there instead of repeating numbers
    for name, c in found.items():
        if name not in ("docs/demo.md", "README.md"):
            assert "demo wall time" not in c and "--quick wall time" not in c, (name, c)
