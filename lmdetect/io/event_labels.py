"""The event vocabulary of the interchange exports (EDF+ annotations and BIDS events.tsv).

Leg movements use the harmonised annotation classes of Luna / the NSRR (``LM``, ``PLM`` with an
instance for the side: ``LM/left``, ``PLM/both``; Luna documentation, "Harmonized annotations"),
plus ``CLM`` for a candidate leg movement of WASM 2016 that is not in a PLM series. Each movement
is labelled once, with its most specific class: ``PLM`` over ``CLM`` over ``LM``. Posture changes
and gross body movements are never leg movements in the scoring rules and get the generic
``movement`` class (``movement/posture``, ``movement/gross``). With a side-unknown sensor the side
instance is left out (``LM``).

There is no standard label for self-reported RLS episodes or vibration-pad use; they are
namespaced: ``rls/episode``, ``device/vibration_pad/log``, ``device/vibration_pad/detected``.
Lights off / on are ``lights_off`` / ``lights_on`` (Luna harmonised).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline import NightResult

__all__ = [
    "ANNOTATION_COLUMNS",
    "RLS_EPISODE",
    "PAD_LOG",
    "PAD_DETECTED",
    "LIGHTS_OFF",
    "LIGHTS_ON",
    "movement_labels",
    "night_annotations",
    "lights_known",
]

RLS_EPISODE = "rls/episode"
PAD_LOG = "device/vibration_pad/log"
PAD_DETECTED = "device/vibration_pad/detected"
LIGHTS_OFF = "lights_off"
LIGHTS_ON = "lights_on"

#: Columns of :func:`night_annotations`: onset_s, duration_s (seconds since the recording start;
#: 0 for instants), label, category (``movement``, ``rls``, ``pad``, ``lights``), row (index of
#: the movement in the scored event table, -1 for other annotations).
ANNOTATION_COLUMNS: tuple[str, ...] = ("onset_s", "duration_s", "label", "category", "row")

_SIDED = ("left", "right", "both")


def movement_labels(events: pd.DataFrame) -> pd.Series:
    """Label of each scored movement (see the module docs), as a Series aligned with ``events``."""
    if len(events) == 0:
        return pd.Series([], dtype=object, index=events.index)
    kind = events["kind"].astype(str).to_numpy(dtype=object)
    side = events["side"].astype(str).to_numpy(dtype=object)
    plm = events["in_plm_series"].to_numpy(dtype=bool)
    clm = events["is_clm"].to_numpy(dtype=bool)
    cls = np.where(plm, "PLM", np.where(clm, "CLM", "LM")).astype(object)
    generic = np.isin(kind, ["posture", "gross"]) & ~clm & ~plm
    cls[generic] = "movement"
    inst = np.where(generic, kind, np.where(np.isin(side, _SIDED), side, ""))
    labels = [f"{c}/{i}" if i else c for c, i in zip(cls, inst, strict=True)]
    return pd.Series(labels, dtype=object, index=events.index)


def _spans(table: pd.DataFrame | None, label: str, category: str) -> pd.DataFrame:
    if table is None or len(table) == 0:
        return pd.DataFrame(columns=list(ANNOTATION_COLUMNS))
    a = pd.to_numeric(table["onset_s"]).to_numpy(dtype=np.float64)
    d = pd.to_numeric(table["duration_s"]).to_numpy(dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(d) & (d > 0)
    return pd.DataFrame(
        {"onset_s": a[ok], "duration_s": d[ok], "label": label, "category": category, "row": -1},
        columns=list(ANNOTATION_COLUMNS),
    )


def lights_known(result: NightResult) -> bool:
    """Whether time in bed came from lights-off/on times (diary or hypnogram), rather than being
    the whole recording by default."""
    rec_end = float(result.recording_info.get("duration_s", 0.0))
    tib0, tib1 = result.sleep.tib_start_s, result.sleep.tib_end_s
    return "diary" in result.sleep.source or tib0 > 0.0 or tib1 < rec_end - 1.0


def _logged_pad(result: NightResult) -> pd.DataFrame | None:
    # the night summary keeps the sessions as logged; the masks extend past the logged end
    ctx = result.summary.get("context", {}).get("pad", {}).get("agreement", {})
    if "logged" in ctx:
        return pd.DataFrame(ctx["logged"], columns=["onset_s", "duration_s"])
    if len(result.pad_sessions):
        return result.pad_sessions[result.pad_sessions["source"] == "log"]
    return None


def _empty() -> pd.DataFrame:
    types = ("float64", "float64", "object", "object", "int64")
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in zip(ANNOTATION_COLUMNS, types, strict=True)})


def night_annotations(result: NightResult) -> pd.DataFrame:
    """Everything the exports write for one night, as one table sorted by onset.

    Movements (every row of ``result.events``), RLS episodes, pad sessions (logged, as logged;
    detected, without the masking margins) and lights off / on when time in bed came from a
    diary or hypnogram (not when it is simply the whole recording).

    Parameters
    ----------
    result
        A processed night.

    Returns
    -------
    DataFrame
        Columns :data:`ANNOTATION_COLUMNS`. Annotations starting before the recording are clipped
        to start at 0 s; those ending before it are dropped.
    """
    ev = result.events
    parts = []
    if len(ev):
        parts.append(
            pd.DataFrame(
                {
                    "onset_s": ev["onset_s"].to_numpy(dtype=np.float64),
                    "duration_s": ev["duration_s"].to_numpy(dtype=np.float64),
                    "label": movement_labels(ev).to_numpy(dtype=object),
                    "category": "movement",
                    "row": np.arange(len(ev), dtype=np.int64),
                },
                columns=list(ANNOTATION_COLUMNS),
            )
        )
    parts.append(_spans(result.rls_episodes, RLS_EPISODE, "rls"))
    parts.append(_spans(_logged_pad(result), PAD_LOG, "pad"))
    parts.append(_spans(result.vibration, PAD_DETECTED, "pad"))

    if lights_known(result):
        tib0, tib1 = result.sleep.tib_start_s, result.sleep.tib_end_s
        parts.append(
            pd.DataFrame(
                {"onset_s": [tib0, tib1], "duration_s": [0.0, 0.0], "label": [LIGHTS_OFF, LIGHTS_ON],
                 "category": "lights", "row": -1},
                columns=list(ANNOTATION_COLUMNS),
            )
        )
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty()
    out = pd.concat(parts, ignore_index=True)
    out = out.astype({"onset_s": "float64", "duration_s": "float64", "label": object, "category": object,
                      "row": "int64"})
    end = out["onset_s"] + out["duration_s"]
    keep = (end > 0) | ((out["duration_s"] == 0) & (out["onset_s"] >= 0))
    out = out[keep].copy()
    early = out["onset_s"] < 0
    out.loc[early, "duration_s"] = out.loc[early, "onset_s"] + out.loc[early, "duration_s"]
    out.loc[early, "onset_s"] = 0.0
    return out.sort_values(["onset_s", "row"], kind="stable").reset_index(drop=True)
