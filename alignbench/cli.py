"""The `alignbench` command line.  Each command group lives in alignbench/commands/<name>.py and
exposes `register(subparsers)`; handlers return an exit code.  User errors (AlignbenchError)
print one line and exit 2; nothing is printed as a traceback unless ALIGNBENCH_DEBUG=1."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import signal
import sys

from alignbench.errors import AlignbenchError
from alignbench.version import __version__

# Order = order in `alignbench --help`: the paper's steps, then tools around them.  A module listed
# here that does not exist yet is left out; one that exists but fails to import is an error.
COMMAND_MODULES = [
    "list",
    "models",
    "data",
    "train",
    "eval",
    "judges",
    "toxicity",
    "import_samples",
    "report",
    "compare",
    "label",
    "demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alignbench",
        description="The InstructGPT recipe end to end: SFT -> reward model -> PPO-ptx -> evals -> reports.",
    )
    parser.add_argument("--version", action="version", version=f"alignbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(f"alignbench.commands.{name}") is None:
            continue
        # lazy by name: each command imports its heavy modules (torch, TRL) in its handler, so --help stays fast
        importlib.import_module(f"alignbench.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from alignbench.progress import quiet_third_party

    quiet_third_party()  # no "Loading weights" bars or past_key_values FutureWarnings on every load
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    previous = _sigterm_as_interrupt()
    try:
        return int(args.handler(args) or 0)
    except AlignbenchError as exc:
        if os.environ.get("ALIGNBENCH_DEBUG"):
            raise
        print(f"alignbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alignbench: interrupted; finished work is in the store and resumes on rerun", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _sigterm_as_interrupt():
    """SIGTERM (kill, a CI timeout, `timeout`) raises KeyboardInterrupt like Ctrl-C, so a run is marked
    `interrupted` in its store instead of staying `running`.  Returns the previous handler (None when we
    are not in the main thread and cannot set one)."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


if __name__ == "__main__":
    sys.exit(main())
