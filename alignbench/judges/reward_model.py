"""Reward-model judge: a trained RM checkpoint scores each (prompt, response); the higher score wins.

Texts are formatted and scored exactly as the RM was trained (alignbench.models.chat_format.encode_pair
and alignbench.models.reward_head.reward_scores: chat template when the tokenizer has one, long inputs cut
from the left so the response survives), so a judge's score means what the RM learned.  `score()` gives the
raw scalar reward, which win-rate reports as the mean reward per model.

Scores do not depend on batch composition: sequences are right-padded with the id the scalar head skips
(`config.pad_token_id`), so the score is read at each text's own last token and padding only adds masked
positions after it (differences stay at float rounding, < 1e-5); identical (prompt, response) pairs are
scored once, so they tie exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from alignbench.judges.base import ScoringJudge


class RewardModelJudge(ScoringJudge):
    type = "reward_model"

    def __init__(
        self,
        model: str,
        name: str | None = None,
        tolerance: float = 0.0,
        batch_size: int = 16,
        max_length: int = 1024,
        chat: bool | None = None,
        device: str | None = None,
        loaded=None,
    ):
        """model: a spec (`load_model(model, task="reward")`); loaded: an already loaded (model, tokenizer)."""
        from alignbench.models import resolve

        self.spec = model
        self.tolerance = float(tolerance)
        self.batch_size = int(batch_size)
        self.max_length = max_length
        self._chat = chat
        self._device = device
        self._loaded = loaded
        resolved = resolve(model)
        self.fingerprint = resolved.fingerprint()
        self.name = name or f"rm:{Path(model).name if resolved.is_local else model}"
        lineage = Path(resolved.path) / "alignbench.json"
        self.lineage = json.loads(lineage.read_text()) if resolved.is_local and lineage.is_file() else None

    def _model(self):
        if self._loaded is None:
            import torch

            from alignbench.models import default_device, load_model

            # A causal-LM checkpoint gets a freshly drawn scalar head: draw it from a fixed seed (without
            # touching the global RNG) so an untrained judge at least scores the same way on every load.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self._loaded = load_model(self.spec, task="reward", device=self._device or default_device())
        return self._loaded

    def _use_chat(self, tokenizer) -> bool:
        if self._chat is not None:
            return bool(self._chat)
        trained = ((self.lineage or {}).get("extra") or {}).get("chat_template")
        if trained is not None:
            return bool(trained)
        return bool(getattr(tokenizer, "chat_template", None))

    def score(
        self,
        prompts: Sequence[str],
        texts: Sequence[str],
        item_ids: Sequence[str],
        items: Sequence[dict] | None = None,
    ) -> list[float]:
        from alignbench.models.chat_format import encode_pair
        from alignbench.models.reward_head import reward_scores

        self._check_lengths(prompts=prompts, texts=texts, item_ids=item_ids, items=items)
        model, tokenizer = self._model()
        chat = self._use_chat(tokenizer)
        ids = []
        for i, (prompt, text) in enumerate(zip(prompts, texts)):
            # items may carry the prompt as chat turns (multi-turn HH-RLHF): score what the RM was trained on
            messages = (items[i] or {}).get("messages") if items is not None else None
            ids.append(encode_pair(tokenizer, messages if messages and chat else prompt, text, chat, self.max_length))
        # Each distinct token sequence is scored once and its score shared: identical responses to the same
        # prompt get the same number by construction (a tie, whatever batches they would have landed in),
        # and the greedy duplicates common in win-rate evals cost no forward.
        unique = list(dict.fromkeys(tuple(x) for x in ids))
        scored = dict(
            zip(unique, reward_scores(model, tokenizer, [list(u) for u in unique], batch_size=self.batch_size))
        )
        return [scored[tuple(x)] for x in ids]
