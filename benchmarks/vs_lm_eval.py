"""alignbench vs lm-evaluation-harness on the same model, data and machine, side by side in one run.

    .venv/bin/python benchmarks/vs_lm_eval.py [--tqa-limit 817] [--hellaswag-limit 500] [--chunk 20]
        [--lm-eval-venv DIR] [--batch-size 32]

TruthfulQA MC1 + MC2 (version v0, lm-eval's question order) and HellaSwag, with SmolLM2-135M (the
converted folder in $ALIGNBENCH_CACHE/models/smollm2-135m, loaded by both).  lm-eval runs its OWN task
definitions (its truthfulqa_mc1.yaml / truthfulqa_mc2.yaml / hellaswag.yaml, `include`d) with only the
dataset pointed at local JSONL files written from /work/shared/data; HFLM is its model.  lm-eval lives in
its own virtual environment (its pins may clash with the project's): `--lm-eval-venv DIR` (default
$ALIGNBENCH_LMEVAL_VENV or $ALIGNBENCH_CACHE/venvs/lm-eval) is reused if it has lm_eval, else created with
`python3 -m venv DIR && DIR/bin/pip install torch==<this torch> "lm-eval[hf]==0.4.13" transformers==<this>`.
This script starts itself in that venv as a worker (`--worker`), which keeps HFLM loaded; the parent
runs alignbench in-process and the two alternate chunk by chunk (which one goes first alternates too), so
load from other processes falls on both alike.  Both use one thread (OMP_NUM_THREADS=1 unless set).

Prints per tool wall and CPU seconds, tokens forwarded (lm-eval: its padded batches as fed to the model),
the ratios, per-item agreement (max |delta MC2|, max |delta log-likelihood| over every choice, MC1 and
acc / acc_norm disagreements), and the log-likelihood engine's tokens per CPU-second against the
matmul-bound rate: fp32 matmul GFLOP per CPU-second measured in this run, / (2 * parameters).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LM_EVAL_VERSION = "0.4.13"
TASKS = {"tqa": ["bench_truthfulqa_mc1", "bench_truthfulqa_mc2"], "hs": ["bench_hellaswag"]}


# ---------------------------------------------------------------- worker (runs in the lm-eval venv) --------
def worker(model_dir: str, include_dir: str, batch_size: int) -> None:
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from lm_eval.evaluator import evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    out = sys.stdout
    sys.stdout = sys.stderr  # lm-eval's prints must not reach the protocol stream
    lm = HFLM(pretrained=model_dir, batch_size=batch_size, device="cpu", dtype="float32")
    fed = {"tokens": 0}
    model_call = lm._model_call

    def counting_call(inps, *args, **kwargs):  # what lm-eval pushes through the model, padding included
        fed["tokens"] += int(inps.numel())
        return model_call(inps, *args, **kwargs)

    lm._model_call = counting_call
    manager = TaskManager(include_path=include_dir)
    loaded = {kind: manager.load(names) for kind, names in TASKS.items()}
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        t0, c0, tok0 = time.perf_counter(), time.process_time(), fed["tokens"]
        res = evaluate(
            lm,
            loaded[req["kind"]],
            samples={n: req["indices"] for n in TASKS[req["kind"]]},
            bootstrap_iters=0,
            log_samples=True,
            verbosity="WARNING",
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        samples = {}
        for name, rows in res["samples"].items():
            samples[name] = [
                {
                    "doc_id": r["doc_id"],
                    "args": _arguments(r["arguments"]),
                    "lls": [float(x[0]) for x in r["filtered_resps"]],
                    **{m: float(r[m]) for m in ("acc", "acc_norm") if m in r},
                }
                for r in rows
            ]
        out.write(json.dumps({"wall": wall, "cpu": cpu, "tokens": fed["tokens"] - tok0, "samples": samples}) + "\n")
        out.flush()


def _arguments(args) -> list[list[str]]:
    """lm-eval logs a request's arguments as a list of tuples or as {"gen_args_0": {"arg_0": .., "arg_1": ..}}."""
    if isinstance(args, dict):
        return [[a["arg_0"], a["arg_1"]] for a in args.values()]
    return [[a[0], a[1]] for a in args]


# ---------------------------------------------------------------- the lm-eval environment ------------------
def lm_eval_python(venv: Path) -> Path:
    """The venv's python, creating the venv (torch + transformers as here, lm-eval pinned) if needed."""
    import torch
    import transformers

    python = venv / "bin" / "python"
    if (
        python.exists()
        and subprocess.run([str(python), "-c", "import lm_eval"], capture_output=True, check=False).returncode == 0
    ):
        return python
    print(f"creating the lm-eval environment in {venv} (a few minutes) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    torch_version = torch.__version__.split("+")[0]
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            f"torch=={torch_version}",
            f"lm-eval[hf]=={LM_EVAL_VERSION}",
            f"transformers=={transformers.__version__}",
        ],
        check=True,
    )
    return python


# ---------------------------------------------------------------- local task definitions -------------------
def _lm_eval_tasks_dir(python: Path) -> Path:
    code = "import lm_eval.tasks, os; print(os.path.dirname(lm_eval.tasks.__file__))"
    return Path(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip())


def write_local_tasks(folder: Path, tasks_dir: Path, tqa_items, hs_items) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "truthfulqa_v0.jsonl", "w", encoding="utf-8") as fh:
        for it in tqa_items:  # the HF truthful_qa multiple_choice layout
            fh.write(
                json.dumps(
                    {
                        "question": it.inputs["question"],
                        "mc1_targets": it.references["mc1"],
                        "mc2_targets": it.references["mc2"],
                    }
                )
                + "\n"
            )
    with open(folder / "hellaswag_val.jsonl", "w", encoding="utf-8") as fh:
        for it in hs_items:  # the HF Rowan/hellaswag layout; ctx_a/ctx_b split restored from the text file
            label, _, rest = it.inputs["ctx"].partition(": ")
            ctx_b = it.meta["ctx_b"]
            ctx_a = rest[: len(rest) - len(ctx_b)].rstrip() if ctx_b else rest
            fh.write(
                json.dumps(
                    {
                        "activity_label": label,
                        "ctx_a": ctx_a,
                        "ctx_b": ctx_b,
                        "endings": it.inputs["endings"],
                        "label": str(it.references["label"]),
                    }
                )
                + "\n"
            )
    data = {"truthfulqa": folder / "truthfulqa_v0.jsonl", "hellaswag": folder / "hellaswag_val.jsonl"}
    for name, base, src in (
        ("bench_truthfulqa_mc1", "truthfulqa/truthfulqa_mc1.yaml", "truthfulqa"),
        ("bench_truthfulqa_mc2", "truthfulqa/truthfulqa_mc2.yaml", "truthfulqa"),
        ("bench_hellaswag", "hellaswag/hellaswag.yaml", "hellaswag"),
    ):
        (folder / f"{name}.yaml").write_text(
            f"include: {tasks_dir / base}\ntask: {name}\ntag: []\ndataset_path: json\ndataset_name: null\n"
            f"dataset_kwargs:\n  data_files:\n    validation: {data[src]}\ntraining_split: null\n"
            "validation_split: validation\n"
        )


# ---------------------------------------------------------------- the matmul bound -------------------------
def matmul_gflops_per_cpu_second(seconds: float = 3.0) -> float:
    """fp32 GEMM rate in this process, per CPU-second, at the MLP's shape (512 tokens x 576 -> 1536)."""
    import torch

    a, b = torch.randn(512, 576), torch.randn(576, 1536)
    for _ in range(3):
        a @ b
    c0, n = time.process_time(), 0
    while time.process_time() - c0 < seconds:
        a @ b
        n += 1
    return 2 * 512 * 576 * 1536 * n / (time.process_time() - c0) / 1e9


# ---------------------------------------------------------------- main --------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tqa-limit", type=int, default=817, help="TruthfulQA v0 questions (default all 817)")
    ap.add_argument("--hellaswag-limit", type=int, default=500, help="HellaSwag items (default 500)")
    ap.add_argument("--chunk", type=int, default=20, help="items per alternating chunk")
    ap.add_argument("--batch-size", type=int, default=32, help="both tools' batch size")
    ap.add_argument("--lm-eval-venv", default=None)
    ap.add_argument("--worker", nargs=3, metavar=("MODEL_DIR", "TASK_DIR", "BATCH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker[0], args.worker[1], int(args.worker[2]))

    import numpy as np
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from alignbench.config import cache_dir
    from alignbench.data.adapters import load_dataset_items
    from alignbench.engines import LoglikEngine
    from alignbench.evals.alignment_tax import score_hellaswag
    from alignbench.evals.truthfulqa import score_mc
    from alignbench.models import load_model
    from alignbench.models.builtin import smollm2_folder

    venv = Path(args.lm_eval_venv or os.environ.get("ALIGNBENCH_LMEVAL_VENV") or cache_dir() / "venvs" / "lm-eval")
    python = lm_eval_python(venv)
    tqa = load_dataset_items("truthfulqa", version="v0", limit=args.tqa_limit)
    hs = load_dataset_items("hellaswag", limit=args.hellaswag_limit)
    tmp = Path(tempfile.mkdtemp(prefix="vs_lm_eval_"))
    write_local_tasks(tmp, _lm_eval_tasks_dir(python), tqa, hs)
    model_dir = str(smollm2_folder())
    proc = subprocess.Popen(
        [str(python), os.path.abspath(__file__), "--worker", model_dir, str(tmp), str(args.batch_size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert json.loads(proc.stdout.readline()).get("ready")

    model, tok = load_model("smollm2-135m")
    engine = LoglikEngine(model, tok, batch_size=args.batch_size, progress=False)
    ours_ll: dict[tuple[str, str], float] = {}
    plain = engine.loglikelihood

    def recording(requests, desc="loglikelihood"):  # keeps every (context, continuation) -> log-likelihood
        res = plain(requests, desc=desc)
        ours_ll.update({tuple(r): x.logprob for r, x in zip(requests, res)})
        return res

    engine.loglikelihood = recording
    tools = ("alignbench", "lm-eval")
    time_of = {k: {t: {"wall": 0.0, "cpu": 0.0, "tokens": 0} for t in tools} for k in ("tqa", "hs")}
    ours = {"tqa": {}, "hs": {}}
    theirs: dict[str, list] = {n: [] for names in TASKS.values() for n in names}

    def run_ours(kind, chunk):
        t0, c0, tok0 = time.perf_counter(), time.process_time(), engine.tokens_forwarded
        scores = score_mc(engine, chunk) if kind == "tqa" else score_hellaswag(engine, chunk)
        rec = time_of[kind]["alignbench"]
        rec["wall"] += time.perf_counter() - t0
        rec["cpu"] += time.process_time() - c0
        rec["tokens"] += engine.tokens_forwarded - tok0
        for metric, values in scores.items():
            ours[kind].setdefault(metric, {}).update(values)

    def run_theirs(kind, indices):
        t0 = time.perf_counter()
        proc.stdin.write(json.dumps({"kind": kind, "indices": indices}) + "\n")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
        rec = time_of[kind]["lm-eval"]
        rec["wall"] += time.perf_counter() - t0
        rec["cpu"] += reply["cpu"]
        rec["tokens"] += reply["tokens"]
        for name, rows in reply["samples"].items():
            theirs[name] += rows

    step = 0
    for kind, items in (("tqa", tqa), ("hs", hs)):
        for start in range(0, len(items), args.chunk):
            chunk = items[start : start + args.chunk]
            order = (0, 1) if step % 2 == 0 else (1, 0)
            step += 1
            for who in order:
                if who == 0:
                    run_ours(kind, chunk)
                else:
                    run_theirs(kind, list(range(start, start + len(chunk))))
            a, b = time_of[kind]["alignbench"], time_of[kind]["lm-eval"]
            print(
                f"{kind} {start + len(chunk)}/{len(items)}  alignbench {a['wall']:.1f}s wall {a['cpu']:.1f}s cpu  "
                f"lm-eval {b['wall']:.1f}s wall {b['cpu']:.1f}s cpu  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    proc.stdin.close()
    proc.wait(timeout=60)

    # ---- agreement, item by item
    ll_diffs, missing = [], 0
    for rows in theirs.values():
        for r in rows:
            for (ctx, cont), ll in zip(r["args"], r["lls"]):
                if (ctx, cont) in ours_ll:
                    ll_diffs.append(abs(ours_ll[(ctx, cont)] - ll))
                else:
                    missing += 1
    by_doc = {n: {r["doc_id"]: r for r in rows} for n, rows in theirs.items()}
    mc2_d = [abs(ours["tqa"]["mc2"][it.id] - by_doc["bench_truthfulqa_mc2"][i]["acc"]) for i, it in enumerate(tqa)]
    mc1_dis = sum(ours["tqa"]["mc1"][it.id] != by_doc["bench_truthfulqa_mc1"][i]["acc"] for i, it in enumerate(tqa))
    hs_dis = {
        m: sum(ours["hs"][m][it.id] != by_doc["bench_hellaswag"][i][m] for i, it in enumerate(hs))
        for m in ("acc", "acc_norm")
    }
    score = {
        "alignbench": {
            "mc1": np.mean(list(ours["tqa"]["mc1"].values())),
            "mc2": np.mean(list(ours["tqa"]["mc2"].values())),
            "hs_acc": np.mean(list(ours["hs"]["acc"].values())),
            "hs_acc_norm": np.mean(list(ours["hs"]["acc_norm"].values())),
        },
        "lm-eval": {
            "mc1": np.mean([r["acc"] for r in theirs["bench_truthfulqa_mc1"]]),
            "mc2": np.mean([r["acc"] for r in theirs["bench_truthfulqa_mc2"]]),
            "hs_acc": np.mean([r["acc"] for r in theirs["bench_hellaswag"]]),
            "hs_acc_norm": np.mean([r["acc_norm"] for r in theirs["bench_hellaswag"]]),
        },
    }

    # ---- HellaSwag as the shared text file has it (ctx_b not capitalised), untimed: does lm-eval's form matter?
    import dataclasses

    file_form = [
        dataclasses.replace(
            it,
            inputs={
                **it.inputs,
                "ctx": it.inputs["ctx"][: len(it.inputs["ctx"]) - len(it.meta["ctx_b"])] + it.meta["ctx_b"],
            },
        )
        if it.meta["ctx_b"]
        else it
        for it in hs
    ]
    changed = [i for i, it in enumerate(hs) if file_form[i].inputs["ctx"] != it.inputs["ctx"]]
    engine.loglikelihood = plain
    raw = score_hellaswag(engine, [file_form[i] for i in changed]) if changed else {"acc": {}, "acc_norm": {}}
    file_dis = {
        m: sum(raw[m][hs[i].id] != by_doc["bench_hellaswag"][i][m] for i in changed) for m in ("acc", "acc_norm")
    }
    print(
        f"HellaSwag with the file's lower-case ctx_b: {len(changed)} of {len(hs)} contexts differ from lm-eval's; "
        f"acc / acc_norm then disagree with lm-eval on {file_dis['acc']} / {file_dis['acc_norm']} items"
    )

    # ---- the compute bound
    gflops = matmul_gflops_per_cpu_second()
    params = sum(p.numel() for p in model.parameters())
    bound = gflops * 1e9 / (2 * params)  # tokens per CPU-second if every parameter did one multiply-add
    summary = {
        "model": "smollm2-135m",
        "tqa_questions": len(tqa),
        "hellaswag_items": len(hs),
        "threads": int(os.environ["OMP_NUM_THREADS"]),
        "batch_size": args.batch_size,
        "matmul_gflops_per_cpu_s": round(gflops, 1),
        "params": params,
        "bound_tokens_per_cpu_s": round(bound, 1),
        "max_abs_d_loglik": max(ll_diffs, default=float("nan")),
        "loglik_pairs_compared": len(ll_diffs),
        "loglik_pairs_unmatched": missing,
        "max_abs_d_mc2": max(mc2_d),
        "mc1_disagreements": int(mc1_dis),
        "hellaswag_acc_disagreements": int(hs_dis["acc"]),
        "hellaswag_acc_norm_disagreements": int(hs_dis["acc_norm"]),
    }
    for kind, label in (("tqa", "TruthfulQA MC1+MC2"), ("hs", "HellaSwag")):
        a, b = time_of[kind]["alignbench"], time_of[kind]["lm-eval"]
        rate = a["tokens"] / max(a["cpu"], 1e-9)
        print(f"\n{label}:  {'':12s} {'wall s':>8s} {'cpu s':>8s} {'tokens':>10s} {'tok/cpu-s':>10s}")
        for t, r in ((tools[0], a), (tools[1], b)):
            print(
                f"  {t:22s} {r['wall']:8.1f} {r['cpu']:8.1f} {r['tokens']:10d} "
                f"{r['tokens'] / max(r['cpu'], 1e-9):10.0f}"
            )
        print(
            f"  lm-eval / alignbench: wall x{b['wall'] / a['wall']:.2f}, cpu x{b['cpu'] / a['cpu']:.2f}, "
            f"tokens x{b['tokens'] / max(a['tokens'], 1):.1f}; alignbench {rate:.0f} tok/cpu-s = "
            f"{100 * rate / bound:.0f}% of the matmul bound {bound:.0f}"
        )
        summary[kind] = {
            "alignbench": {k: round(v, 2) for k, v in a.items()},
            "lm_eval": {k: round(v, 2) for k, v in b.items()},
            "wall_ratio": round(b["wall"] / a["wall"], 2),
            "cpu_ratio": round(b["cpu"] / a["cpu"], 2),
            "alignbench_tokens_per_cpu_s": round(rate, 1),
            "fraction_of_bound": round(rate / bound, 3),
        }
    print(f"\nscores  alignbench {json.dumps({k: round(float(v), 4) for k, v in score['alignbench'].items()})}")
    print(f"scores  lm-eval    {json.dumps({k: round(float(v), 4) for k, v in score['lm-eval'].items()})}")
    print(
        f"agreement: max|dMC2| {summary['max_abs_d_mc2']:.2e}, max|d loglik| {summary['max_abs_d_loglik']:.2e} "
        f"over {len(ll_diffs)} choices ({missing} unmatched), MC1 disagreements {mc1_dis}, "
        f"HellaSwag acc/acc_norm disagreements {hs_dis['acc']}/{hs_dis['acc_norm']}"
    )
    summary["hellaswag_file_form"] = {
        "contexts_changed": len(changed),
        "acc_disagreements": int(file_dis["acc"]),
        "acc_norm_disagreements": int(file_dis["acc_norm"]),
    }
    summary["scores"] = {t: {k: round(float(v), 4) for k, v in s.items()} for t, s in score.items()}
    summary["load_avg_1m_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
