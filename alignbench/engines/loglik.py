"""The log-likelihood engine: log P(continuation | context) for multiple-choice evals.

lm-evaluation-harness runs one forward per (context, continuation) pair, so a TruthfulQA question
with a 6-shot primer and 13 answer choices pushes the primer through the model 13 times.  Here the
distinct contexts are sorted by token sequence and walked like a prefix tree with ONE key/value
cache: moving from one context to the next crops the cache back to their common prefix (the few-shot
primer, the shared "Q:" ...) and runs only the new tokens; then all continuations of the context are
scored in one batched forward on the context's cache expanded to the batch.  `reuse_prefix=False`
keeps the naive per-pair path (left-padded batches), which the tests compare against to 1e-4.

Tokenisation follows lm-eval exactly: trailing whitespace of the context moves onto the continuation;
context+continuation is encoded jointly and split at the length of the encoded context; an empty
context is replaced by the EOS token.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Sequence

import torch

from alignbench.errors import AlignbenchError


@dataclass(frozen=True)
class LoglikResult:
    logprob: float      # sum of log-probabilities of the continuation's tokens
    is_greedy: bool     # every continuation token is the argmax given what precedes it
    n_tokens: int       # continuation tokens scored


def _progress(total: int, desc: str, enabled: bool | None):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if enabled is None else not enabled
    return tqdm(total=total, desc=desc, unit="req", disable=disable, dynamic_ncols=True)


class LoglikEngine:
    """Scores (context, continuation) pairs.

    model_calls: forward passes run; tokens_forwarded: tokens pushed through the model (what prefix
    reuse saves); both accumulate over calls.
    """

    def __init__(self, model, tokenizer, batch_size: int = 32, reuse_prefix: bool = True,
                 max_length: int | None = None, add_bos: bool = False, progress: bool | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.reuse_prefix = reuse_prefix
        self.max_length = max_length or getattr(model.config, "max_position_embeddings", None) or 2048
        self.add_bos = add_bos
        self.progress = progress
        self.prefix_token_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.bos_token_id
        self.model_calls = 0
        self.tokens_forwarded = 0

    @classmethod
    def from_spec(cls, spec: str, dtype: str = "float32", device: str | None = None, **kwargs) -> "LoglikEngine":
        from alignbench.models import load_model
        from alignbench.models.spec import default_device

        model, tokenizer = load_model(spec, dtype=dtype, device=device or default_device())
        return cls(model, tokenizer, **kwargs)

    # -- tokenisation (lm-eval's rules) ------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=self.add_bos)["input_ids"]

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        if not isinstance(context, str) or not isinstance(continuation, str):
            raise AlignbenchError("loglikelihood requests must be (context, continuation) string pairs")
        if not continuation:
            raise AlignbenchError(f"empty continuation for context {context[-60:]!r}: nothing to score")
        if context == "":
            ctx, cont = [self.prefix_token_id], self._encode(continuation)
        else:
            n_spaces = len(context) - len(context.rstrip())
            if n_spaces:
                context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
            whole, ctx = self._encode(context + continuation), self._encode(context)
            cont = whole[len(ctx):]
            if not cont:  # the continuation merged into the context's last token: score it on its own
                cont = self._encode(continuation)
        overflow = len(ctx) + len(cont) - self.max_length
        if overflow > 0:  # as lm-eval: drop the oldest context tokens
            if overflow >= len(ctx):
                raise AlignbenchError(f"continuation of {len(cont)} tokens does not fit the model's {self.max_length}-token context")
            ctx = ctx[overflow:]
        return ctx, cont

    # -- public API ------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[tuple[str, str]], desc: str = "loglikelihood") -> list[LoglikResult]:
        pairs = [self.encode_pair(c, x) for c, x in requests]
        with torch.inference_mode():
            if self.reuse_prefix:
                return self._score_with_prefix_reuse(pairs, desc)
            return self._score_naive(pairs, desc)

    # -- scoring helpers ---------------------------------------------------------------------------
    @staticmethod
    def _score(logprobs: torch.Tensor, targets: list[int]) -> LoglikResult:
        """logprobs: [len(targets), vocab] predicting each target token."""
        target = torch.tensor(targets, device=logprobs.device)
        picked = logprobs.gather(1, target.unsqueeze(1)).squeeze(1)
        greedy = bool((logprobs.argmax(dim=-1) == target).all())
        return LoglikResult(float(picked.double().sum()), greedy, len(targets))

    def _forward(self, **kwargs):
        self.model_calls += 1
        self.tokens_forwarded += int(kwargs["input_ids"].numel() if "attention_mask" not in kwargs
                                     else kwargs["attention_mask"][:, -kwargs["input_ids"].shape[1]:].sum())
        return self.model(**kwargs)

    # -- the naive path: one sequence per pair, as lm-eval --------------------------------------------
    def _score_naive(self, pairs, desc) -> list[LoglikResult]:
        device = self.model.device
        order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
        results: list[LoglikResult | None] = [None] * len(pairs)
        with _progress(len(pairs), desc, self.progress) as bar:
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                seqs = [(pairs[i][0] + pairs[i][1])[:-1] for i in idx]  # the last token is never an input
                width, keep = max(map(len, seqs)), max(len(pairs[i][1]) for i in idx)
                ids = torch.full((len(seqs), width), self.prefix_token_id, dtype=torch.long)
                mask = torch.zeros((len(seqs), width), dtype=torch.long)
                for row, s in enumerate(seqs):  # left padding: every continuation ends at the right edge
                    ids[row, width - len(s):] = torch.tensor(s)
                    mask[row, width - len(s):] = 1
                pos = (mask.cumsum(-1) - 1).clamp(min=0)
                out = self._forward(input_ids=ids.to(device), attention_mask=mask.to(device),
                                    position_ids=pos.to(device), logits_to_keep=keep, use_cache=False)
                logprobs = torch.log_softmax(out.logits.float(), dim=-1)
                for row, i in enumerate(idx):
                    n = len(pairs[i][1])
                    results[i] = self._score(logprobs[row, keep - n:], pairs[i][1])
                bar.update(len(idx))
        return results

    # -- the prefix-reuse path -----------------------------------------------------------------------
    def _score_with_prefix_reuse(self, pairs, desc) -> list[LoglikResult]:
        """Three levels of the prefix tree per block of contexts (a block holds <= batch_size continuations):
        trunk  - the block's common prefix (e.g. the few-shot primer), kept in a batch-1 cache across blocks
                 and only extended by what the previous block did not already hold;
        context - the rest of each context, one batched forward on the trunk expanded to the block;
        choices - every continuation, one batched forward on its context's row of the block cache."""
        from transformers import DynamicCache

        device = self.model.device
        by_context: dict[tuple[int, ...], list[int]] = {}
        for i, (ctx, _) in enumerate(pairs):
            by_context.setdefault(tuple(ctx), []).append(i)
        results: list[LoglikResult | None] = [None] * len(pairs)
        trunk, trunk_tokens = DynamicCache(config=self.model.config), ()
        with _progress(len(pairs), desc, self.progress) as bar:
            for block in self._blocks(sorted(by_context), by_context):  # sorted = depth-first over the prefix tree
                # trunk: the block's longest common prefix, leaving >= 1 token per context to produce its logits
                prefix = min(len(c) for c in block) - 1
                for c in block[1:]:
                    prefix = min(prefix, _common_prefix(block[0], c))
                keep = _common_prefix(trunk_tokens, block[0][:prefix])
                if len(trunk_tokens) > keep:
                    trunk.crop(keep - len(trunk_tokens))  # negative: the number of tokens to drop
                if prefix > keep:
                    self._forward(input_ids=torch.tensor([block[0][keep:prefix]], device=device),
                                  position_ids=torch.arange(keep, prefix, device=device).unsqueeze(0),
                                  past_key_values=trunk, use_cache=True, logits_to_keep=1)
                trunk_tokens = block[0][:prefix]
                # contexts: the remainders after the trunk, batched
                rems = [list(c[prefix:]) for c in block]
                logits, block_cache, block_mask = self._extend(
                    trunk, torch.ones((1, prefix), dtype=torch.long), [0] * len(block), rems, [prefix] * len(block))
                first = torch.log_softmax(
                    torch.stack([logits[r, len(rem) - 1] for r, rem in enumerate(rems)]).float(), dim=-1)
                # choices: every continuation of the block on its context's cache row
                rows = [(r, i) for r, c in enumerate(block) for i in by_context[c]]
                for start in range(0, len(rows), self.batch_size):
                    chunk = rows[start:start + self.batch_size]
                    fed = [pairs[i][1][:-1] for _, i in chunk]  # the first token is predicted by the context
                    rest = None
                    if any(fed):
                        rest, _, _ = self._extend(block_cache, block_mask, [r for r, _ in chunk], fed,
                                                  [len(block[r]) for r, _ in chunk])
                        rest = torch.log_softmax(rest.float(), dim=-1)
                    for row, (r, i) in enumerate(chunk):
                        cont = pairs[i][1]
                        lp = first[r:r + 1]
                        if len(cont) > 1:
                            lp = torch.cat([lp, rest[row, :len(cont) - 1]], dim=0)
                        results[i] = self._score(lp, cont)
                    bar.update(len(chunk))
        return results

    def _blocks(self, contexts, by_context):
        """Consecutive contexts whose continuations add up to at most batch_size (at least one context)."""
        block, rows = [], 0
        for c in contexts:
            if block and rows + len(by_context[c]) > self.batch_size:
                yield block
                block, rows = [], 0
            block.append(c)
            rows += len(by_context[c])
        if block:
            yield block

    def _extend(self, parent, parent_mask: torch.Tensor, src: list[int], new_tokens: list[list[int]],
                starts: list[int]):
        """Run `new_tokens[r]` (right-padded) on row `src[r]` of `parent` (whose valid positions are
        `parent_mask`), at positions starts[r], starts[r]+1, ...  Returns (logits, cache, attention mask)."""
        from transformers import DynamicCache

        device = self.model.device
        n, width = len(src), max(1, max(len(t) for t in new_tokens))
        index = torch.tensor(src, device=device)
        if parent.get_seq_length() > 0:
            cache = DynamicCache(((k.index_select(0, index), v.index_select(0, index)) for k, v, *_ in parent),
                                 config=self.model.config)
        else:
            cache = DynamicCache(config=self.model.config)
        ids = torch.full((n, width), self.prefix_token_id, dtype=torch.long)
        mask = torch.cat([parent_mask.index_select(0, index.cpu()), torch.zeros((n, width), dtype=torch.long)], dim=1)
        for row, toks in enumerate(new_tokens):
            ids[row, :len(toks)] = torch.tensor(toks, dtype=torch.long)
            mask[row, parent_mask.shape[1]:parent_mask.shape[1] + len(toks)] = 1
        pos = torch.tensor(starts).unsqueeze(1) + torch.arange(width).unsqueeze(0)
        out = self._forward(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=pos.to(device),
                            past_key_values=cache, use_cache=True)
        return out.logits, out.past_key_values, mask


def _common_prefix(a, b) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


# -- backend hook: the same requests scored by a served model or in-process vLLM --------------------------------
class BackendLoglikEngine(LoglikEngine):
    """Tokenises here, by lm-eval's rules (`encode_pair`), and lets a backend score the token ids:
    `backend.score_tokens(pairs, desc) -> [(logprob, is_greedy), ...]` with pairs = [(ctx_ids, cont_ids)]
    (backends/openai.py: /v1/completions with echo; backends/vllm.py: prompt_logprobs).  Sending token ids,
    not text, is what makes the scores equal the hf engine's: both score the very same tokens."""

    def __init__(self, backend, tokenizer, max_length: int, add_bos: bool = False):
        # No local model, so not LoglikEngine.__init__: only what encode_pair reads.
        self.backend = backend
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.add_bos = add_bos
        self.prefix_token_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.bos_token_id
        self.model_calls = 0
        self.tokens_forwarded = 0

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        if context == "" and self.prefix_token_id is None:
            raise AlignbenchError("an empty context is scored after the EOS token, which this endpoint's tokenizer does "
                                  "not name: pass tokenizer=<local folder or hub id> to the openai backend")
        return super().encode_pair(context, continuation)

    def loglikelihood(self, requests: Sequence[tuple[str, str]], desc: str = "loglikelihood") -> list[LoglikResult]:
        pairs = [self.encode_pair(c, x) for c, x in requests]
        scored = self.backend.score_tokens(pairs, desc)
        if len(scored) != len(pairs):
            raise AlignbenchError(f"backend {self.backend.name} scored {len(scored)} of {len(pairs)} requests")
        self.model_calls += 1
        self.tokens_forwarded += sum(len(c) + len(x) for c, x in pairs)
        return [LoglikResult(float(lp), bool(greedy), len(cont)) for (lp, greedy), (_, cont) in zip(scored, pairs)]


def make_loglik_engine(model, backend: str | None = None, **options) -> LoglikEngine:
    """A log-likelihood engine for a spec (`smollm2-135m`, a folder, `openai:MODEL@URL`, `vllm:SPEC`) or a
    (model, tokenizer) pair.  options: batch_size/reuse_prefix/... (hf); tokenizer, max_length, batch_size,
    concurrency, api_key ... (openai); any vllm.LLM argument (vllm)."""
    if isinstance(model, tuple):
        return LoglikEngine(*model, **options)
    spec = model
    if spec.startswith("vllm:"):
        spec, backend = spec[len("vllm:"):], "vllm"
    from alignbench.models import resolve

    resolved = resolve(spec)
    if resolved.kind == "openai":
        from alignbench.engines.backends.openai import OpenAILoglikBackend

        be = OpenAILoglikBackend(resolved.remote_model, resolved.path, **options)
        return BackendLoglikEngine(be, be.tokenizer, be.max_length)
    if backend == "vllm":
        from alignbench.engines.backends.vllm import VLLMBackend

        be = VLLMBackend(resolved, fingerprint=resolved.fingerprint(), **options)
        return BackendLoglikEngine(be, be.tokenizer, be.max_length)
    if backend not in (None, "hf"):
        raise AlignbenchError(f"unknown log-likelihood backend {backend!r}: use hf, vllm or openai")
    return LoglikEngine.from_spec(spec, **options)
