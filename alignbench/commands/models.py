"""`alignbench models list|show SPEC`.  `show` reads the checkpoint's config.json, tokenizer files and the
safetensors headers (parameter count) instead of loading the weights: seconds, not a minute."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("models", help="list builtin models, show what a model spec resolves to")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = msub.add_parser("list", help="builtin model aliases")
    ls.set_defaults(handler=_list)
    show = msub.add_parser(
        "show",
        help="parameters, dtype, vocab, chat template, fingerprint of SPEC "
        "(read from its files, without loading the weights)",
    )
    show.add_argument("spec")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument(
        "--load",
        action="store_true",
        help="load the model to read the facts (slow; for specs whose files are not on disk, e.g. a .gguf)",
    )
    show.set_defaults(handler=_show)


def _list(args) -> int:
    from alignbench.models import BUILTINS

    for name, text in BUILTINS.items():
        print(f"{name:14s} {text}")
    print("\nAlso: a local HF folder or peft adapter, a .gguf file, hf:ORG/NAME[@REV], openai:MODEL@URL")
    return 0


def human_bytes(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def describe_files(spec: str) -> dict | None:
    """The facts `models show` prints, read from a local checkpoint folder's files; None when the spec has
    no such folder yet (a builtin never loaded, a .gguf, a hub id): then the model must be loaded."""
    from alignbench.evals.context import model_info
    from alignbench.models import resolve

    resolved = resolve(spec)
    folder = Path(resolved.path) if resolved.path else None
    if not resolved.is_local or folder is None or not (folder / "config.json").is_file():
        return None
    config = json.loads((folder / "config.json").read_text())
    weights = sorted([*folder.glob("*.safetensors"), *folder.glob("*.bin")])
    n = model_info(spec).get("size")
    tok_config = folder / "tokenizer_config.json"
    chat = (folder / "chat_template.jinja").is_file() or (
        tok_config.is_file() and bool(json.loads(tok_config.read_text()).get("chat_template"))
    )
    info = {"spec": spec, "kind": resolved.kind, "path": str(folder), "fingerprint": resolved.fingerprint()}
    if n:
        info.update(parameters=n, parameters_human=f"{n / 1e6:.1f}M")
    info.update(
        dtype=config.get("dtype") or config.get("torch_dtype"),
        architecture=(config.get("architectures") or [config.get("model_type")])[0],
        vocab_size=config.get("vocab_size"),
        context_length=config.get("max_position_embeddings"),
        chat_template=chat,
        files=", ".join(f"{w.name} ({human_bytes(w.stat().st_size)})" for w in weights) or "none",
        size_on_disk=human_bytes(sum(w.stat().st_size for w in folder.rglob("*") if w.is_file())),
    )
    return info


def _show(args) -> int:
    info = None if args.load else describe_files(args.spec)
    if info is None:
        from alignbench.models import describe

        info = describe(args.spec)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:16s} {value}")
    return 0
