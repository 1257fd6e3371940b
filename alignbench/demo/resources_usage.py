"""Wall time, CPU time (the work, whatever the load) and peak resident memory of each stage of the demo.

Peak RSS per stage: Linux lets a process reset its own high-water mark (`echo 5 > /proc/self/clear_refs`,
Linux >= 4.0) and read it back as `VmHWM` in /proc/self/status, so each stage's peak is measured in one
process without running stages in subprocesses.  Elsewhere we fall back to getrusage's lifetime peak
(then a stage's figure is the peak so far, which the report says).  No library exposes a resettable
peak, hence this small hand-written helper.
"""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


def _read_status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset the process's peak RSS; False where the OS does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    kb = _read_status_kb("VmHWM")
    if kb is None:
        ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kb = ru / 1024 if sys.platform == "darwin" else ru  # macOS reports bytes
    return kb / 1024


@dataclass
class StageTimer:
    """Collects {stage: {wall_s, peak_rss_mb, peak_is_per_stage}} as stages run."""

    stages: dict = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        per_stage = reset_peak()
        start, cpu_start = time.perf_counter(), cpu_seconds()
        record = {
            "wall_s": None,
            "peak_rss_mb": None,
            "peak_is_per_stage": per_stage,
            "cpu_s": None,
            "load_avg_start": load_average(),
        }
        self.stages[name] = record
        try:
            yield record
        finally:
            record["wall_s"] = round(time.perf_counter() - start, 2)
            record["peak_rss_mb"] = round(peak_rss_mb(), 1)
            # CPU seconds (user + system, all threads) measure the stage's WORK: unlike wall time they barely
            # change when other processes share the cores, so stage costs compare across machine loads
            record["cpu_s"] = round(cpu_seconds() - cpu_start, 2)
            record["load_avg_end"] = load_average()


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def load_average() -> float | None:
    """The 1-minute load average (how busy the machine was), where the OS has one."""
    try:
        import os

        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None
