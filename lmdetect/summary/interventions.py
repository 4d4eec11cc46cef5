"""Interventions of a night (any treatment: a wrap, a dose, an infusion, the pad) and PLMs around them.

A night's interventions come from the diary's ``intervention`` rows (a period such as a foot wrap
worn from 22:30 to 06:10, a time such as ropinirole 0.25 mg at 21:00, or a date such as an iron
infusion), from the vibration pad (its logged sessions, else the sessions detected in the signal,
as in :func:`lmdetect.summary.pad.pad_context`; name ``pad``) and, in a batch, from manifest
condition columns (no time). Their names are the night's *conditions*, the unit a night-level
comparison works with.

Which diary rows belong to a night: the night of a recording is the noon-to-noon period (in the
recording's own UTC offset) in which it starts. A timed row belongs to it when it overlaps that
period, a date-only row when its date is the day that period starts on. So one diary kept over many
nights can be given to each of them.

Within the night, PLM and CLM rates are counted in windows around each timed intervention with the
same window logic as around pad sessions (:func:`lmdetect.summary._intervals.window_blocks`):
``before`` = ``[a - near_s, a)``; ``during`` = ``[a, b)`` for a period, and from the time to the end
of time in bed for a time (a dose acts from when it is taken on); ``after`` = ``[b, b + near_s)``
(for a time ``b = a``). ``before`` and ``after`` leave out the time under any period of the same
name, so a wrap taken off for a few minutes and put back on does not count its own wearing time
as before or after it. Rates are per observable hour and None under 10 min, so a dose taken before
lights off has no ``before`` rate. These are per-night observations; effects are estimated across
nights (``lmdetect summarize``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..scoring.rules import RuleSet
from ._intervals import CoverageTrace, Exposure, Movements, WindowSpan, merge_intervals, window_blocks

__all__ = [
    "INTERVENTION_COLUMNS",
    "PAD",
    "night_period",
    "night_interventions",
    "night_conditions",
    "interventions_table",
    "interventions_context",
    "pad_reference_sessions",
]

#: Columns of :func:`night_interventions`: ``onset_s``/``duration_s`` in s since the recording
#: start (NaN for a date or a manifest flag; ``duration_s`` 0 for a time), ``dose`` text,
#: ``date`` ISO date text ("" unless date-only), ``source`` ``diary``/``pad_log``/``detected``/``manifest``.
INTERVENTION_COLUMNS = ("name", "onset_s", "duration_s", "dose", "date", "source")
#: Name of the vibration pad as an intervention and condition.
PAD = "pad"

_NOON = dt.time(12, 0)


def night_period(start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The noon-to-noon period (in ``start``'s UTC offset) in which a recording starting at ``start`` lies."""
    day = start.date() if start.time() >= _NOON else start.date() - dt.timedelta(days=1)
    lo = dt.datetime.combine(day, _NOON, tzinfo=start.tzinfo)
    return lo, lo + dt.timedelta(days=1)


def _seconds(t: Any, start: dt.datetime) -> float:
    return float((pd.Timestamp(t) - pd.Timestamp(start)).total_seconds())


def night_interventions(
    diary: pd.DataFrame | None,
    start: dt.datetime,
    pad_sessions: pd.DataFrame | None = None,
    pad_source: str | None = None,
) -> pd.DataFrame:
    """The night's interventions as a table (:data:`INTERVENTION_COLUMNS`), sorted by onset.

    Parameters
    ----------
    diary
        :func:`lmdetect.io.diary.read_diary` output (may hold other nights and other kinds).
    start
        The recording's start (tz-aware).
    pad_sessions
        The pad's reference sessions (onset_s, duration_s; s since ``start``), each a ``pad`` row.
    pad_source
        ``"log"`` or ``"detected"``: where ``pad_sessions`` come from.
    """
    rows: list[dict[str, Any]] = []
    if diary is not None and len(diary) and "name" in diary.columns:
        lo, hi = night_period(start)
        for r in diary[diary["kind"] == "intervention"].itertuples(index=False):
            if r.date is not None and not (isinstance(r.date, float) and np.isnan(r.date)):
                if r.date == lo.date():
                    rows.append({"name": r.name, "onset_s": np.nan, "duration_s": np.nan, "dose": r.dose,
                                 "date": r.date.isoformat(), "source": "diary"})
                continue
            a = pd.Timestamp(r.start)
            b = pd.Timestamp(r.end) if not pd.isna(r.end) else a
            if b < pd.Timestamp(lo) or a >= pd.Timestamp(hi):
                continue  # another night's row
            rows.append({"name": r.name, "onset_s": _seconds(a, start), "duration_s": _seconds(b, start) - _seconds(a, start),
                         "dose": r.dose, "date": "", "source": "diary"})
    if pad_sessions is not None and len(pad_sessions):
        for a, d in zip(pad_sessions["onset_s"], pad_sessions["duration_s"], strict=True):
            rows.append({"name": PAD, "onset_s": float(a), "duration_s": float(d), "dose": "", "date": "",
                         "source": "pad_log" if pad_source == "log" else "detected"})
    out = pd.DataFrame(rows, columns=list(INTERVENTION_COLUMNS))
    if len(out):
        out = out.sort_values(["onset_s", "name"], kind="stable", na_position="last").reset_index(drop=True)
    return out


def pad_reference_sessions(pad: dict[str, Any]) -> tuple[pd.DataFrame, str | None]:
    """The reference pad sessions of :func:`lmdetect.summary.pad.pad_context`'s result, merged as
    there (a repeated cycle is one session), and their source (``"log"``, ``"detected"`` or None)."""
    source = pad.get("source")
    ref = pad.get("agreement", {}).get("logged" if source == "log" else "detected", []) if source else []
    spans = merge_intervals(
        np.array([(e["onset_s"], e["onset_s"] + e["duration_s"]) for e in ref], dtype=np.float64).reshape(-1, 2)
    )
    return pd.DataFrame({"onset_s": spans[:, 0], "duration_s": spans[:, 1] - spans[:, 0]}), source


def night_conditions(table: pd.DataFrame, extra: Iterable[str] = ()) -> list[str]:
    """Sorted distinct names of the night's interventions and of ``extra`` (manifest flags)."""
    return sorted({*map(str, table["name"]), *extra})


def interventions_table(table: pd.DataFrame, start: dt.datetime) -> list[dict[str, Any]]:
    """JSON rows of ``table`` with local clock times ``start``/``end`` (ISO 8601; None when untimed)."""
    out = []
    for r in table.itertuples(index=False):
        timed = not np.isnan(r.onset_s)
        clock = (lambda s: (pd.Timestamp(start) + pd.Timedelta(seconds=s)).isoformat()) if timed else None
        out.append(
            {
                "name": r.name,
                "onset_s": round(float(r.onset_s), 3) if timed else None,
                "duration_s": round(float(r.duration_s), 3) if timed else None,
                "start": clock(r.onset_s) if clock else None,
                "end": clock(r.onset_s + r.duration_s) if clock and r.duration_s > 0 else None,
                "dose": r.dose or None,
                "date": r.date or None,
                "source": r.source,
            }
        )
    return out


def interventions_context(
    events: pd.DataFrame,
    table: pd.DataFrame,
    *,
    rules: RuleSet,
    window: tuple[float, float],
    trace: CoverageTrace | None = None,
    near_s: float = 1800.0,
) -> dict[str, Any]:
    """PLM/CLM rate blocks around each timed intervention, by name (module docs for the windows).

    Returns
    -------
    dict
        Name -> ``kind`` (``"period"``, ``"time"``, or ``"mixed"`` for both under one name), ``window_s``, ``n``, pooled ``before`` /
        ``during`` / ``after`` blocks (:func:`lmdetect.summary._intervals.rate_block`) and
        ``occurrences`` (``onset_s``, ``duration_s``, ``dose`` and the three blocks each).
        Untimed interventions (a date, a manifest flag) have no windows and are left out.
    """
    movements = Movements(events, rules, window)
    exposure = Exposure(window, trace)
    end = float(window[1])
    timed = table[~table["onset_s"].isna()] if len(table) else table
    out: dict[str, Any] = {}
    for name, rows in timed.groupby("name", sort=True):
        spans = np.column_stack([rows["onset_s"], rows["onset_s"] + rows["duration_s"]]).astype(np.float64)
        period = rows["duration_s"] > 0
        windows: dict[str, WindowSpan] = {
            "before": lambda a, b: (a - near_s, a),
            # a time (a dose) acts from then on; a period only while it lasts
            "during": lambda a, b: (a, b) if b > a else (a, max(a, end)),
            "after": lambda a, b: (b, b + near_s),
        }
        worn = spans[period.to_numpy()]  # the time under a period of this name is neither before nor after one
        pooled, per = window_blocks(movements, exposure, spans, windows, exclude={"before": worn, "after": worn})
        out[str(name)] = {
            "kind": "period" if period.all() else ("time" if not period.any() else "mixed"),
            "window_s": near_s,
            "n": int(len(rows)),
            **pooled,
            "occurrences": [
                {"onset_s": round(float(a), 3), "duration_s": round(float(b - a), 3), "dose": dose or None, **blk}
                for (a, b), dose, blk in zip(spans, rows["dose"], per, strict=True)
            ],
        }
    return out
