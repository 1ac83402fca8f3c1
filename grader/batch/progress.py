"""Progress of a batch on stderr: one live line on a terminal, plain lines in CI logs.

A terminal gets a bar redrawn in place (done / failed / left, ETA); a log (not a TTY) gets one
line per finished submission, because carriage returns turn CI logs into one unreadable line.
The ETA uses the rate of submissions that were really graded in this run, so cache hits at the
start do not make it optimistic.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

_BAR = 24


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """`start(total, cached)`, then `finished(...)` per submission, then `close()`."""

    def __init__(
        self, stream: TextIO | None = None, *, live: bool | None = None, workers: int = 1
    ) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.workers = workers
        self.total = self.done = self.failed = self.cached = 0
        self._t0 = time.monotonic()
        self._last_draw = 0.0

    def start(self, total: int, cached: int) -> None:
        self.total, self.cached, self.done = total, cached, cached
        self._t0 = time.monotonic()
        to_grade = total - cached
        self._line(
            f"{total} submissions: {cached} unchanged since the last run, "
            f"{to_grade} to grade on {self.workers} worker(s)",
            final=True,
        )
        self._draw(force=True)

    def eta(self) -> float | None:
        graded = self.done - self.cached
        left = self.total - self.done
        if left == 0:
            return 0.0
        if graded == 0:
            return None
        return (time.monotonic() - self._t0) / graded * left

    def finished(self, student: str, exercise: str, summary: str, *, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        if not self.live:
            self._line(
                f"[{self.done}/{self.total}] {student} {exercise}: {summary}"
                f"  (ETA {format_eta(self.eta())})",
                final=True,
            )
        self._draw(force=self.done == self.total)

    def note(self, text: str) -> None:
        """A message that must stay visible (a retry, a warning) above the live line."""
        self._line(text, final=True)
        self._draw(force=True)

    def tick(self) -> None:
        """Redraw the ETA while nothing finishes (at most twice a second)."""
        self._draw()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()

    def status_line(self) -> str:
        left = self.total - self.done
        filled = int(_BAR * self.done / self.total) if self.total else _BAR
        bar = "█" * filled + "░" * (_BAR - filled)
        return (
            f"grading ▕{bar}▏ {self.done}/{self.total} done · {self.failed} failed · "
            f"{left} left · ETA {format_eta(self.eta())}"
        )

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.5:
            return
        self._last_draw = now
        self.stream.write("\r\x1b[2K" + self.status_line())
        self.stream.flush()

    def _line(self, text: str, *, final: bool) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()
