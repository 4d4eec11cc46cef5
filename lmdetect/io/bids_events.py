"""Export scored events as a BIDS-style ``events.tsv`` with its ``events.json`` sidecar.

BIDS task events (BIDS specification, "Task events"): a tab-separated file with the columns
``onset`` and ``duration`` in seconds from the start of the recording, then optional columns;
``trial_type`` names the event type, and missing values are written ``n/a``. A JSON sidecar
describes the extra columns and the levels of ``trial_type``. Event names follow
:mod:`lmdetect.io.event_labels` (``LM/left``, ``PLM/left``, ``rls/episode``, ...).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_open, atomic_write_text
from ..pipeline import NightResult
from .event_labels import LIGHTS_OFF, LIGHTS_ON, PAD_DETECTED, PAD_LOG, RLS_EPISODE, night_annotations

__all__ = ["BIDS_EVENT_COLUMNS", "bids_events_table", "write_bids_events", "bids_events_sidecar"]

#: Columns of events.tsv, in order.
BIDS_EVENT_COLUMNS: tuple[str, ...] = (
    "onset",
    "duration",
    "trial_type",
    "side",
    "kind",
    "is_clm",
    "in_plm_series",
    "series_id",
    "stage",
    "amplitude_mg",
    "imi",
)

_MOVEMENT_COLUMNS = ("side", "kind", "is_clm", "in_plm_series", "series_id", "stage", "amplitude_mg", "imi_s")


def bids_events_table(result: NightResult) -> pd.DataFrame:
    """One night's events as the rows of events.tsv (:data:`BIDS_EVENT_COLUMNS`), sorted by onset.

    Movement columns are missing (NaN / None) for non-movement rows; booleans are 1/0.
    """
    ann = night_annotations(result)
    out = pd.DataFrame(
        {
            "onset": ann["onset_s"].to_numpy(dtype=np.float64),
            "duration": ann["duration_s"].to_numpy(dtype=np.float64),
            "trial_type": ann["label"].to_numpy(dtype=object),
        }
    )
    rows = ann["row"].to_numpy(dtype=np.int64)
    is_mov = rows >= 0
    ev = result.events
    for col in _MOVEMENT_COLUMNS:
        name = "imi" if col == "imi_s" else col
        values = np.full(len(ann), None, dtype=object)
        if is_mov.any() and col in ev.columns:
            src = ev[col].to_numpy()[rows[is_mov]]
            if col in ("is_clm", "in_plm_series"):
                src = src.astype(bool).astype(int)
            values[is_mov] = list(src)
        out[name] = values
    return out[list(BIDS_EVENT_COLUMNS)]


def _cell(v: Any, decimals: int = 6) -> str:
    if v is None or (isinstance(v, (float, np.floating)) and not np.isfinite(v)):
        return "n/a"
    if isinstance(v, (float, np.floating)):
        text = f"{float(v):.{decimals}f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    s = str(v)
    return "n/a" if s == "" else s.replace("\t", " ").replace("\n", " ")


def bids_events_sidecar(result: NightResult, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The events.json sidecar: a description of each column, the levels of trial_type and the
    provenance (lmdetect version, rule set, config hash; input file and SHA-256 when ``summary``,
    the summary.json document, has them)."""
    doc = summary if summary is not None else result.summary
    classes = {
        "LM": "leg movement that is not a candidate LM",
        "CLM": "candidate leg movement (WASM 2016) not in a PLM series",
        "PLM": "candidate leg movement in a periodic leg movement series",
    }
    levels: dict[str, str] = {}
    for cls, text in classes.items():
        for side in ("left", "right", "both"):
            levels[f"{cls}/{side}"] = f"{text}, {side} leg"
        levels[cls] = f"{text}, side unknown"
    levels.update({
        "movement/posture": "posture change (not a leg movement under the scoring rules)",
        "movement/gross": "gross body movement (not a leg movement under the scoring rules)",
        RLS_EPISODE: "RLS symptom episode from the sleeper's diary",
        PAD_LOG: "vibration-pad session from the pad log",
        PAD_DETECTED: "vibration-pad session detected in the acceleration",
        LIGHTS_OFF: "lights off (start of time in bed)",
        LIGHTS_ON: "lights on (end of time in bed)",
    })
    return {
        "onset": {"Description": "Event start, seconds since the first sample of the recording",
                  "Units": "s"},
        "duration": {"Description": "Event duration (0 for an instant)", "Units": "s"},
        "trial_type": {"Description": "Event type (Luna/NSRR harmonised leg-movement classes)",
                       "Levels": levels},
        "side": {"Description": "Leg of the movement",
                 "Levels": {s: s for s in ("left", "right", "both", "unknown")}},
        "kind": {"Description": "Movement kind: lm, long (over the CLM duration limit), posture, gross, "
                                "voluntary"},
        "is_clm": {"Description": "Candidate leg movement", "Levels": {"1": "yes", "0": "no"}},
        "in_plm_series": {"Description": "Part of a PLM series", "Levels": {"1": "yes", "0": "no"}},
        "series_id": {"Description": "PLM series number (0, 1, ... in time order; -1 when not in a series)"},
        "stage": {"Description": "Sleep stage at onset: W, N1, N2, N3, R, or S (sleep of unknown depth)"},
        "amplitude_mg": {"Description": "Peak movement acceleration", "Units": "mg"},
        "imi": {"Description": "Inter-movement interval from the previous CLM, onset to onset", "Units": "s"},
        "Provenance": {
            "lmdetect_version": str(doc.get("lmdetect_version", _version())),
            "rule_set": str(doc.get("rule_set", result.config.rules)),
            "config_hash": str(doc.get("config_hash", result.config.hash())),
            "input_file": doc.get("input_file"),
            "input_sha256": doc.get("input_sha256"),
        },
    }


def _version() -> str:
    from .. import __version__

    return __version__


def write_bids_events(
    result: NightResult,
    path: str | os.PathLike[str],
    *,
    sidecar: bool = True,
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write events.tsv (and the events.json sidecar beside it), atomically.

    ``summary`` is the summary.json document, whose provenance goes into the sidecar.

    Returns
    -------
    dict
        ``"events_tsv"`` and, with ``sidecar``, ``"events_json"``: the paths written.
    """
    table = bids_events_table(result)
    path = Path(path)
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(BIDS_EVENT_COLUMNS) + "\n")
        for row in table.itertuples(index=False):
            fh.write("\t".join(_cell(v) for v in row) + "\n")
    out = {"events_tsv": path}
    if sidecar:
        stem = path.name[: -len(".tsv")] if path.name.endswith(".tsv") else path.name
        side = path.with_name(stem + ".json")
        atomic_write_text(side, json.dumps(bids_events_sidecar(result, summary), indent=2) + "\n")
        out["events_json"] = side
    return out
