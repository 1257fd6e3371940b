"""Load time of every data adapter on the shared data, and validator throughput.

    .venv/bin/python benchmarks/data_adapters.py [--repeat 3]

For each adapter: source rows, records, skipped rows, and the best-of-`--repeat` wall time to parse
the whole local copy into typed records (rows/s).  Then `validate_source` on the HH-RLHF rankings
written as JSONL (records/s).  Last line: one JSON object of headline figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from alignbench.data.adapters import ADAPTERS, LoadReport, load_dataset_items
    from alignbench.data.validate import validate_source
    from alignbench.data.writers import write_jsonl

    figures = {}
    total_rows, total_s = 0, 0.0
    print(f"{'adapter':20s} {'rows':>7s} {'records':>8s} {'skipped':>8s} {'best s':>8s} {'rows/s':>9s}")
    for name, adapter in ADAPTERS.items():
        choices = [{"version": v} for v in adapter.versions] if name in ("truthfulqa", "squad") else [{}]
        for choice in choices:
            times = []
            for _ in range(args.repeat):
                report = LoadReport()
                start = time.perf_counter()
                load_dataset_items(name, report=report, **choice)
                times.append(time.perf_counter() - start)
            label = name + (f"[{choice['version']}]" if choice else "")
            best = min(times)
            total_rows, total_s = total_rows + report.rows, total_s + best
            print(
                f"{label:20s} {report.rows:7d} {report.records:8d} {sum(report.skipped.values()):8d} "
                f"{best:8.3f} {report.rows / best:9.0f}"
            )
            figures[f"load_s/{label}"] = round(best, 3)

    rankings = load_dataset_items("hh-rlhf")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_jsonl(Path(tmp) / "hh.jsonl", rankings)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = validate_source(path, "ranking")
            times.append(time.perf_counter() - start)
    assert result.ok, result.problems[:3]
    v_rate = result.n_rows / min(times)
    print(f"\nall adapters: {total_rows} rows in {total_s:.2f} s ({total_rows / total_s:.0f} rows/s)")
    print(f"validate: {result.n_rows} HH-RLHF rankings in {min(times):.3f} s ({v_rate:.0f} records/s)")
    print(
        json.dumps(
            {
                "all_adapters_rows": total_rows,
                "all_adapters_load_s": round(total_s, 2),
                "all_adapters_rows_per_s": round(total_rows / total_s),
                "validate_rankings_per_s": round(v_rate),
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
