"""Export scored events as an annotation-only EDF+ file (readable by EDFbrowser, MNE, pyedflib).

An EDF+ file may hold only the ``EDF Annotations`` signal (EDF+ specification, Kemp and Olivan,
Clin Neurophysiol 2003;114:1755-1761, section 2.2: time-stamped annotation lists, TALs, of onset,
duration and text), which is the way to ship a scoring that can be opened over a PSG recording.
Labels follow :mod:`lmdetect.io.event_labels` (``LM/left``, ``CLM/left``, ``PLM/left``,
``rls/episode``, ...). Needs the ``edf`` extra (edfio).

EDF has no time zone: the header holds the recording start in the recording's own local clock
time (the UTC offset is in ``summary.json``); onsets are seconds since that start, rounded to
microseconds.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..errors import LmdetectError
from ..pipeline import NightResult
from ._edfheader import equipment_code, subfield
from .event_labels import night_annotations

__all__ = ["write_edf_annotations", "write_night_edf_annotations"]

# EDF header dates run from 1985 to 2084 (EDF+ specification, section 2.1.3.1)
_FIRST_YEAR, _LAST_YEAR = 1985, 2084


def write_edf_annotations(
    path: str | os.PathLike[str],
    annotations: pd.DataFrame,
    start: dt.datetime,
    *,
    equipment: str = "X",
    additional: tuple[str, ...] = (),
) -> Path:
    """Write an annotation-only EDF+ file, atomically.

    Parameters
    ----------
    path
        Target file (``.edf``).
    annotations
        ``onset_s`` (>= 0, seconds since ``start``), ``duration_s`` (0 for an instant), ``label``
        (printable text; ``@@`` channel links are allowed).
    start
        Recording start (tz-aware or naive local time); written as local clock time.
    equipment
        Equipment code for the recording-identification field (the sensor id).
    additional
        Further words for that field (e.g. the software version); spaces become underscores, and
        words that do not fit its 80 characters are left out.

    Returns
    -------
    Path

    Raises
    ------
    LmdetectError
        When an onset is negative or not finite, or the start date cannot be written in EDF.
    """
    import edfio  # lazy: optional dependency

    onset = pd.to_numeric(annotations["onset_s"]).to_numpy(dtype=np.float64)
    dur = pd.to_numeric(annotations["duration_s"]).to_numpy(dtype=np.float64)
    if not (np.isfinite(onset).all() and (onset >= 0).all()):
        raise LmdetectError(f"{path}: EDF+ annotation onsets must be finite and >= 0 s after the start")
    if not (_FIRST_YEAR <= start.year <= _LAST_YEAR):
        raise LmdetectError(
            f"{path}: EDF cannot store the start date {start.date()} (years {_FIRST_YEAR}-{_LAST_YEAR})"
        )
    items = []
    for a, d, text in zip(onset, dur, annotations["label"].astype(str), strict=True):
        d_s = None if not np.isfinite(d) or d <= 0 else round(float(d), 6)
        items.append(edfio.EdfAnnotation(round(float(a), 6), d_s, text))
    if not items:
        # edfio needs at least one annotation (or signal); a recording-start marker keeps the file
        # valid without inventing an event
        items.append(edfio.EdfAnnotation(0.0, None, "recording_start"))
    words: list[str] = []
    prefix = f"Startdate {start.strftime('%d-%b-%Y').upper()} X X "
    code = equipment_code(path, equipment, 80 - len(prefix))
    used = len(prefix + code)
    for w in map(subfield, additional):
        if used + 1 + len(w) <= 80:
            words.append(w)
            used += 1 + len(w)
    edf = edfio.Edf(
        [],
        recording=edfio.Recording(
            startdate=start.date(), equipment_code=code, additional=tuple(words)
        ),
        starttime=start.time().replace(tzinfo=None),
        annotations=items,
    )
    with atomic_path(path) as tmp:
        edf.write(tmp)
    return Path(path)


def write_night_edf_annotations(
    result: NightResult, path: str | os.PathLike[str], *, summary: Mapping[str, Any] | None = None
) -> Path:
    """Write one night's movements, RLS episodes, pad sessions and lights off/on as EDF+
    annotations (see :func:`lmdetect.io.event_labels.night_annotations`).

    The recording-identification field carries the sensor id, the lmdetect version and the
    config hash (from ``summary``, the summary.json document, else from ``result``).
    """
    from .. import __version__

    doc = summary if summary is not None else result.summary
    table = night_annotations(result)
    device = str(result.recording_info.get("device_id", "X"))
    extra = (
        f"lmdetect-{doc.get('lmdetect_version', __version__)}",
        f"config-{doc.get('config_hash', result.config.hash())}",
    )
    return write_edf_annotations(path, table, result.start, equipment=device, additional=extra)
