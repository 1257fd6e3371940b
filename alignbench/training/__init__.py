"""The paper's three training stages: SFT, the K-way reward model, PPO-ptx.  Each writes a checkpoint
folder that loads with plain transformers/peft plus `alignbench.json` (lineage).

The stages are imported when called, not here: `alignbench --help` imports this package and must stay free
of torch and TRL."""

from __future__ import annotations


def train_sft(recipe=None, **overrides):
    from alignbench.training.sft import train_sft as _train

    return _train(recipe, **overrides)


def train_reward_model(recipe=None, **overrides):
    from alignbench.training.reward import train_reward_model as _train

    return _train(recipe, **overrides)


def train_ppo_ptx(recipe=None, **overrides):
    from alignbench.training.ppo_ptx import train_ppo_ptx as _train

    return _train(recipe, **overrides)


def trainer_config_class(stage: str) -> type:
    """The trainer config a stage's recipe fills (TRL SFTConfig, KWayRewardConfig, PPOPtxConfig)."""
    if stage == "sft":
        from trl import SFTConfig

        return SFTConfig
    if stage == "rm":
        from alignbench.training.reward import KWayRewardConfig

        return KWayRewardConfig
    if stage == "ppo":
        from alignbench.training.ppo_ptx import PPOPtxConfig

        return PPOPtxConfig
    from alignbench.errors import AlignbenchError
    from alignbench.training.recipes import STAGES

    raise AlignbenchError(f"unknown training stage {stage!r}; choose from {', '.join(STAGES)}")


__all__ = ["train_ppo_ptx", "train_reward_model", "train_sft", "trainer_config_class"]
