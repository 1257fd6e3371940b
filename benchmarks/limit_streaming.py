"""`--limit` streams (issue #13): reading 2 prompt records from a large JSONL file whose last line is broken,
the way `eval --limit 2` reads (iter_records), side by side with reading the whole file (read_records, what
eval did before).  Peak memory by tracemalloc (which also slows both sides alike).

    python benchmarks/limit_streaming.py [--rows 50000]        # last line: one JSON object
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

from alignbench.data.sources import iter_records, read_records
from alignbench.errors import DataError


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prompts.jsonl"
        with open(path, "w") as fh:
            fh.writelines(
                json.dumps({"id": f"p{i}", "prompt": "Write a poem about " + "x" * 200}) + "\n"
                for i in range(args.rows)
            )
            fh.write('{"id": "bad", "prompt": \n')  # a broken last line
        out: dict = {"rows": args.rows + 1, "file_mb": round(os.path.getsize(path) / 2**20, 1)}
        for name, read in (
            ("limit_2_streamed", lambda: list(itertools.islice(iter_records(path, "prompt"), 2))),
            ("whole_file", lambda: read_records(path, "prompt")),
        ):
            tracemalloc.start()
            start = time.perf_counter()
            try:
                records, error = len(read()), None
            except DataError as exc:
                records, error = 0, str(exc).splitlines()[-1][-80:]
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out[name] = {
                "seconds": round(seconds, 4),
                "peak_mb": round(peak / 2**20, 2),
                "records": records,
                "error": error,
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
