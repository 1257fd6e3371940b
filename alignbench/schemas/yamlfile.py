"""The one YAML loader of every user-facing file (suites, gates, recipes): safe, bounded, with line numbers.

    doc = load_yaml("evals/winrate.yaml")      # doc.data: plain dicts/lists/scalars; doc.lines: path -> line

PyYAML's safe_load is safe against code execution but not against size: a few hundred bytes of nested
aliases ("billion laughs") expand to gigabytes once copied, 5,000 levels of `[[[[...` overflow the
recursion limit, bytes that are not UTF-8 raise UnicodeDecodeError, and a duplicated key silently keeps
the last value.  So, before anything is built:

  1. the file is at most MAX_BYTES and strict UTF-8 (else: the line of the first bad byte);
  2. one streaming pass over the parser's events (no recursion) checks nesting depth <= MAX_DEPTH and
     aliases <= MAX_ALIASES;
  3. the composed node graph (aliases still shared, not copied) must expand to <= MAX_NODES nodes
     (memoised count, so 8 levels of 10 aliases cost 8 steps, not 10^8) and hold no recursive alias;
  4. only then are Python values built, recording each value's line; mapping keys must be strings and
     unique (YAML merge keys `<<` may be overridden, as the YAML spec says).

Hand-written because neither PyYAML nor ruamel.yaml limits alias expansion or rejects duplicate keys in
safe mode; the scalars themselves are still resolved by PyYAML's SafeConstructor (YAML 1.1 types).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alignbench.schemas.problems import Problem, SchemaError, field_name

MAX_BYTES = 4 << 20  # 4 MiB: a suite, recipe or gates file is a few KiB
MAX_DEPTH = 64  # nesting levels of mappings/lists
MAX_ALIASES = 1_000  # `*name` references
MAX_NODES = 200_000  # values after alias expansion


@dataclass
class YamlDoc:
    data: Any
    source: str
    lines: dict = field(default_factory=dict)  # ("evals", 0, "decoding") -> 1-based line of that value

    def line(self, *path) -> int | None:
        from alignbench.schemas.problems import line_of

        return line_of(self.lines, tuple(path))


def load_yaml(path: str | Path, what: str = "YAML file") -> YamlDoc:
    """Read and parse a YAML file; any problem raises SchemaError naming the file (and line)."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SchemaError([Problem(source, None, "", f"{size} bytes: a {what} is at most {MAX_BYTES} bytes")])
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemaError([Problem(source, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    return parse_yaml(raw, source, what)


def parse_yaml(raw: bytes | str, source: str, what: str = "YAML file") -> YamlDoc:
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise SchemaError([Problem(source, None, "", f"{len(raw)} bytes: a {what} is at most {MAX_BYTES} bytes")])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise SchemaError(
                [Problem(source, line, "", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")]
            ) from None
    else:
        text = raw
    text = text.removeprefix("\ufeff")
    try:
        _check_events(text, source)
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise SchemaError([_yaml_problem(exc, source, text)]) from None
    except RecursionError:  # unreachable below MAX_DEPTH; kept so no input can print a traceback
        raise SchemaError([Problem(source, None, "", "nested too deeply")]) from None
    if node is None:
        return YamlDoc(None, source, {})
    _check_expansion(node, source)
    builder = _Builder(source, loader)
    data = builder.build(node, ())
    if builder.problems:
        raise SchemaError(builder.problems)
    return YamlDoc(data, source, builder.lines)


def _yaml_problem(exc: yaml.YAMLError, source: str, text: str = "") -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character (NUL ...) in the text
        line = text.count("\n", 0, exc.position) + 1 if text else None
        return Problem(
            source,
            line,
            "",
            "not valid YAML: character "
            f"#x{exc.character if isinstance(exc.character, int) else ord(exc.character):04x} "
            "is not allowed (control characters such as NUL)",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context and context not in problem else "")
    return Problem(source, mark.line + 1 if mark else None, "", message)


def _check_events(text: str, source: str) -> None:
    """Depth and alias count from the event stream: constant stack use whatever the input."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise SchemaError(
                    [Problem(source, event.start_mark.line + 1, "", f"nested more than {MAX_DEPTH} levels deep")]
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise SchemaError(
                    [Problem(source, event.start_mark.line + 1, "", f"more than {MAX_ALIASES} aliases (*name)")]
                )


def _check_expansion(root, source: str) -> None:
    """Count the values the node graph expands to (shared alias targets counted once per use, memoised)."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise SchemaError(
                [Problem(source, node.start_mark.line + 1, "", "recursive alias (a value contains itself)")]
            )
        visiting.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        visiting.discard(key)
        if total > MAX_NODES:
            raise SchemaError(
                [
                    Problem(
                        source,
                        node.start_mark.line + 1,
                        "",
                        f"expands to more than {MAX_NODES} values (aliases *name re-used too often)",
                    )
                ]
            )
        sizes[key] = total
        return total

    size(root)


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Builder:
    """Plain Python values from the checked node graph, with the line of each value."""

    def __init__(self, source: str, loader: yaml.SafeLoader):
        self.source = source
        self.loader = loader
        self.lines: dict[tuple, int] = {}
        self.problems: list[Problem] = []

    def problem(self, node, path, message):
        self.problems.append(Problem(self.source, node.start_mark.line + 1, field_name(path), message))

    def build(self, node, path: tuple):
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                self.problem(node, path, f"cannot read this value: {getattr(exc, 'problem', exc)}")
                return None
            except (ValueError, OverflowError) as exc:  # e.g. a malformed !!timestamp or !!binary
                self.problem(node, path, f"cannot read this value: {exc}")
                return None
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.problem(node, path, f"tag {node.tag} is not supported here; write a plain list")
                return None
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        if node.tag != _MAP_TAG:
            self.problem(node, path, f"tag {node.tag} is not supported here; write a plain mapping")
            return None
        own = [
            (k, v)
            for k, v in node.value
            if not (isinstance(k, yaml.ScalarNode) and k.tag == "tag:yaml.org,2002:merge")
        ]
        try:
            self.loader.flatten_mapping(node)  # resolves `<<: *base` merge keys into node.value
        except yaml.YAMLError as exc:
            self.problem(node, path, f"not valid YAML: {getattr(exc, 'problem', exc)}")
            return None
        merged = node.value[: len(node.value) - len(own)]
        out: dict = {}
        first_line: dict = {}
        for is_own, pairs in ((False, merged), (True, own)):
            for key_node, value_node in pairs:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problem(key_node, path, "a key must be a plain string, not a list or mapping")
                    continue
                key = self.build(key_node, path + ("<key>",))
                self.lines.pop(path + ("<key>",), None)
                if not isinstance(key, str):
                    self.problem(key_node, path + (str(key),), f'key {key!r} is not a string (quote it: "{key}")')
                    continue
                line = key_node.start_mark.line + 1
                if is_own and key in first_line:
                    self.problem(
                        key_node,
                        path + (key,),
                        f"duplicate key (first at line {first_line[key]}); each key may appear once",
                    )
                    continue
                if is_own:
                    first_line[key] = line
                self.lines[path + (key,)] = line
                out[key] = self.build(value_node, path + (key,))
                self.lines[path + (key,)] = line
        return out
