"""Read run folders into tidy pandas frames: the one place reports and compare touch the store.

A run folder holds `run.sqlite` (see store/schema.sql).  One folder may hold several runs (a
resumed or repeated eval); by default we read the latest run that wrote metrics, or the one named
with `RUN_DIR@RUN_ID`.  Nothing here recomputes a model output: every number comes from the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from alignbench.errors import AlignbenchError
from alignbench.store import STORE_FILE, Store

# Roles whose metrics make table columns (judges never do).
MODEL_ROLES = ("candidate", "policy", "baseline")
# Keys of a model's `info` that may hold its parameter count (the suite runner writes `size`,
# models.describe() `parameters`).
SIZE_KEYS = ("size", "parameters", "params", "n_params", "num_parameters")
# Keys of a model's `info` that may hold the checkpoint's alignbench.json (lineage).
LINEAGE_KEYS = ("alignbench", "lineage")


@dataclass
class Run:
    """One run read from a run folder: its row in `runs` and its tables as frames."""

    path: Path
    run_id: str
    info: dict
    models: pd.DataFrame
    metrics: pd.DataFrame
    item_metrics: pd.DataFrame
    samples: pd.DataFrame
    items: pd.DataFrame
    train_logs: pd.DataFrame
    label: str = ""
    extra: dict = field(default_factory=dict)

    def model_names(self, roles=MODEL_ROLES) -> list[str]:
        return [n for n, r in zip(self.models["name"], self.models["role"]) if r in roles]

    def candidates(self) -> list[str]:
        names = self.model_names(("candidate", "policy"))
        # A run whose models carry no role we know (or none at all) still has metrics per model.
        return names or sorted(self.metrics["model"].unique().tolist())

    def model_row(self, name: str) -> dict:
        rows = self.models[self.models["name"] == name]
        if rows.empty:
            return {
                "name": name,
                "spec": name,
                "fingerprint": f"{self.run_id}:{name}",
                "role": "candidate",
                "info": {},
            }
        return rows.iloc[0].to_dict()


def _split_spec(spec: str | Path) -> tuple[Path, str | None]:
    text = str(spec)
    if "@" in text and not Path(text).exists():
        path, run_id = text.rsplit("@", 1)
        return Path(path), run_id
    return Path(text), None


def load_run(spec: str | Path, run_id: str | None = None) -> Run:
    """Read `RUN_DIR` (or `RUN_DIR@RUN_ID`, or a .sqlite file) into a Run.  Raises AlignbenchError
    naming the path when there is no store or no run with metrics."""
    path, at_id = _split_spec(spec)
    run_id = run_id or at_id
    db = path if path.suffix in (".sqlite", ".db") else path / STORE_FILE
    if not db.is_file():
        raise AlignbenchError(f"{path}: not a run folder (no {STORE_FILE} inside)")
    store = Store(db)
    try:
        runs = store.frame("runs")
        if runs.empty:
            raise AlignbenchError(f"{db}: the store holds no runs")
        if run_id is None:
            run_id = store.latest_run_id(with_metrics=True) or store.latest_run_id()
        elif run_id not in set(runs["run_id"]):
            raise AlignbenchError(f"{db}: no run {run_id!r} (runs: {', '.join(runs['run_id'])})")
        info = runs[runs["run_id"] == run_id].iloc[0].to_dict()
        try:
            info["package_versions"] = json.loads(info.get("package_versions") or "{}")
        except (TypeError, ValueError):
            info["package_versions"] = {}
        frames = {
            t: store.frame(t, run_id=run_id)
            for t in ("models", "metrics", "item_metrics", "samples", "items", "train_logs")
        }
    finally:
        store.close()
    metrics = frames["metrics"]
    if not metrics.empty:
        metrics["label"] = [
            m.get("label") or f"{e} {k}" for m, e, k in zip(metrics["meta"], metrics["eval"], metrics["metric"])
        ]
        metrics["higher_is_better"] = [None if pd.isna(h) else bool(h) for h in metrics["higher_is_better"]]
    return Run(
        path=path if path.suffix not in (".sqlite", ".db") else path.parent,
        run_id=run_id,
        info=info,
        label=(path.name if path.suffix not in (".sqlite", ".db") else path.parent.name),
        **frames,
    )


def status_warning(run: Run) -> str | None:
    """One line saying a run did not finish (failed, interrupted, or still/forever `running`), else None.
    Reports show it as a banner and compare prints it: its numbers cover only what finished."""
    status = run.info.get("status") or "running"
    if status == "done":
        return None
    n = 0 if run.metrics.empty else len(set(run.metrics["eval"]))
    what = {"failed": "FAILED", "interrupted": "was INTERRUPTED"}.get(
        status, "is UNFINISHED (still running, or its process died without a word)"
    )
    error = run.info.get("error")
    error = f" ({error})" if isinstance(error, str) and error else ""
    held = f"holds metrics of {n} eval(s) only" if n else "holds no metrics"
    return (
        f"run {run.label} ({run.run_id}) {what}{error}; it {held}. Rerun the same command into the same "
        f"folder to resume: finished generations and judgements are reused."
    )


def load_runs(specs) -> list[Run]:
    return [load_run(s) for s in specs]


# -- columns: the models of several runs, in the order given, de-duplicated by fingerprint -------
@dataclass
class Column:
    """One table column: a model as it appears in one or more runs."""

    label: str
    fingerprint: str
    role: str
    spec: str
    info: dict
    sources: list = field(default_factory=list)  # [(Run, model name in that run)]

    @property
    def size(self) -> float | None:
        for key in SIZE_KEYS:
            value = self.info.get(key)
            if isinstance(value, (int, float)) and value > 0:
                return float(value)
        return None

    @property
    def lineage(self) -> dict | None:
        for key in LINEAGE_KEYS:
            if isinstance(self.info.get(key), dict):
                return self.info[key]
        return None


def model_columns(runs: list[Run]) -> list[Column]:
    """Columns = models in run order, then within a run in the order the store lists them
    (candidates first, baselines after); a model seen again (same fingerprint) joins its column.
    Models with no metric anywhere (e.g. the baseline of a win-rate-only run) are left out."""
    columns: dict[str, Column] = {}
    for run in runs:
        with_metrics = set(run.metrics["model"]) if not run.metrics.empty else set()
        rows = run.models[run.models["role"].isin(MODEL_ROLES)] if not run.models.empty else run.models
        names = list(rows["name"]) if not rows.empty else []
        order = {"candidate": 0, "policy": 0, "baseline": 1}
        names.sort(key=lambda n: order.get(run.model_row(n)["role"], 2))
        names += [n for n in sorted(with_metrics) if n not in names]  # metrics of a model not in `models`
        for name in names:
            if name not in with_metrics:
                continue
            row = run.model_row(name)
            fp = row["fingerprint"]
            if fp not in columns:
                columns[fp] = Column(
                    label=name, fingerprint=fp, role=row["role"], spec=row["spec"], info=row.get("info") or {}
                )
            columns[fp].sources.append((run, name))
    out = list(columns.values())
    # Two different models with the same name in different runs: say which run each came from.
    seen: dict[str, int] = {}
    for col in out:
        seen[col.label] = seen.get(col.label, 0) + 1
    for col in out:
        if seen[col.label] > 1:
            col.label = f"{col.label} ({col.sources[0][0].label})"
    return out


METRIC_COLUMNS = [
    "eval",
    "metric",
    "label",
    "higher_is_better",
    "column",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "run",
    "run_id",
    "model",
    "meta",
]


def metrics_frame(runs: list[Run], columns: list[Column] | None = None) -> pd.DataFrame:
    """Tidy frame of every aggregate metric: one row per (eval, metric, column).  When a column's
    model has the same (eval, metric) in two runs, the first run given wins."""
    columns = columns if columns is not None else model_columns(runs)
    rows = []
    for col in columns:
        seen = set()
        for run, name in col.sources:
            m = run.metrics[run.metrics["model"] == name]
            for r in m.itertuples(index=False):
                if (r.eval, r.metric) in seen:
                    continue
                seen.add((r.eval, r.metric))
                rows.append(
                    {
                        "eval": r.eval,
                        "metric": r.metric,
                        "label": r.label,
                        "higher_is_better": r.higher_is_better,
                        "column": col.label,
                        "value": r.value,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "n": r.n,
                        "run": run.label,
                        "run_id": run.run_id,
                        "model": name,
                        "meta": r.meta,
                    }
                )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def train_curves(run: Run, column: Column | None = None, use_store: bool = True) -> pd.DataFrame:
    """Step-wise training scalars (reward, kl, ptx_loss, ...) as a wide frame indexed by step: from the
    store's `train_logs`, else from the checkpoint folder's `train_log.jsonl` named in the lineage."""
    if use_store and not run.train_logs.empty:
        return run.train_logs.pivot_table(index="step", columns="key", values="value").sort_index()
    folder = None
    if column is not None:  # the suite runner records the resolved checkpoint folder as info["path"]
        folder = column.info.get("path") or (column.lineage or {}).get("path") or column.spec
    if folder and (Path(folder) / "train_log.jsonl").is_file():
        lines = Path(folder, "train_log.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        frame = pd.DataFrame(rows)
        if "step" in frame:
            return frame.set_index("step").select_dtypes("number").sort_index()
    if folder and Path(folder).is_dir():
        return trainer_state_curves(Path(folder))
    return pd.DataFrame()


def trainer_state_curves(folder: Path) -> pd.DataFrame:
    """The SFT and reward-model stages train with TRL's trainers, which keep their logged scalars in transformers'
    `trainer_state.json` (`log_history`), in the folder or its last `checkpoint-N/`.  Returned by step, with the
    trainer's `loss` named `train_loss` so it never shares a panel with PPO's losses."""

    def number(path: Path) -> int:  # checkpoint-12 after checkpoint-9
        suffix = path.parent.name.rpartition("-")[2]
        return int(suffix) if suffix.isdigit() else -1

    checkpoints = sorted(folder.glob("checkpoint-*/trainer_state.json"), key=number)
    for path in [folder / "trainer_state.json", *reversed(checkpoints)]:
        if not path.is_file():
            continue
        try:
            history = json.loads(path.read_text()).get("log_history") or []
        except (OSError, ValueError, AttributeError):
            continue
        rows = [r for r in history if isinstance(r, dict) and "step" in r]
        if rows:
            frame = pd.DataFrame(rows).set_index("step").select_dtypes("number").drop(columns="epoch", errors="ignore")
            return frame.groupby(level=0).mean().sort_index().rename(columns={"loss": "train_loss"})
    return pd.DataFrame()
