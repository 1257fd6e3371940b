"""Progress that also works in logs.

On a terminal, `progress_bar()` is a tqdm bar.  When stderr is not a terminal (`make demo > log`,
CI, nohup, `| cat`) tqdm's bar turns off or smears into one long line, and a 20-minute stage would print
nothing; there `progress_bar()` is a `LogProgress` with the same API (update, set_postfix, close, with,
iteration) that prints one plain line at most every `interval` seconds and at the end:

    [winrate sft] 24/64 gen (38%) 1.9 gen/s, ETA 21s  score=0.41

The interval is `$ALIGNBENCH_PROGRESS_INTERVAL` seconds (default 30; 0 = every update).  A heartbeat
thread prints the line even while one slow step (a long generation batch, a PPO rollout) is running,
so a log never goes silent for longer than the interval.  tqdm has no such mode (its `mininterval` only
acts on updates, and its non-terminal output is \\r-separated), hence this small class.

    with progress_bar(total=len(items), desc="truthfulqa_mc", unit="q") as bar:
        for item in items:
            ...
            bar.update(1)
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable, Iterable, TextIO

DEFAULT_INTERVAL = 30.0
# When this process last printed a progress line (any LogProgress, or a Heartbeat): a Heartbeat stays quiet
# while loops report on their own, and speaks up in the silent stretches between them (model loads, saves).
_last_line = {"t": time.monotonic(), "text": ""}


def log_interval() -> float:
    """Seconds between progress lines in logs: $ALIGNBENCH_PROGRESS_INTERVAL, default 30."""
    try:
        return max(0.0, float(os.environ.get("ALIGNBENCH_PROGRESS_INTERVAL", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class LogProgress:
    """A tqdm look-alike for logs: one line per `interval` seconds (and one at the end)."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        total: int | None = None,
        desc: str | None = None,
        unit: str = "it",
        initial: int = 0,
        interval: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
        disable: bool = False,
    ):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.desc, self.unit = total, desc or "", unit
        self.n = self.initial = initial
        self.interval = log_interval() if interval is None else interval
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.disable = disable
        self.postfix = ""
        self.start = self.last = clock()
        self.closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        if heartbeat and not disable and self.interval > 0:
            self._thread = threading.Thread(target=self._beat, name="alignbench-progress", daemon=True)
            self._thread.start()

    # -- tqdm's API ----------------------------------------------------------------------------------
    def update(self, n: int = 1) -> None:
        self.n += n
        self.tick()

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = " ".join(f"{k}={v}" for k, v in items.items())

    @property
    def format_dict(self) -> dict:
        """The part of tqdm's format_dict callers read (elapsed seconds, n, total)."""
        return {"elapsed": self.clock() - self.start, "n": self.n, "total": self.total}

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        if not self.disable and (self.n > self.initial or self.total == 0):
            self._emit(done=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __iter__(self):
        try:
            for obj in self.iterable:
                yield obj
                self.update(1)
        finally:
            self.close()

    # -- the line --------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Print the line when `interval` seconds have passed since the last one."""
        if self.disable or self.closed:
            return
        if self.clock() - self.last >= self.interval:
            self._emit()

    def line(self, done: bool = False) -> str:
        elapsed = max(self.clock() - self.start, 1e-9)
        done_here = self.n - self.initial
        rate = done_here / elapsed
        head = f"[{self.desc}] " if self.desc else ""
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        rate_text = f"{rate:.2f} {self.unit}/s" if rate < 10 else f"{rate:.0f} {self.unit}/s"
        if done:
            tail = f"done in {format_duration(elapsed)}"
        elif self.total and rate > 0:
            tail = f"ETA {format_duration((self.total - self.n) / rate)}"
        else:
            tail = f"{format_duration(elapsed)} elapsed"
        post = f"  {self.postfix}" if self.postfix else ""
        return f"{head}{count} {self.unit}{pct} {rate_text}, {tail}{post}"

    def _emit(self, done: bool = False) -> None:
        with self._lock:
            self.last = self.clock()
            text = self.line(done=done)
            _last_line.update(t=self.last, text=text)
            try:
                print(text, file=self.stream, flush=True)
            except ValueError:  # the stream was closed under us (interpreter shutdown)
                pass

    def _beat(self) -> None:
        step = min(1.0, self.interval)
        while not self._stop.wait(step):
            self.tick()


class Heartbeat:
    """`with Heartbeat("demo"):` around a long command: when stderr is not a terminal and no progress line
    was printed for `interval` seconds (a model load, a checkpoint save, a stage without a loop), print
    `[demo] working, 4m30s elapsed (last: ...)`.  `note(text)` records what is going on (a stage name)."""

    def __init__(
        self,
        desc: str,
        interval: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.desc, self.clock = desc, clock
        self.interval = log_interval() if interval is None else interval
        self.stream = stream if stream is not None else sys.stderr
        self.start = clock()
        self.doing = ""
        self._stop = threading.Event()
        self._thread = None

    def note(self, text: str) -> None:
        self.doing = text
        _last_line.update(text=text)

    def tick(self) -> None:
        """Print the line when nothing was printed for `interval` seconds."""
        now = self.clock()
        if now - _last_line["t"] >= self.interval:
            what = self.doing or _last_line["text"]
            text = f"[{self.desc}] working, {format_duration(now - self.start)} elapsed" + (
                f" (last: {what})" if what else ""
            )
            _last_line["t"] = now
            try:
                print(text, file=self.stream, flush=True)
            except ValueError:
                pass

    def __enter__(self):
        if not _is_tty(self.stream) and self.interval > 0:
            _last_line["t"] = self.clock()
            self._thread = threading.Thread(target=self._beat, name="alignbench-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        return False

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.interval)):
            self.tick()


def progress_bar(
    iterable: Iterable | None = None,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool | None = None,
    initial: int = 0,
    stream: TextIO | None = None,
    **tqdm_kwargs,
):
    """A tqdm bar on a terminal, a LogProgress elsewhere; enabled=False: silent (still counts),
    enabled=None: on (a bar on a terminal, lines in a log)."""
    stream = stream if stream is not None else sys.stderr
    if enabled is False:
        return LogProgress(
            iterable, total=total, desc=desc, unit=unit, initial=initial, stream=stream, heartbeat=False, disable=True
        )
    if _is_tty(stream):
        from tqdm.auto import tqdm

        return tqdm(
            iterable,
            total=total,
            desc=desc,
            unit=unit,
            initial=initial,
            file=stream,
            dynamic_ncols=True,
            **tqdm_kwargs,
        )
    return LogProgress(iterable, total=total, desc=desc, unit=unit, initial=initial, stream=stream)


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def trainer_callback(desc: str = "train"):
    """A transformers TrainerCallback that prints LogProgress lines (step/max_steps, rate, ETA, the latest
    loss) when stderr is not a terminal; None on a terminal (the Trainer's own bar is fine there).  For the
    TRL trainers (SFT, reward model)."""
    if _is_tty(sys.stderr):
        return None
    from transformers import TrainerCallback

    class LogProgressCallback(TrainerCallback):
        def __init__(self):
            self.bar = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = LogProgress(total=state.max_steps, desc=desc, unit="step", initial=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.bar is not None and logs:
                self.bar.set_postfix(
                    **{
                        k: f"{v:.4g}"
                        for k, v in logs.items()
                        if k in ("loss", "accuracy", "eval_loss", "eval_accuracy") and isinstance(v, (int, float))
                    }
                )

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()

    return LogProgressCallback()


def quiet_third_party() -> None:
    """Silence what transformers, datasets and torch print on every load and that tells a user nothing: the
    "Loading weights" bars, the past_key_values FutureWarnings, the state-dict load table (a reward model's
    "score.bias UNEXPECTED ... not ok if you expect identical arch" is harmless: the bias is restored from
    our checkpoint), and in logs datasets' map bars.  Environment variables, set before those libraries are
    imported, so a command that never loads a model pays nothing.  ALIGNBENCH_DEBUG=1 keeps it all."""
    if os.environ.get("ALIGNBENCH_DEBUG"):
        return
    import warnings

    for key, value in (
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),  # transformers' "Loading weights" bar follows it
        ("TRANSFORMERS_VERBOSITY", "error"),
    ):  # the load table is a logger.warning
        os.environ.setdefault(key, value)
    if not _is_tty(sys.stderr):  # datasets' map bars ("Tokenizing train dataset") smear into one line in a log
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", message=r".*past_key_values.*", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*past_key_values.*", category=DeprecationWarning)
    # Our recipes' own settings, renamed upstream: nothing a user can act on.
    warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed in v6.*", category=FutureWarning)
    if "transformers" in sys.modules:  # imported already (tests, notebooks): the env came too late
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
