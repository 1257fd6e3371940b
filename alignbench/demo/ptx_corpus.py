"""Offline pretraining text for the ptx term of PPO-ptx.

The paper mixes pretraining gradients into PPO to limit the "alignment tax".  The demo needs plain
English text that exists on every Python install with no download: CPython ships the text of its
language-reference help topics (what `help("assert")` prints) as `pydoc_data.topics.topics`.  It is
read at run time, never copied into the repository.
"""

from __future__ import annotations

import random
import re

from alignbench.data.records import PretrainText
from alignbench.errors import AlignbenchError

SOURCE = "pydoc_data.topics (CPython standard-library documentation topics)"


def _topics() -> dict[str, str]:
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:  # some distributions strip pydoc_data
        raise AlignbenchError(
            "the ptx corpus needs the standard-library module pydoc_data (the Python documentation topics); "
            "this Python build lacks it: install your distribution's python3 documentation/full package, "
            "or pass your own pretraining text with --ptx-data FILE.jsonl"
        ) from exc
    return dict(topics)


def _paragraphs(text: str) -> list[str]:
    """Prose paragraphs of a topic: drop headings (underlined), grammar blocks and code (indented)."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines or any(ln.startswith((" ", "\t")) for ln in lines):
            continue  # code, grammar productions, indented examples
        if len(lines) >= 2 and set(lines[-1].strip()) <= set("*=-~^"):
            continue  # a heading
        para = " ".join(ln.strip() for ln in lines)
        if len(para.split()) >= 12:
            out.append(para)
    return out


def ptx_texts(n: int | None = None, max_words: int = 96, seed: int = 0) -> list[PretrainText]:
    """Chunks of at most `max_words` words of prose from the documentation topics, shuffled with `seed`."""
    chunks: list[PretrainText] = []
    for name, text in sorted(_topics().items()):
        for j, para in enumerate(_paragraphs(text)):
            tokens = para.split()
            for start in range(0, len(tokens), max_words):
                piece = tokens[start : start + max_words]
                if len(piece) >= 12:
                    chunks.append(PretrainText(text=" ".join(piece), id=f"pydoc:{name}:{j}:{start}"))
    random.Random(seed).shuffle(chunks)
    return chunks if n is None else chunks[:n]
