"""The reward model's scalar head: batching token ids for it, reading its scores, and its normalisation bias.

An RM is a `*ForSequenceClassification` model with one output; its score for a sequence is the head's value at
the last non-pad token (transformers finds it from `pad_token_id`), so sequences are RIGHT-padded.  `alignbench
train rm` shifts the head so reference demonstrations score 0 on average (the paper's normalisation) and stores
the shift in `config.reward_bias`; `load_model(spec, task="reward")` puts it back with `set_reward_bias`.
"""

from __future__ import annotations

import torch
from trl.trainer.utils import pad


def right_pad(seqs: list[torch.Tensor], pad_token_id: int, pad_to_multiple_of: int | None = None):
    """(input_ids, attention_mask) for 1-d id tensors, right-padded to the longest (or a multiple)."""
    ids = pad(seqs, padding_value=pad_token_id, padding_side="right", pad_to_multiple_of=pad_to_multiple_of)
    mask = pad(
        [torch.ones_like(s) for s in seqs],
        padding_value=0,
        padding_side="right",
        pad_to_multiple_of=pad_to_multiple_of,
    )
    return ids, mask


@torch.no_grad()
def reward_scores(model, tokenizer, texts_ids: list[list[int]], batch_size: int = 16) -> list[float]:
    """RM scores of already-tokenized sequences, in order (batched, right-padded)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(texts_ids)), key=lambda i: len(texts_ids[i]))  # length-sorted batches: less padding
    out = [0.0] * len(texts_ids)
    # Pad with the id the scalar head treats as padding (it reads the score at the last token that is not
    # `config.pad_token_id`): padding with any other id would move the score onto a pad position, so a
    # text's score would depend on the longest text in its batch.
    pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else tokenizer.pad_token_id
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        ids, mask = right_pad([torch.tensor(texts_ids[i]) for i in idx], pad_id)
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False)
        for i, v in zip(idx, logits.logits.squeeze(-1).float().cpu().tolist()):
            out[i] = v
    model.train(was_training)
    return out


def set_reward_bias(model, bias: float) -> None:
    """Give the scalar head a bias (most `*ForSequenceClassification` heads have none) equal to `bias`, and
    record it in `config.reward_bias` so alignbench's loader restores it (plain transformers drops the
    unexpected `score.bias` key for bias-free heads and returns the unshifted score)."""
    head = model.score if hasattr(model, "score") else model.get_output_embeddings()
    value = torch.tensor([float(bias)], dtype=head.weight.dtype, device=head.weight.device)
    if head.bias is None:
        head.bias = torch.nn.Parameter(value)
    else:
        head.bias.data.copy_(value)
    model.config.reward_bias = float(bias)
