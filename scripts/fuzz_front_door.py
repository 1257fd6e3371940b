"""Fuzz campaign over alignbench's front door: malformed suites, gates, recipes, CLI overrides and data files
of every record kind and format, each run through the real CLI in-process (`alignbench.cli.main`).

    python scripts/fuzz_front_door.py [--n 1000] [--seed 0]      # last line: one JSON object of counts

Each case is known-invalid ("reject": exit 2 is the only right answer) or a random mutation of a valid file
("any": 0 or 2 are both fine, a traceback is not).  Counted per case: tracebacks (an exception escaped main or
"Traceback" was printed), wrong accepts (exit 0 on a known-invalid input), messages that do not name the file,
known-invalid messages without a line number (where the input has lines), and runs that wrote to the store.
tests/test_front_door_fuzz.py drives the same generators under hypothesis with a small example budget.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# -- the valid files every case starts from --------------------------------------------------------------
PROMPTS = [{"id": "p1", "prompt": "Write a poem"}, {"id": "p2", "prompt": "Say hi"}, {"id": 3, "prompt": "Count"}]


def valid_suite(data_file: str) -> dict:
    return {
        "name": "fuzz",
        "seed": 0,
        "defaults": {"decoding": {"max_new_tokens": 4, "temperature": 0.0}},
        "evals": [
            {
                "name": "winrate",
                "dataset": data_file,
                "limit": 2,
                "batch_size": 2,
                "n_resamples": 100,
                "decoding": {"max_new_tokens": 8, "top_p": 0.9, "stop": ["\n"], "chat": False, "seed": 1},
                "judge": {"type": "rubric", "rules": {"max_words": 5}},
            },
            {"name": "toxicity", "k": 2, "conditions": ["none"], "limit": 2},
        ],
    }


def valid_gates() -> dict:
    return {
        "gates": [
            {"metric": "winrate.win_rate", "min": 0.5, "use": "ci_low"},
            {"metric": "toxicity/none.emt", "max_increase": 0.01, "required": False},
            {"metric": "truthfulqa*.*", "no_regression": True, "name": "truthful"},
        ]
    }


def valid_recipe(stage: str, out: str) -> dict:
    base = {
        "model": "tiny-random",
        "train_data": "data.jsonl",
        "output_dir": out,
        "learning_rate": 1e-4,
        "eval_fraction": 0.1,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "seed": 0,
    }
    if stage != "ppo":
        base["per_device_train_batch_size"] = 2
    else:
        base.update(
            reward_model="rm",
            pretrain_data="pre.jsonl",
            mini_batch_size=2,
            rollout_batch_size=4,
            ptx_coef=0.5,
            kl_coef=0.02,
        )
    return base


RECORDS = {
    "prompt": {"id": "a1", "prompt": "Write a poem", "meta": {"src": "x"}},
    "demonstration": {"id": "d1", "prompt": "2+2?", "response": "4", "meta": {}},
    "ranking": {"id": "r1", "prompt": "p", "responses": ["a", "b", "c"], "ranks": [1, 2, 3]},
    "pretrain": {"id": "t1", "text": "Once upon a time."},
    "eval": {"id": "e1", "inputs": {"question": "Q?"}, "references": {"answer": "A"}},
}

# -- known-invalid values, per field -------------------------------------------------------------------------
BAD_INT_POS = ["four", 1.5, 0, -5, True, [1], {"a": 1}, float("nan"), 10**30]
BAD_FLOAT_NONNEG = ["hot", -0.5, float("nan"), float("inf"), True, [0.1], {"t": 1}]
BAD_SEED = [-1, 99999999999999999999999, "zero", 1.5, True]
BAD_BOOL = ["yes please", 1, 0.0, [True], {"b": 1}]
BAD_STR = [5, 1.5, True, [1], {"a": 1}, ""]
BAD_IDS = [[1], {"a": 1}, True, False, 1.5, float("inf"), "", "   "]
BAD_META = [5, "x", [1], True, 1.5]

SUITE_FIELDS = [  # (path, bad values)
    (("seed",), BAD_SEED),
    (("name",), [5, [1], {"a": 1}, ""]),
    (("evals",), [[], "winrate", 5, {"a": 1}]),
    (("defaults",), [5, "x", [1]]),
    (("defaults", "decodin"), [{"max_new_tokens": 4}]),
    (("defaults", "decoding", "max_new_tokens"), BAD_INT_POS),
    (("evals", 0, "decoding", "max_new_tokens"), BAD_INT_POS),
    (("evals", 0, "decoding", "temperature"), BAD_FLOAT_NONNEG),
    (("evals", 0, "decoding", "top_p"), [0, 1.5, -1, "hot", float("nan")]),
    (("evals", 0, "decoding", "top_k"), [-1, 1.5, "x"]),
    (("evals", 0, "decoding", "stop"), [5, [5], [""], "", {"a": 1}]),
    (("evals", 0, "decoding", "chat"), BAD_BOOL),
    (("evals", 0, "decoding", "seed"), BAD_SEED),
    (("evals", 0, "decoding", "max_tokens"), [4]),
    (("evals", 0, "batch_size"), BAD_INT_POS),
    (("evals", 0, "n_resamples"), BAD_INT_POS),
    (("evals", 0, "limit"), BAD_INT_POS),
    (("evals", 0, "dataset"), BAD_STR),
    (
        ("evals", 0, "judge"),
        [
            5,
            "rubric",
            [1],
            {"type": "rubrik"},
            {"type": "rubric"},
            {"type": "rubric", "function": "foo/bar:baz"},
            {"type": "rubric", "function": "nope.py:score"},
            {"type": "human", "labels": "/nonexistent/labels.jsonl"},
            {"type": "reward_model"},
            {"type": "reward_model", "model": "m", "tolerance": -1},
            {"type": "llm", "model": "m", "concurrency": 0},
        ],
    ),
    (("evals", 0, "judges"), [[], [{"type": "rubric", "rules": {"max_words": 3}}]]),  # judge + judges together
    (("evals", 0, "datasett"), ["x"]),
    (("evals", 0, "type"), ["winrat", 5]),
    (("evals", 1, "k"), BAD_INT_POS),
    (("evals", 1, "conditions"), ["none", [5], 5]),
    (("evals", 1, "name"), ["winrate", 5, ""]),
]
GATES_FIELDS = [
    (("gates",), [[], 5, "x", {"a": 1}]),
    (("gates", 0), [5, "min", [1]]),
    (("gates", 0, "min"), ["half", True, float("nan"), [1]]),
    (("gates", 0, "use"), ["ci", 5, "median"]),
    (("gates", 0, "metric"), [5, "nodot", None]),
    (("gates", 1, "max_increase"), [-0.1, "x", float("inf")]),
    (("gates", 1, "required"), ["no way", 1]),
    (("gates", 2, "no_regression"), [False, "yes", 1]),
    (("gates", 2, "name"), [5, [1]]),
    (("gates", 0, "max"), [0.9]),  # two rules
    (("gates", 0, "mni"), [0.5]),
    (("extra",), [1]),
]
RECIPE_FIELDS = [
    (("learning_rate",), ["fast", -1e-4, 0, float("nan"), True, [1]]),
    (("eval_fraction",), [2.0, -0.1, 1.0, "half", True]),
    (("lora",), [5, "yes", [1], {"r": 0}, {"rank": 4}]),
    (("per_device_train_batch_size",), [0, -1, "big", 1.5]),
    (("seed",), BAD_SEED),
    (("limit",), [0, -3, "all", 1.5]),
    (("model",), [5, "", [1]]),
    (("train_data",), [5, "", {"a": 1}]),
    (("resume",), ["/nonexistent/ckpt", 5]),
    (("learnin_rate",), [1e-4]),
    (("merge_lora",), BAD_BOOL),
    (("freeze_layers",), [-1, "two", 1.5]),
]
PPO_FIELDS = [
    (("mini_batch_size",), [0, -2, "x"]),
    (("ptx_coef",), [float("nan"), -1.0, "lots"]),
    (("kl_coef",), [-0.1, float("inf")]),
    (("rollout_batch_size",), [0, 1.5]),
]
RECORD_FIELDS = {
    "prompt": [("id", BAD_IDS), ("meta", BAD_META), ("prompt", [5, "", "  ", [1], {"a": 1}, None])],
    "demonstration": [
        ("id", BAD_IDS),
        ("meta", BAD_META),
        ("response", [5, "", None, [1]]),
        ("messages", [5, [], [{"role": "robot", "content": "x"}], [{"role": "user"}]]),
    ],
    "ranking": [
        ("id", BAD_IDS),
        ("responses", [["a"], "ab", [1, 2], ["a", ""]] + [["x"] * 10]),
        ("ranks", [[1, 1, 1], [1, 2], [0, 1, 2], "123", [1.5, 2, 3], [1, 3, 3]]),
    ],
    "pretrain": [("id", BAD_IDS), ("text", [5, "", [1], None])],
    "eval": [
        ("id", BAD_IDS + [None]),
        ("meta", BAD_META),
        ("inputs", [5, {}, "q", [1]]),
        ("references", [5, [1], "x"]),
    ],
}


BOMBS = True  # --no-bombs: for measuring an old build, where one 8-level alias bomb takes ~10 minutes


@dataclass
class Case:
    format: str  # suite | gates | recipe-STAGE | override | data-KIND.SUFFIX
    name: str
    files: dict  # relative name -> bytes
    argv: list  # CLI arguments; "{dir}" is replaced by the case's folder
    expect: str = "reject"  # reject | any
    subject: str = ""  # the file the message must name (relative)
    needs_line: bool = True  # a known-invalid message must carry a line number
    store: list = field(default_factory=list)  # paths (relative) that must not exist afterwards


def _set(data, path, value):
    data = json.loads(json.dumps(data))  # deep copy
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def _yaml(data) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def _prompts_jsonl() -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in PROMPTS)


def _dump_records(records: list, suffix: str) -> bytes:
    if suffix == "jsonl":
        return b"".join(json.dumps(r).encode() + b"\n" for r in records)
    if suffix == "json":
        return ("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n").encode()
    buf = io.StringIO()
    cols = list(dict.fromkeys(k for r in records for k in r))
    writer = csv.writer(buf)
    writer.writerow(cols)
    for r in records:
        writer.writerow(
            [
                ""
                if r.get(c) is None
                else json.dumps(r[c])
                if isinstance(r.get(c), (list, dict, bool, float)) or (c == "id" and not isinstance(r.get(c), str))
                else str(r[c])
                for c in cols
            ]
        )
    return buf.getvalue().encode()


# -- case generators -------------------------------------------------------------------------------------------
def suite_case(rng: random.Random) -> Case:
    path, bad = rng.choice(SUITE_FIELDS)
    value = rng.choice(bad)
    data = _set(valid_suite("{dir}/prompts.jsonl"), path, value)
    name = f"suite {'.'.join(map(str, path))}={value!r}"[:120]
    return Case(
        "suite",
        name,
        {"suite.yaml": _yaml(data), "prompts.jsonl": _prompts_jsonl()},
        ["eval", "-m", "tiny-random", "-b", "tiny-random:1", "-s", "{dir}/suite.yaml", "-o", "{dir}/run", "--dry-run"],
        subject="suite.yaml",
        store=["run"],
    )


def gates_case(rng: random.Random) -> Case:
    path, bad = rng.choice(GATES_FIELDS)
    value = rng.choice(bad)
    data = _set(valid_gates(), path, value)
    return Case(
        "gates",
        f"gates {'.'.join(map(str, path))}={value!r}"[:120],
        {"gates.yaml": _yaml(data)},
        ["compare", "{dir}/base", "{dir}/cand", "--gates", "{dir}/gates.yaml"],
        subject="gates.yaml",
        needs_line=len(path) > 1,
    )


def recipe_case(rng: random.Random) -> Case:
    stage = rng.choice(["sft", "rm", "ppo"])
    fields = [f for f in RECIPE_FIELDS if stage != "ppo" or f[0][0] != "per_device_train_batch_size"]
    fields += PPO_FIELDS if stage == "ppo" else []
    path, bad = rng.choice(fields)
    value = rng.choice(bad)
    data = _set(valid_recipe(stage, "{dir}/out"), path, value)
    return Case(
        f"recipe-{stage}",
        f"recipe {stage} {path[0]}={value!r}"[:120],
        {"recipe.yaml": _yaml(data)},
        ["train", stage, "{dir}/recipe.yaml", "--dry-run"],
        subject="recipe.yaml",
        store=["out"],
    )


def override_case(rng: random.Random) -> Case:
    """Invalid values given as --key value on the command line: the message names the recipe and the key."""
    stage = rng.choice(["sft", "ppo"])
    key, raw = rng.choice(
        [
            ("learning_rate", "fast"),
            ("eval_fraction", "2.0"),
            ("lora", "5"),
            ("seed", "-1"),
            ("per_device_train_batch_size", "0"),
            ("resume", "/nonexistent/ckpt"),
            ("ptx_coef", ".nan") if stage == "ppo" else ("limit", "0"),
            ("mini_batch_size", "0") if stage == "ppo" else ("merge_lora", "maybe"),
        ]
    )
    return Case(
        "override",
        f"override {stage} --{key} {raw}",
        {"recipe.yaml": _yaml(valid_recipe(stage, "{dir}/out"))},
        ["train", stage, "{dir}/recipe.yaml", f"--{key}", raw, "--dry-run"],
        subject="recipe.yaml",
        needs_line=False,
        store=["out"],
    )


def cli_case(rng: random.Random) -> Case:
    flag = rng.choice([["--limit", "0"], ["--limit", "-3"], ["--seed", "-1"], ["--seed", str(2**64)]])
    return Case(
        "cli",
        f"eval {' '.join(flag)}",
        {"suite.yaml": _yaml(valid_suite("{dir}/prompts.jsonl")), "prompts.jsonl": _prompts_jsonl()},
        [
            "eval",
            "-m",
            "tiny-random",
            "-b",
            "tiny-random:1",
            "-s",
            "{dir}/suite.yaml",
            "-o",
            "{dir}/run",
            "--dry-run",
            *flag,
        ],
        subject="",
        needs_line=False,
        store=["run"],
    )


def record_case(rng: random.Random) -> Case:
    kind = rng.choice(sorted(RECORDS))
    suffix = rng.choice(["jsonl", "csv", "json"])
    key, bad = rng.choice(RECORD_FIELDS[kind])
    value = rng.choice(bad)
    record = dict(RECORDS[kind])
    if value is None:
        record.pop(key, None)
    else:
        record[key] = value
    structured = key in ("responses", "ranks", "messages", "inputs", "references", "meta")
    if suffix == "csv" and (
        (isinstance(value, str) and not value.strip() and key != "id")
        or value == ""
        or (not structured and not isinstance(value, str) and value is not None)
    ):
        suffix = "jsonl"  # an empty CSV cell means "no value" (valid for optional fields); plain cells are text
    good = dict(RECORDS[kind], id="ok1")
    data = _dump_records([good, record], suffix)
    return Case(
        f"data-{kind}.{suffix}",
        f"{kind}.{suffix} {key}={value!r}"[:120],
        {f"data.{suffix}": data},
        ["data", "validate", "--kind", kind, "{dir}/data." + suffix],
        subject=f"data.{suffix}",
    )


def structural_case(rng: random.Random) -> Case:
    """Malformed bytes every format must refuse: encodings, nesting, aliases, duplicate keys and columns."""
    which = rng.choice(["suite", "gates", "recipe", "jsonl", "csv", "json"])
    trick = rng.choice(
        ["latin1", "deep", "dupkey", "nul"]
        + (["bomb" if BOMBS else "intkey", "intkey", "recursive"] if which in ("suite", "gates", "recipe") else [])
        + (["stray_quote", "dup_column", "deep_cell"] if which == "csv" else [])
    )
    if which in ("suite", "gates", "recipe"):
        base = {
            "suite": valid_suite("{dir}/prompts.jsonl"),
            "gates": valid_gates(),
            "recipe": valid_recipe("sft", "{dir}/out"),
        }[which]
        text = _yaml(base)
        if trick == "latin1":
            text = text.replace(b"\n", "\n# caf\xe9\n".encode("latin-1"), 1)
        elif trick == "deep":
            depth = rng.choice([100, 1000, 5000])
            text += b"deep: " + b"[" * depth + b"]" * depth + b"\n"
        elif trick == "dupkey":
            first = text.split(b"\n", 1)[0]
            text = text + first + b"\n"
        elif trick == "nul":
            text = text.replace(b"\n", b"\x00\n", 1)
        elif trick == "bomb":
            levels = rng.choice([7, 8, 9])
            lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
            lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
            text = ("\n".join(lines) + "\n").encode() + text
        elif trick == "intkey":
            text = b"1: 2\n" + text
        elif trick == "recursive":
            text = b"loop: &l [*l]\n" + text
        name = {"suite": "suite.yaml", "gates": "gates.yaml", "recipe": "recipe.yaml"}[which]
        argv = {
            "suite": [
                "eval",
                "-m",
                "tiny-random",
                "-b",
                "tiny-random:1",
                "-s",
                "{dir}/suite.yaml",
                "-o",
                "{dir}/run",
                "--dry-run",
            ],
            "gates": ["compare", "{dir}/base", "{dir}/cand", "--gates", "{dir}/gates.yaml"],
            "recipe": ["train", "sft", "{dir}/recipe.yaml", "--dry-run"],
        }[which]
        files = {name: text, "prompts.jsonl": _prompts_jsonl()}
        return Case(
            which,
            f"{which} {trick}",
            files,
            argv,
            subject=name,
            needs_line=trick != "bomb" or True,
            store=["run", "out"],
        )
    rows = [dict(r) for r in PROMPTS]
    if which == "csv":
        if trick == "stray_quote":
            text = b'prompt,id\n"Write a poem,p1\nSay hi,p2\nCount,p3\n'
        elif trick == "dup_column":
            text = b"prompt,id,prompt\nWrite a poem,p1,other\n"
        elif trick == "deep_cell":
            depth = rng.choice([2000, 20000])
            text = b'prompt,id,meta\nok,p1,{}\nx,p2,"' + b"[" * depth + b"]" * depth + b'"\n'
        elif trick == "latin1":
            text = "prompt,id\ncaf\xe9,p1\n".encode("latin-1")
        elif trick == "nul":
            text = b"prompt,id\nab\x00c,p1\n"
        elif trick == "deep":
            text = b'prompt,id,meta\nx,p1,"' + b'{""a"":' * 3000 + b"1" + b"}" * 3000 + b'"\n'
        else:  # dupkey: the same column twice via a JSON meta cell
            text = b'prompt,id,meta\nx,p1,"{""a"": 1, ""a"": 2}"\n'
        return Case(
            "data-prompt.csv",
            f"csv {trick}",
            {"data.csv": text},
            ["data", "validate", "--kind", "prompt", "{dir}/data.csv"],
            subject="data.csv",
        )
    body = [json.dumps(r) for r in rows]
    if trick == "latin1":
        body[1] = '{"id": "p2", "prompt": "caf\xe9"}'
        enc = "latin-1"
    else:
        enc = "utf-8"
        if trick == "deep":
            body[1] = '{"id": "p2", "prompt": "x", "meta": ' + "[" * 100000 + "]" * 100000 + "}"
        elif trick == "dupkey":
            body[1] = '{"id": "p2", "prompt": "x", "prompt": "y"}'
        elif trick == "nul":
            body[1] = '{"id": "p2", "prompt": "a\x00b"}'
    if which == "jsonl":
        text = ("\n".join(body) + "\n").encode(enc, "surrogateescape")
    else:
        text = ("[\n" + ",\n".join(body) + "\n]\n").encode(enc, "surrogateescape")
    return Case(
        f"data-prompt.{which}",
        f"{which} {trick}",
        {f"data.{which}": text},
        ["data", "validate", "--kind", "prompt", f"{{dir}}/data.{which}"],
        subject=f"data.{which}",
    )


def mutation_case(rng: random.Random) -> Case:
    """A valid file with random bytes flipped, inserted or cut: either answer is fine, a traceback is not."""
    base = rng.choice([structural_case, suite_case, gates_case, recipe_case, record_case])(rng)
    name, text = next((k, v) for k, v in base.files.items() if k != "prompts.jsonl")
    data = bytearray(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["flip", "insert", "cut", "dup"])
        i = rng.randrange(max(1, len(data)))
        if op == "flip" and data:
            data[i] = rng.randrange(256)
        elif op == "insert":
            data[i:i] = bytes(
                rng.choice(
                    [
                        b'"',
                        b"'",
                        b"[",
                        b"{",
                        b":",
                        b"&a ",
                        b"*a",
                        b"\n  ",
                        b"- ",
                        b",",
                        b"\xff",
                        b"!!python/object ",
                        b"%",
                        b"\t",
                        b"\\",
                        b"}",
                        b"]",
                    ]
                )
            )
        elif op == "cut":
            del data[i:]
        elif op == "dup":
            data[i:i] = data[max(0, i - 20) : i]
    files = dict(base.files)
    files[name] = bytes(data)
    return Case(
        base.format, "mutated " + base.name, files, base.argv, expect="any", subject=base.subject, store=base.store
    )


GENERATORS = [
    (suite_case, 5),
    (gates_case, 2),
    (recipe_case, 3),
    (override_case, 1),
    (cli_case, 1),
    (record_case, 5),
    (structural_case, 4),
    (mutation_case, 4),
]


def make_case(rng: random.Random) -> Case:
    gens, weights = zip(*GENERATORS)
    return rng.choices(gens, weights=weights)[0](rng)


# -- running a case ----------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    code: int | None
    err: str
    traceback: bool
    wrong_accept: bool
    no_file: bool
    no_line: bool
    wrote_store: bool


def run_case(case: Case, folder: Path) -> Outcome:
    from alignbench.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in case.files.items():
        (folder / rel).write_bytes(data.replace(b"{dir}", str(folder).encode()))
    argv = [a.replace("{dir}", str(folder)) for a in case.argv]
    out, err = io.StringIO(), io.StringIO()
    traceback = False
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: exit 2 with its own usage message
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001 -- counting escapes is the point
            traceback = True
            err.write(f"{type(exc).__name__}: {exc}")
    text = err.getvalue() + out.getvalue()  # `data validate` lists its problems on stdout
    traceback = traceback or "Traceback (most recent call last)" in text or code not in (0, 1, 2)
    subject = str(folder / case.subject) if case.subject else ""
    # `data validate` exits 1 when it found problems (its documented contract: 0 valid, 1 problems, 2 unreadable)
    refused = (2, 1) if case.format.startswith("data-") else (2,)
    rejected = code in refused and (not subject or subject in text)
    wrong_accept = case.expect == "reject" and not traceback and not rejected
    no_file = code in refused and bool(subject) and subject not in text and case.format != "gates"
    if case.format == "gates" and code == 2 and subject not in text:
        wrong_accept = case.expect == "reject"  # the gates passed and compare failed on the (absent) runs
    no_line = (
        case.expect == "reject"
        and rejected
        and case.needs_line
        and subject != ""
        and f"{subject}:" not in text.replace(f"{subject}: ", "")
    )
    wrote = any((folder / p).exists() for p in case.store)
    return Outcome(code, text, traceback, wrong_accept, no_file, no_line, wrote)


def campaign(n: int, seed: int, verbose: bool = False) -> dict:
    rng = random.Random(seed)
    counts = {
        "inputs": 0,
        "known_invalid": 0,
        "mutations": 0,
        "tracebacks": 0,
        "wrong_accepts": 0,
        "messages_without_file": 0,
        "known_invalid_without_line": 0,
        "wrote_store": 0,
        "by_format": {},
    }
    examples: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            case = make_case(rng)
            outcome = run_case(case, Path(tmp) / f"c{i}")
            counts["inputs"] += 1
            counts["known_invalid" if case.expect == "reject" else "mutations"] += 1
            counts["by_format"][case.format] = counts["by_format"].get(case.format, 0) + 1
            for key, bad in (
                ("tracebacks", outcome.traceback),
                ("wrong_accepts", outcome.wrong_accept),
                ("messages_without_file", outcome.no_file),
                ("known_invalid_without_line", outcome.no_line),
                ("wrote_store", outcome.wrote_store),
            ):
                if bad:
                    counts[key] += 1
                    examples.setdefault(key, []).append(f"{case.name}: {outcome.err.strip()[:300]}")
    if verbose:
        for key, items in examples.items():
            print(f"== {key} ({len(items)})", file=sys.stderr)
            for item in items[:15]:
                print("  " + item.replace("\n", " | "), file=sys.stderr)
    counts["examples"] = {k: v[:3] for k, v in examples.items()}
    return counts


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import time

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of inputs (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="print failing examples to stderr")
    parser.add_argument("--no-bombs", action="store_true", help="leave out YAML alias bombs (for old builds)")
    args = parser.parse_args(argv)
    global BOMBS
    BOMBS = not args.no_bombs
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    counts = campaign(args.n, args.seed, verbose=args.verbose)
    counts["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(counts))
    return 0 if not (counts["tracebacks"] or counts["wrong_accepts"] or counts["messages_without_file"]) else 1


if __name__ == "__main__":
    sys.exit(main())
