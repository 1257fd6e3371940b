"""The log-likelihood engine: log P(continuation | context) for multiple-choice evals.

lm-evaluation-harness runs one forward per (context, continuation) pair, so a TruthfulQA question
with a 6-shot primer and 13 answer choices pushes the primer through the model 13 times.  Here the
distinct contexts are sorted by token sequence and walked like a prefix tree with ONE key/value
cache (the trunk: the few-shot primer, the shared "Q:" ...): moving on crops it back to the common
prefix and runs only the new tokens.  The rest of a pack of contexts and all their continuations go
through the model as ONE packed row on that cache, under a tree-shaped attention mask (each branch sees
the trunk, its own context and itself), so every token is forwarded once and the trunk's keys/values
are never copied per row.  `reuse_prefix=False` keeps the naive per-pair path (left-padded batches),
which the tests compare against to 1e-4.

Tokenisation follows lm-eval exactly: trailing whitespace of the context moves onto the continuation;
context+continuation is encoded jointly and split at the length of the encoded context; an empty
context is replaced by the EOS token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from alignbench.errors import AlignbenchError


@dataclass(frozen=True)
class LoglikResult:
    logprob: float  # sum of log-probabilities of the continuation's tokens
    is_greedy: bool  # every continuation token is the argmax given what precedes it
    n_tokens: int  # continuation tokens scored


def _progress(total: int, desc: str, enabled: bool | None):
    """A bar on a terminal, a line every $ALIGNBENCH_PROGRESS_INTERVAL s in logs (alignbench.progress)."""
    from alignbench.progress import progress_bar

    return progress_bar(total=total, desc=desc, unit="req", enabled=enabled)


class LoglikEngine:
    """Scores (context, continuation) pairs.

    model_calls: forward passes run; tokens_forwarded: tokens pushed through the model (what prefix
    reuse saves); both accumulate over calls.
    """

    def __init__(
        self,
        model,
        tokenizer,
        batch_size: int = 32,
        reuse_prefix: bool = True,
        max_length: int | None = None,
        add_bos: bool = False,
        progress: bool | None = None,
        pack_tokens: int = 512,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.reuse_prefix = reuse_prefix
        self.max_length = max_length or getattr(model.config, "max_position_embeddings", None) or 2048
        self.add_bos = add_bos
        self.progress = progress
        self.pack_tokens = int(pack_tokens)  # prefix reuse: new tokens per packed forward (attention is dense)
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
            cont = whole[len(ctx) :]
            if not cont:  # the continuation merged into the context's last token: score it on its own
                cont = self._encode(continuation)
        overflow = len(ctx) + len(cont) - self.max_length
        if overflow > 0:  # as lm-eval: drop the oldest context tokens
            if overflow >= len(ctx):
                raise AlignbenchError(
                    f"continuation of {len(cont)} tokens does not fit the model's {self.max_length}-token context"
                )
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
        mask = kwargs.get("attention_mask")
        self.tokens_forwarded += int(
            kwargs["input_ids"].numel()
            if mask is None or mask.ndim != 2
            else mask[:, -kwargs["input_ids"].shape[1] :].sum()
        )
        return self.model(**kwargs)

    # -- the naive path: one sequence per pair, as lm-eval --------------------------------------------
    def _score_naive(self, pairs, desc) -> list[LoglikResult]:
        device = self.model.device
        order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
        results: list[LoglikResult | None] = [None] * len(pairs)
        with _progress(len(pairs), desc, self.progress) as bar:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                seqs = [(pairs[i][0] + pairs[i][1])[:-1] for i in idx]  # the last token is never an input
                width, keep = max(map(len, seqs)), max(len(pairs[i][1]) for i in idx)
                ids = torch.full((len(seqs), width), self.prefix_token_id, dtype=torch.long)
                mask = torch.zeros((len(seqs), width), dtype=torch.long)
                for row, s in enumerate(seqs):  # left padding: every continuation ends at the right edge
                    ids[row, width - len(s) :] = torch.tensor(s)
                    mask[row, width - len(s) :] = 1
                pos = (mask.cumsum(-1) - 1).clamp(min=0)
                out = self._forward(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    position_ids=pos.to(device),
                    logits_to_keep=keep,
                    use_cache=False,
                )
                logprobs = torch.log_softmax(out.logits.float(), dim=-1)
                for row, i in enumerate(idx):
                    n = len(pairs[i][1])
                    results[i] = self._score(logprobs[row, keep - n :], pairs[i][1])
                bar.update(len(idx))
        return results

    # -- the prefix-reuse path -----------------------------------------------------------------------
    def _score_with_prefix_reuse(self, pairs, desc) -> list[LoglikResult]:
        """Two levels of the prefix tree per pack of contexts (a pack holds <= batch_size continuations and
        about `pack_tokens` new tokens):
        trunk - the pack's common prefix (e.g. the few-shot primer), a batch-1 cache kept across packs and
                only extended by what the previous pack did not already hold;
        pack  - every context's remainder after the trunk and every continuation, laid end to end in ONE
                row and run in one forward on the trunk, with a tree-shaped attention mask: a remainder
                attends to the trunk and causally to itself, a continuation to the trunk, its context's
                remainder and causally to itself; position ids continue each branch's own sequence.
        One row means the trunk's keys/values are never copied per context or per choice (the former
        three-level scheme expanded them with index_select to every row, and the attention's GQA repeat
        copied them again), the matmuls see a few hundred rows at once, and the vocabulary projection runs
        only where a log-probability is read (logits_to_keep as indices)."""
        from transformers import DynamicCache

        device = self.model.device
        by_context: dict[tuple[int, ...], list[int]] = {}
        for i, (ctx, _) in enumerate(pairs):
            by_context.setdefault(tuple(ctx), []).append(i)
        results: list[LoglikResult | None] = [None] * len(pairs)
        trunk, trunk_tokens = DynamicCache(config=self.model.config), ()
        with _progress(len(pairs), desc, self.progress) as bar:
            for pack in self._packs(sorted(by_context), by_context, pairs):  # sorted = depth-first over the tree
                # trunk: the pack's longest common prefix, leaving >= 1 token per context to produce its logits
                prefix = min(len(c) for c, _ in pack) - 1
                for c, _ in pack[1:]:
                    prefix = min(prefix, _common_prefix(pack[0][0], c))
                keep = _common_prefix(trunk_tokens, pack[0][0][:prefix])
                if len(trunk_tokens) > keep:
                    trunk.crop(keep - len(trunk_tokens))  # negative: the number of tokens to drop
                if prefix > keep:
                    self._forward(
                        input_ids=torch.tensor([pack[0][0][keep:prefix]], device=device),
                        position_ids=torch.arange(keep, prefix, device=device).unsqueeze(0),
                        past_key_values=trunk,
                        use_cache=True,
                        logits_to_keep=1,
                    )
                trunk_tokens = pack[0][0][:prefix]
                # the packed row: token ids, positions, and for every token the span it may attend to
                ids, pos, spans, reads = [], [], [], []  # reads: (request, row of logits, continuation token)
                for c, members in pack:
                    rem_start = len(ids)
                    ids += c[prefix:]
                    pos += range(prefix, len(c))
                    spans += [(rem_start, rem_start + k + 1, -1, -1) for k in range(len(c) - prefix)]
                    last_of_context = len(ids) - 1
                    for i in members:
                        cont = pairs[i][1]
                        fed = cont[:-1]  # the first token is predicted by the context's last token
                        start = len(ids)
                        ids += fed
                        pos += range(len(c), len(c) + len(fed))
                        spans += [(rem_start, last_of_context + 1, start, start + k + 1) for k in range(len(fed))]
                        reads.append((i, [last_of_context] + list(range(start, start + len(fed)))))
                n = len(ids)
                allowed = torch.zeros((n, prefix + n), dtype=torch.bool)
                allowed[:, :prefix] = True
                for q, (a, b, c0, c1) in enumerate(spans):
                    allowed[q, prefix + a : prefix + b] = True
                    if c0 >= 0:
                        allowed[q, prefix + c0 : prefix + c1] = True
                mask = allowed
                if getattr(self.model.config, "_attn_implementation", "sdpa") != "sdpa":  # eager etc. add the mask
                    mask = torch.zeros(allowed.shape, dtype=self.model.dtype).masked_fill_(
                        ~allowed, torch.finfo(self.model.dtype).min
                    )
                needed = sorted({row for _, rows in reads for row in rows})
                where = {row: k for k, row in enumerate(needed)}
                out = self._forward(
                    input_ids=torch.tensor([ids], device=device),
                    position_ids=torch.tensor([pos], device=device),
                    attention_mask=mask[None, None].to(device),
                    past_key_values=trunk,
                    use_cache=True,
                    logits_to_keep=torch.tensor(needed, device=device),
                )
                trunk.crop(-n)  # drop the pack's branches again: the trunk is all that carries over
                logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
                for i, rows in reads:
                    results[i] = self._score(logprobs[[where[r] for r in rows]], pairs[i][1])
                bar.update(len(reads))
        return results

    def _packs(self, contexts, by_context, pairs):
        """Consecutive (context, its requests) groups holding at most batch_size continuations and about
        pack_tokens new tokens (a context's new tokens estimated against the previous context); a context
        with more continuations than that is split over several packs."""
        pack, rows, tokens, previous = [], 0, 0, ()
        for c in contexts:
            members = by_context[c]
            for s in range(0, len(members), self.batch_size):
                part = members[s : s + self.batch_size]
                need = len(c) - _common_prefix(previous, c) + sum(len(pairs[i][1]) for i in part)
                if pack and (rows + len(part) > self.batch_size or tokens + need > self.pack_tokens):
                    yield pack
                    pack, rows, tokens = [], 0, 0
                pack.append((c, part))
                rows += len(part)
                tokens += need
            previous = c
        if pack:
            yield pack


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
            raise AlignbenchError(
                "an empty context is scored after the EOS token, which this endpoint's tokenizer does "
                "not name: pass tokenizer=<local folder or hub id> to the openai backend"
            )
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
        spec, backend = spec[len("vllm:") :], "vllm"
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
