"""The night summary beyond the indices, and the display columns shared by all result tables.

:func:`night_context` relates the night's movements to RLS diary episodes and vibration-pad
sessions (``summary.json`` key ``context``). :data:`NIGHT_METRIC_COLUMNS` and
:func:`night_metrics_row` map a ``summary.json`` document to named display columns; the per-night
report and the multi-night table both use them, so a number has the same name everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..scoring.rules import RuleSet, get_rule_set
from ._intervals import CoverageTrace, Exposure
from .pad import pad_context
from .rls import NEAR_S, rls_context

__all__ = [
    "night_context",
    "MetricColumn",
    "NIGHT_METRIC_COLUMNS",
    "metric_value",
    "format_metric",
    "night_metrics_row",
]

_SECONDS_PER_HOUR = 3600.0


def _total_h(table: pd.DataFrame) -> float:
    return float(table["duration_s"].sum()) / 3600.0 if len(table) else 0.0


def _pad_log_seconds(pad_log: pd.DataFrame, start: dt.datetime) -> pd.DataFrame:
    ref = pd.Timestamp(start).tz_convert("UTC")
    on = (pd.to_datetime(pad_log["start"], utc=True) - ref).dt.total_seconds().to_numpy(dtype=np.float64)
    off = (pd.to_datetime(pad_log["end"], utc=True) - ref).dt.total_seconds().to_numpy(dtype=np.float64)
    out = pd.DataFrame({"onset_s": on, "duration_s": off - on})
    if "intensity" in pad_log.columns:
        out["intensity"] = pd.to_numeric(pad_log["intensity"], errors="coerce").to_numpy(dtype=np.float64)
    return out


def _default_window(trace: CoverageTrace | None, *tables: pd.DataFrame) -> tuple[float, float]:
    if trace is not None:
        return float(trace.t0_s), float(trace.t0_s + trace.block_s * np.asarray(trace.valid_frac).size)
    ends = [0.0]
    for t in tables:
        if len(t):
            ends.append(float((pd.to_numeric(t["onset_s"]) + pd.to_numeric(t["duration_s"])).max()))
    return 0.0, max(ends)


def night_context(
    events: pd.DataFrame,
    rls_episodes: pd.DataFrame,
    pad_sessions: pd.DataFrame,
    vibration: pd.DataFrame,
    *,
    rules: RuleSet | str | None = None,
    window: tuple[float, float] | None = None,
    trace: CoverageTrace | None = None,
    pad_log: pd.DataFrame | None = None,
    start: dt.datetime | None = None,
) -> dict[str, Any]:
    """JSON-ready context figures for the night summary.

    Parameters
    ----------
    events
        Scored LMs (:func:`lmdetect.scoring.score_lms` output).
    rls_episodes
        Diary episodes (onset_s, duration_s, severity), seconds since the recording start.
    pad_sessions
        Pad periods used as detection masks (onset_s, duration_s, source ``log``/``detected``).
        The logged sessions are taken from here when ``pad_log`` is not given (then they include
        the masking margin after the logged end).
    vibration
        Vibration sessions detected in the signal (onset_s, duration_s, freq_hz, amplitude_mg).
    rules
        Rule set the events were scored with; default: ``events.attrs["rule_set"]``, else
        WASM 2016.
    window
        Analysis window (time in bed), seconds since the recording start; default: the span of
        ``trace`` (else of the tables).
    trace
        Detector coverage per block (:class:`lmdetect.detect.lm.MovementTrace`): rates are per
        observable hour (recorded, not masked).
    pad_log, start
        The pad log as read (start, end, intensity; tz-aware) and the recording start, for the
        exact logged session times.

    Returns
    -------
    dict
        ``rls_episodes_h``, ``pad_logged_h``, ``pad_detected_h`` (hours); ``window``
        (``start_s``, ``end_s``, ``observed_h``); ``rls`` (:func:`lmdetect.summary.rls.rls_context`);
        ``pad`` (:func:`lmdetect.summary.pad.pad_context`). Rates are per observable hour inside
        the window, None under 10 min of observable time.
    """
    rule_set = get_rule_set(rules if rules is not None else events.attrs.get("rule_set", "wasm2016"))
    if window is None:
        window = _default_window(trace, events, rls_episodes, pad_sessions, vibration)
    window = (float(window[0]), float(max(window[0], window[1])))
    if pad_log is not None and start is not None:
        logged = _pad_log_seconds(pad_log, start)
    elif len(pad_sessions):
        logged = pad_sessions[pad_sessions["source"] == "log"]
    else:
        logged = pd.DataFrame(columns=["onset_s", "duration_s"])
    exposure = Exposure(window, trace)
    return {
        "rls_episodes_h": round(_total_h(rls_episodes), 4),
        "pad_logged_h": round(_total_h(logged), 4),
        "pad_detected_h": round(_total_h(vibration), 4),
        "window": {
            "start_s": round(window[0], 3),
            "end_s": round(window[1], 3),
            "observed_h": round(exposure.total_s / _SECONDS_PER_HOUR, 4),
        },
        "rls": rls_context(events, rls_episodes, rules=rule_set, window=window, trace=trace, near_s=NEAR_S),
        "pad": pad_context(
            events, logged, vibration, rules=rule_set, window=window, trace=trace, masks=pad_sessions,
            near_s=NEAR_S,
        ),
    }


# --------------------------------------------------------------------------- display columns


@dataclasses.dataclass(frozen=True)
class MetricColumn:
    """One display column of a night's results.

    Attributes
    ----------
    key
        Dotted path into ``summary.json`` (``"plms_index"``, ``"quality.wear_h"``,
        ``"context.rls.inside.plm_per_h"``).
    label
        Column name shown in reports and used as the multi-night table header.
    group
        ``"night"`` (identity), ``"sleep"``, ``"plm"``, ``"imi"``, ``"context"`` or ``"quality"``.
    decimals
        Decimals shown for numbers (None: shown as is).
    description
        One-line definition, shown beside the value.
    """

    key: str
    label: str
    group: str
    decimals: int | None
    description: str


_C = MetricColumn

#: The display columns, in order. Labels follow the WASM 2016 column set of SOMAS
#: (``PLMS/hr`` ... written ``PLMS/h``) where one exists.
NIGHT_METRIC_COLUMNS: tuple[MetricColumn, ...] = (
    _C("recording_start", "Start", "night", None, "recording start (local time with UTC offset)"),
    _C("device_id", "Device", "night", None, "sensor identifier"),
    _C("side", "Side", "night", None, "ankle the sensor was worn on"),
    _C("rule_set", "Rules", "night", None, "PLM scoring rule set"),
    _C("sleep_source", "Sleep from", "night", None, "where sleep/wake came from"),
    _C("sleep_period_source", "Sleep period from", "night", None,
       "what bounds the sleep period: hypnogram, diary sleep onset/final awakening, or actigraphy"),
    _C("tib_h", "TIB (h)", "sleep", 2, "time in bed, lights off to lights on"),
    _C("tst_h", "TST (h)", "sleep", 2, "total sleep time in bed"),
    _C("wake_h", "Wake in bed (h)", "sleep", 2, "wake time in bed (denominator of PLMW/h)"),
    _C("plms_index", "PLMS/h", "plm", 1, "PLMs in sleep per hour of TST"),
    _C("plmw_index", "PLMW/h", "plm", 1, "PLMs in wake per hour of wake in bed"),
    _C("clm_index", "CLM/h", "plm", 1, "candidate LMs in sleep per hour of TST (CLMS/h)"),
    _C("clmw_index", "CLMW/h", "plm", 1, "candidate LMs in wake per hour of wake in bed"),
    _C("plm_index_tib", "PLM/h TIB", "plm", 1, "all PLMs per hour in bed, whatever the stage"),
    _C("plmnr_index", "PLMSnr/h", "plm", 1,
       "non-respiratory PLMS per hour of TST (needs respiratory events)"),
    _C("plms_arousal_index", "PLMS-arousal/h", "plm", 1,
       "PLMS associated with an arousal per hour of TST (needs scored arousals)"),
    _C("n_plms", "PLMS", "plm", None, "number of PLMs in sleep"),
    _C("n_plmw", "PLMW", "plm", None, "number of PLMs in wake"),
    _C("n_clm", "CLM", "plm", None, "number of candidate LMs in bed"),
    _C("n_series", "PLM series", "plm", None, "number of PLM series in bed"),
    _C(
        "periodicity_index",
        "Periodicity index",
        "imi",
        2,
        "share of IMIs with 10 < IMI <= 90 s that lie in a run of >= 3 such IMIs (Ferri et al., Sleep 2006)",
    ),
    _C("plm_clm_ratio", "PLM/CLM ratio", "imi", 2, "PLMs / CLMs in the IMI scope (PLMScoRe's 'PI')"),
    _C("imi_geometric_mean_s", "IMI geometric mean (s)", "imi", 1, "exp(mean(ln IMI)) of the CLM IMIs"),
    _C("imi_median_s", "IMI median (s)", "imi", 1, "median IMI of the CLMs"),
    _C("context.rls.inside.plm_per_h", "PLM/h in RLS episodes", "context", 1,
       "PLMs per observable hour inside diary RLS episodes (in bed)"),
    _C("context.rls.outside.plm_per_h", "PLM/h outside RLS episodes", "context", 1,
       "PLMs per observable hour in bed outside RLS episodes"),
    _C("context.pad.windows.before.plm_per_h", "PLM/h 30 min before pad", "context", 1,
       "PLMs per observable hour in the 30 min before pad sessions start"),
    _C("context.pad.windows.after_end.plm_per_h", "PLM/h 30 min after pad", "context", 1,
       "PLMs per observable hour in the 30 min after pad sessions end"),
    _C("context.pad.agreement.jaccard", "Pad log/signal agreement", "context", 2,
       "overlap / union of logged and detected pad time (Jaccard)"),
    _C("quality.wear_h", "Wear (h)", "quality", 2, "recorded time minus probable non-wear"),
    _C("quality.gap_total_s", "Gaps (s)", "quality", 0, "time missing in gaps"),
    _C("quality.n_backfilled", "Backfilled samples", "quality", None, "samples recovered after link drops"),
    _C("quality.noise_floor_mg", "Noise floor (mg)", "quality", 1,
       "median resting level of the movement signal: sensor noise plus what the leg does at rest"),
    _C("quality.onset_threshold_mg", "Onset threshold (mg)", "quality", 1,
       "median LM onset threshold: movements much smaller than this cannot be detected"),
)

_MISSING = object()


def metric_value(summary: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` in ``summary`` (integers index lists); None when absent."""
    cur: Any = summary
    for part in key.split("."):
        if isinstance(cur, Mapping):
            cur = cur.get(part, _MISSING)
        elif isinstance(cur, (list, tuple)) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            cur = _MISSING
        if cur is _MISSING:
            return None
    return cur


def format_metric(value: Any, decimals: int | None = None) -> str:
    """Display text of a value: ``"n/a"`` for None/NaN, fixed decimals for floats."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "n/a"
        return f"{value:.{decimals}f}" if decimals is not None else f"{value:g}"
    return str(value)


def night_metrics_row(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A night's ``summary.json`` as display columns.

    Parameters
    ----------
    summary
        The content of ``summary.json`` (or :attr:`lmdetect.pipeline.NightResult.summary`).

    Returns
    -------
    dict
        Column label (:data:`NIGHT_METRIC_COLUMNS` order) to raw value (number, string or None);
        format with :func:`format_metric` and the column's ``decimals``.
    """
    return {c.label: metric_value(summary, c.key) for c in NIGHT_METRIC_COLUMNS}
