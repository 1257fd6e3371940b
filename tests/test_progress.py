"""Progress in logs: with stderr not a terminal, long loops print one line (done/total, rate, ETA) at least
every interval, driven here by a fake clock."""

from __future__ import annotations

import io

from alignbench.progress import LogProgress, format_duration, progress_bar


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_lines_every_interval_with_rate_and_eta():
    clock, out = FakeClock(), io.StringIO()
    bar = LogProgress(total=100, desc="winrate sft", unit="gen", interval=30, stream=out, clock=clock, heartbeat=False)
    for _ in range(10):  # 10 items in 20 s: not yet 30 s, no line
        clock.t += 2
        bar.update(1)
    assert out.getvalue() == ""
    clock.t += 10  # 30 s: a line
    bar.update(5)
    line = out.getvalue().strip()
    assert line == "[winrate sft] 15/100 gen (15%) 0.50 gen/s, ETA 2m50s"
    clock.t += 29
    bar.update(1)
    assert out.getvalue().count("\n") == 1  # 29 s later: still one line
    clock.t += 1
    bar.tick()  # the heartbeat's call: 30 s since the last line, though no item finished
    assert out.getvalue().count("\n") == 2 and "[winrate sft] 16/100" in out.getvalue().splitlines()[-1]
    bar.set_postfix(score="0.412")
    clock.t += 4
    bar.close()
    assert out.getvalue().splitlines()[-1] == "[winrate sft] 16/100 gen (16%) 0.25 gen/s, done in 1m04s  score=0.412"


def test_heartbeat_prints_while_a_step_is_stuck():
    import time

    out = io.StringIO()
    bar = LogProgress(total=3, desc="ppo-ptx", unit="step", interval=0.05, stream=out)
    time.sleep(0.3)  # no update at all: the heartbeat thread still prints
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and lines[0].startswith("[ppo-ptx] 0/3 step (0%)") and "elapsed" in lines[0]


def test_not_a_terminal_gives_log_lines_and_disabled_is_silent(monkeypatch):
    out = io.StringIO()  # StringIO.isatty() is False: a log
    bar = progress_bar(total=2, desc="x", stream=out, enabled=None)
    assert isinstance(bar, LogProgress)
    bar.update(2)
    bar.close()
    assert "2/2 it (100%)" in out.getvalue() and "done in" in out.getvalue()
    quiet = io.StringIO()
    with progress_bar(total=2, desc="x", stream=quiet, enabled=False) as bar:
        bar.update(2)
    assert quiet.getvalue() == ""


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv("ALIGNBENCH_PROGRESS_INTERVAL", "5")
    clock, out = FakeClock(), io.StringIO()
    bar = LogProgress(total=None, desc="t", stream=out, clock=clock, heartbeat=False)
    clock.t += 5
    bar.update(3)
    assert out.getvalue().strip() == "[t] 3 it 0.60 it/s, 5s elapsed"
    assert [format_duration(s) for s in (59, 61, 3725)] == ["59s", "1m01s", "1h02m"]


def test_iteration_counts_like_tqdm():
    out = io.StringIO()
    assert list(LogProgress(range(4), desc="i", stream=out, heartbeat=False, interval=0)) == [0, 1, 2, 3]
    assert out.getvalue().splitlines()[-1].startswith("[i] 4/4 it (100%)")


def test_heartbeat_speaks_only_in_silent_stretches():
    from alignbench import progress

    clock, out = FakeClock(), io.StringIO()
    beat = progress.Heartbeat("demo", interval=30, stream=out, clock=clock)
    progress._last_line["t"] = clock.t
    beat.note("stage sft ...")
    clock.t += 29
    beat.tick()
    assert out.getvalue() == ""
    clock.t += 1  # 30 s with no line: the heartbeat says what is going on
    beat.tick()
    assert out.getvalue().strip() == "[demo] working, 30s elapsed (last: stage sft ...)"
    bar = LogProgress(
        total=10, desc="sft", unit="step", interval=30, stream=io.StringIO(), clock=clock, heartbeat=False
    )
    clock.t += 30
    bar.update(1)  # a loop printed: the heartbeat stays quiet for another interval
    clock.t += 20
    beat.tick()
    assert out.getvalue().count("\n") == 1
    clock.t += 10
    beat.tick()
    assert out.getvalue().count("\n") == 2 and "(last: stage sft ...)" in out.getvalue().splitlines()[-1]


def test_third_party_noise_is_silenced_in_a_fresh_process(tmp_path):
    """A reward model loaded through the CLI's setup prints no load table, no bars, no FutureWarning."""
    import os
    import subprocess
    import sys

    code = (
        "from alignbench.progress import quiet_third_party; quiet_third_party()\n"
        "from alignbench.models import load_model\n"
        "load_model('tiny-random', task='reward')\n"
    )
    env = {**os.environ, "ALIGNBENCH_CACHE": str(tmp_path)}
    env.pop("ALIGNBENCH_DEBUG", None)
    for key in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS"):
        env.pop(key, None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for noise in ("LOAD REPORT", "UNEXPECTED", "Loading weights", "FutureWarning"):
        assert noise not in proc.stderr, proc.stderr
