"""Paper-style reports and CI gates, read from run stores (nothing recomputes a model output).

    from alignbench.reports import write_report, load_runs, ResultTable
    paths = write_report(["runs/ppo", "runs/sft"], "report/", formats=("md", "html", "tex", "csv"))

`compare.py` + `gates.py` hold `alignbench compare` (paired bootstrap per metric, YAML gates).
"""

from __future__ import annotations

from pathlib import Path

from alignbench.reports.load import Column, Run, load_run, load_runs, metrics_frame, model_columns, status_warning
from alignbench.reports.tables import ResultTable

FORMATS = ("md", "html", "tex", "csv")

__all__ = [
    "FORMATS",
    "Column",
    "ResultTable",
    "Run",
    "load_run",
    "load_runs",
    "metrics_frame",
    "model_columns",
    "status_warning",
    "write_report",
]


def write_report(
    run_specs,
    out_dir: str | Path,
    formats=FORMATS,
    title: str = "alignbench report",
    all_metrics: bool = False,
    sections: list[tuple[str, str]] = (),
) -> dict[str, Path]:
    """Read the runs, write the table (results.md / .tex / .csv), the figures (figures/NAME.png + .svg)
    and report.html into out_dir.  Returns {kind: path}.  The CSV always holds every metric; the other
    tables the headline ones unless all_metrics.  `sections`: (heading, Markdown text) pairs the HTML report
    shows under its title (data, not patched into the page afterwards)."""
    from alignbench.errors import AlignbenchError
    from alignbench.reports.html import render_html
    from alignbench.reports.human import human_figures
    from alignbench.reports.plots import all_figures, axes_facts, save_figure

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise AlignbenchError(f"--format: unknown format(s) {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    runs = load_runs(run_specs)
    table = ResultTable.from_runs(runs, all_metrics=all_metrics)
    full = table if all_metrics else ResultTable.from_runs(runs, all_metrics=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    from alignbench.reports.tables import md_escape

    warnings = [w for w in map(status_warning, runs) if w]  # failed / interrupted / unfinished runs
    banner = "".join(f"> **Warning:** {md_escape(w)}\n\n" for w in warnings)
    writers = {
        "md": ("results.md", lambda: f"# {md_escape(title)}\n\n" + banner + table.to_markdown()),
        "tex": ("results.tex", table.to_latex),
        "csv": ("results.csv", full.to_csv),
    }
    for fmt in formats:
        if fmt in writers:
            name, make = writers[fmt]
            (out / name).write_text(make())
            written[fmt] = out / name
    from alignbench.reports.policy_tables import plot_policy_size, policy_size_markdown

    figures = {**all_figures(runs, table), **human_figures(full)}
    policy_fig = plot_policy_size(runs)  # runs of imported policies (policy x size): the paper's own layout
    if policy_fig is not None:
        figures["policy_size"] = policy_fig
    pngs, notes = {}, {}
    for name, fig in figures.items():
        # Under the caption: "no data" and KL notes; in the page, each panel's limits and marks (checked by tests).
        notes[name] = {"notes": list(getattr(fig, "alignbench_notes", [])), "axes": axes_facts(fig)}
        paths = save_figure(fig, out / "figures", name)
        pngs[name] = paths["png"]
        written[f"figure:{name}"] = paths["png"]
    if "html" in formats:
        (out / "report.html").write_text(
            render_html(runs, table, pngs, title=title, sections=sections, warnings=warnings, notes=notes)
        )
        written["html"] = out / "report.html"
    policy_md = policy_size_markdown(runs)
    if "md" in formats and policy_md:
        with open(out / "results.md", "a") as fh:
            fh.write("\n" + policy_md)
    if "md" in formats and pngs:
        # The Markdown report shows the figures too (relative links, so it renders on GitHub).
        with open(out / "results.md", "a") as fh:
            fh.write("\n## Figures\n\n" + "".join(f"![{n}](figures/{n}.png)\n\n" for n in pngs))
    return written
