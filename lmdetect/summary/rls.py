"""RLS episodes from the symptom diary against the night's leg movements.

Two questions are answered for each night:

* Are PLMs and CLMs more frequent *during* the episodes the sleeper logged than outside them?
  Rates are per observable hour inside time in bed (see :mod:`lmdetect.summary._intervals`).
* How do the episodes sit against the PLM series in time: does a series overlap the episode,
  end shortly before it, or start shortly after it?

RLS symptoms and PLMs are linked but distinct: most people with RLS have PLMS (Montplaisir et al.,
Mov Disord 1997;12:61-65, PLMS index > 5 in 80 %), and the urge to move comes in the evening and
at sleep onset, when PLMs are also most frequent (Duffy et al., Sleep Med 2011;12:83-88). Diary
times are the sleeper's own estimate, so the timing figures are descriptive, not tests.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..scoring.rules import RuleSet
from ._intervals import (
    CoverageTrace,
    Exposure,
    Movements,
    complement,
    intervals_from_table,
    merge_intervals,
    rate_block,
)

__all__ = ["NEAR_S", "plm_series_spans", "rls_context"]

#: How close (seconds) a PLM series must end before, or start after, an episode to count as
#: "before" / "after" it. Matches the 30-min windows used around pad sessions.
NEAR_S = 1800.0

_SECONDS_PER_HOUR = 3600.0


def plm_series_spans(events: pd.DataFrame) -> pd.DataFrame:
    """Time span of every PLM series.

    Returns
    -------
    DataFrame
        ``series_id``, ``start_s`` (onset of its first PLM), ``end_s`` (offset of its last PLM),
        ``n_plm``; sorted by start. The whole recording is used, not only time in bed.
    """
    cols = ["series_id", "start_s", "end_s", "n_plm"]
    if len(events) == 0:
        return pd.DataFrame(columns=cols)
    plm = events[events["in_plm_series"].to_numpy(dtype=bool)]
    if len(plm) == 0:
        return pd.DataFrame(columns=cols)
    off = plm["onset_s"].to_numpy(dtype=np.float64) + plm["duration_s"].to_numpy(dtype=np.float64)
    ids = plm["series_id"].to_numpy(np.int64)
    g = pd.DataFrame({"series_id": ids, "on": plm["onset_s"].to_numpy(np.float64), "off": off}).groupby(
        "series_id", sort=True
    )
    out = pd.DataFrame(
        {"start_s": g["on"].min(), "end_s": g["off"].max(), "n_plm": g["on"].size().astype(np.int64)}
    ).reset_index()
    return out.sort_values("start_s", kind="stable").reset_index(drop=True)[cols]


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _episode_timing(a: float, b: float, spans: pd.DataFrame, near_s: float) -> dict[str, Any]:
    s0 = spans["start_s"].to_numpy(dtype=np.float64)
    s1 = spans["end_s"].to_numpy(dtype=np.float64)
    overlap = (s0 < b) & (s1 > a)
    ends_before = ~overlap & (s1 <= a)
    starts_after = ~overlap & (s0 >= b)
    gap_before = a - s1[ends_before]
    gap_after = s0[starts_after] - b
    return {
        "series_overlap": int(overlap.sum()),
        "series_before": int((gap_before <= near_s).sum()),
        "series_after": int((gap_after <= near_s).sum()),
        "gap_from_series_s": round(float(gap_before.min()), 3) if gap_before.size else None,
        "gap_to_series_s": round(float(gap_after.min()), 3) if gap_after.size else None,
    }


def rls_context(
    events: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    rules: RuleSet,
    window: tuple[float, float],
    trace: CoverageTrace | None = None,
    near_s: float = NEAR_S,
) -> dict[str, Any]:
    """PLM/CLM rates inside vs outside RLS episodes and episode timing against PLM series.

    Parameters
    ----------
    events
        Scored movements (:func:`lmdetect.scoring.score_lms` output).
    episodes
        Diary episodes: ``onset_s``, ``duration_s`` (seconds since the recording start),
        optional ``severity``.
    rules
        The rule set ``events`` was scored with (which CLMs count).
    window
        Analysis window ``(start_s, end_s)``, normally time in bed; rates count onsets inside it.
    trace
        Detector coverage (:class:`lmdetect.detect.lm.MovementTrace`) for observable time.
    near_s
        A series ending at most this long before an episode's onset is "before" it; one starting
        at most this long after its end is "after" it.

    Returns
    -------
    dict
        ``n_episodes``; ``episodes_h`` (logged duration, whole recording); ``inside`` and
        ``outside`` (rate blocks: ``observed_h``, ``n_plm``, ``n_clm``, ``plm_per_h``,
        ``clm_per_h``, per observable hour, None under 10 min of observable time);
        ``episodes`` (one dict per episode: ``onset_s``, ``duration_s``, ``severity``, its own rate
        block, ``series_overlap`` / ``series_before`` / ``series_after`` (numbers of PLM series
        overlapping it, ending within ``near_s`` before it, starting within ``near_s`` after it),
        ``gap_from_series_s`` (onset minus the end of the last series that ended before it),
        ``gap_to_series_s`` (start of the next series minus the episode's end)); ``timing``
        totals: ``n_series``, ``n_series_overlapping`` (series overlapping any episode),
        ``n_episodes_with_overlap`` / ``_with_series_before`` / ``_with_series_after`` /
        ``n_episodes_isolated`` (none of the three).
    """
    iv = intervals_from_table(episodes)
    movements = Movements(events, rules, window)
    exposure = Exposure(window, trace)
    spans = plm_series_spans(events)

    per_episode = []
    if len(episodes):
        ordered = episodes.assign(_on=pd.to_numeric(episodes["onset_s"])).sort_values("_on", kind="stable")
        for _, row in ordered.iterrows():
            a = _num(row["onset_s"])
            d = _num(row["duration_s"])
            if a is None or d is None or d <= 0:
                continue
            one = np.array([[a, a + d]])
            entry: dict[str, Any] = {
                "onset_s": round(a, 3),
                "duration_s": round(d, 3),
                "severity": _num(row["severity"]) if "severity" in row.index else None,
            }
            entry.update(rate_block(movements, exposure, one))
            entry.update(_episode_timing(a, a + d, spans, near_s))
            per_episode.append(entry)

    s0 = spans["start_s"].to_numpy(dtype=np.float64)
    s1 = spans["end_s"].to_numpy(dtype=np.float64)
    overlapping = np.zeros(s0.size, dtype=bool)
    for a, b in iv:
        overlapping |= (s0 < b) & (s1 > a)
    timing = {
        "n_series": int(len(spans)),
        "n_series_overlapping": int(overlapping.sum()),
        "n_episodes_with_overlap": sum(e["series_overlap"] > 0 for e in per_episode),
        "n_episodes_with_series_before": sum(e["series_before"] > 0 for e in per_episode),
        "n_episodes_with_series_after": sum(e["series_after"] > 0 for e in per_episode),
        "n_episodes_isolated": sum(
            e["series_overlap"] == e["series_before"] == e["series_after"] == 0 for e in per_episode
        ),
    }
    return {
        "n_episodes": len(per_episode),
        "episodes_h": round(float(np.diff(merge_intervals(iv), axis=1).sum()) / _SECONDS_PER_HOUR, 4),
        "inside": rate_block(movements, exposure, iv),
        "outside": rate_block(movements, exposure, complement(iv, window)),
        "episodes": per_episode,
        "timing": timing,
    }
