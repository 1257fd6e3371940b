"""Multi-process training on CPU: `accelerate launch --config_file training/launch/cpu2.yaml` (2 processes, gloo
DDP; `--cpu --num_processes 2` would start only one) equals one process
with the same global batch, for the K-way RM (TRL trainer) and PPO-ptx (our loop); only the main process
writes; a 2-process PPO run resumed from its checkpoint equals the unbroken 2-process run.

Every run goes through the real command line (`alignbench train rm|ppo`), as a user launches it.  The model is
a tiny Llama with a larger init than tiny-random, so greedy choices are far from ties.  PPO rollouts use
top_p -> 0 (greedy): sampled rollouts draw from per-process random streams, so a sampled 2-process run is a
different, equally valid sample than a 1-process run; greedy rollouts isolate the distributed arithmetic
(whitening, token means, DDP gradient averaging, data slicing), which is what must match.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # five launches of 1-2 processes; see docs/training.md for the measured time

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_CONFIG = ROOT / "training" / "launch" / "cpu2.yaml"
WORDS = ["yes", "no", "maybe", "sure", "never", "always", "perhaps", "indeed"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], processes: int, tmp: Path) -> None:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if processes == 1:
        cmd = [sys.executable, "-m", "alignbench.cli", *args]
    else:
        # the shipped config (see its comments: `--cpu --num_processes 2` would start a single process)
        env["ACCELERATE_USE_CPU"] = "true"
        cmd = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            str(LAUNCH_CONFIG),
            "--num_processes",
            str(processes),
            "--main_process_port",
            str(_free_port()),
            "-m",
            "alignbench.cli",
            *args,
        ]
    done = subprocess.run(cmd, check=False, env=env, cwd=tmp, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _max_weight_diff(a: Path, b: Path) -> float:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    return max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)


def _log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny policy folder and K=4 rankings, prompts and pretraining texts as JSONL files."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from alignbench.models.builtin import TINY_CONFIG, tiny_random_folder

    tmp = tmp_path_factory.mktemp("multiprocess")
    tokenizer = AutoTokenizer.from_pretrained(tiny_random_folder(0))
    torch.manual_seed(3)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **{**TINY_CONFIG, "tie_word_embeddings": False, "initializer_range": 0.2},
    )
    LlamaForCausalLM(config).save_pretrained(tmp / "policy")
    tokenizer.save_pretrained(tmp / "policy")
    rng = random.Random(0)

    def answer(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    with open(tmp / "rankings.jsonl", "w") as fh:
        for i in range(16):  # K = 4; the more "yes", the better; lengths vary so padding differs per batch
            responses = [answer(rng.randint(2, 7)) for _ in range(4)]
            order = sorted(range(4), key=lambda j: -responses[j].split().count("yes"))
            ranks = [0] * 4
            for place, j in enumerate(order):
                ranks[j] = place + 1
            fh.write(
                json.dumps({"prompt": f"Question {i}: {answer(3)}?", "responses": responses, "ranks": ranks}) + "\n"
            )
    with open(tmp / "prompts.jsonl", "w") as fh:
        for _ in range(16):
            fh.write(json.dumps({"prompt": f"Say {answer(rng.randint(1, 4))}:"}) + "\n")
    with open(tmp / "pretrain.jsonl", "w") as fh:
        for _ in range(16):
            fh.write(json.dumps({"text": answer(rng.randint(3, 20)) + "."}) + "\n")
    return tmp


RM_ARGS = [
    "--train_data",
    "rankings.jsonl",
    "--eval_fraction",
    "0.25",
    "--learning_rate",
    "3e-3",
    "--lr_scheduler_type",
    "constant",
    "--num_train_epochs",
    "1",
    "--max_length",
    "64",
    "--logging_steps",
    "1",
    "--disable_tqdm",
    "true",
    "--chat_template",
    "false",
    "--seed",
    "0",
]
PPO_ARGS = [
    "--train_data",
    "prompts.jsonl",
    "--pretrain_data",
    "pretrain.jsonl",
    "--max_steps",
    "3",
    "--gradient_accumulation_steps",
    "1",
    "--num_ppo_epochs",
    "2",
    "--response_length",
    "6",
    "--top_p",
    "1e-6",
    "--learning_rate",
    "3e-3",
    "--ptx_coef",
    "1.0",
    "--ptx_max_length",
    "32",
    "--save_steps",
    "2",
    "--disable_tqdm",
    "true",
    "--chat_template",
    "false",
    "--seed",
    "0",
]
ONE = {
    "rm": ["--per_device_train_batch_size", "4"],
    "ppo": ["--rollout_batch_size", "8", "--mini_batch_size", "8", "--ptx_batch_size", "4"],
}
TWO = {
    "rm": ["--per_device_train_batch_size", "2"],  # 2 processes x half the batch = the same global batch
    "ppo": ["--rollout_batch_size", "4", "--mini_batch_size", "4", "--ptx_batch_size", "2"],
}


@pytest.fixture(scope="module")
def rm_runs(setup):
    for name, n, extra in (("rm1", 1, ONE["rm"]), ("rm2", 2, TWO["rm"])):
        _run(["train", "rm", "--model", "policy", "--output_dir", name, *RM_ARGS, *extra], n, setup)
    return setup / "rm1", setup / "rm2"


@pytest.fixture(scope="module")
def ppo_runs(setup, rm_runs):
    common = ["train", "ppo", "--model", "policy", "--reward_model", str(rm_runs[0]), *PPO_ARGS]
    _run([*common, "--output_dir", "ppo1", *ONE["ppo"]], 1, setup)
    _run([*common, "--output_dir", "ppo2", *TWO["ppo"]], 2, setup)
    # resume: a fresh folder holding only the unbroken 2-process run's checkpoint-2, continued under 2 processes
    shutil.copytree(setup / "ppo2" / "checkpoint-2", setup / "ppo2r" / "checkpoint-2")
    _run([*common, "--output_dir", "ppo2r", *TWO["ppo"], "--resume", "true"], 2, setup)
    return setup / "ppo1", setup / "ppo2", setup / "ppo2r"


def test_rm_two_processes_equal_one(rm_runs):
    one, two = rm_runs
    assert _max_weight_diff(one, two) < 1e-5
    m1, m2 = (json.loads((d / "alignbench.json").read_text())["metrics"] for d in rm_runs)
    assert m1["train_steps"] == m2["train_steps"] == 3  # 12 training prompts / global batch 4
    assert m2["train_loss"] == pytest.approx(m1["train_loss"], abs=1e-5)
    assert m2["eval_loss"] == pytest.approx(m1["eval_loss"], abs=1e-5)
    assert m2["pairwise_accuracy"] == m1["pairwise_accuracy"]
    n1, n2 = (json.loads((d / "alignbench.json").read_text())["normalization"] for d in rm_runs)
    assert n2["bias"] == pytest.approx(n1["bias"], abs=1e-5)


def test_ppo_ptx_two_processes_equal_one(ppo_runs):
    one, two, _ = ppo_runs
    log1, log2 = _log(one), _log(two)
    assert len(log1) == len(log2) == 3  # one line per step: only the main process writes
    for r1, r2 in zip(log1, log2):
        for key in ("score", "kl", "response_length", "policy_loss", "value_loss", "ptx_loss", "entropy", "approx_kl"):
            assert r2[key] == pytest.approx(r1[key], abs=1e-5, rel=1e-4), (r1["step"], key)
    assert log1[-1]["kl"] != 0  # the policy moved: the comparison is not vacuous
    assert _max_weight_diff(one, two) < 1e-5
    assert len(list(two.glob("checkpoint-*/ppo_state.json"))) == 1


def test_ppo_resume_under_two_processes_equals_the_unbroken_run(ppo_runs):
    _, two, resumed = ppo_runs
    assert _log(resumed) == _log(two)
    assert _max_weight_diff(two, resumed) == 0.0
