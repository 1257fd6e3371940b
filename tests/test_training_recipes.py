"""Recipes, overrides, the `train` CLI and lineage helpers (no training here: fast)."""

from __future__ import annotations

import json

import pytest
import torch

from alignbench.errors import AlignbenchError
from alignbench.training import trainer_config_class
from alignbench.training.recipes import load_recipe, parse_overrides, resolve_recipe


def test_overrides_parse_yaml_values_and_dotted_keys():
    got = parse_overrides(
        ["--learning_rate", "1e-4", "--lora.r", "8", "--packing", "--max-length=512", "--lora.alpha", "16"]
    )
    assert got == {"learning_rate": 1e-4, "lora": {"r": 8, "alpha": 16}, "packing": True, "max_length": 512}
    assert parse_overrides(["--lora", "null"]) == {"lora": None}
    assert parse_overrides(["--save_strategy", "no", "--bf16", "false"]) == {"save_strategy": "no", "bf16": False}
    with pytest.raises(AlignbenchError, match="expected --key value"):
        parse_overrides(["learning_rate"])


@pytest.mark.parametrize("stage,name", [("sft", "sft"), ("rm", "rm"), ("ppo", "ppo_ptx")])
def test_shipped_recipes_resolve_and_top_level_links_point_at_them(stage, name):
    from pathlib import Path

    from alignbench.training.recipes import default_recipe_path

    path = default_recipe_path(stage)
    link = Path(__file__).resolve().parent.parent / "training" / f"{name}.yaml"
    assert link.is_symlink() and link.resolve() == path.resolve()
    resolved = resolve_recipe(stage, load_recipe(path, {"learning_rate": 3e-4}), trainer_config_class(stage))
    assert resolved.args.learning_rate == 3e-4
    if not torch.cuda.is_available() and hasattr(resolved.args, "bf16"):
        assert resolved.args.bf16 is False  # TRL defaults to bf16, 15x slower on a CPU
    assert resolved.to_dict()["trainer_args"]["learning_rate"] == 3e-4


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    recipe = tmp_path / "rm.yaml"
    recipe.write_text("model: tiny-random\ntrain_data: x.jsonl\nlearnin_rate: 1e-5\n")
    with pytest.raises(AlignbenchError, match=r"'learnin_rate' \(did you mean learning_rate\?\)"):
        resolve_recipe("rm", load_recipe(recipe), trainer_config_class("rm"), where=str(recipe))
    with pytest.raises(AlignbenchError, match="stage is 'sft' but the command trains 'rm'"):
        resolve_recipe("rm", {"stage": "sft", "model": "m", "train_data": "d"}, trainer_config_class("rm"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(AlignbenchError, match="bad.yaml:.*not valid YAML"):
        load_recipe(bad)


def test_cli_dry_run_and_bad_data_exit_codes(tmp_path, capsys):
    from alignbench.cli import main

    assert main(["train", "ppo", "--dry-run", "--model", "tiny-random", "--ptx_coef", "0.5", "--lora", "null"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["model"] == "tiny-random" and printed["lora"] is None
    assert printed["trainer_args"]["ptx_coef"] == 0.5

    data = tmp_path / "rankings.jsonl"
    data.write_text(
        json.dumps({"prompt": "p", "responses": ["a", "b"], "ranks": [1, 2]})
        + "\n"
        + json.dumps({"prompt": "p", "responses": ["a"], "ranks": [1]})
        + "\n"
    )
    code = main(
        ["train", "rm", "--model", "tiny-random", "--train_data", str(data), "--output_dir", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"{data}:2: responses: K=1" in err  # file, line and field of the bad record


def test_ppo_config_checks_batch_shapes():
    from alignbench.training.ppo_ptx import gae, response_mask

    # GAE with gamma=lam=1 and zero values: advantages are reward-to-go
    rewards = torch.tensor([[0.0, 0.0, 1.0, 5.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    adv, ret = gae(rewards * mask, torch.zeros(1, 4), mask, 1.0, 1.0)
    assert adv.tolist() == [[1.0, 1.0, 1.0, 0.0]]
    # everything after the first EOS is masked, the EOS itself is kept (pad may equal EOS)
    assert response_mask(torch.tensor([[5, 2, 2, 2], [5, 6, 7, 8]]), 2).tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    with pytest.raises(AlignbenchError, match="multiple of"):
        from alignbench.training import train_ppo_ptx

        train_ppo_ptx(
            model="tiny-random",
            train_data=[{"prompt": "x"}],
            reward_fn=lambda p, r: [0.0] * len(r),
            rollout_batch_size=6,
            mini_batch_size=4,
            output_dir="/tmp/unused-ppo",
        )
