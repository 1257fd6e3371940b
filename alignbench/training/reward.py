"""Stage 2 of the paper: the K-way ranking reward model.

InstructGPT (Ouyang et al. 2022, eq. 1) trains the RM on rankings of K = 4..9 responses per prompt:

    loss(θ) = -1/C(K,2) · E_(x, y_w, y_l) [ log σ(r_θ(x, y_w) − r_θ(x, y_l)) ]

with ALL C(K,2) comparisons of one prompt in ONE batch element: each response is scored once (K
forwards, not 2·C(K,2)), and the 1/C(K,2) factor makes every prompt weigh the same whatever its K.
TRL's RewardTrainer (like OpenRLHF and DeepSpeed-Chat) is pairwise, so we subclass it and replace
two things only -- the collator (a batch element = one prompt with its K responses; all responses of
the batch are flattened into one forward) and `compute_loss` (per-prompt mean over untied pairs,
then mean over prompts).  Optimiser, schedule, logging, checkpointing, DDP/DeepSpeed stay TRL's.

After training the head's bias is shifted so a reference set (the SFT demonstrations) scores 0 on
average, as in the paper; the shift is stored as `score.bias` plus `config.reward_bias`, and in the
lineage record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import set_seed
from trl import RewardConfig, RewardTrainer

from alignbench.data import Ranking
from alignbench.errors import AlignbenchError
from alignbench.models import load_model
from alignbench.models.chat_format import encode_pair, use_chat_template
from alignbench.models.reward_head import reward_scores, right_pad, set_reward_bias
from alignbench.stats import wilson_interval
from alignbench.training.common import TrainResult
from alignbench.training.datasets import load_data, load_train_eval
from alignbench.training.lineage import read_lineage, write_lineage
from alignbench.training.recipes import freeze_lower_layers, load_recipe, lora_config, resolve_recipe


@dataclass
class KWayRewardConfig(RewardConfig):
    """TRL's RewardConfig; `per_device_train_batch_size` counts PROMPTS (each with its K responses)."""

    def __post_init__(self):
        super().__post_init__()


# ---------------------------------------------------------------------------------------------
# The loss
# ---------------------------------------------------------------------------------------------
def kway_ranking_loss(rewards: torch.Tensor, ranks: torch.Tensor, group_sizes: list[int]) -> tuple[torch.Tensor, dict]:
    """The paper's K-way loss for a batch of prompts.

    rewards: [N] scores of all responses of the batch, prompt after prompt; ranks: [N] (1 = best, ties
    equal); group_sizes: K of each prompt (sum = N).  Per prompt: mean over its untied ordered pairs
    (w, l) of −log σ(r_w − r_l); then mean over prompts that have at least one untied pair.
    Returns (loss, stats) with pairwise / top-1 correctness counts for metrics.
    """
    r = torch.nn.utils.rnn.pad_sequence(list(torch.split(rewards, group_sizes)), batch_first=True)
    rk = torch.nn.utils.rnn.pad_sequence(list(torch.split(ranks, group_sizes)), batch_first=True)
    valid = torch.nn.utils.rnn.pad_sequence(
        [torch.ones(k, dtype=torch.bool, device=rewards.device) for k in group_sizes], batch_first=True
    )
    # wins[b, i, j]: response i of prompt b is ranked strictly above response j (ties give no term)
    wins = (rk[:, :, None] < rk[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    diff = r[:, :, None] - r[:, None, :]
    pair_loss = torch.where(wins, -F.logsigmoid(diff), torch.zeros_like(diff))
    n_pairs = wins.sum(dim=(1, 2))
    has_pairs = n_pairs > 0
    per_prompt = pair_loss.sum(dim=(1, 2)) / n_pairs.clamp(min=1)
    loss = per_prompt[has_pairs].mean() if has_pairs.any() else rewards.sum() * 0.0
    with torch.no_grad():
        correct_pairs = ((diff > 0) & wins).sum()
        masked = r.masked_fill(~valid, float("-inf"))
        best = masked.argmax(dim=1)
        top1_hit = rk.gather(1, best[:, None]).squeeze(1) == 1
        big = torch.tensor(group_sizes, device=rewards.device) > 2
        stats = {
            "pairs": int(n_pairs.sum()),
            "correct_pairs": int(correct_pairs),
            "top1_prompts": int(big.sum()),
            "top1_hits": int((top1_hit & big).sum()),
        }
    return loss, stats


# ---------------------------------------------------------------------------------------------
# Data: one example per prompt
# ---------------------------------------------------------------------------------------------
def ranking_prompt(rec: Ranking, chat: bool):
    """The prompt to format: chat messages from `meta["messages"]` (adapters such as HH-RLHF keep the
    multi-turn dialogue there) when formatting with a chat template, else the prompt text."""
    messages = rec.meta.get("messages") if chat else None
    return messages if messages else rec.prompt


def tokenize_rankings(rankings: list[Ranking], tokenizer, chat: bool, max_length: int | None):
    """A datasets.Dataset with one row per prompt: `response_ids` (K lists of ids) and `ranks`."""
    from datasets import Dataset

    rows = {"response_ids": [], "ranks": []}
    for rec in rankings:
        prompt = ranking_prompt(rec, chat)
        rows["response_ids"].append([encode_pair(tokenizer, prompt, resp, chat, max_length) for resp in rec.responses])
        rows["ranks"].append(list(rec.ranks))
    return Dataset.from_dict(rows)


@dataclass
class KWayRankingCollator:
    """Flattens the K_b responses of every prompt b into one right-padded batch of sum(K_b) rows."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        seqs = [torch.tensor(ids) for ex in examples for ids in ex["response_ids"]]
        input_ids, attention_mask = right_pad(seqs, self.pad_token_id, self.pad_to_multiple_of)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "ranks": torch.tensor([r for ex in examples for r in ex["ranks"]]),
            "group_sizes": torch.tensor([len(ex["ranks"]) for ex in examples]),
        }


class KWayRewardTrainer(RewardTrainer):
    """TRL RewardTrainer with the paper's K-way loss (collator + compute_loss replaced)."""

    _tag_names = ["trl", "reward-trainer", "alignbench", "kway"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._counts = {"train": defaultdict(int), "eval": defaultdict(int)}

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        # Rows are tokenized by `tokenize_rankings` (left-truncated to max_length): nothing to do here.
        if "response_ids" not in dataset.column_names:
            raise AlignbenchError("KWayRewardTrainer expects datasets made by tokenize_rankings()")
        return dataset

    def _set_signature_columns_if_needed(self):
        if self._signature_columns is None:
            self._signature_columns = ["response_ids", "ranks"]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        group_sizes = inputs["group_sizes"].tolist()
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False)
        rewards = outputs.logits.squeeze(-1)
        loss, stats = kway_ranking_loss(rewards, inputs["ranks"], group_sizes)
        if self.args.center_rewards_coefficient is not None:
            loss = loss + self.args.center_rewards_coefficient * torch.mean(rewards**2)
        with torch.no_grad():
            counts = torch.tensor(
                [stats["correct_pairs"], stats["pairs"], stats["top1_hits"], stats["top1_prompts"]],
                device=rewards.device,
            )
            counts = self.accelerator.gather_for_metrics(counts[None]).sum(0).tolist()
            for key, value in zip(("correct_pairs", "pairs", "top1_hits", "top1_prompts"), counts):
                self._counts[mode][key] += int(value)
            all_rewards = self.accelerator.gather_for_metrics(rewards.detach())
            self._metrics[mode]["mean_reward"].append(all_rewards.mean().item())
        return (loss, outputs) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        # Logits have a different length per batch (sum of K); metrics come from compute_loss's counters.
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        mode = "train" if self.model.training else "eval"
        counts = self._counts[mode]
        prefix = "eval_" if mode == "eval" else ""
        if counts["pairs"]:
            logs[f"{prefix}pairwise_accuracy"] = counts["correct_pairs"] / counts["pairs"]
        if counts["top1_prompts"]:
            logs[f"{prefix}top1_accuracy"] = counts["top1_hits"] / counts["top1_prompts"]
        counts.clear()
        super().log(logs, start_time)


# ---------------------------------------------------------------------------------------------
# Scoring, held-out metrics, normalisation
# ---------------------------------------------------------------------------------------------
def evaluate_rankings(
    model, tokenizer, rankings: list[Ranking], chat: bool, max_length: int | None, batch_size: int = 16
) -> dict:
    """Held-out pairwise accuracy (over all untied pairs) and top-1 accuracy (prompts with K>2), with
    95% Wilson intervals, plus the K-way loss."""
    ids = [
        encode_pair(tokenizer, ranking_prompt(r, chat), resp, chat, max_length)
        for r in rankings
        for resp in r.responses
    ]
    scores = torch.tensor(reward_scores(model, tokenizer, ids, batch_size))
    ranks = torch.tensor([x for r in rankings for x in r.ranks])
    loss, stats = kway_ranking_loss(scores, ranks, [r.k for r in rankings])
    metrics = {"eval_loss": float(loss), "n_prompts": len(rankings), "n_pairs": stats["pairs"]}
    if stats["pairs"]:
        acc = stats["correct_pairs"] / stats["pairs"]
        metrics.update(
            pairwise_accuracy=acc, pairwise_accuracy_ci=list(wilson_interval(stats["correct_pairs"], stats["pairs"]))
        )
    if stats["top1_prompts"]:
        metrics.update(
            top1_accuracy=stats["top1_hits"] / stats["top1_prompts"],
            top1_accuracy_ci=list(wilson_interval(stats["top1_hits"], stats["top1_prompts"])),
            n_top1_prompts=stats["top1_prompts"],
        )
    return metrics


def normalize_rewards(model, tokenizer, reference_ids: list[list[int]], batch_size: int = 16) -> dict:
    """Shift the head's bias so the reference set's mean score is 0; returns what was done."""
    scores = reward_scores(model, tokenizer, reference_ids, batch_size)
    mean = sum(scores) / len(scores)
    old = float(model.config.to_dict().get("reward_bias", 0.0) or 0.0)
    set_reward_bias(model, old - mean)
    return {"reference_mean_before": mean, "bias": old - mean, "n_reference": len(scores)}


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------
def train_reward_model(recipe: str | Path | dict | None = None, **overrides) -> TrainResult:
    """Train the K-way RM from a recipe (path or dict) and/or keyword overrides; returns the checkpoint.

    Keys: model (the SFT checkpoint), train_data (rankings), eval_data or eval_fraction, reference_data
    (demonstrations for normalisation), lora, freeze_layers, chat_template, limit, and any RewardConfig
    field (learning_rate, per_device_train_batch_size = prompts per device, max_length, ...).
    """
    resolved = resolve_recipe("rm", load_recipe(recipe, overrides), KWayRewardConfig)
    opts, args = resolved.options, resolved.args
    set_seed(args.seed)  # the fresh scalar head is drawn from this seed
    model, tokenizer = load_model(opts["model"], task="reward")
    freeze_lower_layers(model, opts.get("freeze_layers"))
    chat = use_chat_template(tokenizer, opts.get("chat_template"))

    rankings, held_out, datasets = load_train_eval(opts, "ranking", args.seed)
    train_ds = tokenize_rankings(rankings, tokenizer, chat, args.max_length)
    eval_ds = tokenize_rankings(held_out, tokenizer, chat, args.max_length) if held_out else None

    from alignbench.progress import trainer_callback

    trainer = KWayRewardTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        data_collator=KWayRankingCollator(tokenizer.pad_token_id, args.pad_to_multiple_of),
        peft_config=lora_config(opts.get("lora"), "SEQ_CLS"),
        callbacks=[cb] if (cb := trainer_callback("reward model")) else None,  # progress lines in logs
    )
    train_output = trainer.train(resume_from_checkpoint=opts.get("resume") or None)
    model = trainer.model
    if opts.get("lora") and opts.get("merge_lora", True):
        model = model.merge_and_unload()

    metrics = {
        "train_loss": train_output.training_loss,
        "train_steps": train_output.global_step,
        "train_runtime_s": train_output.metrics.get("train_runtime"),
    }
    if held_out:
        metrics.update(
            evaluate_rankings(model, tokenizer, held_out, chat, args.max_length, args.per_device_eval_batch_size * 4)
        )

    # Normalisation reference: given demonstrations, else the SFT stage's own demonstrations (from the
    # parent's lineage), else the best-ranked training responses.
    ref_source = opts.get("reference_data")
    if ref_source is None:
        parent = read_lineage(opts["model"]) if Path(str(opts["model"])).is_dir() else None
        src = (parent or {}).get("config", {}).get("train_data")
        if isinstance(src, str) and (src.startswith("hf:") or Path(src).exists()):
            ref_source = src
    if ref_source is not None:
        demos, datasets["reference"] = load_data(ref_source, "demonstration", "reference_data")
        ref_ids = [
            encode_pair(tokenizer, d.chat() if d.messages else d.prompt, d.response, chat, args.max_length)
            for d in demos
        ]
        ref_kind = "demonstrations"
    else:
        ref_ids = [
            encode_pair(tokenizer, ranking_prompt(r, chat), r.responses[r.ranks.index(1)], chat, args.max_length)
            for r in rankings
        ]
        ref_kind = "top-ranked training responses (no demonstrations found)"
    normalization = {"reference": ref_kind, **normalize_rewards(model, tokenizer, ref_ids)}

    out = Path(args.output_dir)
    if trainer.accelerator.is_main_process:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        write_lineage(
            out,
            stage="rm",
            parent_spec=opts["model"],
            config=resolved.to_dict(),
            datasets=datasets,
            metrics=metrics,
            extra={"normalization": normalization, "chat_template": chat},
        )
    trainer.accelerator.wait_for_everyone()
    return TrainResult(out, metrics, read_lineage(out) or {})
