"""Vibration-pad sessions: the log against the signal, and PLMs around each session.

A vibratory counter-stimulation pad (Relaxis, FDA De Novo DEN110011, 2013) runs a 30-min cycle
and then ramps down over 5 min. Its sessions are known from the sleeper's pad log, from the
acceleration (:func:`lmdetect.detect.vibration.detect_vibration`), or both. This module

* compares logged and detected sessions by their overlap in time, per session and in total;
* counts PLMs and CLMs in the 30 min before each session starts, the 30 min after it starts, and
  the 30 min after it ends, and, per session of either source, before, during and after it
  (:func:`pad_session_rates`).

* records, per session, what LM detection did with its time (:func:`pad_handling`): whether the
  session was masked, how much of it was masked by any mask, and how much of it was observable.

Which sessions are masked depends on the configuration and on what the signal shows (by default
the vibration's line is removed and only stretches where too much of it is left are masked, and
logged sessions are not masked), so nothing here assumes it: the facts come from the masks actually applied and the detector's coverage, and the reports
word their text from these facts. Masked time is not observable, and a rate over less than 10
min of observable time is None rather than a misleading zero. The pad's trials did not measure PLMs
(Burbank, Buchfuhrer and Kopjar, J Parkinsonism Restless Legs Syndr 2013, Parts I-III), so these
are per-night observations, not effect estimates.
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
    WindowSpan,
    complement,
    intervals_from_table,
    merge_intervals,
    overlap_s,
    rate_block,
    window_blocks,
)

__all__ = [
    "MATCH_FRACTION",
    "NEAR_S",
    "MASKED",
    "MEASURED",
    "pad_agreement",
    "pad_handling",
    "pad_session_rates",
    "pad_windows",
    "pad_context",
]

#: A session counts as found by the other source when at least this share of its time is
#: covered by the other source's sessions (a project convention, as in event-detection scoring).
MATCH_FRACTION = 0.5

#: Length (s) of the windows before and after a session (the issue's 30 min; also the pad's
#: preset intensity phase).
NEAR_S = 1800.0

#: ``handling`` of a session whose own time was masked from LM detection.
MASKED = "masked"
#: ``handling`` of a session in which LMs were detected as at any other time.
MEASURED = "measured"

_SECONDS_PER_HOUR = 3600.0


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _rows(table: pd.DataFrame | None, extra: str) -> list[tuple[float, float, float | None]]:
    """(start, end, extra value) of each usable row, sorted by start."""
    if table is None or len(table) == 0:
        return []
    out = []
    for _, r in table.iterrows():
        a, d = _num(r["onset_s"]), _num(r["duration_s"])
        if a is None or d is None or d <= 0:
            continue
        out.append((a, a + d, _num(r[extra]) if extra in r.index else None))
    return sorted(out, key=lambda x: x[0])


def _session_match(a: float, b: float, other: np.ndarray, match_fraction: float) -> dict[str, Any]:
    ov = overlap_s(a, b, other)
    hit = other[(other[:, 0] < b) & (other[:, 1] > a)] if len(other) else other
    frac = ov / (b - a)
    return {
        "onset_s": round(a, 3),
        "duration_s": round(b - a, 3),
        "overlap_s": round(ov, 3),
        "covered_fraction": round(frac, 4),
        "matched": bool(frac >= match_fraction),
        # positive: the other source starts / ends later than this session
        "onset_diff_s": round(float(hit[:, 0].min() - a), 3) if len(hit) else None,
        "end_diff_s": round(float(hit[:, 1].max() - b), 3) if len(hit) else None,
    }


def pad_agreement(
    logged: pd.DataFrame | None, detected: pd.DataFrame | None, *, match_fraction: float = MATCH_FRACTION
) -> dict[str, Any]:
    """Agreement in time between logged and detected pad sessions.

    Parameters
    ----------
    logged
        Sessions from the pad log: ``onset_s``, ``duration_s``, optional ``intensity``.
    detected
        Sessions found in the signal: ``onset_s``, ``duration_s``, optional ``freq_hz``.
    match_fraction
        Share of a session's time the other source must cover for it to count as matched.

    Returns
    -------
    dict
        ``status``: ``"none"``, ``"log_only"``, ``"detected_only"`` or ``"both"``;
        ``n_logged``, ``n_detected``, ``n_logged_matched``, ``n_detected_matched``;
        ``logged_h``, ``detected_h``, ``overlap_h``, ``union_h`` (hours of the unions);
        ``jaccard`` (overlap / union of the two, None when both are empty);
        ``logged_fraction_detected`` (overlap / logged time) and ``detected_fraction_logged``
        (overlap / detected time), None when the denominator is 0; ``logged`` and ``detected``:
        one dict per session with ``onset_s``, ``duration_s``, ``overlap_s`` (covered by the
        other source), ``covered_fraction``, ``matched``, ``onset_diff_s`` / ``end_diff_s`` (the
        other source's first overlapping onset / last overlapping end minus this session's; None
        without overlap), and ``intensity`` (logged) or ``freq_hz`` (detected, as sampled).
    """
    lrows = _rows(logged, "intensity")
    drows = _rows(detected, "freq_hz")
    liv = merge_intervals(np.array([(a, b) for a, b, _ in lrows], dtype=np.float64).reshape(-1, 2))
    div = merge_intervals(np.array([(a, b) for a, b, _ in drows], dtype=np.float64).reshape(-1, 2))

    per_log = []
    for a, b, level in lrows:
        e = _session_match(a, b, div, match_fraction)
        e["intensity"] = level
        per_log.append(e)
    per_det = []
    for a, b, freq in drows:
        e = _session_match(a, b, liv, match_fraction)
        e["freq_hz"] = None if freq is None else round(freq, 3)
        per_det.append(e)

    logged_s = float(np.diff(liv, axis=1).sum())
    detected_s = float(np.diff(div, axis=1).sum())
    both_s = float(sum(overlap_s(a, b, div) for a, b in liv))
    union_s = logged_s + detected_s - both_s
    status = {(False, False): "none", (True, False): "log_only", (False, True): "detected_only",
              (True, True): "both"}[(bool(lrows), bool(drows))]
    return {
        "status": status,
        "n_logged": len(per_log),
        "n_detected": len(per_det),
        "n_logged_matched": sum(e["matched"] for e in per_log),
        "n_detected_matched": sum(e["matched"] for e in per_det),
        "logged_h": round(logged_s / _SECONDS_PER_HOUR, 4),
        "detected_h": round(detected_s / _SECONDS_PER_HOUR, 4),
        "overlap_h": round(both_s / _SECONDS_PER_HOUR, 4),
        "union_h": round(union_s / _SECONDS_PER_HOUR, 4),
        "jaccard": round(both_s / union_s, 4) if union_s > 0 else None,
        "logged_fraction_detected": round(both_s / logged_s, 4) if logged_s > 0 else None,
        "detected_fraction_logged": round(both_s / detected_s, 4) if detected_s > 0 else None,
        "logged": per_log,
        "detected": per_det,
    }


def _mask_table(masks: pd.DataFrame | None, source: str | None = None) -> np.ndarray:
    if masks is None or len(masks) == 0:
        return np.zeros((0, 2))
    if source is not None:
        masks = masks[masks["source"] == source] if "source" in masks.columns else masks.iloc[:0]
    return merge_intervals(intervals_from_table(masks))


def pad_handling(
    agreement: dict[str, Any], masks: pd.DataFrame | None, trace: CoverageTrace | None = None
) -> dict[str, Any]:
    """What LM detection did with each pad session, added to ``agreement``'s sessions.

    Parameters
    ----------
    agreement
        :func:`pad_agreement` output; each entry of ``logged`` / ``detected`` gains
        ``handling`` (:data:`MASKED` when the session's own source was masked over it, else
        :data:`MEASURED`), ``masked_s`` (seconds of the session inside any detection mask, of
        either source) and ``observable_s`` (seconds of the session in which the detector could
        see movements: recorded, not masked; over the whole recording, not only time in bed).
    masks
        The periods masked from LM detection (``onset_s``, ``duration_s``, ``source``: ``"log"``,
        ``"residual"`` (vibration left after line removal) or ``"detected"``;
        :attr:`lmdetect.pipeline.NightResult.pad_sessions`), margins included.
    trace
        The detector's coverage (:class:`lmdetect.detect.lm.MovementTrace`); without it, time not
        masked counts as observable.

    Returns
    -------
    dict
        ``logged`` and ``detected`` totals over the union of each source's sessions:
        ``n_sessions``, ``n_masked`` (sessions handled as :data:`MASKED`), ``n_by_handling``
        (sessions per ``handling`` value), ``sessions_h``,
        ``masked_h``, ``observable_h`` and ``unobservable_h`` (session time neither masked nor
        observable: gaps, or signal too disturbed to measure), hours; ``masked_by_h``: masked
        hours per mask ``source`` (``log``, ``detected``, or ``residual``: vibration left above
        the stated level after its line was removed), only sources that masked session time.
    """
    all_masks = _mask_table(masks)
    own = {"logged": _mask_table(masks, "log"), "detected": _mask_table(masks, "detected")}
    # observable anywhere in the recording: a session before lights off was still measured
    if trace is not None:
        exposure = Exposure((-math.inf, math.inf), trace)
    else:
        exposure = None
    totals: dict[str, Any] = {}
    for kind in ("logged", "detected"):
        spans = []
        for e in agreement[kind]:
            a, b = e["onset_s"], e["onset_s"] + e["duration_s"]
            spans.append((a, b))
            masked = overlap_s(a, b, all_masks)
            seen = exposure.seconds(a, b) if exposure is not None else (b - a) - masked
            e["handling"] = MASKED if overlap_s(a, b, own[kind]) > 0 else MEASURED
            e["masked_s"] = round(masked, 3)
            e["observable_s"] = round(seen, 3)
        union = merge_intervals(np.array(spans, dtype=np.float64).reshape(-1, 2))
        total_s = float(np.diff(union, axis=1).sum())
        masked_s = float(sum(overlap_s(a, b, all_masks) for a, b in union))
        seen_s = exposure.seconds_in(union) if exposure is not None else total_s - masked_s
        by_source = {}
        if masks is not None and len(masks) and "source" in masks.columns:
            for src in sorted({str(x) for x in masks["source"]}):
                m = _mask_table(masks, src)
                h = sum(overlap_s(a, b, m) for a, b in union) / _SECONDS_PER_HOUR
                if h > 0:
                    by_source[src] = round(h, 4)
        totals[kind] = {
            "n_sessions": len(agreement[kind]),
            "n_masked": sum(e["handling"] == MASKED for e in agreement[kind]),
            "n_by_handling": {
                h: sum(e["handling"] == h for e in agreement[kind])
                for h in sorted({e["handling"] for e in agreement[kind]})
            },
            "sessions_h": round(total_s / _SECONDS_PER_HOUR, 4),
            "masked_h": round(masked_s / _SECONDS_PER_HOUR, 4),
            "observable_h": round(seen_s / _SECONDS_PER_HOUR, 4),
            "unobservable_h": round(max(0.0, total_s - masked_s - seen_s) / _SECONDS_PER_HOUR, 4),
            "masked_by_h": by_source,
        }
    return totals


def pad_session_rates(
    agreement: dict[str, Any], movements: Movements, exposure: Exposure, near_s: float = NEAR_S
) -> None:
    """PLM/CLM rate blocks before, during and after each session of either source, in place.

    Each entry of ``agreement["logged"]`` / ``agreement["detected"]`` gains ``rates``:
    ``before`` = ``[a - near_s, a)``, ``during`` = ``[a, b)`` and ``after`` = ``[b, b + near_s)``
    (:func:`~lmdetect.summary._intervals.rate_block`: observable hours, PLMs, CLMs and their
    rates; a rate over less than 10 min of observable time is None). Per session rather than per
    reference source, so a session that only one source knows is still described.
    """
    for kind in ("logged", "detected"):
        for e in agreement[kind]:
            a, b = e["onset_s"], e["onset_s"] + e["duration_s"]
            e["rates"] = {
                name: rate_block(movements, exposure, np.array([span]))
                for name, span in (("before", (a - near_s, a)), ("during", (a, b)), ("after", (b, b + near_s)))
            }


def pad_windows(
    movements: Movements, exposure: Exposure, sessions: np.ndarray, near_s: float = NEAR_S
) -> dict[str, Any]:
    """PLM/CLM rate blocks around pad sessions.

    For each session ``[a, b)``: ``before`` = ``[a - near_s, a)``, ``after_start`` =
    ``[a, a + near_s)``, ``after_end`` = ``[b, b + near_s)``. ``sessions`` lists one dict per
    session with the three blocks; the top-level blocks of the same names pool all sessions
    (over the union of their windows, so overlapping windows of back-to-back sessions are not
    counted twice).
    """
    sessions = merge_intervals(sessions)
    spans: dict[str, WindowSpan] = {
        "before": lambda a, b: (a - near_s, a),
        "after_start": lambda a, b: (a, a + near_s),
        "after_end": lambda a, b: (b, b + near_s),
    }
    out, blocks = window_blocks(movements, exposure, sessions, spans)
    out["sessions"] = [
        {"onset_s": round(float(a), 3), "duration_s": round(float(b - a), 3), **blk}
        for (a, b), blk in zip(sessions, blocks, strict=True)
    ]
    return out


def pad_context(
    events: pd.DataFrame,
    logged: pd.DataFrame | None,
    detected: pd.DataFrame | None,
    *,
    rules: RuleSet,
    window: tuple[float, float],
    trace: CoverageTrace | None = None,
    masks: pd.DataFrame | None = None,
    near_s: float = NEAR_S,
) -> dict[str, Any]:
    """Everything the night summary says about pad sessions.

    The *reference* sessions are the logged ones when the night has a pad log, else the detected
    ones. Touching or overlapping reference sessions (a repeated cycle) are one session.

    Parameters
    ----------
    masks
        The periods masked from LM detection, with their ``source`` (see :func:`pad_handling`);
        None: nothing was masked.

    Returns
    -------
    dict
        ``source`` (``"log"``, ``"detected"`` or None), ``n_sessions``, ``sessions_h``;
        ``agreement`` (:func:`pad_agreement`, each session with its handling); ``handling``
        (:func:`pad_handling` totals), each session also with its ``rates``
        (:func:`pad_session_rates`); ``inside`` / ``outside`` (rate blocks inside and
        outside the reference sessions, within the window); ``windows``
        (:func:`pad_windows`, with ``near_s`` as ``window_s``).
    """
    agreement = pad_agreement(logged, detected)
    handling = pad_handling(agreement, masks, trace)
    if agreement["n_logged"]:
        source, ref = "log", agreement["logged"]
    elif agreement["n_detected"]:
        source, ref = "detected", agreement["detected"]
    else:
        source, ref = None, []
    spans = [(e["onset_s"], e["onset_s"] + e["duration_s"]) for e in ref]
    sessions = merge_intervals(np.array(spans, dtype=np.float64).reshape(-1, 2))
    movements = Movements(events, rules, window)
    exposure = Exposure(window, trace)
    pad_session_rates(agreement, movements, exposure, near_s)
    windows = pad_windows(movements, exposure, sessions, near_s)
    windows["window_s"] = near_s
    return {
        "source": source,
        "n_sessions": int(len(sessions)),
        "sessions_h": round(float(np.diff(sessions, axis=1).sum()) / _SECONDS_PER_HOUR, 4),
        "agreement": agreement,
        "handling": handling,
        "inside": rate_block(movements, exposure, sessions),
        "outside": rate_block(movements, exposure, complement(sessions, window)),
        "windows": windows,
    }
