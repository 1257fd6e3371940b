"""Human feedback in a browser: labelers rank K responses (ties allowed), give 1-7 Likert scores and the
paper's metadata flags, or compare a candidate with a baseline; screened against gold labels.

Layer: above store, data, judges and evals (whose files it reads and writes), beside reports; nothing
below imports it.  One concept per file:
  project.py     the project's SQLite store (WAL, every label one transaction)
  sources.py     items from an eval run folder or a file, and the gold set -> `create_project`
  assignment.py  who labels what (overlap, gold first, resume, never twice)
  labels.py      what a submission is and its validation (ranks with ties, Likert, flags)
  auth.py        labeler tokens (only hashes stored)
  app.py         the FastAPI app and `serve`
  agreement.py   inter-annotator and gold agreement over response pairs, bootstrap CI
  metrics.py     Likert means, flag rates, human win rate by labeler group -> the results store
  export.py      rankings (for `train rm`), judgements (for the `human` judge), likert
"""

from alignbench.labeling.project import Project
from alignbench.labeling.sources import create_project

__all__ = ["Project", "create_project"]
