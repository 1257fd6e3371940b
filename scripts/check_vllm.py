"""The stages of scripts/check_vllm.sh (run that; it builds the vLLM environment and serves the model).

  reference  (project venv)  hf: greedy token ids with each step's top-2 log-prob gap, TruthfulQA MC
                             log-likelihoods -> a reference JSON
  served     (project venv)  the same through the OpenAI-compatible server: /v1/completions token ids,
                             alignbench's openai backend (seeded sampling) and loglik engine (echo)
  inprocess  (vLLM venv)     the same through alignbench's in-process vLLM backend (prompt_logprobs)
  evalrun    (either)        compare the metrics.json of `alignbench eval` runs

Each stage prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "How do I boil an egg?",
    "Name three primary colors.",
    "What is 12 times 12?",
    "Explain photosynthesis in one sentence.",
    "Give me a synonym for happy.",
    "Who wrote Romeo and Juliet?",
    "What does a CPU do?",
    "Translate 'good morning' into Spanish.",
    "Why is the sky blue?",
    "List two uses of a paperclip.",
    "What is the boiling point of water in Celsius?",
    "Suggest a name for a pet turtle.",
    "What is machine learning?",
    "How many legs does a spider have?",
]
NEW_TOKENS = 32
NEAR_TIE = 1e-3  # a greedy difference is accepted only where hf's top-2 log-prob gap is below this
LOGLIK_TOL = 1e-4


def chat_ids(tokenizer, prompt: str) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def tqa_requests(n_questions: int):
    from alignbench.data.adapters import load_dataset_items
    from alignbench.evals import truthfulqa as tqa

    items = load_dataset_items("truthfulqa", version="v0", limit=n_questions)  # lm-eval's order (mc_task.json)
    requests = []
    for item in items:
        ctx, choices, _ = tqa.mc_requests(item)
        requests += [(ctx, " " + c) for c in choices]
    return items, requests


class Scored:
    """An engine stand-in that answers `score_mc`'s single loglikelihood call with results already computed
    for the same requests (so MC1/MC2 cost no second pass)."""

    def __init__(self, requests, results):
        self.requests, self.results = list(requests), list(results)

    def loglikelihood(self, requests, desc=None):
        assert list(requests) == self.requests, "score_mc asked for other requests than tqa_requests built"
        return self.results


def mc_pass(engine, items, requests) -> tuple[list, dict]:
    from alignbench.evals import truthfulqa as tqa

    results = engine.loglikelihood(requests)
    return results, tqa.score_mc(Scored(requests, results), items)


# -- reference: hf ----------------------------------------------------------------------------------------------
def reference(args) -> dict:
    import torch

    from alignbench.engines import LoglikEngine
    from alignbench.models import load_model

    model, tokenizer = load_model(args.model)
    greedy = []
    for prompt in PROMPTS:
        ids = chat_ids(tokenizer, prompt)
        with torch.inference_mode():
            out = model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=NEW_TOKENS,
                do_sample=False,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=tokenizer.eos_token_id,
            )
        gaps = []
        for step in out.logits:
            top2 = torch.log_softmax(step[0].float(), dim=-1).topk(2).values
            gaps.append(float(top2[0] - top2[1]))
        greedy.append(
            {"prompt": prompt, "prompt_ids": ids, "tokens": out.sequences[0, len(ids) :].tolist(), "gaps": gaps}
        )
    items, requests = tqa_requests(args.questions)
    results, scores = mc_pass(LoglikEngine(model, tokenizer), items, requests)
    ref = {
        "model": args.model,
        "greedy": greedy,
        "n_questions": len(items),
        "n_requests": len(requests),
        "loglik": [[r.logprob, r.is_greedy, r.n_tokens] for r in results],
        "mc": scores,
    }
    Path(args.out).write_text(json.dumps(ref))
    return {"stage": "reference", "prompts": len(greedy), "questions": len(items), "requests": len(requests)}


# -- comparisons --------------------------------------------------------------------------------------------------
def compare_greedy(ref: dict, produced: list[list[int]]) -> dict:
    """Equal token ids, or a first difference at a step where hf's top-2 gap < NEAR_TIE (shown)."""
    equal, near_ties, failures = 0, [], []
    for r, got in zip(ref["greedy"], produced):
        want = r["tokens"]
        n = min(len(want), len(got))
        first = next((t for t in range(n) if want[t] != got[t]), None)
        if first is None and len(want) != len(got):  # one stopped (EOS) where the other went on
            first = n
        if first is None:
            equal += 1
            continue
        gap = r["gaps"][first] if first < len(r["gaps"]) else None
        entry = {"prompt": r["prompt"], "first_difference_at_token": first, "hf_top2_gap": gap}
        (near_ties if gap is not None and gap < NEAR_TIE else failures).append(entry)
    return {
        "prompts": len(produced),
        "identical": equal,
        "near_tie_differences": near_ties,
        "failures": failures,
        "ok": not failures,
    }


def compare_loglik(ref: dict, results, scores, items) -> dict:
    """Against the reference's first len(results) requests (the first len(items) questions)."""
    ref = {**ref, "loglik": ref["loglik"][: len(results)]}
    if len(items) < ref["n_questions"]:
        ref["n_requests"] = len(results)
    diffs = [abs(r.logprob - w[0]) for r, w in zip(results, ref["loglik"])]
    greedy_mismatch = sum(r.is_greedy != w[1] for r, w in zip(results, ref["loglik"]))
    tokens_mismatch = sum(r.n_tokens != w[2] for r, w in zip(results, ref["loglik"]))
    mc1_equal = sum(scores["mc1"][it.id] == ref["mc"]["mc1"][it.id] for it in items)
    mc2_diff = max(abs(scores["mc2"][it.id] - ref["mc"]["mc2"][it.id]) for it in items)
    worst = max(diffs)
    return {
        "questions": len(items),
        "requests": len(results),
        "max_abs_logprob_diff": worst,
        "items_within_1e-4": sum(d <= LOGLIK_TOL for d in diffs),
        "is_greedy_mismatches": greedy_mismatch,
        "n_tokens_mismatches": tokens_mismatch,
        "mc1_equal": f"{mc1_equal}/{len(items)}",
        "mc2_max_abs_diff": mc2_diff,
        "ok": worst <= LOGLIK_TOL and tokens_mismatch == 0 and len(results) == ref["n_requests"],
    }


def check_sampling(engine_factory) -> dict:
    """Seeded sampling through alignbench's engine: two fresh engines give identical samples; samples 0 and 1
    of a prompt (different seeds) are not all identical."""
    from alignbench.engines import DecodingParams

    params = DecodingParams(max_new_tokens=24, temperature=1.0, top_p=0.9, seed=7, chat=True)
    runs = [engine_factory().generate(PROMPTS[:4], params, n_samples=2) for _ in range(2)]
    texts = [[[g.text for g in gens] for gens in run] for run in runs]
    reproducible = texts[0] == texts[1]
    varied = any(g[0] != g[1] for g in texts[0])
    return {
        "prompts": 4,
        "samples_per_prompt": 2,
        "reproducible": reproducible,
        "seeds_vary_output": varied,
        "ok": reproducible and varied,
    }


# -- served ---------------------------------------------------------------------------------------------------------
def served(args) -> dict:
    import requests as http

    from alignbench.engines import make_generation_engine
    from alignbench.engines.loglik import make_loglik_engine

    ref = json.loads(Path(args.ref).read_text())
    produced = []
    for r in ref["greedy"]:
        body = http.post(
            f"{args.url}/completions",
            json={
                "model": args.served_name,
                "prompt": r["prompt_ids"],
                "max_tokens": NEW_TOKENS,
                "temperature": 0,
                "logprobs": 0,
                "return_tokens_as_token_ids": True,
            },
            timeout=600,
        ).json()
        produced.append([int(t.split(":", 1)[1]) for t in body["choices"][0]["logprobs"]["tokens"]])
    spec = f"openai:{args.served_name}@{args.url}"
    out = {
        "stage": "served",
        "greedy": compare_greedy(ref, produced),
        "sampling": check_sampling(lambda: make_generation_engine(spec, progress=False)),
    }
    items, requests = tqa_requests(ref["n_questions"])
    engine = make_loglik_engine(spec)  # the server's own /tokenize: "smollm2" is no local path
    out["loglik"] = compare_loglik(ref, *mc_pass(engine, items, requests), items)
    out["loglik"]["tokenizer"] = type(engine.tokenizer).__name__
    return out


# -- in-process vLLM ----------------------------------------------------------------------------------------------
def inprocess(args) -> dict:
    from alignbench.engines import make_generation_engine
    from alignbench.engines.loglik import make_loglik_engine

    ref = json.loads(Path(args.ref).read_text())
    engine = make_generation_engine(f"vllm:{args.model}", progress=False)
    backend = engine.backend
    sampling = backend._vllm.SamplingParams(n=1, max_tokens=NEW_TOKENS, temperature=0.0)
    outs = backend.llm.generate(
        [{"prompt_token_ids": r["prompt_ids"]} for r in ref["greedy"]], sampling, use_tqdm=False
    )
    out = {
        "stage": "inprocess",
        "vllm_version": backend._vllm.__version__,
        "greedy": compare_greedy(ref, [list(o.outputs[0].token_ids) for o in outs]),
        "sampling": check_sampling(lambda: make_generation_engine(f"vllm:{args.model}", progress=False)),
    }
    # fewer questions than the served check by default: prompt_logprobs over a 49k vocabulary is the slow part on a
    # CPU, and the in-process engine scores the same tokens the same way as the server (one core each)
    items, requests = tqa_requests(min(args.questions, ref["n_questions"]))
    ll = make_loglik_engine(f"vllm:{args.model}")  # the same vllm.LLM, shared in the process
    out["loglik"] = compare_loglik(ref, *mc_pass(ll, items, requests), items)
    out["shared_llm"] = ll.backend.llm is backend.llm
    if args.eval:  # `alignbench eval --model vllm:...` in this process: it reuses the loaded vllm.LLM
        out["eval_cli"] = cli(argparse.Namespace(argv=args.eval))
    return out


# -- `alignbench ...` with the vllm: prefix ---------------------------------------------------------------------------
def cli(args) -> dict:
    """`alignbench ARGS` in this process.  Where this tree's model-spec grammar does not know `vllm:` yet
    (it names the backend, not the weights), `resolve` is shimmed to read `vllm:SPEC` as SPEC, and the
    summary says so."""
    import dataclasses

    from alignbench import models
    from alignbench.cli import main as alignbench_main
    from alignbench.errors import ModelSpecError
    from alignbench.models import spec as spec_module

    shim = False
    try:
        spec_module.resolve("vllm:smollm2-135m")
    except ModelSpecError:
        shim, original = True, spec_module.resolve

        def resolve(spec: str):
            if spec.strip().startswith("vllm:"):
                return dataclasses.replace(original(spec.strip()[len("vllm:") :]), spec=spec)
            return original(spec)

        spec_module.resolve = models.resolve = resolve
    rc = alignbench_main(args.argv)
    return {"stage": "cli", "rc": rc, "vllm_spec_shim": shim, "ok": rc == 0}


# -- alignbench eval runs -----------------------------------------------------------------------------------------
def evalrun(args) -> dict:
    """MC1/MC2 of each run must equal the hf run's (per-item log-likelihoods within 1e-4 make them equal
    unless a question sits on a tie); generation evals must have produced a value."""
    runs = {}
    for pair in args.runs:
        name, _, path = pair.partition("=")
        runs[name] = json.loads((Path(path) / "metrics.json").read_text())
    flat = {
        name: {
            (e, m, mod): v.get("value")
            for e, by_metric in data.get("evals", data).items()
            if isinstance(by_metric, dict)
            for m, by_model in by_metric.items()
            if isinstance(by_model, dict)
            for mod, v in by_model.items()
            if isinstance(v, dict)
        }
        for name, data in runs.items()
    }
    base = flat.pop("hf")
    out = {
        "stage": "eval",
        "metrics": {name: {f"{e}/{m}": v for (e, m, _), v in f.items()} for name, f in {"hf": base, **flat}.items()},
    }
    ok = bool(base)
    for _name, f in flat.items():
        for (e, m, _), v in f.items():
            want = next((bv for (be, bm, _), bv in base.items() if (be, bm) == (e, m)), None)
            if v is None or (e.startswith("truthfulqa_mc") and want is not None and abs(v - want) > 1e-3):
                ok = False
    out["ok"] = ok
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="stage", required=True)
    r = sub.add_parser("reference")
    r.add_argument("--model", required=True)
    r.add_argument("--questions", type=int, default=50)
    r.add_argument("--out", required=True)
    s = sub.add_parser("served")
    s.add_argument("--url", required=True)
    s.add_argument("--served-name", required=True)
    s.add_argument("--ref", required=True)
    i = sub.add_parser("inprocess")
    i.add_argument("--model", required=True)
    i.add_argument("--ref", required=True)
    i.add_argument("--questions", type=int, default=20)
    i.add_argument("--eval", nargs=argparse.REMAINDER, default=None, help="then `alignbench` with these arguments")
    c = sub.add_parser("cli")
    c.add_argument("argv", nargs=argparse.REMAINDER)
    e = sub.add_parser("evalrun")
    e.add_argument("runs", nargs="+", metavar="NAME=RUN_DIR")
    args = p.parse_args(argv)
    out = {"reference": reference, "served": served, "inprocess": inprocess, "cli": cli, "evalrun": evalrun}[
        args.stage
    ](args)
    print(json.dumps(out), flush=True)  # flushed: vLLM's shutdown may end the process before buffers are written
    return 0 if out.get("ok", True) and all(v.get("ok", True) for v in out.values() if isinstance(v, dict)) else 1


if __name__ == "__main__":  # vLLM spawns its engine process: the guard is required
    sys.exit(main())
