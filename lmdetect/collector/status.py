"""The live status line of ``lmdetect collect`` (on stderr).

One line: state, elapsed time, samples, rate, gaps (missing packets being backfilled / lost),
backfilled samples, rejected notifications, battery, RSSI and clock drift. With a duration a
progress bar is shown too. Uses rich when it is installed and stderr is a terminal; otherwise
the line is redrawn with a carriage return on a terminal, or printed once a minute into a log
file or pipe.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .outcome import SessionStatus

__all__ = ["format_status", "format_duration", "StatusDisplay"]


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1:02:05"``."""
    s = max(0, int(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def format_status(st: SessionStatus) -> str:
    """The status as one line of text."""
    parts = [
        f"{st.state:<11}",
        format_duration(st.elapsed_s) + (f"/{format_duration(st.duration_s)}" if st.duration_s else ""),
        f"{st.samples:,} samples",
        f"{st.rate_hz:5.1f} Hz",
        f"gaps {st.missing_packets} missing/{st.lost_packets} lost" + (f" ({st.lost_samples} samples)" if st.lost_samples else ""),
        f"backfilled {st.backfilled_samples:,}",
    ]
    if st.rejected:
        parts.append(f"rejected {st.rejected}")
    parts.append(f"battery {st.battery_pct}%" if st.battery_pct is not None else "battery ?")
    parts.append(f"RSSI {st.rssi_dbm} dBm" if st.rssi_dbm is not None else "RSSI ?")
    if st.drift_ppm is not None:
        parts.append(f"drift {st.drift_ppm:+.1f} ppm")
    if st.reconnects:
        parts.append(f"reconnects {st.reconnects}")
    return " | ".join(parts)


class StatusDisplay:
    """Shows :class:`SessionStatus` updates; call :meth:`close` at the end.

    Parameters
    ----------
    stream : text stream
        Where to draw (stderr).
    use_rich : bool or None
        Force rich on or off; None: rich when importable and ``stream`` is a terminal.
    plain_every_s : float
        On a non-terminal stream, print one line this often (wall seconds).
    """

    def __init__(self, stream: TextIO | None = None, *, use_rich: bool | None = None, plain_every_s: float = 60.0):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.plain_every_s = plain_every_s
        self._last_plain = -float("inf")
        self._width = 0
        self._rich: Any = None
        self._task: Any = None
        if use_rich is None:
            use_rich = self.tty
        self._use_rich = False
        if use_rich:
            try:
                import rich  # noqa: F401
            except ImportError:
                pass
            else:
                self._use_rich = True

    def _start_rich(self, with_bar: bool) -> Any:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn
        from rich.table import Column

        columns: list[Any] = []
        if with_bar:  # bar first, at a fixed width: a long status text is cut at its end instead
            columns.append(BarColumn(bar_width=20, table_column=Column(min_width=20, no_wrap=True)))
        columns.append(TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis")))
        progress = Progress(*columns, console=Console(file=self.stream), transient=False)
        progress.start()
        return progress

    def update(self, st: SessionStatus) -> None:
        line = format_status(st)
        if self._use_rich:
            total = st.duration_s or None
            done = min(st.elapsed_s, total) if total else 0
            if total:
                line = f"{100.0 * done / total:3.0f}% {line}"
            if self._rich is None:
                self._rich = self._start_rich(with_bar=total is not None)
                self._task = self._rich.add_task(line, total=total)
            self._rich.update(self._task, description=line, completed=done, total=total)
            return
        if self.tty:
            bar = ""
            if st.duration_s:
                frac = min(1.0, max(0.0, st.elapsed_s / st.duration_s))
                filled = int(round(20 * frac))
                bar = f" [{'#' * filled}{'.' * (20 - filled)}] {100 * frac:3.0f}%"
            text = line + bar
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self._width = len(text)
            return
        now = time.monotonic()
        if now - self._last_plain >= self.plain_every_s:
            self._last_plain = now
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        elif self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
