"""`label export`: the project's labels as the files the rest of alignbench reads.

  rankings    Ranking records {id, prompt, responses, ranks, meta} -- exactly what `alignbench train rm`
              reads (train_data).  One record per label (a prompt two labelers ranked gives two records, as
              in the paper's data); responses in source order; ties as standard competition ranks [1, 1, 3, 4];
              a label with every response tied carries no comparison and is left out (the trainer refuses it).
              Default `--group train`: the paper trains the RM on its training labelers only.
  judgements  {item_id, verdict, score_a, score_b, labeler, group} -- what the `human` judge reads
              (judges/human.py): verdict A = the candidate, scores = the 1-7 Likert of candidate / baseline.
              Compare projects only; items of the source run only (not gold-only items).
  likert      one row per (label, response): item_id, labeler, group, response, model, likert, flags and a
              0/1 column per flag.
  labelers    one row per labeler: group, labels, gold agreement with its 95% CI, admitted or not.
Screening: `--min-gold-agreement X` drops every label of a labeler whose agreement with the gold labels is
below X (or who has labelled no gold item yet).
"""

from __future__ import annotations

from pathlib import Path

from alignbench.errors import AlignbenchError
from alignbench.labeling.agreement import gold_agreement
from alignbench.labeling.labels import FLAGS, verdict_of
from alignbench.labeling.project import Project

FORMATS = ("rankings", "judgements", "likert", "labelers")
DEFAULT_GROUP = {"rankings": "train"}


def screened_labels(
    project: Project, group: str = "all", min_gold_agreement: float | None = None
) -> tuple[list, dict]:
    """(labels of admitted labelers in the group, {labeler: why left out})."""
    labels = project.all_labels()
    excluded: dict[str, str] = {}
    if min_gold_agreement is not None:
        gold = gold_agreement(labels)
        for lab in project.labelers():
            g = gold.get(lab["name"])
            if g is None:
                excluded[lab["name"]] = "no gold item labelled yet"
            elif g.value < min_gold_agreement:
                excluded[lab["name"]] = f"gold agreement {g.value:.3f} < {min_gold_agreement}"
    kept = [lab for lab in labels if lab["labeler"] not in excluded and (group == "all" or lab["grp"] == group)]
    return kept, excluded


def export_rows(
    project: Project, fmt: str, group: str | None = None, min_gold_agreement: float | None = None
) -> tuple[list[dict], list[str]]:
    """(rows, notes for the user) of one export format."""
    if fmt not in FORMATS:
        raise AlignbenchError(f"--format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    group = group or DEFAULT_GROUP.get(fmt, "all")
    if group not in ("all", "train", "heldout"):
        raise AlignbenchError(f"--group: must be train, heldout or all, got {group!r}")
    notes: list[str] = []
    if fmt == "labelers":
        return _labelers(project, min_gold_agreement), notes
    labels, excluded = screened_labels(project, group, min_gold_agreement)
    notes += [f"left out labeler {name}: {why}" for name, why in excluded.items()]
    if group != "all":
        others = sum(1 for lab in project.all_labels() if lab["grp"] != group and lab["labeler"] not in excluded)
        if others:
            notes.append(f"left out {others} label(s) of labelers outside group {group} (--group all keeps them)")
    rows: list[dict] = []
    if fmt == "rankings":
        tied = 0
        for lab in labels:
            if len(set(lab["ranks"])) == 1:
                tied += 1
                continue
            rows.append(
                {
                    "id": f"{lab['item_id']}#{lab['labeler']}",
                    "prompt": lab["prompt"],
                    "responses": lab["responses"],
                    "ranks": lab["ranks"],
                    "meta": {
                        "item_id": lab["item_id"],
                        "labeler": lab["labeler"],
                        "group": lab["grp"],
                        "models": lab["models"],
                        "likert": lab["likert"],
                        "flags": lab["flags"],
                    },
                }
            )
        if tied:
            notes.append(f"left out {tied} label(s) with every response tied (no comparison to learn from)")
    elif fmt == "judgements":
        if project.task != "compare":
            raise AlignbenchError(
                f"{project.folder}: --format judgements needs a compare project (this one ranks); "
                "use --format rankings"
            )
        rows = [
            {
                "item_id": lab["item_id"],
                "verdict": verdict_of(lab["ranks"]),
                "score_a": lab["likert"][0],
                "score_b": lab["likert"][1],
                "labeler": lab["labeler"],
                "group": lab["grp"],
            }
            for lab in labels
            if lab["in_source"]
        ]
    else:  # likert
        for lab in labels:
            for i, (score, flags) in enumerate(zip(lab["likert"], lab["flags"])):
                rows.append(
                    {
                        "item_id": lab["item_id"],
                        "labeler": lab["labeler"],
                        "group": lab["grp"],
                        "response": i,
                        "model": lab["models"][i] if lab["models"] else None,
                        "likert": score,
                        "rank": lab["ranks"][i],
                        "flags": flags,
                        **{f: int(f in flags) for f in FLAGS},
                    }
                )
    return rows, notes


def _labelers(project: Project, min_gold_agreement: float | None) -> list[dict]:
    labels = project.all_labels()
    gold = gold_agreement(labels)
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab["labeler"]] = counts.get(lab["labeler"], 0) + 1
    rows = []
    for lab in project.labelers():
        g = gold.get(lab["name"])
        admitted = min_gold_agreement is None or (g is not None and g.value >= min_gold_agreement)
        rows.append(
            {
                "labeler": lab["name"],
                "group": lab["grp"],
                "labels": counts.get(lab["name"], 0),
                "gold_agreement": None if g is None else g.value,
                "gold_ci_low": None if g is None else g.ci_low,
                "gold_ci_high": None if g is None else g.ci_high,
                "gold_items": 0 if g is None else g.n_items,
                "admitted": admitted,
            }
        )
    return rows


def export(
    project: Project, fmt: str, out: str | Path, group: str | None = None, min_gold_agreement: float | None = None
) -> tuple[Path, int, list[str]]:
    """Write one format to OUT (.jsonl, .csv or .parquet by suffix, atomically); returns (path, rows, notes)."""
    from alignbench.data.writers import write_records

    rows, notes = export_rows(project, fmt, group, min_gold_agreement)
    if not rows:
        raise AlignbenchError(
            f"{project.folder}: nothing to export as {fmt}" + (f" ({'; '.join(notes)})" if notes else "")
        )
    return write_records(out, rows), len(rows), notes
