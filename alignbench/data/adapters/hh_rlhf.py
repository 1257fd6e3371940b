"""Anthropic HH-RLHF (Bai et al. 2022): `{"chosen": transcript, "rejected": transcript}` per line, each
transcript "\\n\\nHuman: ...\\n\\nAssistant: ..." turns.  -> K=2 Rankings.

The prompt is the shared prefix: everything up to and including the last "\\n\\nAssistant:" of the
chosen transcript (kept in Anthropic's format, so `prompt + " " + response` is the original
transcript); responses are the two final Assistant turns, stripped; ranks [1, 2] (chosen first).
`meta["messages"]` holds the prompt as chat messages (`transcript_messages`), for chat templates.

Rows that carry no usable preference are skipped and counted in the LoadReport: identical final
replies (helpful-base test has 2) and an empty final reply.  Rows whose transcripts differ before the
final turn (a handful) are kept with `meta["prefix_shared"] = False`; their prompt is the chosen one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, hub_dataset, jsonl_rows, need, pick_files
from alignbench.data.records import Ranking

HUMAN, ASSISTANT = "\n\nHuman:", "\n\nAssistant:"
SUBSETS = ("harmless-base", "helpful-base", "helpful-online", "helpful-rejection-sampled")
_TURN = re.compile(r"\n\n(Human|Assistant):")


def transcript_messages(text: str) -> list[dict]:
    """Chat messages of an Anthropic transcript; a trailing empty "Assistant:" (the prompt's end) is dropped."""
    parts = _TURN.split(text)
    messages = []
    if parts[0].strip():  # text before the first marker (does not occur in the real files)
        messages.append({"role": "user", "content": parts[0].strip()})
    for speaker, content in zip(parts[1::2], parts[2::2]):
        messages.append({"role": "user" if speaker == "Human" else "assistant", "content": content.strip()})
    if messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
        messages.pop()
    return messages


def split_pair(chosen: str, rejected: str) -> tuple[str, str, str, bool]:
    """(prompt, chosen reply, rejected reply, prefix_shared) of one HH pair."""
    cut = chosen.rfind(ASSISTANT)
    if cut < 0:
        return "", chosen.strip(), rejected.strip(), False
    prompt = chosen[: cut + len(ASSISTANT)]
    if rejected.startswith(prompt):
        return prompt, chosen[len(prompt) :].strip(), rejected[len(prompt) :].strip(), True
    rcut = rejected.rfind(ASSISTANT)
    rejected_reply = rejected[rcut + len(ASSISTANT) :] if rcut >= 0 else rejected
    return prompt, chosen[len(prompt) :].strip(), rejected_reply.strip(), False


def to_ranking(row: dict, origin: str, item_id: str, meta: dict, report: LoadReport) -> Ranking | None:
    chosen, rejected = need(row, "chosen", origin), need(row, "rejected", origin)
    report.rows += 1
    prompt, good, bad, shared = split_pair(chosen, rejected)
    if not prompt:
        report.skip("no Assistant turn")
        return None
    if not good or not bad:
        report.skip("empty final reply")
        return None
    if good == bad:
        report.skip("identical replies")
        return None
    return Ranking(
        prompt=prompt,
        responses=[good, bad],
        ranks=[1, 2],
        id=item_id,
        meta={**meta, "prefix_shared": shared, "messages": transcript_messages(prompt)},
    )


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[Ranking]:
    split = split or "test"
    pattern = f"{subset}/{split}.jsonl*" if subset else f"*/{split}.jsonl*"
    for file in pick_files(path, pattern, "hh-rlhf"):
        file_subset = subset or file.parent.name
        file_split = file.name.split(".")[0]
        for i, (row, origin) in enumerate(jsonl_rows(file)):
            meta = {"subset": file_subset, "split": file_split, "row": i}
            record = to_ranking(row, origin, f"hh-rlhf/{file_subset}/{file_split}/{i}", meta, report)
            if record is not None:
                yield record


def read_hub(
    hub_id: str, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[Ranking]:
    split = split or "test"
    for name in [subset] if subset else SUBSETS:
        ds = hub_dataset(hub_id, None, split=split, data_dir=name)
        for i, row in enumerate(ds):
            meta = {"subset": name, "split": split, "row": i}
            record = to_ranking(
                row, f"hf:{hub_id}/{name}@{split}:row {i + 1}", f"hh-rlhf/{name}/{split}/{i}", meta, report
            )
            if record is not None:
                yield record


ADAPTER = Adapter(
    name="hh-rlhf",
    kind="ranking",
    description="Anthropic HH-RLHF chosen/rejected dialogues -> K=2 rankings (prompt = shared prefix)",
    folder="hh-rlhf",
    hub_id="Anthropic/hh-rlhf",
    read_local=read_local,
    read_hub=read_hub,
    subsets=SUBSETS,
    splits=("train", "test"),
    default_split="test",
    notes="local copy holds the test splits of harmless-base (2312) and helpful-base (2354)",
)
