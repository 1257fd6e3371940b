"""Throughput of the offline toxicity scorers on real RealToxicityPrompts texts, side by side in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/toxicity_scorers.py [--n 1000] [--threads 2]

Prints texts/s of profanity-check and distilled-perspective (end to end: MiniLM embedding + profanity feature +
head) at several batch sizes, and the share of distilled-perspective's time spent in the MiniLM embedding.
Last line: one JSON object of headline figures.  Timings on a shared machine are noisy: run it twice.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def timed(fn, *args, repeats: int = 1, **kwargs) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="texts to score (default 1000)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the 2-core CI machine)")
    ap.add_argument("--batch-sizes", default="16,64,256", help="distilled-perspective batch sizes")
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from alignbench.scorers.toxicity import get_toxicity_scorer
    from alignbench.scorers.toxicity.features import get_embedder, profanity_probability
    from alignbench.scorers.toxicity.train import load_perspective_texts

    data = load_perspective_texts()
    idx = np.linspace(0, len(data.texts) - 1, args.n).astype(int)
    texts = [data.texts[i] for i in idx]
    chars = np.mean([len(t) for t in texts])
    print(f"{len(texts)} RTP texts (mean {chars:.0f} chars), torch threads {args.threads}, cpus {os.cpu_count()}")

    t0 = time.perf_counter()
    distilled = get_toxicity_scorer("distilled-perspective")
    load_s = time.perf_counter() - t0
    profanity = get_toxicity_scorer("profanity-check")
    distilled.score(texts[:32])  # warm-up

    figures = {"n_texts": len(texts), "threads": args.threads, "distilled_load_s": round(load_s, 2)}
    prof_s = timed(profanity.score, texts, batch_size=256, repeats=2)
    figures["profanity_check_texts_per_s"] = round(len(texts) / prof_s, 1)
    print(f"profanity-check           batch 256: {len(texts) / prof_s:9.1f} texts/s")
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        distilled.embed_batch_size = bs
        s = timed(distilled.score, texts, batch_size=max(bs, 256))
        figures[f"distilled_texts_per_s_batch{bs}"] = round(len(texts) / s, 1)
        print(f"distilled-perspective     batch {bs:3d}: {len(texts) / s:9.1f} texts/s")
    distilled.embed_batch_size = 64
    embed_s = timed(get_embedder().embed, texts, batch_size=64)
    prof_feat_s = timed(profanity_probability, texts)
    figures["minilm_embed_texts_per_s"] = round(len(texts) / embed_s, 1)
    figures["embedding_share_of_time"] = round(embed_s / (embed_s + prof_feat_s), 3)
    print(
        f"  of which MiniLM embedding (batch 64): {len(texts) / embed_s:9.1f} texts/s "
        f"({figures['embedding_share_of_time']:.0%} of feature time)"
    )
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(f"load average during run: {figures['load_average_1min']} (shared machine: figures are lower bounds)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
