"""Generation throughput (generated tokens/s) at batch 1, 8 and 16 on SmolLM2, batch sizes interleaved.

Prompts are real HH-RLHF first human turns, chat template applied, greedy, no cache (every call
generates).  The machine may be shared, so each round runs every batch size back to back and the
headline is the ratio of the best times.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/generation_throughput.py --prompts 16 --max-new-tokens 32

Last line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def hh_prompts(n: int) -> list[str]:
    from alignbench.config import shared_data_dir

    prompts = []
    with gzip.open(shared_data_dir() / "hh-rlhf" / "helpful-base" / "test.jsonl.gz", "rt") as fh:
        for line in fh:
            text = json.loads(line)["chosen"]
            first = text.split("\n\nHuman: ", 1)[-1].split("\n\nAssistant:", 1)[0].strip()
            if first and len(first) < 300:
                prompts.append(first)
            if len(prompts) == n:
                break
    return prompts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--batch-sizes", default="1,8,16")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's choice); 1 gives steadier figures on a shared machine",
    )
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from alignbench.engines import DecodingParams, make_generation_engine
    from alignbench.models import load_model

    pair = load_model(args.model)
    prompts = hh_prompts(args.prompts)
    params = DecodingParams(max_new_tokens=args.max_new_tokens, chat=True)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    print(
        f"model={args.model} prompts={len(prompts)} max_new_tokens={args.max_new_tokens} "
        f"torch_threads={torch.get_num_threads()}"
    )
    make_generation_engine(pair, fingerprint="bench", batch_size=2, progress=False).generate(
        prompts[:2], DecodingParams(max_new_tokens=4)
    )  # warm-up
    times: dict[int, list[float]] = {b: [] for b in sizes}
    tokens: dict[int, int] = {}
    texts: dict[int, list[str]] = {}
    for r in range(args.rounds):
        for b in sizes if r % 2 == 0 else sizes[::-1]:
            engine = make_generation_engine(pair, fingerprint="bench", batch_size=b, progress=False)
            t0 = time.perf_counter()
            out = engine.generate(prompts, params)
            times[b].append(time.perf_counter() - t0)
            tokens[b] = engine.tokens_generated
            texts[b] = [g[0].text for g in out]
            print(
                f"round {r} batch {b:3d}: {times[b][-1]:7.2f} s  {tokens[b] / times[b][-1]:7.1f} tok/s "
                f"({tokens[b]} tokens, {engine.model_calls} generate calls)"
            )
    base = sizes[0]
    tok_s = {b: tokens[b] / min(times[b]) for b in sizes}
    identical = all(texts[b] == texts[base] for b in sizes)
    summary = {
        "model": args.model,
        "prompts": len(prompts),
        "max_new_tokens": args.max_new_tokens,
        **{f"tok_s_batch{b}": round(tok_s[b], 1) for b in sizes},
        **{f"speedup_batch{b}": round(tok_s[b] / tok_s[base], 2) for b in sizes[1:]},
        "greedy_outputs_identical_across_batch_sizes": identical,
    }
    for b in sizes[1:]:
        print(f"batch {b} vs {base}: {tok_s[b] / tok_s[base]:.2f}x")
    print(f"greedy outputs identical across batch sizes: {identical}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
