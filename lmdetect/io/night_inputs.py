"""The files of one night read together: the recording (in its time zone) and its side files.

``lmdetect process`` and the batch worker read a night through :func:`read_night_inputs`, so both
apply the same time zone and the same checks. Side files carry clock times with a UTC offset; a
device file without one is placed in time only by ``tz`` (docs/readers.md, "Time zones"). A
wrong or missing ``tz`` shifts the recording against the diary by the UTC offset, which silently
changes time in bed and every per-hour index. The shift cannot be seen from the data when it is
small, but a diary that lies wholly outside the recording is refused here, with the file named.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from typing import Any

from ..errors import FormatError
from ..model import Recording

__all__ = ["NightInputs", "read_night_inputs", "check_diary_overlaps"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


@dataclasses.dataclass(frozen=True, eq=False)
class NightInputs:
    """What :func:`lmdetect.pipeline.process_night` is given for one night.

    Attributes
    ----------
    recording
        The recording, its start in ``tz`` when one was given.
    diary, pad_log
        Tables of :func:`lmdetect.io.diary.read_diary` / :func:`~lmdetect.io.diary.read_pad_log`, or None.
    hypnogram
        Table of :func:`lmdetect.io.hypnogram.read_hypnogram` (onsets in seconds since the
        recording start), or None.
    """

    recording: Recording
    diary: Any = None
    pad_log: Any = None
    hypnogram: Any = None


def _clock(t: Any) -> str:
    return t.isoformat(timespec="minutes") if hasattr(t, "isoformat") else str(t)


def check_diary_overlaps(diary: Any, recording: Recording, diary_path: PathLike) -> None:
    """Refuse a diary none of whose times falls within the recording.

    Parameters
    ----------
    diary
        Table of :func:`lmdetect.io.diary.read_diary` (``start``, ``end`` tz-aware).
    recording
        The night it belongs to.
    diary_path
        The diary file, named in the error.

    Raises
    ------
    FormatError
        When the diary's span (first to last time it gives) and the recording's do not overlap.
        The message gives both spans and, when the recording's device time was assumed to be
        UTC, the ``--tz`` option as the likely fix.
    """
    import pandas as pd

    if diary is None or len(diary) == 0:
        return
    times = pd.concat([diary["start"], diary["end"].dropna()])
    first, last = times.min(), times.max()
    rec_start = pd.Timestamp(recording.start)
    rec_end = pd.Timestamp(recording.end)
    if last >= rec_start and first <= rec_end:
        return
    hint = ""
    if recording.meta.get("time_zone_source") == "assumed UTC":
        hint = (
            "; the recording stores device time without a UTC offset and was read as UTC: "
            "give the zone its clock was set in with --tz (a 'tz' column in a batch manifest)"
        )
    raise FormatError(
        diary_path,
        f"no diary time falls within the recording (diary {_clock(first)} to {_clock(last)}, "
        f"recording {_clock(rec_start)} to {_clock(rec_end)}){hint}",
    )


def read_night_inputs(
    path: PathLike,
    *,
    tz: str | dt.tzinfo | None = None,
    start: str | dt.datetime | None = None,
    diary: PathLike | None = None,
    pad_log: PathLike | None = None,
    hypnogram: PathLike | None = None,
) -> NightInputs:
    """Read a night's recording and side files.

    Parameters
    ----------
    path
        The recording (any format of :func:`lmdetect.io.read_recording`).
    tz
        Time zone of the device clock (IANA name or offset), see :func:`lmdetect.io.read_recording`.
    start
        Start time for CSV / BIDS files that hold only relative times.
    diary, pad_log, hypnogram
        Side files, each optional.

    Returns
    -------
    NightInputs

    Raises
    ------
    FormatError
        A file is malformed, the recording holds no samples, or the diary does not overlap the
        recording (:func:`check_diary_overlaps`); the message names the file.
    ConfigError
        An option the recording's format does not take, or an unknown zone.
    """
    from . import read_recording
    from .diary import read_diary, read_pad_log
    from .hypnogram import read_hypnogram

    rec = read_recording(path, tz=tz, start=start)
    if rec.n_samples == 0:
        raise FormatError(path, "the recording holds no samples: nothing to score")
    table = read_diary(diary) if diary else None
    if table is not None:
        check_diary_overlaps(table, rec, diary)  # type: ignore[arg-type]
        if rec.meta.get("time_zone_source") == "assumed UTC":
            log.warning(
                "%s: device time was read as UTC and is aligned with the diary's clock times as such; "
                "if the device clock was set to local time, give its zone with --tz",
                os.fspath(path),
            )
    return NightInputs(
        recording=rec,
        diary=table,
        pad_log=read_pad_log(pad_log) if pad_log else None,
        hypnogram=read_hypnogram(hypnogram, rec.start) if hypnogram else None,
    )
