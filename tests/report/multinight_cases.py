"""A short multi-night series for the multi-night tests, and what a table cell must show.

:func:`build_series` simulates ``n`` consecutive 3-h nights of one sleeper at 25 Hz (the night
simulator, fixed seeds), pad nights on the given indices, and writes each as ``lmdetect process``
would (``summary.json``, ``events.csv``, ``epochs.csv``; ``report.html`` for the first night so
the link to it can be checked).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from lmdetect.outputs import write_night_outputs
from lmdetect.pipeline import process_night
from lmdetect.summary.metric_ids import METRIC_IDS
from lmdetect.summary.night import NIGHT_METRIC_COLUMNS, format_metric

__all__ = ["build_series", "expected_cell", "DECIMALS", "PAD_NIGHTS"]

#: Indices of the pad nights in the default series.
PAD_NIGHTS = (1, 3, 5)

DECIMALS = {METRIC_IDS[c.key]: c.decimals for c in NIGHT_METRIC_COLUMNS}


def build_series(root: Path, n: int = 7, pad_nights: tuple[int, ...] = PAD_NIGHTS, hours: float = 3.0) -> list[Path]:
    """Write ``n`` processed nights under ``root/participant01/nightK``; returns the folders."""
    from firmware_sim.night import DEFAULT_START, simulate_night

    out = []
    for k in range(n):
        profile = "pad" if k in pad_nights else "rls"
        night = simulate_night(profile, hours=hours, rate_hz=25, seed=100 + k,
                               start=DEFAULT_START + dt.timedelta(days=k))
        pad_log = night.pad_log if len(night.pad_log) else None
        result = process_night(night.recording, diary=night.diary, pad_log=pad_log)
        folder = root / "participant01" / f"night{k + 1}"
        write_night_outputs(result, folder, report=(k == 0))
        out.append(folder)
    return out


def expected_cell(value: Any, column: str, *, average: bool = False) -> str:
    """The text a table cell of the multi-night report must show for a table value."""
    decimals = DECIMALS.get(column)
    if average and decimals is None:
        decimals = 1
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and decimals is None and value.is_integer():
        return str(int(value))
    return format_metric(value, decimals)
