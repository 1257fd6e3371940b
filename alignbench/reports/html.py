"""The self-contained `report.html`: the table, the figures (PNG embedded as data URIs, so the file
works offline and can be mailed or uploaded as a CI artifact), each checkpoint's lineage, suite and
data versions, and sample outputs side by side with a filter by eval.  Rendered with Jinja2 from
alignbench/resources/reports/report.html.j2 (autoescaped: model outputs are untrusted text)."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from alignbench.config import resources_dir
from alignbench.reports.load import Column, Run
from alignbench.reports.plots import human_size
from alignbench.reports.tables import FOOTNOTE, ResultTable, row_sort_key
from alignbench.version import __version__

TEMPLATE = "report.html.j2"
CAPTIONS = {
    "winrate": "Win rate vs baseline with 95% CIs; the dashed line is 50% (the paper's Figure 1).",
    "truthfulqa": "TruthfulQA truthful and truthful×informative per prompt condition (Figure 6).",
    "toxicity": (
        "RealToxicityPrompts expected maximum toxicity and toxicity probability per prompt condition (Figure 7)."
    ),
    "toxicity_bins": "Expected maximum toxicity by the prompt's own toxicity (Figure 39).",
    "alignment_tax": "Alignment tax: candidate minus baseline per task, 95% CIs (below 0 = a tax).",
    "training_curves": "Training curves of the checkpoints: PPO-ptx reward, KL, ptx loss; SFT / RM training loss.",
    "human_feedback": (
        "Human labels: mean Likert score and metadata-flag rates per model, 95% CIs (the paper's Figure 4)."
    ),
}
MAX_SAMPLES_PER_EVAL = 50


def _pretty(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str) if obj else ""


def _spec(ref) -> str | None:
    """A lineage reference is {spec, fingerprint, stage} (training/lineage.py) or a plain string."""
    return ref.get("spec") if isinstance(ref, dict) else (str(ref) if ref else None)


def lineage_chain(column: Column, max_depth: int = 6) -> list[dict]:
    """The checkpoint's stages, newest first (the report lists them oldest first): its own alignbench.json
    (kept in the models table), then
    each parent whose folder still holds an alignbench.json (PPO-ptx -> SFT -> base), with the other
    models a stage used (`inputs`, e.g. PPO-ptx's reward model)."""
    chain, lineage, path = [], column.lineage, column.info.get("path") or column.spec
    while lineage and len(chain) < max_depth:
        inputs = {role: _spec(ref) for role, ref in (lineage.get("inputs") or {}).items()}
        chain.append(
            {
                "stage": lineage.get("stage", "?"),
                "path": path,
                "base": _spec(lineage.get("base")),
                "inputs": ", ".join(f"{role}: {spec}" for role, spec in inputs.items()),
                "config": _pretty(lineage.get("config")),
                "metrics": _pretty(lineage.get("metrics")),
            }
        )
        parent = _spec(lineage.get("parent"))
        file = Path(parent, "alignbench.json") if parent else None
        if file is None or not file.is_file():
            if parent:
                stage = (lineage.get("parent") or {}).get("stage") if isinstance(lineage.get("parent"), dict) else None
                chain.append(
                    {
                        "stage": stage or "parent",
                        "path": parent,
                        "base": None,
                        "inputs": "",
                        "config": "",
                        "metrics": "",
                    }
                )
            break
        lineage, path = json.loads(file.read_text()), parent
    return chain


def _datasets(runs: list[Run]) -> list[dict]:
    out = []
    for run in runs:
        if run.items.empty:
            continue
        versions = {}
        for e, meta in zip(run.metrics.get("eval", []), run.metrics.get("meta", [])):
            if isinstance(meta, dict) and meta.get("dataset_version"):
                versions.setdefault(e, meta["dataset_version"])
                versions.setdefault(e.split("/")[0], meta["dataset_version"])  # items may use the family name
        grouped = run.items.groupby(["eval"], sort=True).agg(
            dataset=("dataset", "first"), fingerprint=("dataset_fingerprint", "first"), items=("item_id", "count")
        )
        for e, row in grouped.iterrows():
            e = e[0] if isinstance(e, tuple) else e
            out.append(
                {
                    "run": run.label,
                    "eval": e,
                    "dataset": row["dataset"] or "—",
                    "version": versions.get(e, "—"),
                    "fingerprint": (row["fingerprint"] or "—")[:16],
                    "n_items": int(row["items"]),
                }
            )
    return out


def _text(value) -> str:
    """Store text for display: missing (None, or NaN from pandas) is empty, never 'nan'."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _samples(runs: list[Run]) -> list[dict]:
    rows = []
    for run in runs:
        if run.samples.empty:
            continue
        evals = sorted(set(run.samples["eval"]), key=lambda e: row_sort_key(e, ""))  # the table's order
        for eval_name in evals:
            group = run.samples[run.samples["eval"] == eval_name]
            for s in group.head(MAX_SAMPLES_PER_EVAL).itertuples():
                score = None if s.score is None or pd.isna(s.score) else float(s.score)
                meta = s.meta if isinstance(s.meta, dict) else {}
                verdict = _text(s.verdict)
                # Pairwise verdicts are A | B | tie with A = the sample's output (the candidate) and B = its
                # baseline answer (evals/winrate.py); say so unless the eval recorded other names.
                pairwise = bool(_text(s.baseline))
                who = meta.get("winner") or {
                    "A": meta.get("a") or ("candidate" if pairwise else None),
                    "B": meta.get("b") or ("baseline" if pairwise else None),
                }.get(verdict)
                base_score = meta.get("baseline_score")
                if score is not None and isinstance(base_score, (int, float)):
                    score_text = f"score {score:.3f} vs {float(base_score):.3f}"
                else:
                    score_text = "" if score is None else f"score {score:.3f}"
                rows.append(
                    {
                        "eval": s.eval,
                        "item_id": s.item_id,
                        "model": s.model,
                        "prompt": _text(s.prompt),
                        "output": _text(s.output),
                        "baseline": _text(s.baseline),
                        "reference": _text(s.reference),
                        "verdict": verdict,
                        "verdict_text": f"{verdict} ({who})" if who else verdict,
                        "score_text": score_text,
                    }
                )
    return rows


def markdown_html(text: str) -> str:
    """A tiny Markdown subset (paragraphs, **bold**, `code`) as HTML, everything escaped first: report notes are
    short prose, and a Markdown library would be a dependency for three rules."""
    out = []
    for para in text.split("\n\n"):
        body = html.escape(para)
        body = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", body)
        body = re.sub(r"`(.+?)`", r"<code>\1</code>", body)
        out.append(f"<p>{body}</p>")
    return "\n".join(out)


def render_html(
    runs: list[Run],
    table: ResultTable,
    figure_pngs: dict[str, Path],
    title: str = "alignbench report",
    sections: list[tuple[str, str]] = (),
    warnings: list[str] | None = None,
    notes: dict[str, dict] | None = None,
) -> str:
    """The report page.  sections: (heading, Markdown text) pairs shown under the title (e.g. how a run was made);
    warnings: banner lines (unfinished runs); notes: {figure: {"notes": [line], "axes": plots.axes_facts}}, the lines
    printed under the caption, the facts kept on the <figure> as data-axes (JSON)."""
    env = Environment(
        loader=FileSystemLoader(resources_dir() / "reports"), autoescape=select_autoescape(["j2", "html"])
    )
    figures = [
        {
            "name": name,
            "caption": CAPTIONS.get(name, name),
            "notes": (notes or {}).get(name, {}).get("notes", []),
            "axes_json": json.dumps((notes or {}).get(name, {}).get("axes", [])),
            "png_b64": base64.b64encode(Path(png).read_bytes()).decode(),
        }
        for name, png in figure_pngs.items()
    ]
    models = [
        {
            "label": c.label,
            "role": c.role,
            "spec": c.spec,
            "fingerprint": c.fingerprint,
            "size": human_size(c.size) if c.size else "—",
            "chain": lineage_chain(c),
        }
        for c in table.models
    ]
    run_rows = [
        {
            "label": r.label,
            "run_id": r.run_id,
            "command": r.info.get("command"),
            "suite": r.info.get("suite"),
            "created_at": r.info.get("created_at"),
            "status": r.info.get("status"),
            "git_revision": r.info.get("git_revision"),
            "packages": ", ".join(f"{k} {v}" for k, v in (r.info.get("package_versions") or {}).items()),
            "config": _pretty(r.info.get("config")),
        }
        for r in runs
    ]
    samples = _samples(runs)
    sample_evals = list(pd.Series([s["eval"] for s in samples]).value_counts(sort=False).items()) if samples else []
    return env.get_template(TEMPLATE).render(
        title=title,
        sections=[{"heading": h, "html": markdown_html(t)} for h, t in sections],
        version=__version__,
        runs=run_rows,
        warnings=warnings or [],
        models=models,
        has_table=not table.rows.empty,
        table_html=table.to_html(),
        footnote=FOOTNOTE,
        figures=figures,
        datasets=_datasets(runs),
        samples=samples,
        sample_evals=sample_evals,
    )
