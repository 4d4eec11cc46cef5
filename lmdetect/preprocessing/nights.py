"""Split a multi-day recording into nights.

Two ways to cut:

* ``method="noon"``: windows from local noon to the next local noon in the recording's zone (or
  ``tz``). Noon is far from any daylight-saving change, so a window is 24 h long except on the
  change days (23 h in spring, 25 h in autumn) and always holds the whole night. This is the usual
  day boundary of sleep actigraphy (GGIR "noon-to-noon" sleep windows, van Hees et al., PLoS One
  2015).
* ``method="diary"``: one window per ``lights_off`` row of a sleep diary, to the next
  ``lights_on``, widened by ``margin_s`` on both sides so that movements just around the
  reported times are kept.

Times are compared as instants (UTC), never as wall-clock differences, so a night across a DST
change keeps its real length. Each night is the :meth:`Recording.between` of its window: sample
times are re-based to the night's first sample and nothing is resampled.

A night is named by the date of its evening: the local date of the window's opening noon, or of
lights-off minus 12 h (a lights-off at 00:30 belongs to the previous evening).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import zoneinfo

import numpy as np
import pandas as pd

from .._params import check_nonnegative, check_option
from ..errors import ConfigError, LmdetectError
from ..model import Recording

__all__ = ["Night", "split_nights", "night_windows"]

log = logging.getLogger(__name__)

_UTC = dt.UTC


@dataclasses.dataclass(frozen=True)
class Night:
    """One window to cut: its label and its bounds as timezone-aware instants."""

    label: str
    start: dt.datetime
    end: dt.datetime


def _zone(recording: Recording, tz: str | dt.tzinfo | None) -> dt.tzinfo:
    if tz is None:
        return recording.start.tzinfo  # type: ignore[return-value]
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {tz!r}; give an IANA name such as 'Europe/Berlin'") from None


def _elapsed_s(a: dt.datetime, b: dt.datetime) -> float:
    """Seconds from ``b`` to ``a``, as instants (same-zone subtraction would use wall time)."""
    return (a.astimezone(_UTC) - b.astimezone(_UTC)).total_seconds()


def _noon(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=zone)


def _evening(t: dt.datetime, zone: dt.tzinfo) -> dt.date:
    return (t.astimezone(zone) - dt.timedelta(hours=12)).date()


def _diary_times(diary: pd.DataFrame, zone: dt.tzinfo) -> list[tuple[str, dt.datetime]]:
    missing = {"kind", "start"} - set(diary.columns)
    if missing:
        raise ConfigError(f"the diary needs the columns kind and start; missing {', '.join(sorted(missing))}")
    rows = []
    for i, (kind, start) in enumerate(zip(diary["kind"], diary["start"], strict=True)):
        if kind not in ("lights_off", "lights_on"):
            continue
        ts = pd.Timestamp(start)
        if pd.isna(ts):
            raise LmdetectError(f"diary row {i + 1}: {kind} has no valid start time ({start!r})")
        t = ts.to_pydatetime()
        t = t.replace(tzinfo=zone) if t.tzinfo is None else t
        rows.append((str(kind), t))
    rows.sort(key=lambda r: r[1].astimezone(_UTC))
    return rows


def night_windows(
    recording: Recording,
    *,
    method: str = "noon",
    diary: pd.DataFrame | None = None,
    tz: str | dt.tzinfo | None = None,
    margin_s: float = 1800.0,
) -> list[Night]:
    """The windows :func:`split_nights` cuts (see the module notes), in time order."""
    check_option("method", method, ("noon", "diary"))
    check_nonnegative("margin_s", margin_s)
    zone = _zone(recording, tz)
    if method == "noon":
        first = _evening(recording.start, zone)
        last = _evening(recording.end, zone)
        days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
        return [Night(d.isoformat(), _noon(d, zone), _noon(d + dt.timedelta(days=1), zone)) for d in days]
    if diary is None:
        raise ConfigError("method='diary' needs a diary with lights_off and lights_on rows")
    rows = _diary_times(diary, zone)
    out: list[Night] = []
    seen: dict[str, int] = {}
    margin = dt.timedelta(seconds=margin_s)
    i = 0
    while i < len(rows):
        kind, t = rows[i]
        if kind == "lights_on":
            log.warning("diary: lights_on at %s without a preceding lights_off; ignored", t.isoformat())
            i += 1
            continue
        if i + 1 >= len(rows) or rows[i + 1][0] != "lights_on":
            raise LmdetectError(
                f"diary: lights_off at {t.isoformat()} has no lights_on before the next lights_off"
            )
        on = rows[i + 1][1]
        label = _evening(t, zone).isoformat()
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}-{seen[label]}"
        out.append(Night(label, (t - margin).astimezone(zone), (on + margin).astimezone(zone)))
        i += 2
    if not out:
        raise LmdetectError("diary: no lights_off / lights_on pair")
    return out


def split_nights(
    recording: Recording,
    *,
    method: str = "noon",
    diary: pd.DataFrame | None = None,
    tz: str | dt.tzinfo | None = None,
    margin_s: float = 1800.0,
    min_duration_s: float = 3600.0,
) -> list[Recording]:
    """Cut ``recording`` into one recording per night.

    Parameters
    ----------
    recording
        A recording of any length.
    method
        ``"noon"`` (local noon to noon) or ``"diary"`` (lights-off to lights-on from ``diary``).
    diary
        Table with columns ``kind`` and ``start`` (see :data:`lmdetect.model.DIARY_COLUMNS`);
        rows of kind ``lights_off`` / ``lights_on`` are used. Naive times are local to ``tz``.
    tz
        Zone whose noon (or diary wall time) is meant; default the zone of ``recording.start``.
    margin_s
        Widening of each diary window on both sides, seconds.
    min_duration_s
        Nights with less recorded time than this (seconds of samples, gaps excluded) are dropped:
        a window the recording only grazes (the morning of the first day, the evening of the
        last) cannot give an hourly index.

    Returns
    -------
    list of Recording
        In time order. Each carries ``meta["night"]`` (the evening's date, with ``-2`` ... for
        further diary windows of the same evening), ``meta["night_method"]`` and the window in
        ``meta["night_window_start"]`` / ``meta["night_window_end"]``.
    """
    check_nonnegative("min_duration_s", min_duration_s)
    if recording.n_samples == 0:
        return []
    nights = night_windows(recording, method=method, diary=diary, tz=tz, margin_s=margin_s)
    zone = _zone(recording, tz)
    out = []
    for night in nights:
        t0, t1 = _elapsed_s(night.start, recording.start), _elapsed_s(night.end, recording.start)
        mask = (recording.time_s >= t0) & (recording.time_s < t1)
        n = int(np.count_nonzero(mask))
        if n / recording.fs < min_duration_s:
            if n:
                log.info(
                    "night %s: %.0f s of data, below min_duration_s=%g; dropped",
                    night.label,
                    n / recording.fs,
                    min_duration_s,
                )
            continue
        part = recording.select(mask)
        part = dataclasses.replace(
            part,
            start=part.start.astimezone(zone),
            meta={
                **part.meta,
                "night": night.label,
                "night_method": method,
                "night_window_start": night.start.isoformat(),
                "night_window_end": night.end.isoformat(),
            },
        )
        out.append(part)
    return out
