"""Win rate end to end on tiny-random models: metrics agree with the stored judgements, several candidates
share one baseline, and a run killed part-way resumes without re-generating and ends with the same metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alignbench.evals.runner import run_suite
from alignbench.store import Store

PROMPTS = [
    "Tell me a joke.",
    "What is the capital of France?",
    "Write a haiku about rain.",
    "How do I boil an egg?",
    "Name three colours.",
    "Why is the sky blue?",
    "Give me a tip for sleeping well.",
    "Translate 'hello' to French.",
]


def e_count(prompt, response, item):
    """A rubric 'labeler' whose verdicts depend on the text: prefers responses with more letter e's."""
    return float(response.lower().count("e"))


class Crashing:
    """The same labeler, but it can be told to crash on its Nth call (a run killed mid-way)."""

    def __init__(self):
        self.calls, self.crash_on = 0, None

    def __call__(self, prompt, response, item):
        self.calls += 1
        if self.crash_on is not None and self.calls >= self.crash_on:
            raise KeyboardInterrupt("killed mid-run")
        return e_count(prompt, response, item)


@pytest.fixture(scope="module")
def prompts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "prompts.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": p}) + "\n" for i, p in enumerate(PROMPTS)))
    return path


def _suite(prompts_file, judge, **extra):
    return {
        "name": "t",
        "seed": 1,
        "evals": [
            {
                "name": "winrate",
                "dataset": str(prompts_file),
                "batch_size": 4,
                "n_resamples": 500,
                "lc_resamples": 20,
                "decoding": {"max_new_tokens": 6, "temperature": 1.0},
                "judge": judge,
                **extra,
            }
        ],
    }


@pytest.fixture()
def count_generations(monkeypatch):
    """Counts prompts the HF backend really generates for (i.e. cache misses); `calls` holds each call's size."""
    from alignbench.engines.backends import hf

    counter = {"n": 0, "calls": []}
    original = hf.HFBackend.generate

    def counting(self, requests, params):
        counter["n"] += len(requests)
        counter["calls"].append(len(requests))
        return original(self, requests, params)

    monkeypatch.setattr(hf.HFBackend, "generate", counting)
    return counter


CANDIDATES = [("a", "tiny-random:1"), ("b", "tiny-random:2")]
BASELINE = ("base", "tiny-random")


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory, prompts_file):
    """One uninterrupted run (the reference for the resume tests)."""
    return run_suite(
        _suite(prompts_file, {"type": "rubric", "function": e_count, "name": "e-count"}),
        CANDIDATES,
        baseline=BASELINE,
        out=tmp_path_factory.mktemp("fresh"),
        cache=False,
        progress=False,
    )


def test_winrate_metrics_agree_with_stored_judgements(fresh_run):
    run_dir = fresh_run
    store = Store(run_dir)
    run_id = store.latest_run_id()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics == store.metrics_dict(run_id)
    samples = store.frame("samples", run_id)
    assert len(samples) == 2 * len(PROMPTS)
    for cand in ("a", "b"):
        rows = samples[samples.model == cand]
        # recompute every verdict from the texts the store holds
        prefs = []
        for out, base, verdict in zip(rows.output, rows.baseline, rows.verdict):
            sa, sb = e_count("", out, {}), e_count("", base, {})
            expected = "A" if sa > sb else "B" if sb > sa else "tie"
            assert verdict == expected
            prefs.append({"A": 1.0, "tie": 0.5, "B": 0.0}[verdict])
        win = metrics["winrate"]["win_rate"][cand]
        assert win["value"] == pytest.approx(np.mean(prefs)) and win["n"] == len(PROMPTS)
        assert win["ci_low"] <= win["value"] <= win["ci_high"]
        assert win["wilson_low"] <= win["value"] <= win["wilson_high"]
        assert win["baseline"] == "base" and win["judge"] == "e-count" and win["n_failed"] == 0
        assert metrics["winrate"]["tie_rate"][cand]["value"] == pytest.approx(np.mean([p == 0.5 for p in prefs]))
        assert metrics["winrate"]["mean_length"][cand]["value"] == pytest.approx(rows.output.str.len().mean())
        assert metrics["winrate"]["mean_score"][cand]["value"] == pytest.approx(
            np.mean([e_count("", o, {}) for o in rows.output])
        )
        assert 0 <= metrics["winrate"]["lc_win_rate"][cand]["value"] <= 1
    # the two candidates really differ (different seeds) and share one baseline output per prompt
    assert (samples[samples.model == "a"].output.values != samples[samples.model == "b"].output.values).any()
    assert (samples[samples.model == "a"].baseline.values == samples[samples.model == "b"].baseline.values).all()
    assert metrics["winrate"]["mean_length"]["base"]["n"] == len(PROMPTS)
    item_metrics = store.frame("item_metrics", run_id)
    assert len(item_metrics[(item_metrics.metric == "win_rate")]) == 2 * len(PROMPTS)
    models = store.frame("models", run_id).set_index("name")
    assert models.loc["a", "role"] == "candidate" and models.loc["base", "role"] == "baseline"
    assert models.loc["e-count", "role"] == "judge"
    from alignbench.models import load_model, parameter_count

    assert models.loc["a", "info"]["size"] == parameter_count(load_model("tiny-random:1")[0])
    assert set(store.frame("items", run_id).item_id) == {f"p{i}" for i in range(len(PROMPTS))}


def test_killed_run_resumes_without_regenerating_and_ends_with_the_same_metrics(
    tmp_path, prompts_file, fresh_run, count_generations
):
    labeler = Crashing()  # the same labeler as the reference run's, until told to crash
    suite = _suite(prompts_file, {"type": "rubric", "function": labeler, "name": "e-count"})
    reference = json.loads((fresh_run / "metrics.json").read_text())

    # Killed during the second chunk of 4 prompts (the judge is called after the chunk's generations).
    labeler.calls, labeler.crash_on = 0, 2 * 4 * 2 + 1  # chunk 1: 2 candidates x 8 scores; crash in chunk 2
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, CANDIDATES, baseline=BASELINE, out=tmp_path / "killed", cache=False, progress=False)
    # chunk 1: 3 models x 4 prompts; chunk 2: baseline and candidate a generated, then judging a crashed
    assert count_generations["n"] == 3 * 4 + 2 * 4
    store = Store(tmp_path / "killed")
    assert store.runs()[-1]["status"] == "interrupted"  # Ctrl-C (KeyboardInterrupt): not a failure
    assert len(store.frame("judgements")) == 2 * 4  # chunk 1's judgements were kept

    count_generations["n"] = 0
    labeler.calls, labeler.crash_on = 0, None
    resumed = run_suite(suite, CANDIDATES, baseline=BASELINE, out=tmp_path / "killed", cache=False, progress=False)
    assert count_generations["n"] == 4  # only what the killed run never generated: b's chunk 2
    assert labeler.calls == 2 * 2 * 4  # only chunk 2 was judged again (chunk 1 came from the store)
    assert json.loads((resumed / "metrics.json").read_text()) == reference
    assert len(store.runs()) == 1 and store.runs()[0]["status"] == "done"  # the same run, resumed


def test_killed_mid_generation_keeps_finished_chunks(tmp_path, prompts_file, count_generations, monkeypatch):
    from alignbench.engines.backends import hf

    suite = _suite(prompts_file, {"type": "rubric", "rules": {"must_include": ["e"]}})
    counting = hf.HFBackend.generate

    def dies_on_second_chunk(self, requests, params):
        if count_generations["n"] >= 3 * 4:  # all three models finished chunk 1
            raise RuntimeError("out of memory")
        return counting(self, requests, params)

    monkeypatch.setattr(hf.HFBackend, "generate", dies_on_second_chunk)
    with pytest.raises(RuntimeError):
        run_suite(suite, CANDIDATES, baseline=BASELINE, out=tmp_path / "r", cache=False, progress=False)
    assert count_generations["n"] == 12
    monkeypatch.setattr(hf.HFBackend, "generate", counting)
    count_generations["n"] = 0
    run_suite(suite, CANDIDATES, baseline=BASELINE, out=tmp_path / "r", cache=False, progress=False)
    assert count_generations["n"] == 12  # only the second chunk's 4 prompts x 3 models


def test_shared_cache_serves_a_second_run_folder(tmp_path, prompts_file, count_generations):
    suite = _suite(prompts_file, {"type": "rubric", "rules": {"max_words": 5}})
    cache = tmp_path / "cache.sqlite"
    run_suite(suite, CANDIDATES[:1], baseline=BASELINE, out=tmp_path / "one", cache=cache, progress=False, limit=4)
    assert count_generations["n"] == 8
    other = run_suite(
        suite, CANDIDATES[:1], baseline=BASELINE, out=tmp_path / "two", cache=cache, progress=False, limit=4
    )
    assert count_generations["n"] == 8  # the second folder generated nothing ...
    assert len(Store(other).frame("generations")) == 8  # ... yet holds every generation it used
    assert json.loads((other / "metrics.json").read_text())["winrate"]["win_rate"]["a"]["n"] == 4


def test_hh_rlhf_prompts_from_the_shared_data(shared_data):
    from alignbench.evals.suite import parse_suite
    from alignbench.evals.winrate import load_prompts

    suite = parse_suite(
        {
            "evals": [
                {
                    "name": "winrate",
                    "dataset": "hh-rlhf-helpful",
                    "single_turn": True,
                    "judge": {"type": "rubric", "rules": {"max_words": 5}},
                }
            ]
        },
        "t.yaml",
    )
    items, dataset, fp = load_prompts(suite.evals[0], limit=25)
    assert len(items) == 25 and dataset == "hh-rlhf-helpful" and fp
    assert all(it.item_id.startswith("hh-rlhf/helpful-base/test/") for it in items)
    assert all(len(it.payload["messages"]) == 1 and "Human:" not in it.prompt for it in items)
    multi = parse_suite(
        {
            "evals": [
                {
                    "name": "winrate",
                    "dataset": "hh-rlhf-helpful",
                    "judge": {"type": "rubric", "rules": {"max_words": 5}},
                }
            ]
        },
        "t.yaml",
    )
    items, _, _ = load_prompts(multi.evals[0], limit=25)
    assert any(len(it.payload["messages"]) > 1 and it.prompt.startswith("User: ") for it in items)


def test_chunks_follow_the_engines_batch_when_the_eval_sets_none(tmp_path, count_generations):
    """Without a `batch_size` key the eval's chunks are the run's --batch-size, so 18 prompts at --batch-size 18
    go to each model in ONE generation call (the old fixed chunk of 16 split them 16 + 2)."""
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Say {i}."}) + "\n" for i in range(18)))
    calls = count_generations["calls"]
    suite = _suite(prompts, {"type": "rubric", "function": e_count, "name": "e-count"})
    del suite["evals"][0]["batch_size"]
    run_suite(suite, CANDIDATES, baseline=BASELINE, out=tmp_path / "a", cache=False, progress=False, batch_size=18)
    assert calls == [18, 18, 18]  # baseline and two candidates, one call each
    calls.clear()
    suite["evals"][0]["batch_size"] = 6  # the eval's own key still wins
    run_suite(suite, CANDIDATES, baseline=BASELINE, out=tmp_path / "b", cache=False, progress=False, batch_size=18)
    assert calls == [6] * 9
