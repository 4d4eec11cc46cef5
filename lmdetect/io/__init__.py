"""Reading and writing recordings and event files. One module per format, behind a registry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence

from ..model import Recording
from ._registry import (
    format_for_path,
    register_reader,
    register_writer,
    supported_read_extensions,
    supported_write_extensions,
    unavailable_formats,
    write_recording,
)
from ._registry import read_recording as _read_with_options

__all__ = [
    "READ_OPTIONS",
    "format_for_path",
    "read_recording",
    "register_reader",
    "register_writer",
    "supported_read_extensions",
    "supported_write_extensions",
    "unavailable_formats",
    "write_recording",
]

#: The options each format's reader takes (format name as in :func:`supported_read_extensions`).
#: ``tz`` is accepted for every format (see :func:`read_recording`); the others only where listed.
READ_OPTIONS: dict[str, tuple[str, ...]] = {
    "lmdetect recording": (),
    "CSV": ("start", "fs", "device_id", "side"),
    "Axivity CWA": ("tz", "on_corrupt"),
    "GENEActiv": ("tz", "on_corrupt"),
    "ActiGraph GT3X": ("tz", "on_corrupt"),
    "EDF/EDF+": ("tz", "channels", "side"),
    "BDF/BDF+": ("tz", "channels", "side"),
    "BIDS motion": ("tz", "tracked_point", "start"),
}


def read_recording(
    path: str | os.PathLike[str],
    *,
    tz: str | dt.tzinfo | None = None,
    start: str | dt.datetime | None = None,
    on_corrupt: str | None = None,
    fs: float | None = None,
    device_id: str | None = None,
    side: str | None = None,
    channels: Sequence[str] | None = None,
    tracked_point: str | None = None,
) -> Recording:
    """Read any supported recording file; the format is chosen by the file's extension.

    Every option defaults to ``None``, meaning "the reader's own default"; an option the format
    does not take raises :class:`~lmdetect.errors.ConfigError` naming the format's options
    (:data:`READ_OPTIONS`).

    Parameters
    ----------
    path
        The recording: ``.lmr``, ``.csv``, ``.cwa`` (Axivity AX3/AX6), ``.bin`` (GENEActiv),
        ``.gt3x`` (ActiGraph), ``.edf`` / ``.bdf``, ``*_motion.tsv`` (BIDS motion);
        :func:`supported_read_extensions` lists them.
    tz
        IANA zone name (``"Europe/Berlin"``), ``"UTC"``, a fixed offset (``"+01:00"``) or a
        ``tzinfo``. For files that keep device wall time (CWA, GENEActiv, gt3x, EDF/BDF, BIDS
        ``acq_time`` without ``Z``) it is the zone the device clock was set in, which fixes the
        instant of the first sample when the file states no offset (without it such files are
        read as UTC, with a warning, and ``meta["time_zone_source"]`` is ``"assumed UTC"``); see
        docs/readers.md, "Time zones". For formats that store an absolute instant (``.lmr``,
        CSV timestamps with an offset) the instant is unchanged and the start is only expressed
        in ``tz``. Local clock times (diary alignment, noon-to-noon night splitting) follow it.
    start
        CSV and BIDS motion: the time of the first sample for a file that holds only relative
        times (CSV ``t`` column; BIDS without ``*_scans.tsv``), ISO 8601 with a UTC offset
        (``"2026-03-14T22:30:00+01:00"``) or a timezone-aware datetime.
    on_corrupt
        CWA, GENEActiv, gt3x: ``"raise"`` (the reader's default) stops at a damaged block, page
        or record with a :class:`~lmdetect.errors.FormatError` naming its byte offset or line;
        ``"skip"`` drops it (its samples become a gap) and counts it in ``meta``.
    fs
        CSV: nominal sampling rate in Hz; by default inferred from the median sample step.
    device_id
        CSV: device identifier stored in the recording (default ``"unknown"``).
    side
        CSV: ``"left"``, ``"right"``, ``"both"`` or ``"unknown"`` (default) stored in the
        recording. EDF/BDF: ``"left"`` or ``"right"`` picks one ankle when the file holds both.
    channels
        EDF/BDF: labels of the x, y and z acceleration signals; by default they are recognised
        by unit and label.
    tracked_point
        BIDS motion: which tracked point's ACCEL x/y/z to read when ``*_channels.tsv`` lists
        several.

    Returns
    -------
    Recording
        Acceleration in g, ``time_s`` in seconds from the first sample, nominal ``fs`` in Hz and
        a timezone-aware ``start``.

    Raises
    ------
    FormatError
        Unknown extension (with the closest supported ones), missing or malformed file; the
        message names the file.
    ConfigError
        An option the format does not take, or a bad value (unknown zone, bad ``start``).
    """
    from ..errors import ConfigError
    from ._devicetime import parse_tz

    fmt = format_for_path(path)  # an unknown extension fails first, with suggestions
    options_given = {
        "tz": tz, "start": start, "on_corrupt": on_corrupt, "fs": fs, "device_id": device_id, "side": side,
        "channels": channels, "tracked_point": tracked_point,
    }
    given = {k: v for k, v in options_given.items() if v is not None}
    accepted = READ_OPTIONS.get(fmt)
    if accepted is None:  # a format registered elsewhere: its reader checks its own options
        return _read_with_options(path, **given)
    zone = parse_tz(tz)  # a bad zone fails before the file is read
    unknown = sorted(k for k in given if k not in accepted and k != "tz")
    if unknown:
        theirs = f"their read options: {', '.join(accepted)}" if accepted else "they take no read options but tz"
        raise ConfigError(f"{os.fspath(path)}: {fmt} files do not take {', '.join(unknown)} ({theirs})")
    options = {k: v for k, v in given.items() if k in accepted}
    rec = _read_with_options(path, **options)
    if zone is not None and "tz" not in accepted:
        rec = dataclasses.replace(rec, start=rec.start.astimezone(zone))
    return rec
