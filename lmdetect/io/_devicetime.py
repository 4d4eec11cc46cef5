"""Device clocks that store local wall time: turn them into a timezone-aware start.

Research loggers (Axivity CWA, GENEActiv, ActiGraph) keep a real-time clock that was set to the
local wall time of the computer that configured them. The clock then runs on: it does **not**
jump at a daylight-saving change. So within one file the device time is monotonic, and elapsed
time is simply the difference of device times; only the conversion of the first sample to an
absolute instant needs the UTC offset that was in force *when the clock was set*.

Policy (docs/readers.md, "Time zones"):

1. The file states its offset (GENEActiv ``Time Zone``, ActiGraph ``TimeZone``): that offset
   gives the instant. ``tz=`` then only chooses the zone the start is expressed in.
2. No offset in the file, ``tz=`` given: the offset of that zone at the moment the clock was set
   (the configuration time when the file records it, otherwise the first sample) gives the
   instant.
3. Neither: the device time is taken as UTC and a warning is logged; ``meta["time_zone_source"]``
   is ``"assumed UTC"`` so the guess stays visible downstream.

The machine's own local zone is never used.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import zoneinfo

from ..errors import ConfigError
from ..model import Side

__all__ = [
    "parse_tz",
    "format_offset",
    "parse_offset",
    "device_start",
    "side_from_text",
]

log = logging.getLogger(__name__)

_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-]?)\s*(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$", re.IGNORECASE)


def parse_tz(tz: str | dt.tzinfo | None) -> dt.tzinfo | None:
    """An IANA zone name (``"Europe/Berlin"``), ``"UTC"``, a fixed offset (``"+01:00"``) or a tzinfo.

    Raises
    ------
    ConfigError
        For a name that is neither a known IANA zone nor an offset.
    """
    if tz is None or isinstance(tz, dt.tzinfo):
        return tz
    name = str(tz).strip()
    if name.upper() in ("UTC", "Z", "GMT"):
        return dt.UTC
    offset = parse_offset(name)
    if offset is not None:
        return dt.timezone(offset)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}; give an IANA name such as 'Europe/Berlin' "
            "or an offset such as '+01:00'"
        ) from None


def file_zone(path: str | os.PathLike[str], name: str | None) -> str | None:
    """A zone name stored in a file, or None (with a warning) when it is not a known zone.

    A damaged zone field must not stop the read: the file's UTC offset, or the usual policy,
    still places the start.
    """
    if not name:
        return None
    try:
        parse_tz(name)
    except ConfigError:
        log.warning("%s: ignoring the unknown time zone %r stored in the file", os.fspath(path), name)
        return None
    return name


def parse_offset(text: str) -> dt.timedelta | None:
    """``"GMT -04:00"``, ``"-05:00:00"``, ``"01:00:00"``, ``"+0100"``, ``"UTC+1"`` as a timedelta.

    None when the text is not an offset (a missing sign means east of Greenwich, as ActiGraph's
    info.txt writes ``TimeZone: 01:00:00``).
    """
    m = _OFFSET_RE.match(text.strip())
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    hours, minutes, seconds = int(m.group(2)), int(m.group(3) or 0), int(m.group(4) or 0)
    if hours > 14 or minutes >= 60 or seconds >= 60:
        return None
    return sign * dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def format_offset(offset: dt.timedelta) -> str:
    """``+01:00`` style text of a UTC offset."""
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}"


def _zone_name(zone: dt.tzinfo) -> str:
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    if zone is dt.UTC:
        return "UTC"
    off = zone.utcoffset(None)
    return "UTC" + format_offset(off) if off is not None else str(zone)


def device_start(
    path: str | os.PathLike[str],
    first_local: dt.datetime,
    *,
    tz: str | dt.tzinfo | None,
    file_offset: dt.timedelta | None = None,
    clock_set: dt.datetime | None = None,
) -> tuple[dt.datetime, dict[str, str]]:
    """The timezone-aware instant of a device's first sample (see the module notes).

    Parameters
    ----------
    path
        The file, for log messages.
    first_local
        Naive device wall time of the first sample.
    tz
        The ``tz=`` option of the reader (IANA name, offset, tzinfo or None).
    file_offset
        UTC offset stated by the file, if any.
    clock_set
        Naive device time at which the clock was set (configuration), if the file records it.

    Returns
    -------
    start, meta
        ``start`` is expressed in ``tz`` when given (so later night splitting uses that zone's
        local noon), otherwise in the file's fixed offset or UTC. ``meta`` holds
        ``time_zone``, ``time_zone_source`` and ``clock_utc_offset``.
    """
    if first_local.tzinfo is not None:
        raise ValueError("first_local must be a naive device time")
    zone = parse_tz(tz)
    if file_offset is not None:
        instant = (first_local - file_offset).replace(tzinfo=dt.UTC)
        start = instant.astimezone(zone if zone is not None else dt.timezone(file_offset))
        source = "file"
        offset = file_offset
        if zone is not None:
            zone_offset = instant.astimezone(zone).utcoffset()
            if zone_offset != file_offset:
                log.info(
                    "%s: the device clock ran at UTC%s while %s is at UTC%s at the start; "
                    "times follow the file's offset",
                    os.fspath(path),
                    format_offset(file_offset),
                    _zone_name(zone),
                    format_offset(zone_offset or dt.timedelta(0)),
                )
    elif zone is not None:
        ref = clock_set if clock_set is not None and clock_set <= first_local else first_local
        # fold=0: an ambiguous wall time (the repeated autumn hour) is read as the first pass
        offset = ref.replace(tzinfo=zone).utcoffset() or dt.timedelta(0)
        instant = (first_local - offset).replace(tzinfo=dt.UTC)
        start = instant.astimezone(zone)
        source = "tz option"
    else:
        log.warning(
            "%s: the file stores device wall time without a UTC offset and no tz= was given; "
            "assuming UTC (pass tz='Area/City', on the command line --tz Area/City, for correct clock times)",
            os.fspath(path),
        )
        offset = dt.timedelta(0)
        start = first_local.replace(tzinfo=dt.UTC)
        source = "assumed UTC"
    meta = {
        "time_zone": _zone_name(start.tzinfo) if start.tzinfo is not None else "UTC",
        "time_zone_source": source,
        "clock_utc_offset": format_offset(offset),
    }
    return start, meta


def side_from_text(text: str | None) -> Side:
    """``"left"``/``"right"`` when the text names one side (``"Left ankle"``, ``"LeftAnkle"``, ``"R"``)."""
    if not text:
        return "unknown"
    t = text.strip().lower()
    left = "left" in t or t in ("l", "lt")
    right = "right" in t or t in ("r", "rt")
    if left and right:
        return "both"
    if left:
        return "left"
    if right:
        return "right"
    return "unknown"
