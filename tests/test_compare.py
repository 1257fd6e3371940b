"""`alignbench compare`: paired bootstrap per metric, verdicts, gates, JUnit and summary outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from helpers_synthetic_runs import make_run

from alignbench.cli import main
from alignbench.errors import AlignbenchError
from alignbench.reports.compare import BETTER, SAME, WORSE, compare_runs
from alignbench.reports.gates import evaluate_gates, exit_code, junit_xml, load_gates, summary_markdown
from alignbench.reports.load import load_run

GATES = """\
gates:
  - metric: toxicity/respectful.emt      # the planted regression
    max_increase: 0.01
  - metric: winrate.win_rate
    min: 0.5
    use: ci_low
  - metric: alignment_tax/hellaswag.acc_delta
    min: -0.01
  - name: TruthfulQA holds
    metric: "truthfulqa*.*"
    no_regression: true
  - metric: hallucination/summarization.hallucination_rate
    max_increase: 0.02
  - metric: toxicity/none.toxicity_prob
    max: 0.5
"""
PLANTED = "toxicity/respectful.emt: rise ≤ 0.01 (with significance)"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    make_run(root / "base", seed=0)
    make_run(root / "same", seed=0)
    # Planted: EMT rises by 0.08 on every item.  Noise: a few items flip on other metrics.
    make_run(
        root / "regressed",
        seed=0,
        effects={"toxicity/respectful.emt": 0.08},
        flip={"winrate.win_rate": 2, "truthfulqa_mc.mc1": 2, "hallucination/summarization.hallucination_rate": 2},
    )
    (root / "gates.yaml").write_text(GATES)
    return root


def _run(root, cand, **kw):
    comparison = compare_runs(load_run(root / "base"), load_run(root / cand), **kw)
    return comparison, evaluate_gates(load_gates(root / "gates.yaml"), comparison)


def test_identical_runs_pass_every_gate(runs):
    comparison, results = _run(runs, "same")
    assert len(comparison.changes) == 14
    assert all(c.verdict == SAME and c.diff == 0 and c.method == "paired-bootstrap" for c in comparison.changes)
    assert results and all(r.status == "pass" for r in results)
    assert exit_code(results) == 0


def test_planted_regression_fails_exactly_that_gate(runs):
    comparison, results = _run(runs, "regressed")
    failed = [r.name for r in results if r.status == "fail"]
    assert failed == [PLANTED]
    emt = comparison.get("toxicity/respectful.emt")
    assert emt.verdict == WORSE and emt.diff == pytest.approx(0.08, abs=0.02) and emt.ci_low > 0.01
    # Flipped items are noise: inside the CI, so neither a verdict nor a gate moves.
    for key in ("winrate.win_rate", "truthfulqa_mc.mc1", "hallucination/summarization.hallucination_rate"):
        change = comparison.get(key)
        assert change.diff != 0 and change.verdict == SAME, key
    assert exit_code(results) == 1


def test_same_runs_same_verdicts_every_time(runs):
    first, _ = _run(runs, "regressed")
    second, _ = _run(runs, "regressed")
    assert [(c.key, c.diff, c.ci_low, c.ci_high, c.verdict) for c in first.changes] == [
        (c.key, c.diff, c.ci_low, c.ci_high, c.verdict) for c in second.changes
    ]


def test_improvement_is_better_not_worse(tmp_path):
    make_run(tmp_path / "a", seed=0)
    make_run(tmp_path / "b", seed=0, effects={"toxicity/respectful.emt": -0.05, "truthfulqa_mc.mc2": 0.1})
    comparison = compare_runs(load_run(tmp_path / "a"), load_run(tmp_path / "b"))
    assert comparison.get("toxicity/respectful.emt").verdict == BETTER  # lower is better
    assert comparison.get("truthfulqa_mc.mc2").verdict == BETTER


def test_differing_item_sets_are_refused_unless_partial(tmp_path):
    make_run(tmp_path / "a", seed=0)
    make_run(tmp_path / "b", seed=0, drop_items={"truthfulqa_mc.mc1": 5})
    with pytest.raises(AlignbenchError) as err:
        compare_runs(load_run(tmp_path / "a"), load_run(tmp_path / "b"))
    assert "truthfulqa_mc.mc1: base 60 items, candidate 55 items, 55 shared" in str(err.value)
    assert "--allow-partial" in str(err.value)
    comparison = compare_runs(load_run(tmp_path / "a"), load_run(tmp_path / "b"), allow_partial=True)
    assert comparison.get("truthfulqa_mc.mc1").n == 55
    assert comparison.partial == {"truthfulqa_mc.mc1": (60, 55, 55)}
    assert "shared 55" in summary_markdown(comparison, [])


def test_delta_items_rebuilt_and_unpaired_fallback(tmp_path):
    from alignbench.store import Store

    for name, shift in (("a", 0.0), ("b", 0.3)):
        store = Store(tmp_path / name)
        run = store.start_run("eval")
        store.add_model(run, "cand", "x", "fp-c", "candidate")
        store.add_model(run, "base", "y", "fp-b", "baseline")
        cand = {f"i{i}": float(i % 2) for i in range(40)}
        base = {f"i{i}": float(i % 3 == 0) for i in range(40)}
        if shift:
            cand = {k: 0.0 if int(k[1:]) % 2 else 1.0 for k in cand}  # different items right
        store.put_item_metrics(run, "alignment_tax/hellaswag", "acc", "cand", cand)
        store.put_item_metrics(run, "alignment_tax/hellaswag", "acc", "base", base)
        store.put_metric(
            run,
            "alignment_tax/hellaswag",
            "acc_delta",
            "cand",
            0.1,
            0.0,
            0.2,
            40,
            True,
            {"label": "acc Δ", "baseline": "base"},
        )
        store.put_metric(
            run,
            "hallucination/x",
            "hallucination_rate",
            "cand",
            0.2 + shift,
            0.1 + shift,
            0.3 + shift,
            40,
            False,
            {"label": "h"},
        )  # aggregate only, no per-item values
        store.close()
    comparison = compare_runs(load_run(tmp_path / "a"), load_run(tmp_path / "b"))
    delta = comparison.get("alignment_tax/hellaswag.acc_delta")
    assert delta.method == "paired-bootstrap" and delta.n == 40
    halluc = comparison.get("hallucination/x.hallucination_rate")
    assert halluc.method == "unpaired-ci" and halluc.diff == pytest.approx(0.3)
    assert halluc.ci_low == pytest.approx(0.3 - (0.1**2 * 2) ** 0.5) and halluc.verdict == WORSE


def test_several_candidates_need_a_choice(tmp_path):
    from alignbench.store import Store

    make_run(tmp_path / "a", seed=0)
    make_run(tmp_path / "b", seed=0)
    Store(tmp_path / "b").add_model(load_run(tmp_path / "b").run_id, "another", "z", "fp-z", "candidate")
    with pytest.raises(AlignbenchError, match="--cand-model"):
        compare_runs(load_run(tmp_path / "a"), load_run(tmp_path / "b"))
    assert compare_runs(load_run(tmp_path / "a"), load_run(tmp_path / "b"), cand_model="smollm2-ppo").changes


def test_junit_has_the_schema_shape(runs):
    comparison, results = _run(runs, "regressed")
    root = ET.fromstring(junit_xml(results, comparison))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) == len(results)
    assert int(suite.get("failures")) == 1 and suite.get("errors") == "0" and int(root.get("failures")) == 1
    for case in cases:
        assert case.get("name") and case.get("classname") and case.get("time") is not None
        assert set(child.tag for child in case) <= {"failure", "skipped", "system-out"}
    failures = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == [PLANTED]
    failure = failures[0].find("failure")
    assert failure.get("type") == "GateFailed" and "rose by more than 0.01" in failure.get("message")
    assert "gates.yaml:2" in failure.text
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["seed"] == "0" and props["cand_model"] == "smollm2-ppo"


def test_cli_exit_codes_and_outputs(runs, tmp_path, capsys):
    args = ["compare", str(runs / "base"), "--gates", str(runs / "gates.yaml")]
    assert main(args[:2] + [str(runs / "same")] + args[2:]) == 0
    junit, summary = tmp_path / "out" / "junit.xml", tmp_path / "out" / "summary.md"
    code = main(args[:2] + [str(runs / "regressed")] + args[2:] + ["--junit", str(junit), "--summary", str(summary)])
    assert code == 1
    text = summary.read_text()
    assert "1 of 11 gates failed" in text and "❌" in text and "toxicity/respectful.emt" in text
    assert ET.parse(junit).getroot().tag == "testsuites"
    # --summary appends (a GitHub job summary file may already hold other steps' output).
    main(args[:2] + [str(runs / "same")] + args[2:] + ["--summary", str(summary)])
    assert summary.read_text().count("## alignbench compare") == 2
    assert main(["compare", str(runs / "base"), str(runs / "regressed"), "--fail-on-regression"]) == 1
    assert main(["compare", str(runs / "base"), str(runs / "same"), "--fail-on-regression"]) == 0
    capsys.readouterr()
    assert main(["compare", str(runs / "base"), str(tmp_path / "nowhere")]) == 2
    assert "nowhere: not a run folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "gates:\n  - metric: a.b\n    max_increase: 0.1\n    min: 0.2\n",
            "gates.yaml:2: gates[0]: needs exactly one rule",
        ),
        (
            "gates:\n  - metric: a.b\n    min: 0.2\n  - metric: c.d\n    maximum: 1\n",
            "gates.yaml:4: gates[1]: unknown key(s) maximum",
        ),
        ("gates:\n  - metric: a.b\n    min: high\n", "gates.yaml:2: gates[0].min: must be a number"),
        (
            "gates:\n  - metric: a.b\n    max_increase: 0.1\n    use: ci_low\n",
            "gates[0].use: must be one of ci, value",
        ),
        ("gates:\n  - metric: winrate\n    min: 0.5\n", "gates[0].metric: must be 'EVAL.METRIC'"),
        ("gates:\n  - metric: a.b\n    no_regression: yes please\n", "gates[0].no_regression: must be true"),
        ("rules: []\n", "expected a mapping with a `gates:` list"),
        ("gates: [\n", "not valid YAML"),
    ],
)
def test_bad_gates_name_file_line_and_key(tmp_path, capsys, text, message):
    path = tmp_path / "gates.yaml"
    path.write_text(text)
    with pytest.raises(AlignbenchError) as err:
        load_gates(path)
    assert message in str(err.value)
    make_run(tmp_path / "a", seed=0, n_items=5)
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "a"), "--gates", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_missing_metric_fails_unless_optional(runs, tmp_path):
    comparison, _ = _run(runs, "same")
    path = tmp_path / "g.yaml"
    path.write_text(
        "gates:\n  - metric: nosuch.metric\n    min: 0\n  - metric: other.metric\n    min: 0\n    required: false\n"
    )
    results = evaluate_gates(load_gates(path), comparison)
    assert [r.status for r in results] == ["fail", "skipped"]
    assert "in neither run" in results[0].message
    root = ET.fromstring(junit_xml(results, comparison))
    assert root.find("testsuite").get("skipped") == "1"


# The JUnit XML shape CI servers read (after Jenkins' junit-10.xsd / the common "JUnit XML reporting
# file format"): testsuites > testsuite (properties?, testcase*) > testcase (failure | error | skipped)?.
JUNIT_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="xs:nonNegativeInteger"/>
      <xs:attribute name="failures" type="xs:nonNegativeInteger"/>
      <xs:attribute name="errors" type="xs:nonNegativeInteger"/>
      <xs:attribute name="skipped" type="xs:nonNegativeInteger"/>
      <xs:attribute name="time" type="xs:decimal"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="properties" minOccurs="0">
          <xs:complexType><xs:sequence>
            <xs:element name="property" minOccurs="0" maxOccurs="unbounded">
              <xs:complexType>
                <xs:attribute name="name" type="xs:string" use="required"/>
                <xs:attribute name="value" type="xs:string" use="required"/>
              </xs:complexType>
            </xs:element>
          </xs:sequence></xs:complexType>
        </xs:element>
        <xs:element name="testcase" minOccurs="0" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:choice minOccurs="0">
                <xs:element name="skipped"><xs:complexType><xs:simpleContent><xs:extension base="xs:string">
                  <xs:attribute name="message" type="xs:string"/></xs:extension></xs:simpleContent></xs:complexType>
                </xs:element>
                <xs:element name="error" type="problem"/>
                <xs:element name="failure" type="problem"/>
              </xs:choice>
              <xs:element name="system-out" type="xs:string" minOccurs="0"/>
              <xs:element name="system-err" type="xs:string" minOccurs="0"/>
            </xs:sequence>
            <xs:attribute name="name" type="xs:string" use="required"/>
            <xs:attribute name="classname" type="xs:string" use="required"/>
            <xs:attribute name="time" type="xs:decimal"/>
          </xs:complexType>
        </xs:element>
        <xs:element name="system-out" type="xs:string" minOccurs="0"/>
        <xs:element name="system-err" type="xs:string" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="failures" type="xs:nonNegativeInteger"/>
      <xs:attribute name="errors" type="xs:nonNegativeInteger"/>
      <xs:attribute name="skipped" type="xs:nonNegativeInteger"/>
      <xs:attribute name="time" type="xs:decimal"/>
    </xs:complexType>
  </xs:element>
  <xs:complexType name="problem">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="message" type="xs:string"/>
      <xs:attribute name="type" type="xs:string" use="required"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
</xs:schema>"""


@pytest.mark.parametrize("cand", ["same", "regressed"])
def test_junit_validates_against_the_xsd(runs, tmp_path, cand):
    from lxml import etree  # a dependency of sacrebleu, so always installed

    comparison, results = _run(runs, cand)
    results += evaluate_gates(
        load_gates_text(tmp_path, "gates:\n  - metric: x.y\n    min: 0\n    required: false\n"), comparison
    )  # a skipped case too
    schema = etree.XMLSchema(etree.fromstring(JUNIT_XSD.encode()))
    doc = etree.fromstring(junit_xml(results, comparison).encode())
    assert schema.validate(doc), schema.error_log
    # and the XSD is not vacuous: a testcase without a name is rejected
    del doc.find(".//testcase").attrib["name"]
    assert not schema.validate(doc)


def load_gates_text(tmp_path, text):
    path = tmp_path / "extra.yaml"
    path.write_text(text)
    return load_gates(path)
