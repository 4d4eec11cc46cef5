"""Progress displays for a batch: a rich bar on a terminal, else one plain line per night.

:func:`lmdetect.batch.run_batch` reports to any object with ``start(total_jobs)``,
``update(outcome, job_done)`` and ``close()`` (:class:`ProgressSink`), from the thread that called
``run_batch``. A job is one night, or one multi-day file with ``split_nights`` (several outcomes,
the last with ``job_done=True``); progress and ETA count jobs, the status counts count nights.
The library itself never picks a display: the command line does, with :func:`make_progress`.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import IO, Protocol

from .worker import NightOutcome

__all__ = ["ProgressSink", "PlainProgress", "RichProgress", "make_progress", "format_hms"]


class ProgressSink(Protocol):
    def start(self, total: int) -> None: ...

    def update(self, outcome: NightOutcome, job_done: bool = True) -> None: ...

    def close(self) -> None: ...


def format_hms(seconds: float | None) -> str:
    """``H:MM:SS``, or ``--:--:--`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "--:--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class _Tally:
    """Counts and an ETA that is not fooled by skipped nights (they take almost no time)."""

    def __init__(self) -> None:
        self.total = 0
        self.finished = 0  # jobs
        self.worked = 0  # jobs with at least one night processed (done or failed), not only skipped
        self.counts = {"done": 0, "skipped": 0, "failed": 0}  # nights
        self._job_worked = False
        self.t0 = time.monotonic()

    def start(self, total: int) -> None:
        self.total = total
        self.t0 = time.monotonic()

    def add(self, outcome: NightOutcome, job_done: bool = True) -> None:
        self.counts[outcome.status] += 1
        self._job_worked |= outcome.status != "skipped"
        if job_done:
            self.finished += 1
            self.worked += self._job_worked
            self._job_worked = False

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def eta(self) -> float | None:
        left = self.total - self.finished
        if left <= 0:
            return 0.0
        n = self.worked or self.finished
        return None if n == 0 else self.elapsed() / n * left


class PlainProgress:
    """One line per night on ``stream``: counter, status, night id, elapsed and ETA."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tally = _Tally()

    def start(self, total: int) -> None:
        self.tally.start(total)
        print(f"batch: {total} job(s)", file=self.stream, flush=True)

    def update(self, outcome: NightOutcome, job_done: bool = True) -> None:
        t = self.tally
        t.add(outcome, job_done)
        width = len(str(t.total))
        line = (
            f"[{t.finished:>{width}}/{t.total}] {outcome.status:<7} {outcome.night_id}"
            f"  elapsed {format_hms(t.elapsed())}  ETA {format_hms(t.eta())}"
        )
        if outcome.status == "failed":
            line += f"  ({outcome.error_type}: {outcome.error.splitlines()[0] if outcome.error else ''})"
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        c = self.tally.counts
        print(
            f"batch: {c['done']} done, {c['skipped']} skipped, {c['failed']} failed "
            f"in {format_hms(self.tally.elapsed())}",
            file=self.stream,
            flush=True,
        )


class RichProgress:
    """A rich progress bar with counts, elapsed time and ETA; failures are printed above it."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.tally = _Tally()
        self.console = Console(file=stream or sys.stderr)
        self._bar = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
            transient=False,
        )
        self._task = self._bar.add_task("batch", total=0, counts="", eta=format_hms(None))

    def _counts(self) -> str:
        c = self.tally.counts
        return f"done {c['done']} · skipped {c['skipped']} · failed {c['failed']}"

    def start(self, total: int) -> None:
        self.tally.start(total)
        self._bar.update(self._task, total=total, counts=self._counts())
        self._bar.start()

    def update(self, outcome: NightOutcome, job_done: bool = True) -> None:
        self.tally.add(outcome, job_done)
        if outcome.status == "failed":
            from rich.markup import escape

            self._bar.console.print(f"[red]failed[/red] {escape(outcome.night_id)}: {escape(outcome.error)}",
                                    highlight=False)
        self._bar.update(self._task, completed=self.tally.finished, counts=self._counts(),
                         eta=format_hms(self.tally.eta()))

    def close(self) -> None:
        self._bar.stop()


def make_progress(stream: IO[str] | None = None) -> ProgressSink:
    """A rich bar when rich is installed and ``stream`` is a terminal, else :class:`PlainProgress`."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty() and importlib.util.find_spec("rich") is not None:
        return RichProgress(stream)
    return PlainProgress(stream)
