"""Closed-domain hallucination: the lexical baseline, balanced accuracy, judges' validation against the
human labels of QAGS and SummEdits, and the eval end to end on tiny-random."""

from __future__ import annotations

import pytest

from alignbench.evals import hallucination as hal
from alignbench.judges import consistency as cons
from alignbench.judges import make_judge

SOURCE = "The council approved a new park in Springfield on Monday. Construction starts in 2025."


def test_unsupported_words_are_the_new_content_words():
    assert cons.unsupported_words("The council approved the park.", SOURCE) == []
    assert cons.unsupported_words("The mayor approved a park in Shelbyville.", SOURCE) == ["mayor", "shelbyville"]
    # numbers count; plural/singular variants are supported
    assert cons.unsupported_words("Construction starts in 2026.", SOURCE) == ["2026"]
    assert cons.unsupported_words("New parks approved.", SOURCE) == []


def test_unsupported_share():
    assert cons.lexical_unsupported_share("council mayor", SOURCE) == pytest.approx(0.5)
    assert cons.lexical_unsupported_share("the and of", SOURCE) == 0.0  # no content words


def test_balanced_accuracy_is_mean_recall():
    # positives: 2 of 2 found; negatives: 1 of 4 found -> (1.0 + 0.25) / 2
    assert hal.balanced_accuracy([1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]) == pytest.approx(0.625)


def test_validate_lexical_judge_on_human_labels(shared_data, capsys):
    """`alignbench judges validate` on the real QAGS labels prints balanced accuracy, overall and per subset;
    the lexical baseline is better than chance on QAGS (its summaries are model-written, so a summary with
    new content words is more often judged unsupported by the crowd)."""
    from alignbench.cli import main

    assert main(["judges", "validate", "--judge", "lexical", "--dataset", "qags"]) == 0
    text = capsys.readouterr().out
    assert "cnndm" in text and "xsum" in text
    overall = float(text.strip().splitlines()[-1].split()[2])
    assert 0.55 < overall < 0.7  # measured 0.610 on the 474 QAGS summaries


def test_validate_result_counts_match_labels(shared_data):
    judge = cons.LexicalJudge(threshold=0.0)
    res = hal.validate_judge(judge, "summedits", subset="news", split="test", limit=80)
    assert res["n"] == 80 and set(res["subsets"]) == {"news"}
    assert 0.0 <= res["balanced_accuracy"] <= 1.0


def test_bad_validation_dataset_is_a_clear_error(shared_data):
    from alignbench.cli import main

    with pytest.raises(SystemExit):
        main(["judges", "validate", "--judge", "lexical", "--dataset", "squad"])


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory):
    """A tiny-random Llama with a 3-way NLI head, saved as a local HF folder: the real NLI code path."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    from alignbench.models import resolve

    base = resolve("tiny-random").path
    config = LlamaConfig.from_pretrained(base)
    config.num_labels = 3
    config.id2label = {0: "entailment", 1: "neutral", 2: "contradiction"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    import torch

    torch.manual_seed(0)
    model = LlamaForSequenceClassification(config)
    folder = tmp_path_factory.mktemp("nli")
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return str(folder)


def test_nli_judge_scores_are_one_minus_entailment(tiny_nli):
    assert cons.entailment_index({0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}) == 0
    assert cons.entailment_index({0: "LABEL_0", 1: "LABEL_1"}) == 1
    with pytest.raises(ValueError):
        cons.entailment_index({0: "a", 1: "b", 2: "c"})
    judge = cons.NLIJudge(tiny_nli, batch_size=2)
    scores = judge.hallucination_scores([SOURCE, SOURCE, "short"], ["The council approved a park.", "x", "y"])
    assert scores.shape == (3,) and ((scores > 0) & (scores < 1)).all()
    expected = int(judge.hallucination_scores([SOURCE], ["A park."])[0] > 0.5)
    assert judge.predict([SOURCE], ["A park."]).tolist() == [expected]


def test_run_summarization_with_two_judges(tmp_path, shared_data, tiny_nli):
    import json

    from alignbench.evals.runner import run_suite
    from alignbench.store import Store

    suite = {
        "name": "t",
        "evals": [
            {
                "name": "hallucination/summarization",
                "type": "hallucination",
                "task": "summarization",
                "dataset": "summedits",
                "subset": "samsum",
                "judges": [{"type": "lexical"}, {"type": "nli", "model": tiny_nli}],
                "decoding": {"max_new_tokens": 6},
            }
        ],
    }
    out = run_suite(suite, ["tiny-random"], out=tmp_path / "run", limit=30, cache=False, progress=False)
    m = json.loads((out / "metrics.json").read_text())["hallucination/summarization"]
    assert len(m) == 2 and all(k.startswith("hallucination_rate_") for k in m)
    store = Store(out)
    samples = store.frame("samples")
    # SummEdits repeats documents: one generation per distinct document
    assert len(samples) == len(set(samples.prompt))
    for row in m.values():
        r = row["tiny-random"]
        assert r["n"] == len(samples) and 0.0 <= r["value"] <= 1.0 and r["higher_is_better"] is False


def test_llm_judge_parses_yes_no_from_a_real_engine(tiny_model):
    """Mechanics only (tiny-random is not a judge): the prompt carries source and output, the verdict is
    read from the generated text, and it is cached like any generation."""
    from alignbench.engines import make_generation_engine
    from alignbench.store import Store

    class Recording:
        def __init__(self, engine):
            self.engine, self.fingerprint, self.prompts = engine, engine.fingerprint, []

        def generate(self, prompts, params, **kw):
            self.prompts += prompts
            outs = self.engine.generate(prompts, params, **kw)
            self.texts = [o[0].text for o in outs]
            return outs

    import tempfile

    with tempfile.TemporaryDirectory() as d:
        engine = Recording(make_generation_engine(tiny_model, cache=Store(d)))
        engines = type("Engines", (), {"engine": lambda self, spec: engine})()
        judge = make_judge({"type": "llm", "model": "tiny-random"}, task="hallucination", engines=engines)
        scores = judge.hallucination_scores([SOURCE], ["The mayor approved it."])
        assert "SOURCE:\n" + SOURCE in engine.prompts[0] and "The mayor approved it." in engine.prompts[0]
        assert scores.tolist() == [1.0 if engine.texts[0].strip().lower().startswith("yes") else 0.0]


def test_first_block_skips_leading_newlines():
    text = "\n\nThe council approved a park.\n\nQ: next"
    assert hal.first_block(text, "summarization") == "The council approved a park."
    assert hal.first_block("\n Rollo\nQuestion: x", "closed_qa") == "Rollo"
