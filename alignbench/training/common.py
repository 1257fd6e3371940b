"""What the three training stages share: the result they return.

Formatting of (prompt, response) lives with the models (`alignbench.models.chat_format`) because the
reward-model judge formats exactly as training did; recipe handling lives in `recipes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class TrainResult:
    """A finished stage: the checkpoint folder, its metrics, and its lineage record (`alignbench.json`)."""

    output_dir: Path
    metrics: dict
    lineage: dict
