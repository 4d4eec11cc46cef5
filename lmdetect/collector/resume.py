"""Continuing a night: what an existing ``.lmr`` file tells a restarted collector.

The header (device, side, rates, start) must match; the last packets (sequence number, first tick,
sample count) let the sequence accounting pick up where the file ends and request the holes that
the sensor's ring buffer may still fill; the host time of the last live packet anchors the check
that new packets do not come from the future.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..io.native import LmrHeader

__all__ = ["ExistingNight", "read_existing_night"]


@dataclasses.dataclass(frozen=True)
class ExistingNight:
    """The state of a recording being continued.

    Attributes
    ----------
    header : LmrHeader
        The file's header.
    packets : list of (seq, first tick, n)
        Its packets in sequence order (ticks on the file's scale).
    last_host_ns : int or None
        Host receive time of the last packet that has one.
    samples : int
        Samples in the file.
    first_tick : int
        Tick of its first sample.
    """

    header: LmrHeader
    packets: list[tuple[int, int, int]]
    last_host_ns: int | None
    samples: int
    first_tick: int


def read_existing_night(path: Path) -> ExistingNight | None:
    """Read what is needed to continue ``path``; None when there is no file (or it is empty)."""
    from ..io.native import read_lmr, read_lmr_header

    if not (path.exists() and path.stat().st_size > 0):
        return None
    header = read_lmr_header(path)
    rec = read_lmr(path)
    packets: list[tuple[int, int, int]] = []
    last_host: int | None = None
    first_tick = int(rec.meta.get("lmr.first_tick", "0"))
    if rec.n_samples:
        ticks = first_tick + np.rint(rec.time_s * header.tick_hz).astype(np.int64)
        seq = rec.seq if rec.seq is not None else np.zeros(rec.n_samples, dtype=np.int64)
        order = np.lexsort((ticks, seq))
        seq_o, ticks_o = seq[order], ticks[order]
        starts = np.r_[0, np.flatnonzero(np.diff(seq_o)) + 1]
        sizes = np.diff(np.r_[starts, seq_o.size])
        packets = [(int(seq_o[i]), int(ticks_o[i]), int(n)) for i, n in zip(starts, sizes, strict=True)]
        if rec.host_time_s is not None:
            ok = np.flatnonzero(np.isfinite(rec.host_time_s))
            if ok.size:
                start_ns = int(rec.start.timestamp() * 1e9)
                last_host = start_ns + int(round(float(rec.host_time_s[ok[-1]]) * 1e9))
    return ExistingNight(header, packets, last_host, rec.n_samples, first_tick)
