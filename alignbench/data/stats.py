"""What a set of records looks like before you train or evaluate on it: counts, K and tie rates of
rankings, length percentiles (characters, and tokens when a tokenizer is given, to choose
`max_length`), and the spread of small-cardinality meta fields (category, subset, domain ...).

    describe_records(records, tokenizer=None) -> dict   # JSON-ready
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from alignbench.data.records import Demonstration, EvalItem, PretrainText, Prompt, Ranking

PERCENTILES = (50, 95, 100)
MAX_META_VALUES = 40  # a meta field with more distinct values than this is an id, not a category


def _lengths(texts: list[str], tokenizer=None) -> dict:
    if not texts:
        return {}
    chars = np.array([len(t) for t in texts])
    out = {f"chars_p{p}": int(np.percentile(chars, p)) for p in PERCENTILES}
    if tokenizer is not None:
        tokens = np.array([len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]])
        out.update({f"tokens_p{p}": int(np.percentile(tokens, p)) for p in PERCENTILES})
    return out


def _spread(records, attribute: str) -> dict:
    """{key: {value: count}} of the scalar fields of record.<attribute> with few distinct values."""
    values: dict[str, Counter] = {}
    for record in records:
        for key, value in (getattr(record, attribute, None) or {}).items():
            if isinstance(value, (str, bool, int)) and not isinstance(value, float):
                values.setdefault(key, Counter())[value] += 1
    return {key: dict(counter.most_common()) for key, counter in values.items() if 1 < len(counter) <= MAX_META_VALUES}


def describe_records(records: list, tokenizer=None) -> dict:
    """Summary of records of one kind (the kind of the first record)."""
    if not records:
        return {"n": 0}
    first = records[0]
    out: dict = {"kind": first.kind, "n": len(records)}
    ids = [getattr(r, "id", None) for r in records]
    out["with_id"] = sum(i is not None for i in ids)
    out["duplicate_ids"] = len([i for i in ids if i is not None]) - len({i for i in ids if i is not None})
    if isinstance(first, Ranking):
        out["k"] = dict(sorted(Counter(r.k for r in records).items()))
        out["with_ties"] = sum(len(set(r.ranks)) < r.k for r in records)
        out["comparisons"] = sum(len(r.pairs()) for r in records)
        out["prompt"] = _lengths([r.prompt for r in records], tokenizer)
        out["response"] = _lengths([x for r in records for x in r.responses], tokenizer)
    elif isinstance(first, Demonstration):
        out["chat"] = sum(r.messages is not None for r in records)
        out["prompt"] = _lengths([r.prompt or "\n".join(m["content"] for m in r.messages) for r in records], tokenizer)
        out["response"] = _lengths([r.response for r in records], tokenizer)
    elif isinstance(first, Prompt):
        out["prompt"] = _lengths([r.prompt for r in records], tokenizer)
    elif isinstance(first, PretrainText):
        out["text"] = _lengths([r.text for r in records], tokenizer)
        out["total_chars"] = sum(len(r.text) for r in records)
    elif isinstance(first, EvalItem):
        out["inputs"] = dict(Counter(k for r in records for k in r.inputs).most_common())
        out["references"] = dict(Counter(k for r in records for k in r.references).most_common())
        for key in ("question", "prompt", "context", "document", "ctx"):
            texts = [r.inputs[key] for r in records if isinstance(r.inputs.get(key), str)]
            if texts:
                out[f"inputs.{key}"] = _lengths(texts, tokenizer)
        labels = _spread(records, "references")  # label / consistent / gold / is_impossible balance
        if labels:
            out["labels"] = labels
    spread = _spread(records, "meta")
    if spread:
        out["meta"] = spread
    return out
