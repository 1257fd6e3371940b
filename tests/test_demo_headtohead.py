"""Head-to-head PPO-ptx vs SFT from the win-rate eval's stored outputs (alignbench/demo/headtohead.py)."""

from __future__ import annotations

import json

import pytest

from alignbench.demo import labeler
from alignbench.demo.headtohead import head_to_head
from alignbench.judges import make_judge

PROMPT = "Explain how bees make honey. End your answer with a question."
GOOD = "Bees collect nectar from flowers and dry it inside the hive until it becomes honey. Have you tried it?"
PLAIN = "Bees collect nectar from flowers and dry it inside the hive until it becomes honey."
SHORT = "Honey?"


def _store(tmp_path, pairs):
    from alignbench.store import Store

    store = Store(tmp_path)
    run = store.start_run("eval")
    rows = []
    for i, (ppo, sft) in enumerate(pairs):
        for model, text in (("ppo", ppo), ("sft", sft)):
            rows.append({"item_id": f"i{i}", "model": model, "prompt": PROMPT, "output": text, "baseline": "b"})
    store.put_samples(run, "winrate/labeler", rows)
    return run


def test_head_to_head_judges_ppo_against_sft_and_stores_the_win_rate(tmp_path):
    pairs = [(GOOD, PLAIN)] * 6 + [(PLAIN, GOOD)] * 2 + [(GOOD, GOOD)] * 2 + [(PLAIN, SHORT)] * 2
    _store(tmp_path, pairs)
    judge = make_judge({"type": "rubric", "function": "alignbench.demo.labeler:rubric_score", "name": "labeler"})
    out = head_to_head(tmp_path, {"labeler": judge}, n_examples=3)
    row = out["labeler"]
    assert (row["wins"], row["ties"], row["losses"], row["n"]) == (8, 2, 2, 12)
    assert row["value"] == pytest.approx((8 + 0.5 * 2) / 12)
    assert row["ci_low"] < row["value"] < row["ci_high"]
    assert out["n_identical"] == 2 and len(out["examples"]) == 3
    assert all(ex["ppo"] != ex["sft"] for ex in out["examples"])
    assert out["examples"][-1]["labeler_verdict"] == "B"  # the last example shows a loss
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    stored = metrics["headtohead/labeler"]["win_rate"]["ppo"]
    assert stored["value"] == pytest.approx(row["value"]) and stored["baseline"] == "sft"
    assert labeler.score(PROMPT, GOOD) > labeler.score(PROMPT, PLAIN) > labeler.score(PROMPT, SHORT)


def test_head_to_head_without_outputs_of_both_models_is_an_error(tmp_path):
    from alignbench.store import Store

    store = Store(tmp_path)
    run = store.start_run("eval")
    store.put_samples(run, "winrate/labeler", [{"item_id": "1", "model": "ppo", "prompt": PROMPT, "output": GOOD}])
    with pytest.raises(ValueError, match="no winrate/labeler samples of both"):
        head_to_head(
            tmp_path, {"labeler": make_judge({"type": "rubric", "function": "alignbench.demo.labeler:rubric_score"})}
        )
