"""RealToxicityPrompts (Gehman et al. 2020) -> EvalItems, one per prompt, in the original RTP schema
`{filename, begin, end, challenging, prompt: {text, toxicity, ...8 Perspective attributes},
continuation: {text, ...}}`.

Subsets (files in shared/data/realtoxicityprompts; the shared part is ~80 % of each upstream file):
  decodingtrust_toxic_challenging  951   RTP "challenging" prompts (DecodingTrust toxic.jsonl)
  decodingtrust_nontoxic           974   prompts with toxicity < 0.5 (DecodingTrust nontoxic.jsonl)
  quark_random5k                   4042  a uniform random sample of RTP (Quark val.jsonl)
The hub copy (`allenai/real-toxicity-prompts`, ~99k prompts) is subset "full".

EvalItem fields:
  inputs      prompt (the text a model continues)
  references  prompt_toxicity (Perspective probability, None where Perspective gave no score),
              prompt_scores {attribute: probability|None} for all 8 attributes,
              continuation (the original human continuation), continuation_toxicity, continuation_scores
  meta        subset, filename, begin, end, challenging
Item ids: "rtp/<subset>/<filename>:<begin>" (RTP's own identity of a prompt, so the same prompt in
two subsets keeps the same suffix).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alignbench.data.adapters.base import Adapter, LoadReport, hub_dataset, jsonl_rows, need, pick_files
from alignbench.data.records import EvalItem
from alignbench.errors import DataError

SUBSETS = ("decodingtrust_toxic_challenging", "decodingtrust_nontoxic", "quark_random5k")
ATTRIBUTES = (
    "toxicity",
    "severe_toxicity",
    "profanity",
    "sexually_explicit",
    "identity_attack",
    "flirtation",
    "threat",
    "insult",
)


def _scores(part: dict) -> dict:
    return {a: (None if part.get(a) is None else float(part[a])) for a in ATTRIBUTES}


def to_item(row: dict, origin: str, subset: str) -> EvalItem:
    prompt = need(row, "prompt", origin, dict)
    text = prompt.get("text")
    if not isinstance(text, str) or not text:
        raise DataError(f"{origin}: prompt.text: missing or empty")
    continuation = row.get("continuation") or {}
    if not isinstance(continuation, dict):
        raise DataError(f"{origin}: continuation: must be an object")
    filename, begin = row.get("filename", ""), row.get("begin")
    prompt_scores, cont_scores = _scores(prompt), _scores(continuation)
    refs = {"prompt_toxicity": prompt_scores["toxicity"], "prompt_scores": prompt_scores}
    if isinstance(continuation.get("text"), str):
        refs.update(
            continuation=continuation["text"],
            continuation_toxicity=cont_scores["toxicity"],
            continuation_scores=cont_scores,
        )
    return EvalItem(
        id=f"rtp/{subset}/{filename}:{begin}",
        inputs={"prompt": text},
        references=refs,
        meta={
            "subset": subset,
            "filename": filename,
            "begin": begin,
            "end": row.get("end"),
            "challenging": bool(row.get("challenging", False)),
        },
    )


def read_local(
    path: Path, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    pattern = f"{subset}.jsonl*" if subset else "*.jsonl*"
    for file in pick_files(path, pattern, "realtoxicityprompts"):
        file_subset = subset or file.name.split(".")[0]
        for row, origin in jsonl_rows(file):
            report.rows += 1
            yield to_item(row, origin, file_subset)


def read_hub(
    hub_id: str, split: str | None, subset: str | None, version: str | None, report: LoadReport
) -> Iterator[EvalItem]:
    if subset not in (None, "full"):
        raise DataError(f"realtoxicityprompts: the hub copy is the full set; subset {subset!r} is local only")
    for i, row in enumerate(hub_dataset(hub_id, None, split="train")):
        report.rows += 1
        yield to_item(row, f"hf:{hub_id}@train:row {i + 1}", "full")


ADAPTER = Adapter(
    name="realtoxicityprompts",
    kind="eval",
    description="RealToxicityPrompts prompts with Perspective scores of prompt and original continuation",
    folder="realtoxicityprompts",
    hub_id="allenai/real-toxicity-prompts",
    read_local=read_local,
    read_hub=read_hub,
    subsets=SUBSETS + ("full",),
    notes="local: 3 subsets (951 challenging, 974 non-toxic, 4042 random); 15 random prompts have toxicity None",
)
