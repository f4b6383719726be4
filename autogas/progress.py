"""Progress of long loops: a tqdm bar on a terminal, a short line every few percent elsewhere.

Off a terminal (a log file, a batch job) tqdm with ``disable=None`` prints nothing at all, so a
long ``rank`` or ``search`` looked hung. :func:`progress_bar` keeps tqdm on a terminal and
otherwise prints ``<desc>: <done>/<total> <unit> (<pct>%), <elapsed> s`` to stderr each time
another :data:`STEP_PERCENT` percent is done (and once at the end); with no known total, a line
every :data:`EVERY_SECONDS` seconds.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Iterable, Iterator, TextIO

STEP_PERCENT = 5
EVERY_SECONDS = 30.0


class LineProgress:
    """The off-terminal progress of the module doc, with the part of tqdm's API autogas uses
    (iteration, ``update``, ``set_postfix``, ``close``, context manager)."""

    def __init__(self, iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
                 unit: str = "it", file: TextIO | None = None, step_percent: float = STEP_PERCENT,
                 every_seconds: float = EVERY_SECONDS) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.file = file if file is not None else sys.stderr
        self.step, self.every = step_percent, every_seconds
        self.n, self.postfix, self.closed = 0, "", False
        self.start = self.last_time = time.monotonic()
        self.next_percent = step_percent

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.total:
            percent = 100.0 * self.n / self.total
            if percent >= self.next_percent and self.n < self.total:
                while self.next_percent <= percent:
                    self.next_percent += self.step
                self._line(now)
        elif now - self.last_time >= self.every:
            self._line(now)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.n:
                self._line(time.monotonic())

    def _line(self, now: float) -> None:
        self.last_time = now
        done = (f"{self.n}/{self.total} {self.unit} ({100.0 * self.n / self.total:.0f}%)"
                if self.total else f"{self.n} {self.unit}")
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {done}, {now - self.start:.0f} s{extra}", file=self.file, flush=True)


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
                 unit: str = "it", enabled: bool = True, leave: bool = True):
    """tqdm on a terminal (stderr), :class:`LineProgress` elsewhere, a silent tqdm if not ``enabled``."""
    from tqdm import tqdm

    if not enabled or sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled, leave=leave)
    return LineProgress(iterable, total=total, desc=desc, unit=unit)
