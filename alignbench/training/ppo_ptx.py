"""Stage 3 of the paper: PPO-ptx.

    objective(φ) = E_(x,y)~π_φ [ r_θ(x, y) − β · log(π_φ(y|x) / π_SFT(y|x)) ]  +  γ · E_x~D_pretrain [ log π_φ(x) ]

TRL removed its PPOTrainer (2026-09) and no maintained library ships the ptx term, so this file is the
loop itself, nanoGPT-style, on accelerate (devices, DDP/DeepSpeed, gradient accumulation, checkpoints)
with TRL's numerics helpers (`selective_log_softmax`, `entropy_from_logits`) and peft for LoRA.
One PPO step:

  1. rollout    sample responses to a batch of prompts from π_φ (temperature 1, stop at EOS)
  2. score      r_θ(x, y) from the frozen RM (its normalised score at the last token)
  3. rewards    per token −β·(log π_φ − log π_SFT); the RM score is added at the last token
  4. GAE        advantages (γ_gae, λ) on the value model's per-token values; whitened
  5. optimise   `num_ppo_epochs` passes of shuffled minibatches: clipped surrogate + vf_coef · clipped value
                loss, and when ptx_coef > 0 + γ · LM loss on a batch of pretraining text; grad clipping

Logged per step (train_log.jsonl): `score` (RM score of the policy's samples), `score_ref` (RM score of the
frozen SFT reference's samples on the SAME prompts, every `ref_score_steps` steps) and `score_gain` =
score − score_ref; `kl` = KL(π_φ‖π_SFT) per response by the non-negative estimator k3 = (ρ − 1) − log ρ
with ρ = π_SFT/π_φ per sampled token (Schulman 2020; unbiased, ≥ 0 for every sample), beside `kl_k1` =
Σ log π_φ/π_SFT, the estimate that enters the reward (unbiased too, but single samples go negative);
`ptx_loss` (LM loss on pretraining text, also when γ = 0), the policy / value losses, clip fraction.

Models: policy = SFT checkpoint (+ LoRA adapters when `lora` is set); reference = frozen SFT, which with
LoRA is the SAME weights with adapters disabled (no second copy); value model = initialised from the RM
(scalar head applied at every position); reward model = frozen RM (with LoRA: the value model's weights
with its adapters disabled).  `value_head_only`: the critic is a copy of the RM's head (warm start) trained on
the frozen RM's hidden states, computed once per rollout; the RM and the critic's backbone are one frozen copy,
and a PPO epoch runs the policy's forward/backward only (about half the cost of training a value network).

With ptx_coef = 0 the update is exactly plain PPO: the ptx batch is still read (to log the LM loss on
pretraining text, which shows the drift ptx is meant to prevent) but under no_grad, from its own
seeded order, so neither the gradients nor any random state change.  A test checks bit-identity.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from alignbench.errors import AlignbenchError
from alignbench.models import load_model
from alignbench.models.chat_format import encode_pair, format_prompt, use_chat_template
from alignbench.models.reward_head import right_pad
from alignbench.training.common import TrainResult
from alignbench.training.datasets import load_data
from alignbench.training.lineage import read_lineage, write_lineage
from alignbench.training.recipes import load_recipe, lora_config, resolve_recipe


@dataclass
class PPOPtxConfig:
    """PPO-ptx settings; names follow TRL's former PPOConfig / transformers' TrainingArguments."""

    output_dir: str = "checkpoints/ppo"
    seed: int = 0
    max_steps: int = 100  # PPO steps = rollout batches
    rollout_batch_size: int = 8  # prompts per step per process
    mini_batch_size: int = 4  # rollouts per optimiser step (per process)
    gradient_accumulation_steps: int = 1  # micro-batches per minibatch
    num_ppo_epochs: int = 4
    learning_rate: float = 1e-5
    value_learning_rate: float | None = None  # default: learning_rate
    lr_scheduler_type: str = "constant"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    # rollouts
    response_length: int = 64  # max new tokens
    max_prompt_length: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    # rewards and KL
    kl_coef: float = 0.02  # β
    adaptive_kl: bool = False
    target_kl: float = 6.0  # nats per response (Ziegler et al. 2019 controller)
    kl_horizon: int = 10000
    score_clip: float | None = None
    # GAE and PPO losses
    gamma: float = 1.0
    lam: float = 0.95
    whiten_advantages: bool = True
    cliprange: float = 0.2
    cliprange_value: float = 0.2
    vf_coef: float = 0.1
    # value_head_only: the critic is a linear head (initialised from the RM's scalar head: a warm start) on the
    # FROZEN RM's hidden states, computed once per rollout; no backward through a second network, so a PPO
    # epoch costs about half (the policy's forward/backward only).  False: the whole value model trains.
    value_head_only: bool = False
    # ptx
    ptx_coef: float = 0.0  # γ of the paper (InstructGPT used 27.8 with its loss scaling)
    ptx_batch_size: int = 4
    ptx_max_length: int = 256
    ref_score_steps: int = (
        1  # sample the SFT reference on the step's prompts every N steps, log its RM score (0: never)
    )
    # bookkeeping
    logging_steps: int = 1
    save_steps: int = 0  # checkpoint every N steps (0: only at the end)
    save_total_limit: int | None = 2
    report_to: str | list[str] = "none"
    mixed_precision: str = "no"  # no | fp16 | bf16 (accelerate)
    disable_tqdm: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Small pieces
# ---------------------------------------------------------------------------------------------
class AdaptiveKLController:
    """β follows the measured KL toward `target` (Ziegler et al. 2019, used by InstructGPT's codebase)."""

    def __init__(self, init: float, target: float, horizon: int):
        self.value, self.target, self.horizon = init, target, horizon

    def update(self, current_kl: float, n_steps: int) -> None:
        error = max(-0.2, min(0.2, current_kl / self.target - 1))
        self.value *= 1 + error * n_steps / self.horizon


class FixedKLController:
    def __init__(self, init: float):
        self.value = init

    def update(self, current_kl: float, n_steps: int) -> None:
        pass


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, sum_over_processes: Callable | None = None) -> torch.Tensor:
    """Whiten over the masked entries of the GLOBAL batch: `sum_over_processes` (accelerator.reduce) makes
    the mean and variance those of all processes' rollouts, as one process with the whole batch computes."""
    if sum_over_processes is None:
        mean = masked_mean(x, mask)
        var = masked_mean((x - mean) ** 2, mask)
    else:
        n = sum_over_processes(mask.sum()).clamp(min=1)
        mean = sum_over_processes((x * mask).sum()) / n
        var = sum_over_processes((((x - mean) ** 2) * mask).sum()) / n
    return (x - mean) * torch.rsqrt(var + 1e-8) * mask


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float):
    """Generalised advantage estimation over response tokens (masked positions contribute nothing).
    Returns (advantages, returns)."""
    values = values * mask
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])
    T = rewards.shape[1]
    for t in reversed(range(T)):
        next_value = values[:, t + 1] if t + 1 < T else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * last) * mask[:, t]
        advantages[:, t] = last
    return advantages, advantages + values


def response_mask(responses: torch.Tensor, eos_token_id: int) -> torch.Tensor:
    """1 up to and including the first EOS of each response, 0 after (pad may equal EOS)."""
    is_eos = responses == eos_token_id
    after_eos = (torch.cumsum(is_eos.int(), dim=1) - is_eos.int()) > 0
    return (~after_eos).float()


class PolicyAndValue(torch.nn.Module):
    """One module holding both trainable networks, so one optimiser / one accelerator.prepare covers them
    (DDP wraps the pair, DeepSpeed shards both).  Its forward is the whole training forward of a
    micro-batch, so DDP sees every parameter use and synchronises gradients."""

    def __init__(self, policy, value_model, value_head: torch.nn.Module | None = None):
        super().__init__()
        self.policy = policy
        self.value_model = value_model
        self.value_head = value_head  # set: the critic is this head on the frozen value model's hidden states

    def forward(
        self,
        input_ids,
        attention_mask,
        position_ids,
        context_length: int,
        temperature: float,
        ptx: dict | None = None,
        ptx_grad: bool = True,
        value_hidden: torch.Tensor | None = None,
    ) -> dict:
        logprobs, entropy = policy_logprobs(
            self.policy, input_ids, attention_mask, position_ids, context_length, temperature, with_entropy=True
        )
        if self.value_head is not None:
            values = self.value_head(value_hidden).squeeze(-1).float()[:, context_length - 1 : -1]
        else:
            values = token_values(self.value_model, input_ids, attention_mask, position_ids)[
                :, context_length - 1 : -1
            ]
        out = {"logprobs": logprobs, "entropy": entropy, "values": values}
        if ptx is not None:
            with torch.set_grad_enabled(ptx_grad and torch.is_grad_enabled()):
                out["ptx_loss"] = self.policy(**ptx, use_cache=False).loss
        return out


def _inner(model):
    """The `*ForSequenceClassification` module under a peft wrapper (or the model itself)."""
    return model.base_model.model if hasattr(model, "peft_config") else model


def value_hidden_states(value_model, input_ids, attention_mask, position_ids) -> torch.Tensor:
    """The value model's last hidden state at every position (the input of its scalar head)."""
    seqcls = _inner(value_model)
    backbone = getattr(seqcls, seqcls.base_model_prefix)
    return backbone(
        input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
    ).last_hidden_state


def token_values(value_model, input_ids, attention_mask, position_ids) -> torch.Tensor:
    """Per-position values: the RM's scalar head applied to every hidden state (not only the last)."""
    hidden = value_hidden_states(value_model, input_ids, attention_mask, position_ids)
    return _inner(value_model).score(hidden).squeeze(-1).float()


def policy_logprobs(
    policy,
    input_ids,
    attention_mask,
    position_ids,
    context_length: int,
    temperature: float,
    with_entropy: bool = False,
):
    """log π(response token) at each response position (and the entropy of π there)."""
    from trl.trainer.utils import entropy_from_logits, selective_log_softmax

    # Only the positions that predict response tokens go through the LM head (transformers' logits_to_keep):
    # the prompt's logits were never used, and the head is ~20% of SmolLM2-135M's FLOPs per token.
    keep = input_ids.shape[1] - context_length + 1
    logits = policy(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        use_cache=False,
        logits_to_keep=keep,
    ).logits
    logits = logits[:, -keep:-1].float() / temperature
    logprobs = selective_log_softmax(logits, input_ids[:, context_length:])
    return (logprobs, entropy_from_logits(logits)) if with_entropy else (logprobs, None)


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that skip left padding (what generate used)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def pretrain_lm_loss(model, tokenizer, texts: list[str], max_length: int = 256, batch_size: int = 8) -> float:
    """Mean per-token LM loss of `model` on `texts` (no grad): the drift ptx is meant to limit."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = _lm_batch(tokenizer, texts[start : start + batch_size], max_length, device)
            out = model(**batch, use_cache=False)
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += float(out.loss) * n
            count += n
    model.train(was_training)
    return total / max(count, 1)


def _lm_batch(tokenizer, texts: list[str], max_length: int, device) -> dict:
    enc = tokenizer(
        texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt", add_special_tokens=False
    )
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    return {
        "input_ids": enc["input_ids"].to(device),
        "attention_mask": enc["attention_mask"].to(device),
        "labels": labels.to(device),
    }


class EpochSampler:
    """Endless seeded shuffled order over n items; state = (epoch, position) so resume continues exactly.
    Each process takes its own slice of every global batch."""

    def __init__(self, n: int, seed: int, process_index: int = 0, num_processes: int = 1):
        self.n, self.seed = n, seed
        self.process_index, self.num_processes = process_index, num_processes
        self.epoch, self.position = 0, 0

    def _order(self) -> list[int]:
        order = list(range(self.n))
        random.Random(f"{self.seed}:{self.epoch}").shuffle(order)
        return order

    def next(self, per_process: int) -> list[int]:
        global_size = per_process * self.num_processes
        out: list[int] = []
        while len(out) < global_size:
            order = self._order()
            take = order[self.position : self.position + global_size - len(out)]
            out += take
            self.position += len(take)
            if self.position >= self.n:
                self.epoch, self.position = self.epoch + 1, 0
        start = self.process_index * per_process
        return out[start : start + per_process]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = state["epoch"], state["position"]


# ---------------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------------
LOG_KEYS = (
    "reward",
    "score",
    "score_ref",
    "score_gain",
    "kl",
    "kl_k1",
    "entropy",
    "value_loss",
    "policy_loss",
    "clip_frac",
    "approx_kl",
    "ptx_loss",
    "response_length",
    "kl_coef",
    "learning_rate",
)


class PPOPtxTrainer:
    """The PPO-ptx loop.  Build with models already loaded (see `train_ppo_ptx` for loading from specs)."""

    def __init__(
        self,
        args: PPOPtxConfig,
        policy,
        tokenizer,
        value_model,
        prompts: list,
        reward_model=None,
        reward_tokenizer=None,
        reward_fn: Callable | None = None,
        ref_policy=None,
        pretrain_texts: list[str] | None = None,
        chat: bool = True,
    ):
        from accelerate import Accelerator
        from transformers import get_scheduler

        if reward_model is None and reward_fn is None:
            raise AlignbenchError("PPO needs a reward_model (checkpoint) or a reward_fn")
        if args.rollout_batch_size % args.mini_batch_size:
            raise AlignbenchError(
                f"rollout_batch_size ({args.rollout_batch_size}) must be a multiple of "
                f"mini_batch_size ({args.mini_batch_size})"
            )
        if args.mini_batch_size % args.gradient_accumulation_steps:
            raise AlignbenchError("mini_batch_size must be a multiple of gradient_accumulation_steps")
        self.args = args
        report_to = [args.report_to] if isinstance(args.report_to, str) else list(args.report_to)
        report_to = [r for r in report_to if r not in ("none", "")]
        self.accelerator = Accelerator(
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            mixed_precision=args.mixed_precision,
            log_with=report_to or None,
            project_dir=args.output_dir,
        )
        torch.manual_seed(args.seed)
        random.seed(args.seed)
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        self.chat = chat
        self.prompts = prompts
        self.reward_fn = reward_fn
        self.reward_tokenizer = reward_tokenizer or tokenizer
        self.pretrain_texts = pretrain_texts or []
        self.uses_lora = hasattr(policy, "peft_config")
        self.value_lora = hasattr(value_model, "peft_config")
        self.ref_policy = ref_policy
        self.reward_model = reward_model
        for frozen in (ref_policy, reward_model):
            if frozen is not None and frozen is not value_model:
                frozen.requires_grad_(False).eval()
        if ref_policy is None and not self.uses_lora:
            raise AlignbenchError("PPO without LoRA needs ref_policy (a frozen copy of the SFT model)")

        value_head = None
        if args.value_head_only:
            import copy

            if self.value_lora:
                raise AlignbenchError("value_head_only: give the value model without LoRA adapters")
            value_model.requires_grad_(False).eval()
            value_head = (
                copy.deepcopy(_inner(value_model).score).float().requires_grad_(True)
            )  # warm start: the RM head
        self.model = PolicyAndValue(policy, value_model, value_head)
        value_params = [p for p in (value_head or value_model).parameters() if p.requires_grad]
        policy_params = [p for p in policy.parameters() if p.requires_grad]
        groups = [
            {"params": policy_params, "lr": args.learning_rate},
            {"params": value_params, "lr": args.value_learning_rate or args.learning_rate},
        ]
        self.optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, weight_decay=args.weight_decay)
        steps_per_rollout = args.num_ppo_epochs * (args.rollout_batch_size // args.mini_batch_size)
        self.scheduler = get_scheduler(
            args.lr_scheduler_type,
            self.optimizer,
            num_warmup_steps=args.warmup_steps,
            num_training_steps=args.max_steps * steps_per_rollout,
        )
        self.model, self.optimizer, self.scheduler = self.accelerator.prepare(
            self.model, self.optimizer, self.scheduler
        )
        device = self.accelerator.device
        for frozen in (ref_policy, reward_model):
            if frozen is not None and frozen is not value_model:
                frozen.to(device)
        acc = self.accelerator
        self.prompt_sampler = EpochSampler(len(prompts), args.seed, acc.process_index, acc.num_processes)
        self.ptx_sampler = EpochSampler(
            max(1, len(self.pretrain_texts)), args.seed + 1, acc.process_index, acc.num_processes
        )
        self.kl_ctl = (
            AdaptiveKLController(args.kl_coef, args.target_kl, args.kl_horizon)
            if args.adaptive_kl
            else FixedKLController(args.kl_coef)
        )
        self.step = 0
        self.history: list[dict] = []

    # -- models -----------------------------------------------------------------------------------
    @property
    def policy(self):
        return self.accelerator.unwrap_model(self.model).policy

    @property
    def value_model(self):
        return self.accelerator.unwrap_model(self.model).value_model

    def _ref_logprobs(self, input_ids, attention_mask, position_ids, context_length):
        if self.ref_policy is not None:
            return policy_logprobs(
                self.ref_policy, input_ids, attention_mask, position_ids, context_length, self.args.temperature
            )[0]
        with self.policy.disable_adapter():  # LoRA: the reference is the same weights without adapters
            return policy_logprobs(
                self.policy, input_ids, attention_mask, position_ids, context_length, self.args.temperature
            )[0]

    @torch.no_grad()
    def _scores(self, prompts: list, responses: list[str]) -> torch.Tensor:
        if self.reward_fn is not None:
            return torch.tensor(self.reward_fn(prompts, responses), dtype=torch.float, device=self.accelerator.device)
        ids = [
            torch.tensor(encode_pair(self.reward_tokenizer, p, r, self.chat, None)) for p, r in zip(prompts, responses)
        ]
        input_ids, mask = right_pad(ids, self.reward_tokenizer.pad_token_id)
        input_ids, mask = input_ids.to(self.accelerator.device), mask.to(self.accelerator.device)
        if self.reward_model is not None and not (self.reward_model is self.value_model and self.value_lora):
            return (
                self.reward_model(input_ids=input_ids, attention_mask=mask, use_cache=False).logits.squeeze(-1).float()
            )
        with self.value_model.disable_adapter():  # LoRA value model: the frozen RM is its base weights
            return (
                self.value_model(input_ids=input_ids, attention_mask=mask, use_cache=False).logits.squeeze(-1).float()
            )

    # -- one PPO step -----------------------------------------------------------------------------
    @torch.no_grad()
    def _generate(self, enc, reference: bool = False):
        """Sample responses to the encoded prompts from π_φ, or from π_SFT when `reference`."""
        args, tok = self.args, self.tokenizer
        kwargs = dict(
            do_sample=True,
            temperature=args.temperature,
            top_p=args.top_p,
            top_k=0,
            max_new_tokens=args.response_length,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )
        policy = self.policy
        policy.eval()
        try:
            if reference and self.ref_policy is not None:
                return self.ref_policy.generate(**enc, **kwargs)
            if reference:
                with policy.disable_adapter():
                    return policy.generate(**enc, **kwargs)
            with unwrap_for_generation(self.model, self.accelerator):  # ZeRO-3: gathers the sharded weights
                return policy.generate(**enc, **kwargs)
        finally:
            policy.train()

    def _decode(self, responses: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
        tok = self.tokenizer
        mask = response_mask(responses, tok.eos_token_id)
        texts = tok.batch_decode(
            responses * mask.long() + tok.pad_token_id * (1 - mask.long()), skip_special_tokens=True
        )
        return mask, texts

    @torch.no_grad()
    def rollout(self) -> dict:
        args, tok = self.args, self.tokenizer
        # 1. rollout: a batch of prompts (seeded epoch order), left-padded; sample responses from π_φ
        idx = self.prompt_sampler.next(args.rollout_batch_size)
        prompts = [self.prompts[i] for i in idx]
        texts = [format_prompt(tok, p, self.chat) for p in prompts]
        enc = tok(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=args.max_prompt_length,
            add_special_tokens=False,
        ).to(self.accelerator.device)
        context_length = enc["input_ids"].shape[1]
        out = self._generate(enc)
        responses = out[:, context_length:]
        if responses.shape[1] == 0:
            raise AlignbenchError("generation produced no tokens")
        mask, response_texts = self._decode(responses)  # mask: 1 up to and including the first EOS
        attention = torch.cat([enc["attention_mask"], mask.long()], dim=1)
        pos = positions(attention)
        #    log π_φ and log π_SFT of the sampled tokens, values V(s_t) from the value model at every position
        logprobs, _ = policy_logprobs(self.policy, out, attention, pos, context_length, args.temperature)
        ref_logprobs = self._ref_logprobs(out, attention, pos, context_length)
        value_hidden = None
        if args.value_head_only:  # the frozen backbone's states, reused by every PPO epoch
            value_hidden = value_hidden_states(self.value_model, out, attention, pos)
            values = self.accelerator.unwrap_model(self.model).value_head(value_hidden).squeeze(-1).float()
            values = values[:, context_length - 1 : -1]
        else:
            values = token_values(self.value_model, out, attention, pos)[:, context_length - 1 : -1]

        # 2. score: the frozen RM's normalised score of each (prompt, response); the SFT reference is sampled
        #    on the same prompts every `ref_score_steps` steps, so the log shows the policy's gain over it
        scores = self._scores(prompts, response_texts)
        if args.score_clip is not None:
            scores = scores.clamp(-args.score_clip, args.score_clip)
        ref_scores = None
        if args.ref_score_steps and self.step % args.ref_score_steps == 0:
            device = self.accelerator.device
            # its own seeded random stream: logging the reference never changes the policy's samples
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(args.seed * 1_000_003 + 7919 * self.step + 1)
                ref_texts = self._decode(self._generate(enc, reference=True)[:, context_length:])[1]
            ref_scores = self._scores(prompts, ref_texts)

        # 3. rewards: −β · (log π_φ − log π_SFT) per token (k1, the objective's KL), the RM score added at the
        #    last response token; the logged KL is k3 = (ρ − 1) − log ρ, ρ = π_SFT/π_φ, which is ≥ 0 per token
        log_ratio = (logprobs - ref_logprobs) * mask
        rewards = -self.kl_ctl.value * log_ratio
        last = (mask.sum(1).long() - 1).clamp(min=0)
        rewards[torch.arange(len(last)), last] += scores
        kl_k3 = ((torch.exp(-log_ratio) - 1) + log_ratio) * mask

        # 4. GAE: advantages and returns from the per-token rewards and values; advantages whitened over the batch
        advantages, returns = gae(rewards, values, mask, args.gamma, args.lam)
        if args.whiten_advantages:
            advantages = masked_whiten(
                advantages, mask, self._sum_over_processes if self.accelerator.num_processes > 1 else None
            )
        return {
            "input_ids": out,
            "attention_mask": attention,
            "position_ids": pos,
            "context_length": context_length,
            "mask": mask,
            "logprobs": logprobs,
            "values": values,
            "advantages": advantages,
            "returns": returns,
            "scores": scores,
            "ref_scores": ref_scores,
            "kl": kl_k3.sum(1),
            "kl_k1": log_ratio.sum(1),
            "value_hidden": value_hidden,
            "prompts": prompts,
            "responses": response_texts,
        }

    def _ptx_batch(self) -> dict:
        idx = self.ptx_sampler.next(self.args.ptx_batch_size)
        return _lm_batch(
            self.tokenizer_right,
            [self.pretrain_texts[i] for i in idx],
            self.args.ptx_max_length,
            self.accelerator.device,
        )

    @property
    def tokenizer_right(self):
        if not hasattr(self, "_tok_right"):
            import copy

            self._tok_right = copy.copy(self.tokenizer)
            self._tok_right.padding_side = "right"
        return self._tok_right

    def optimise(self, batch: dict) -> dict:
        args, acc = self.args, self.accelerator
        B = batch["input_ids"].shape[0]
        ctx = batch["context_length"]
        micro = args.mini_batch_size // args.gradient_accumulation_steps
        stats = {k: [] for k in ("policy_loss", "value_loss", "clip_frac", "approx_kl", "entropy", "ptx_loss")}
        # the minibatch order has its own generator: reading ptx data (or not) never shifts it
        gen = torch.Generator().manual_seed(args.seed * 1_000_003 + self.step)
        for _ in range(args.num_ppo_epochs):  # 5. optimise: epochs of shuffled minibatches of this rollout
            perm = torch.randperm(B, generator=gen)
            for mb_start in range(0, B, args.mini_batch_size):
                mb = perm[mb_start : mb_start + args.mini_batch_size]
                for mc_start in range(0, len(mb), micro):
                    ix = mb[mc_start : mc_start + micro].to(acc.device)
                    with acc.accumulate(self.model):
                        loss, s = self._loss(batch, ix, ctx)
                        for k, v in s.items():
                            stats[k].append(v)
                        acc.backward(loss)
                        if acc.sync_gradients and args.max_grad_norm:
                            acc.clip_grad_norm_(self.model.parameters(), args.max_grad_norm)
                        self.optimizer.step()
                        self.scheduler.step()
                        self.optimizer.zero_grad()
        return {k: sum(v) / len(v) for k, v in stats.items() if v}

    def _sum_over_processes(self, t: torch.Tensor) -> torch.Tensor:
        return self.accelerator.reduce(t, reduction="sum")

    def _loss(self, batch: dict, ix: torch.Tensor, ctx: int) -> tuple[torch.Tensor, dict]:
        """5. optimise: the loss of one micro-batch of rollouts (rows `ix`) plus one ptx batch."""
        args = self.args
        mask, old_logprobs = batch["mask"][ix], batch["logprobs"][ix]
        n_proc, token_mean = self.accelerator.num_processes, masked_mean
        if n_proc > 1:
            # Token means over the micro-batch of ALL processes: DDP averages gradients over processes, so each
            # process contributes its token sum scaled by n_proc / (global token count); then 2 processes
            # step exactly as 1 process on the union (a mean of per-process means would weigh tokens unequally).
            n_global = self._sum_over_processes(mask.sum()).clamp(min=1)
            token_mean = lambda x, m: (x * m).sum() * n_proc / n_global
        old_values, adv, ret = batch["values"][ix], batch["advantages"][ix], batch["returns"][ix]
        # 5a. ptx batch; γ = 0 with pretraining data: the ptx loss is measured for the log only, outside the graph, so
        # the update is plain PPO (its data order has its own sampler: no other random state moves)
        ptx = self._ptx_batch() if self.pretrain_texts else None
        hidden = batch["value_hidden"][ix] if batch.get("value_hidden") is not None else None
        out = self.model(
            batch["input_ids"][ix],
            batch["attention_mask"][ix],
            batch["position_ids"][ix],
            ctx,
            args.temperature,
            ptx=ptx,
            ptx_grad=args.ptx_coef > 0,
            value_hidden=hidden,
        )
        logprobs, entropy, vpred = out["logprobs"], out["entropy"], out["values"]

        # 5b. clipped surrogate: −min(ρ·A, clip(ρ, 1±ε)·A) with ρ = π_φ/π_old, mean over response tokens
        ratio = torch.exp(logprobs - old_logprobs)
        pg_losses = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.cliprange, 1 + args.cliprange))
        policy_loss = token_mean(pg_losses, mask)
        # 5c. clipped value loss toward the GAE returns
        vclipped = old_values + (vpred - old_values).clamp(-args.cliprange_value, args.cliprange_value)
        value_loss = 0.5 * token_mean(torch.max((vpred - ret) ** 2, (vclipped - ret) ** 2), mask)
        # 5d. total: policy + vf_coef · value (+ γ · ptx LM loss); the caller clips gradients and steps
        loss = policy_loss + args.vf_coef * value_loss
        if ptx is not None and n_proc > 1:  # the LM loss is a mean over this process's tokens: reweigh as above
            n_ptx = (ptx["labels"][:, 1:] != -100).sum()
            out["ptx_loss"] = out["ptx_loss"] * n_ptx * n_proc / self._sum_over_processes(n_ptx).clamp(min=1)
        if ptx is not None and args.ptx_coef > 0:
            loss = loss + args.ptx_coef * out["ptx_loss"]

        stats = {
            "policy_loss": policy_loss.item(),
            "value_loss": value_loss.item(),
            "clip_frac": token_mean(((ratio - 1).abs() > args.cliprange).float(), mask).item(),
            "approx_kl": token_mean(0.5 * (logprobs - old_logprobs) ** 2, mask).item(),
            "entropy": token_mean(entropy, mask).item(),
        }
        if ptx is not None:
            stats["ptx_loss"] = out["ptx_loss"].item()
        return loss, stats

    def train(self, resume: bool | str = False) -> list[dict]:
        from alignbench.progress import progress_bar

        args, acc = self.args, self.accelerator
        if resume:
            self.load_checkpoint(None if resume is True else resume)
        if acc.is_main_process and report_to_enabled(args):
            acc.init_trackers(
                "alignbench-ppo-ptx",
                config={k: v for k, v in args.to_dict().items() if isinstance(v, (int, float, str, bool))},
            )
        # A bar on a terminal, a line every $ALIGNBENCH_PROGRESS_INTERVAL s (rate, ETA) in logs.
        bar = progress_bar(
            total=args.max_steps,
            initial=self.step,
            desc="ppo-ptx",
            unit="step",
            enabled=False if args.disable_tqdm or not acc.is_local_main_process else None,
        )
        log_path = Path(args.output_dir) / "train_log.jsonl"
        while self.step < args.max_steps:
            batch = self.rollout()  # steps 1-4: sample, score, per-token rewards, GAE
            stats = self.optimise(batch)  # step 5: PPO epochs (+ ptx)
            mean_kl = acc.gather(batch["kl"]).mean().item()
            record = {
                "step": self.step + 1,
                "reward": acc.gather(batch["scores"] - self.kl_ctl.value * batch["kl_k1"]).mean().item(),
                "score": acc.gather(batch["scores"]).mean().item(),
                "kl": mean_kl,
                "kl_k1": acc.gather(batch["kl_k1"]).mean().item(),
                "response_length": acc.gather(batch["mask"].sum(1)).mean().item(),
                "kl_coef": self.kl_ctl.value,
                "learning_rate": self.scheduler.get_last_lr()[0],
                **{k: acc.gather(torch.tensor(v, device=acc.device)).mean().item() for k, v in stats.items()},
            }
            if batch["ref_scores"] is not None:
                record["score_ref"] = acc.gather(batch["ref_scores"]).mean().item()
                record["score_gain"] = record["score"] - record["score_ref"]
            self.kl_ctl.update(mean_kl, args.rollout_batch_size * acc.num_processes)
            self.step += 1
            self.history.append(record)
            if acc.is_main_process:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(log_path, "a") as fh:
                    fh.write(json.dumps(record) + "\n")
                if report_to_enabled(args):
                    acc.log({f"ppo/{k}": v for k, v in record.items() if k != "step"}, step=self.step)
            if self.step % max(1, args.logging_steps) == 0:
                bar.set_postfix(
                    score=f"{record['score']:.3f}",
                    kl=f"{record['kl']:.3f}",
                    ptx=f"{record.get('ptx_loss', float('nan')):.3f}",
                )
            bar.update(1)
            if args.save_steps and self.step % args.save_steps == 0 and self.step < args.max_steps:
                self.save_checkpoint()
        bar.close()
        if report_to_enabled(args):
            acc.end_training()
        return self.history

    # -- checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Everything a resumed run needs to continue bit-identically: weights, optimiser, scheduler and RNG
        states (accelerate), the KL controller, both data positions, the step and the log so far."""
        folder = Path(self.args.output_dir) / f"checkpoint-{self.step}"
        self.accelerator.save_state(str(folder))
        if self.accelerator.is_main_process:
            state = {
                "step": self.step,
                "kl_coef": self.kl_ctl.value,
                "prompt_sampler": self.prompt_sampler.state_dict(),
                "ptx_sampler": self.ptx_sampler.state_dict(),
                "history": self.history,
            }
            (folder / "ppo_state.json").write_text(json.dumps(state))
            self._rotate_checkpoints()
        self.accelerator.wait_for_everyone()
        return folder

    def _rotate_checkpoints(self) -> None:
        if not self.args.save_total_limit:
            return
        found = sorted(checkpoints(self.args.output_dir), key=lambda p: int(p.name.split("-")[1]))
        for old in found[: -self.args.save_total_limit]:
            import shutil

            shutil.rmtree(old, ignore_errors=True)

    def load_checkpoint(self, folder: str | Path | None = None) -> None:
        if folder is None:
            found = checkpoints(self.args.output_dir)
            if not found:
                raise AlignbenchError(f"--resume: no checkpoint-* folder in {self.args.output_dir}")
            folder = max(found, key=lambda p: int(p.name.split("-")[1]))
        folder = Path(folder)
        self.accelerator.load_state(str(folder))
        state = json.loads((folder / "ppo_state.json").read_text())
        self.step = state["step"]
        self.kl_ctl.value = state["kl_coef"]
        self.prompt_sampler.load_state_dict(state["prompt_sampler"])
        self.ptx_sampler.load_state_dict(state["ptx_sampler"])
        self.history = state["history"]
        log_path = Path(self.args.output_dir) / "train_log.jsonl"
        if self.accelerator.is_main_process:  # the log restarts from the checkpoint's step
            log_path.write_text("".join(json.dumps(r) + "\n" for r in self.history))


def unwrap_for_generation(model, accelerator):
    """Under DeepSpeed ZeRO-3 the weights are sharded: gather them for generation (what TRL's
    unwrap_model_for_generation does for its own model wrappers); a no-op elsewhere."""
    import contextlib

    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if plugin is None or plugin.zero_stage != 3:
        return contextlib.nullcontext(model)
    import deepspeed

    return deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=None)


def checkpoints(output_dir: str | Path) -> list[Path]:
    root = Path(output_dir)
    return (
        [p for p in root.glob("checkpoint-*") if re.fullmatch(r"checkpoint-\d+", p.name) and p.is_dir()]
        if root.is_dir()
        else []
    )


def report_to_enabled(args: PPOPtxConfig) -> bool:
    report = [args.report_to] if isinstance(args.report_to, str) else list(args.report_to)
    return any(r not in ("none", "") for r in report)


# ---------------------------------------------------------------------------------------------
# The stage from specs/recipes
# ---------------------------------------------------------------------------------------------
def train_ppo_ptx(recipe=None, reward_fn: Callable | None = None, **overrides):
    """PPO-ptx from a recipe (path or dict) and/or keyword overrides; returns TrainResult.

    Keys: model (the SFT policy), reward_model (RM checkpoint; or pass `reward_fn(prompts, responses) ->
    list[float]` in Python), train_data (prompts: any records with a `prompt`), pretrain_data ({text}
    records for ptx), lora, merge_lora, chat_template, resume, and any PPOPtxConfig field.
    """
    resolved = resolve_recipe("ppo", load_recipe(recipe, overrides), PPOPtxConfig)
    opts, args = resolved.options, resolved.args
    if opts.get("reward_model") is None and reward_fn is None:
        raise AlignbenchError("recipe: 'reward_model' is missing (the RM checkpoint from `alignbench train rm`)")
    torch.manual_seed(args.seed)
    policy, tokenizer = load_model(opts["model"], task="causal-lm")
    chat = use_chat_template(tokenizer, opts.get("chat_template"))
    lora = lora_config(opts.get("lora"), "CAUSAL_LM")
    ref_policy = None
    if lora is not None:
        from peft import get_peft_model

        policy = get_peft_model(policy, lora)
    else:
        ref_policy, _ = load_model(opts["model"], task="causal-lm")
    value_spec = opts.get("reward_model") or opts["model"]
    value_model, reward_tokenizer = load_model(value_spec, task="reward")
    reward_model = None
    if opts.get("reward_model") is not None:
        if args.value_head_only:
            reward_model = value_model  # frozen: RM and critic backbone in one copy, the critic's head apart
        elif opts.get("lora"):
            from peft import get_peft_model

            value_model = get_peft_model(value_model, lora_config(opts.get("lora"), "SEQ_CLS"))
            reward_model = value_model  # adapters disabled = the frozen RM
        else:
            reward_model, _ = load_model(opts["reward_model"], task="reward")
    policy.train()
    value_model.train()

    prompt_records, prompt_entry = load_data(opts["train_data"], "prompt", "train_data")
    prompts = [(r.meta.get("messages") if chat and r.meta.get("messages") else r.prompt) for r in prompt_records]
    datasets = {"prompts": prompt_entry}
    pretrain_texts = None
    if opts.get("pretrain_data") is not None:
        texts, datasets["pretrain"] = load_data(opts["pretrain_data"], "pretrain", "pretrain_data")
        pretrain_texts = [t.text for t in texts]
    elif args.ptx_coef > 0:
        raise AlignbenchError("recipe: ptx_coef > 0 needs pretrain_data")

    trainer = PPOPtxTrainer(
        args,
        policy,
        tokenizer,
        value_model,
        prompts,
        reward_model=reward_model,
        reward_tokenizer=reward_tokenizer,
        reward_fn=reward_fn,
        ref_policy=ref_policy,
        pretrain_texts=pretrain_texts,
        chat=chat,
    )
    history = trainer.train(resume=opts.get("resume") or False)
    final = policy_to_save = trainer.policy
    if lora is not None and opts.get("merge_lora", True):
        policy_to_save = final.merge_and_unload()
    metrics = summarise_history(history)
    out = Path(args.output_dir)
    if trainer.accelerator.is_main_process:
        policy_to_save.save_pretrained(out)
        tokenizer.padding_side = "left"
        tokenizer.save_pretrained(out)
        inputs = {"reward_model": opts["reward_model"]} if opts.get("reward_model") else {}
        write_lineage(
            out,
            stage="ppo",
            parent_spec=opts["model"],
            config=resolved.to_dict(),
            datasets=datasets,
            metrics=metrics,
            inputs=inputs,
            extra={
                "chat_template": chat,
                "reward": "reward_model" if reward_fn is None else "reward_fn",
                "final_kl_coef": trainer.kl_ctl.value,
            },
        )
    trainer.accelerator.wait_for_everyone()
    return TrainResult(out, metrics, read_lineage(out) or {})


def summarise_history(history: list[dict]) -> dict:
    if not history:
        return {}
    k = max(1, len(history) // 4)
    first, last = history[:k], history[-k:]
    mean = lambda rows, key: sum(r[key] for r in rows if key in r) / max(1, sum(key in r for r in rows))  # noqa: E731
    out = {"steps": len(history)}
    for key in ("score", "score_ref", "score_gain", "reward", "kl", "kl_k1", "ptx_loss", "response_length"):
        if key in history[-1]:
            out[f"{key}_first_quarter"] = mean(first, key)
            out[f"{key}_last_quarter"] = mean(last, key)
    return out
