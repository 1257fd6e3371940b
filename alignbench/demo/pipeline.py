"""`alignbench demo`: the InstructGPT recipe end to end on the embedded constraint-following task.

The stages follow the paper's Figure 2, with the simulated labeler (labeler.py) in the labelers' place:

  0. tasks          seeded instructions (topics x constraints), split into disjoint SFT / ranking / PPO / eval sets
  1. demonstrations best-of-N samples of the BASE model per SFT prompt, picked by the labeler (rejection
                    sampling); where no sample satisfies every constraint, the best one is edited by rule until
                    it does (constraints.repair_all) -- the stand-in for a labeler writing the demonstration
  2. sft            supervised fine-tuning of the base model on the demonstrations      (alignbench.training)
  3. rankings       K samples of the SFT model per ranking prompt, ranked by the labeler (paper step 2)
  4. rm             the K-way reward model, initialised from the SFT model               (alignbench.training)
  5. ppo            PPO-ptx from the SFT policy against the RM, ptx text from the Python docs
  6. eval           the demo suite (evals/demo.yaml): win rate vs the base model judged by the labeler (gold) and
                    by the RM, plus the demo TruthfulQA / RealToxicityPrompts / hallucination / alignment-tax sets
  7. report         `alignbench report` of the run folder: report.html, report.md, PNG plots

Everything lands in one folder; every stage records its wall time and peak RSS in `stages.json`, and a
rerun skips the stages whose outputs exist (generations are cached in the run store as they are made).
"""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from alignbench.config import resources_dir
from alignbench.data.records import Demonstration
from alignbench.data.writers import write_jsonl
from alignbench.demo import labeler
from alignbench.demo.constraints import repair_all
from alignbench.demo.ptx_corpus import SOURCE as PTX_SOURCE
from alignbench.demo.ptx_corpus import ptx_texts
from alignbench.demo.resources_usage import StageTimer
from alignbench.demo.tasks import Task, split_tasks
from alignbench.errors import AlignbenchError

SUITE_FILE = resources_dir() / "evals" / "demo.yaml"
DEMO_DATA = resources_dir() / "demo"
STAGES = ("tasks", "demonstrations", "sft", "rankings", "rm", "ppo", "eval", "report")


@dataclass
class DemoConfig:
    """Every knob of the demo.  The default is the real run on SmolLM2; `quick()` the smoke-test run."""

    base: str = "smollm2-135m"
    seed: int = 0
    n_sft: int = 48  # SFT prompts (one demonstration each)
    best_of_n: int = 3  # samples of the base model per SFT prompt (rejection sampling)
    n_rank: int = 40  # ranking prompts
    k: int = 4  # samples of the SFT model ranked per prompt
    n_ppo: int = 64  # PPO prompts (held out from SFT and ranking)
    n_eval: int = 48  # eval prompts (held out from everything)
    max_new_tokens: int = 48  # every generation: demonstrations, rankings, PPO rollouts, eval
    temperature: float = 0.8  # sampling for demonstrations and rankings
    top_p: float = 0.95
    # generation batch: 48 = one batch per model for the 48 eval prompts; measured here 0.29 s per greedy and
    # 0.40 s per sampled answer against 0.42 / 0.50 at 16, same texts (per-row seeds); 96 is slower again
    batch_size: int = 48
    ptx_texts: int = 256
    # Budget (docs/demo.md): CPU time moved from SFT (2 epochs, not 3), the RM (lower 18 of 30 blocks frozen:
    # no backward through them) and demonstrations (best of 3) into PPO.  PPO: 3x the rollouts of the first
    # version (6 steps x 16), one epoch of 4 minibatches, a critic that is a head on the frozen RM's states
    # (value_head_only: no second network to backpropagate), short ptx batches.
    # Measured on this run's own SFT model (docs/demo.md "Tuning the RL stage"): the RM at 1 epoch / lr 1e-4 did
    # not learn (train loss 0.685 ~ ln 2); 2 epochs at 3e-4 agree with the gold labeler on 73% of held-out
    # pairs.  PPO at beta 0.05 / lr 2e-4 collapsed to fragments the RM over-rates ("ice floats"; KL 2.3 nats,
    # head to head vs SFT 0.31); beta 0.3, lr 1e-4 and rollouts at temperature 0.8 (the temperature the RM's
    # training samples were drawn at) keep the policy where the RM is right.
    sft: dict = field(
        default_factory=lambda: dict(
            num_train_epochs=2,
            learning_rate=2e-4,
            per_device_train_batch_size=8,
            max_length=192,
            lora=dict(r=16, alpha=32, dropout=0.0),
        )
    )
    rm: dict = field(
        default_factory=lambda: dict(
            num_train_epochs=2,
            learning_rate=3e-4,
            per_device_train_batch_size=4,
            max_length=192,
            freeze_layers=18,
        )
    )
    ppo: dict = field(
        default_factory=lambda: dict(
            max_steps=6,
            rollout_batch_size=16,
            mini_batch_size=4,
            num_ppo_epochs=1,
            learning_rate=1e-4,
            value_learning_rate=1e-3,
            value_head_only=True,
            response_length=48,
            temperature=0.8,
            kl_coef=0.3,
            ptx_coef=0.5,
            ptx_batch_size=2,
            ptx_max_length=64,
            ref_score_steps=3,
            lora=dict(r=16, alpha=32, dropout=0.0),
        )
    )
    suite_overrides: dict = field(default_factory=dict)  # eval name -> keys merged into its suite entry
    data_dir: str | None = None  # real data sets instead of the demo sets (e.g. ../shared/data)
    quick: bool = False

    @classmethod
    def quick_config(cls, **kw) -> "DemoConfig":
        """The same pipeline on tiny-random with a handful of prompts and tokens: a smoke test (< 2 min)."""
        return cls(
            base="tiny-random",
            n_sft=8,
            best_of_n=2,
            n_rank=6,
            k=3,
            n_ppo=8,
            n_eval=8,
            max_new_tokens=12,
            batch_size=16,
            ptx_texts=16,
            sft=dict(num_train_epochs=1, learning_rate=1e-3, per_device_train_batch_size=8, max_length=96),
            rm=dict(num_train_epochs=1, learning_rate=1e-3, per_device_train_batch_size=4, max_length=96),
            ppo=dict(
                max_steps=2,
                rollout_batch_size=4,
                mini_batch_size=4,
                num_ppo_epochs=1,
                learning_rate=1e-4,
                response_length=12,
                kl_coef=0.05,
                ptx_coef=0.5,
                ptx_batch_size=2,
                ptx_max_length=64,
                ref_score_steps=1,
                value_head_only=True,
            ),
            suite_overrides={
                "toxicity": {"k": 2, "limit": 3, "conditions": ["none"]},
                "hallucination": {"limit": 3, "decoding": {"max_new_tokens": 12}},
                "truthfulqa_mc": {"limit": 4},
                "alignment_tax/lambada": {"limit": 4},
                "alignment_tax/winogrande": {"limit": 4},
            },
            quick=True,
            **kw,
        )

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------
# Stage 1 and 3: samples judged by the labeler
# ---------------------------------------------------------------------------------------------------
def sampling_params(cfg: DemoConfig, seed_offset: int):
    from alignbench.engines import DecodingParams

    return DecodingParams(
        max_new_tokens=cfg.max_new_tokens,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        seed=cfg.seed + seed_offset,
        chat=True,
    )


def make_demonstrations(tasks: list[Task], samples: list[list[str]]) -> tuple[list[Demonstration], dict]:
    """Rejection sampling under the labeler: the best of N per prompt; edited by rule where even the best
    misses a constraint.  Returns the demonstrations and counts for the report."""
    demos, n_sampled, n_repaired = [], 0, 0
    for task, outs in zip(tasks, samples):
        idx, lab = labeler.best_of(task.prompt, outs)
        response, source = outs[idx].strip(), "best-of-n"
        if lab.n_satisfied < lab.n_constraints or not response:
            response = repair_all(response, list(task.constraints), task.topic)
            source = "repaired"
            n_repaired += 1
        else:
            n_sampled += 1
        demos.append(
            Demonstration(
                response=response,
                prompt=task.prompt,
                id=task.id,
                meta={"source": source, "picked_sample": idx, "labeler_score": labeler.score(task.prompt, response)},
            )
        )
    return demos, {"best_of_n": n_sampled, "repaired": n_repaired}


def make_rankings(tasks: list[Task], samples: list[list[str]]):
    rankings, skipped = [], 0
    for task, outs in zip(tasks, samples):
        outs = [o if o.strip() else "(empty)" for o in outs]
        ranking = labeler.rank(task.prompt, outs, id=task.id)
        if ranking is None:
            skipped += 1
        else:
            rankings.append(ranking)
    return rankings, {"rankings": len(rankings), "all_tied_skipped": skipped}


def sample(model_spec: str, prompts: list[str], n: int, cfg: DemoConfig, store, seed_offset: int) -> list[list[str]]:
    from alignbench.engines import make_generation_engine

    engine = make_generation_engine(model_spec, cache=store, batch_size=cfg.batch_size)
    outs = engine.generate(prompts, sampling_params(cfg, seed_offset), n_samples=n, desc=f"sample x{n}")
    return [[g.text for g in row] for row in outs]


# ---------------------------------------------------------------------------------------------------
# Stage 6: the suite
# ---------------------------------------------------------------------------------------------------
def demo_suite(cfg: DemoConfig, out: Path) -> dict:
    """evals/demo.yaml with its placeholders filled in: {eval_prompts}, {rm} and {data_root} (the demo data
    sets, or `data_dir` with the real ones: both use the same folder layout, so the same adapters read them),
    plus `suite_overrides` (eval name -> keys)."""
    from alignbench.evals.suite import expand_env
    from alignbench.schemas import load_yaml

    raw = load_yaml(SUITE_FILE, what="suite file").data
    data_root = Path(cfg.data_dir).expanduser().resolve() if cfg.data_dir else DEMO_DATA / "data"
    if cfg.data_dir and not data_root.is_dir():
        raise AlignbenchError(
            f"--data-dir {cfg.data_dir}: no such folder (expected truthfulqa/, realtoxicityprompts/, ...)"
        )
    fill = {
        "eval_prompts": str(out / "data" / "eval_prompts.jsonl"),
        "rm": str(out / "rm"),
        "data_root": str(data_root),
    }
    evals = []
    for entry in raw["evals"]:
        entry = {**entry, **cfg.suite_overrides.get(entry["name"], {})}
        if entry["name"] == "winrate":  # the win rate decodes as the demo's own stages do
            entry["decoding"] = {**entry.get("decoding", {}), "max_new_tokens": cfg.max_new_tokens}
        evals.append(entry)
    return expand_env({**raw, "evals": evals, "seed": cfg.seed}, str(SUITE_FILE), placeholders=fill)


# ---------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------
class Demo:
    def __init__(self, cfg: DemoConfig, out: str | Path, log: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.out = Path(out)
        self.data = self.out / "data"
        self.log = log or (lambda msg: print(f"[demo] {msg}", file=sys.stderr, flush=True))
        self.timer = StageTimer()
        self.facts: dict = {}
        self.previous: dict = {}
        self.paths = {"sft": self.out / "sft", "rm": self.out / "rm", "ppo": self.out / "ppo"}

    # helpers -----------------------------------------------------------------------------------------
    def _store(self):
        from alignbench.store import Store

        return Store(self.out)

    def _save_state(self) -> None:
        state = {"config": self.cfg.to_dict(), "stages": self.timer.stages, "facts": self.facts}
        tmp = self.out / "stages.json.tmp"
        tmp.write_text(json.dumps(state, indent=2, default=str))
        tmp.replace(self.out / "stages.json")

    def _done(self, path: Path) -> bool:
        return (path / "alignbench.json").is_file()

    def _outputs(self, name: str) -> list[Path]:
        """What a finished stage leaves behind (a rerun with the same config skips it when all exist)."""
        return {
            "demonstrations": [self.data / "demonstrations.jsonl"],
            "sft": [self.paths["sft"] / "alignbench.json"],
            "rankings": [self.data / "rankings.jsonl"],
            "rm": [self.paths["rm"] / "alignbench.json"],
            "ppo": [self.paths["ppo"] / "alignbench.json"],
            "eval": [self.out / "metrics.json"],
        }.get(name, [])

    def _previous_state(self) -> dict:
        """stages.json of an earlier run into this folder with the same configuration, else {}."""
        try:
            state = json.loads((self.out / "stages.json").read_text())
        except (OSError, ValueError):
            return {}
        return state if state.get("config") == json.loads(json.dumps(self.cfg.to_dict())) else {}

    def _stage(self, name: str, fn) -> None:
        before = self.previous.get("stages", {}).get(name)
        outputs = self._outputs(name)
        if before and before.get("wall_s") is not None and outputs and all(p.exists() for p in outputs):
            # Finished earlier with this configuration: keep its measured time and memory, do not redo it.
            self.timer.stages[name] = {**before, "resumed": True}
            self.log(f"stage {name}: done earlier ({before['wall_s']:.1f} s, peak RSS {before['peak_rss_mb']:.0f} MB)")
            return
        self.log(f"stage {name} ...")
        with self.timer.stage(name) as rec:
            result = fn()
            if isinstance(result, dict):
                rec.update(result)
        self.log(
            f"stage {name}: {rec['wall_s']:.1f} s wall, {rec['cpu_s']:.1f} s CPU, "
            f"peak RSS {rec['peak_rss_mb']:.0f} MB, "
            f"load {rec['load_avg_start']} -> {rec['load_avg_end']}"
        )
        self._save_state()

    # stages ------------------------------------------------------------------------------------------
    def run(self, stop_after: str | None = None) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        self.previous = self._previous_state()
        self.facts.update(self.previous.get("facts", {}))
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from transformers import set_seed

        set_seed(self.cfg.seed)
        random.seed(self.cfg.seed)
        for name in STAGES:
            self._stage(name, getattr(self, f"stage_{name}"))
            if name == stop_after:
                break
        return self.out

    def stage_tasks(self) -> dict:
        c = self.cfg
        self.splits = split_tasks(c.n_sft, c.n_rank, c.n_ppo, c.n_eval, seed=c.seed)
        for name in ("sft", "rank", "ppo", "eval"):
            write_jsonl(self.data / f"{name}_prompts.jsonl", [t.to_dict() for t in getattr(self.splits, name)])
        ptx = ptx_texts(c.ptx_texts, seed=c.seed)
        write_jsonl(self.data / "ptx.jsonl", ptx)
        self.facts["ptx_source"] = PTX_SOURCE
        return {
            "prompts": {k: len(getattr(self.splits, k)) for k in ("sft", "rank", "ppo", "eval")},
            "ptx_texts": len(ptx),
        }

    def stage_demonstrations(self) -> dict:
        path = self.data / "demonstrations.jsonl"
        tasks = self.splits.sft
        samples = sample(self.cfg.base, [t.prompt for t in tasks], self.cfg.best_of_n, self.cfg, self._store(), 1)
        demos, counts = make_demonstrations(tasks, samples)
        write_jsonl(path, demos)
        self.facts["demonstrations"] = counts
        return counts

    def stage_sft(self) -> dict:
        if self._done(self.paths["sft"]):
            return {"skipped": "checkpoint exists"}
        from alignbench.training import train_sft

        res = train_sft(
            model=self.cfg.base,
            train_data=str(self.data / "demonstrations.jsonl"),
            output_dir=str(self.paths["sft"]),
            seed=self.cfg.seed,
            **self.cfg.sft,
        )
        return {"metrics": res.metrics}

    def stage_rankings(self) -> dict:
        tasks = self.splits.rank
        samples = sample(str(self.paths["sft"]), [t.prompt for t in tasks], self.cfg.k, self.cfg, self._store(), 2)
        rankings, counts = make_rankings(tasks, samples)
        if not rankings:
            raise AlignbenchError(
                "demo: every ranking prompt had K tied samples; nothing to train the reward model on "
                "(raise k or temperature)"
            )
        write_jsonl(self.data / "rankings.jsonl", rankings)
        self.facts["rankings"] = counts
        return counts

    def stage_rm(self) -> dict:
        if self._done(self.paths["rm"]):
            return {"skipped": "checkpoint exists"}
        from alignbench.training import train_reward_model

        res = train_reward_model(
            model=str(self.paths["sft"]),
            train_data=str(self.data / "rankings.jsonl"),
            reference_data=str(self.data / "demonstrations.jsonl"),
            output_dir=str(self.paths["rm"]),
            seed=self.cfg.seed,
            **self.cfg.rm,
        )
        return {"metrics": res.metrics}

    def stage_ppo(self) -> dict:
        if self._done(self.paths["ppo"]):
            return {"skipped": "checkpoint exists"}
        from alignbench.training import train_ppo_ptx

        res = train_ppo_ptx(
            model=str(self.paths["sft"]),
            reward_model=str(self.paths["rm"]),
            train_data=str(self.data / "ppo_prompts.jsonl"),
            pretrain_data=str(self.data / "ptx.jsonl"),
            output_dir=str(self.paths["ppo"]),
            seed=self.cfg.seed,
            **self.cfg.ppo,
        )
        return {"metrics": res.metrics}

    def stage_eval(self) -> dict:
        from alignbench.evals.runner import run_suite

        suite = demo_suite(self.cfg, self.out)
        self._pick_toxicity_scorer(suite)
        run_suite(
            suite,
            candidates=[("sft", str(self.paths["sft"])), ("ppo", str(self.paths["ppo"]))],
            baseline=("base", self.cfg.base),
            out=self.out,
            seed=self.cfg.seed,
            cache=False,
            log=self.log,
            batch_size=self.cfg.batch_size,
        )  # the demo's generation batch (DemoConfig.batch_size), not the suite default of 8
        self.facts["headtohead"] = self.head_to_head(suite)
        return {"evals": [e["name"] for e in suite["evals"]]}

    def head_to_head(self, suite: dict) -> dict:
        """PPO-ptx against SFT on the eval prompts, judged by the win-rate eval's own judges (demo/headtohead.py)."""
        from alignbench.demo.headtohead import head_to_head
        from alignbench.judges import make_judge

        specs = next(e for e in suite["evals"] if e["name"] == "winrate")["judges"]
        result = head_to_head(self.out, {j["name"]: make_judge(j) for j in specs}, seed=self.cfg.seed)
        for name, row in result.items():
            if isinstance(row, dict) and "value" in row:
                self.log(
                    f"head to head ppo vs sft ({name}): {row['value']:.3f} "
                    f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] "
                    f"n={row['n']} (W/T/L {row['wins']}/{row['ties']}/{row['losses']})"
                )
        return result

    def _pick_toxicity_scorer(self, suite: dict) -> None:
        """The toxicity eval's default scorer (detoxify, else the distilled Perspective head shipped in the
        package); where neither can be built on this install, the offline profanity classifier, and the
        report says so rather than the demo failing at its last eval."""
        from alignbench.scorers.toxicity import get_toxicity_scorer

        for entry in suite["evals"]:
            if entry.get("type", entry["name"].split("/")[0]) != "toxicity" or entry.get("scorer"):
                continue
            try:
                get_toxicity_scorer(None)
            except AlignbenchError as exc:
                entry["scorer"] = "profanity-check"
                self.facts["toxicity_scorer_fallback"] = f"profanity-check (default scorer unavailable: {exc})"
                self.log(f"toxicity: default scorer unavailable ({exc}); using profanity-check")

    def stage_report(self) -> dict:
        """`alignbench report` of the run folder, plus report.md: how this run's data were made (the labelers
        are simulated), the stage timings, then the results table and figures."""
        from alignbench.reports import write_report

        title = (
            "alignbench demo --quick (tiny-random smoke test)"
            if self.cfg.quick
            else f"alignbench demo: the InstructGPT recipe on {self.cfg.base}"
        )
        self._save_state()
        notes = self.report_notes()
        written = write_report(
            [str(self.out)],
            self.out,
            formats=("md", "html", "csv"),
            title=title,
            sections=[("How this run was made", notes)],
        )
        results_md = (self.out / "results.md").read_text(encoding="utf-8")
        results_md = results_md.split("\n", 1)[1].lstrip() if results_md.startswith("# ") else results_md
        (self.out / "report.md").write_text(
            f"# {title}\n\n## How this run was made\n\n{notes}\n\n## Results\n\n{results_md}", encoding="utf-8"
        )
        return {"written": sorted({str(p) for p in written.values()} | {str(self.out / "report.md")})}

    def _headtohead_notes(self) -> list[str]:
        h2h = self.facts.get("headtohead") or {}
        rows = [(name, r) for name, r in h2h.items() if isinstance(r, dict) and "value" in r]
        if not rows:
            return []
        figures = "; ".join(
            f"{name}: {r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] "
            f"(wins/ties/losses {r['wins']}/{r['ties']}/{r['losses']} of {r['n']})"
            for name, r in rows
        )
        out = [
            f"**PPO-ptx vs SFT, head to head** (the paper's order; same eval prompts, greedy answers of both, "
            f"95% bootstrap CI over prompts): {figures}. {h2h.get('n_identical', 0)} prompts got identical answers "
            "(ties by definition)."
        ]
        for ex in h2h.get("examples", []):
            verdicts = ", ".join(f"{name} {ex.get(f'{name}_verdict')}" for name, _ in rows)
            out.append(
                f"**Sample** `{ex['item_id']}` ({verdicts}; A = PPO-ptx): prompt: {_shorten(ex['prompt'], 160)} "
                f'PPO-ptx: "{_shorten(ex.get("ppo", ""))}" SFT: "{_shorten(ex.get("sft", ""))}"'
            )
        return out

    def report_notes(self) -> str:
        """What the report says about how this run's data were made (the paper's labelers are simulated)."""
        d = self.facts.get("demonstrations", {})
        r = self.facts.get("rankings", {})
        stages = self.timer.stages
        timing = "; ".join(
            f"{name} {rec['wall_s']:.0f} s"
            + (f" ({rec['cpu_s']:.0f} s CPU)" if rec.get("cpu_s") else "")
            + f" / {rec['peak_rss_mb']:.0f} MB"
            for name, rec in stages.items()
            if rec.get("wall_s") is not None
        )
        paragraphs = [
            "**Human feedback is simulated.** Every label comes from a program, the demo's simulated labeler "
            f"(`alignbench/demo/labeler.py`), standing in for the paper's human labelers. {labeler.DESCRIPTION} "
            "The gold win rate (`winrate/labeler`) is judged by this labeler; `winrate/rm` by the reward model "
            "learned from its rankings.",
            f"**Demonstrations (SFT):** best-of-{self.cfg.best_of_n} samples of the base model "
            f"`{self.cfg.base}` under "
            f"the labeler (rejection sampling) for {d.get('best_of_n', '?')} prompts; for {d.get('repaired', '?')} "
            "prompts no sample satisfied every constraint and the best one was edited by rule until it did "
            "(written templates, `constraints.repair_all`).",
            f"**Rankings (RM):** K={self.cfg.k} samples of the SFT model per prompt, ranked by the labeler "
            f"({r.get('rankings', '?')} prompts; {r.get('all_tied_skipped', 0)} left out because all K tied).",
            f"**PPO-ptx:** {self.cfg.ppo.get('max_steps', '?')} PPO steps of "
            f"{self.cfg.ppo.get('rollout_batch_size', '?')} "
            f"rollouts on prompts held out from SFT and RM ({self.cfg.n_ppo} available), reward = the learned RM, "
            f"β (kl_coef) = {self.cfg.ppo.get('kl_coef')}, γ (ptx_coef) = {self.cfg.ppo.get('ptx_coef')}; ptx text = "
            f"{PTX_SOURCE}, read at run time. The training curves' KL is the non-negative k3 estimate; "
            "`score_ref` is the RM score of the SFT reference's samples on the same prompts.",
            "**Demo eval sets** (TruthfulQA-, RealToxicityPrompts-, QAGS-style hallucination, LAMBADA- and "
            "WinoGrande-style alignment tax) were written for this project; their numbers are NOT comparable to "
            "published ones."
            + (
                f" This run used the real data sets in `{self.cfg.data_dir}`."
                if self.cfg.data_dir
                else " Run `alignbench demo --data-dir ../shared/data` for the real data sets."
            ),
        ]
        paragraphs += self._headtohead_notes()
        if self.facts.get("toxicity_scorer_fallback"):
            paragraphs.append(f"**Toxicity scorer:** {self.facts['toxicity_scorer_fallback']}.")
        if timing:
            paragraphs.append(f"**Stages (wall time (CPU time) / peak RSS):** {timing}.")
        return "\n\n".join(paragraphs)


def _shorten(text: str, n: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def run_demo(
    out: str | Path,
    quick: bool = False,
    data_dir: str | None = None,
    seed: int = 0,
    stop_after: str | None = None,
    log=None,
) -> Path:
    cfg = DemoConfig.quick_config(seed=seed, data_dir=data_dir) if quick else DemoConfig(seed=seed, data_dir=data_dir)
    return Demo(cfg, out, log=log).run(stop_after=stop_after)
