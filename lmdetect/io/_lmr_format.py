"""The ``.lmr`` recording format, version 1: header fields, column schema and the tick rule.

This module holds the parts of the format that both the writer and the reader must agree on;
docs/format.md is the specification for people. A ``.lmr`` file is an Arrow IPC *stream*
(Apache Arrow Columnar Format specification, "IPC Streaming Format", arrow.apache.org) whose
schema metadata carries the header (all keys start with ``lmr.``; every other key is free user
metadata) and whose record batches hold one row per sample.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import zoneinfo
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from .. import __version__
from ..errors import ConfigError, FormatError
from ..model import SIDES

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SCHEMA_FIELDS",
    "LmrHeader",
    "header_to_metadata",
    "header_from_schema",
    "make_schema",
    "nominal_tick_offsets",
    "tick_anchor_mask",
    "expand_ticks",
    "datetime_to_ns",
]

#: Value of the ``lmr.format`` key; readers refuse any other.
FORMAT_NAME = "lmdetect-recording"

#: Major version of the format. Readers refuse files with a larger major version.
FORMAT_VERSION: int = 1

#: Columns of every record batch, in order. ``tick`` is null on rows whose tick follows from the
#: previous non-null tick by the nominal sample spacing (see :func:`expand_ticks`); ``host_ns`` is
#: null where the receive time is unknown. All other columns are never null.
SCHEMA_FIELDS: tuple[pa.Field, ...] = (
    pa.field("x", pa.int16(), nullable=False),
    pa.field("y", pa.int16(), nullable=False),
    pa.field("z", pa.int16(), nullable=False),
    pa.field("seq", pa.int64(), nullable=False),
    pa.field("tick", pa.int64(), nullable=True),
    pa.field("host_ns", pa.int64(), nullable=True),
    pa.field("flags", pa.uint8(), nullable=False),
)

_RESERVED_PREFIXES = ("lmr.", "ARROW:")
_REQUIRED_KEYS = ("lmr.start", "lmr.fs_hz", "lmr.tick_hz", "lmr.scale_g")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

PathArg = str | os.PathLike[str] | None


@dataclasses.dataclass(frozen=True)
class LmrHeader:
    """The header of a ``.lmr`` recording (stored as Arrow schema metadata).

    Parameters
    ----------
    fs : float
        Nominal sampling rate in Hz.
    start : datetime
        Timezone-aware time of the first sample.
    tick_hz : float
        Sensor clock ticks per second (32768 for the reference firmware; 1e6 for data converted
        from per-sample times).
    scale_g : float
        Acceleration in g per count: ``g = count * scale_g``.
    range_g : float or None
        Full-scale range of the sensor in g (e.g. 8 for +-8 g), None when unknown.
    device_id, side
        Sensor identity and the ankle it is worn on (one of ``lmdetect.model.SIDES``).
    sensor, firmware
        Sensor model and firmware revision, free text.
    meta : mapping of str to str
        Free user metadata. Keys must not start with ``lmr.`` or ``ARROW:``.
    """

    fs: float
    start: dt.datetime
    tick_hz: float
    scale_g: float
    range_g: float | None = None
    device_id: str = "unknown"
    side: str = "unknown"
    sensor: str = ""
    firmware: str = ""
    meta: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("fs", "tick_hz", "scale_g"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise ConfigError(f"LmrHeader.{name} must be a positive finite number, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.range_g is not None:
            if not (math.isfinite(self.range_g) and self.range_g > 0):
                raise ConfigError(f"LmrHeader.range_g must be positive or None, got {self.range_g!r}")
            object.__setattr__(self, "range_g", float(self.range_g))
        if not isinstance(self.start, dt.datetime) or self.start.utcoffset() is None:
            raise ConfigError("LmrHeader.start must be a timezone-aware datetime")
        if self.side not in SIDES:
            raise ConfigError(f"LmrHeader.side must be one of {SIDES}, got {self.side!r}")
        meta = dict(self.meta)
        for k, v in meta.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ConfigError(f"LmrHeader.meta must map str to str, got {k!r}: {v!r}")
            if k.startswith(_RESERVED_PREFIXES):
                raise ConfigError(f"LmrHeader.meta key {k!r} uses a reserved prefix (lmr. or ARROW:)")
        object.__setattr__(self, "meta", meta)
        for name in ("device_id", "sensor", "firmware"):
            object.__setattr__(self, name, str(getattr(self, name)))


def header_to_metadata(header: LmrHeader, *, absent: tuple[str, ...] = ()) -> dict[str, str]:
    """The schema metadata for ``header`` (all values are strings)."""
    md: dict[str, str] = {
        "lmr.format": FORMAT_NAME,
        "lmr.version": str(FORMAT_VERSION),
        "lmr.writer": f"lmdetect {__version__}",
        "lmr.start": header.start.isoformat(),
        "lmr.fs_hz": repr(header.fs),
        "lmr.tick_hz": repr(header.tick_hz),
        "lmr.scale_g": repr(header.scale_g),
        "lmr.device_id": header.device_id,
        "lmr.side": header.side,
        "lmr.sensor": header.sensor,
        "lmr.firmware": header.firmware,
    }
    if header.range_g is not None:
        md["lmr.range_g"] = repr(header.range_g)
    if isinstance(header.start.tzinfo, zoneinfo.ZoneInfo):
        # keeps a DST-aware zone across a round trip; the offset in lmr.start stays authoritative
        md["lmr.tz"] = header.start.tzinfo.key
    if absent:
        md["lmr.absent"] = ",".join(absent)
    md.update(header.meta)
    return md


def make_schema(metadata: Mapping[str, str]) -> pa.Schema:
    return pa.schema(list(SCHEMA_FIELDS), metadata=dict(metadata))


def _decode_metadata(schema: pa.Schema) -> dict[str, str]:
    raw = schema.metadata or {}
    out = {}
    for k, v in raw.items():
        out[k.decode("utf-8", "replace")] = v.decode("utf-8", "replace")
    return out


def _parse_float(path: PathArg, md: Mapping[str, str], key: str) -> float:
    try:
        v = float(md[key])
    except ValueError:
        raise FormatError(path, f"header key {key} is not a number: {md[key]!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise FormatError(path, f"header key {key} must be a positive number, got {md[key]!r}")
    return v


def header_from_schema(path: PathArg, schema: pa.Schema) -> tuple[LmrHeader, dict[str, str]]:
    """Check a stream's schema and decode the header.

    Returns the header and the ``lmr.*`` keys as stored (for status and provenance).

    Raises
    ------
    FormatError
        Not an lmdetect recording, a newer major version, a missing or malformed header key, or
        a missing column / wrong column type.
    """
    p = path
    md = _decode_metadata(schema)
    fmt = md.get("lmr.format")
    if fmt != FORMAT_NAME:
        what = "no lmr.format key" if fmt is None else f"lmr.format is {fmt!r}"
        raise FormatError(p, f"not an lmdetect recording ({what}; expected {FORMAT_NAME!r})")
    version = md.get("lmr.version", "")
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise FormatError(p, f"malformed format version {version!r}") from None
    if major > FORMAT_VERSION:
        raise FormatError(
            p,
            f"format version {version} is newer than this lmdetect supports ({FORMAT_VERSION}); "
            "upgrade lmdetect to read it",
        )
    if major < 1:
        raise FormatError(p, f"unsupported format version {version!r}")
    missing = [k for k in _REQUIRED_KEYS if k not in md]
    if missing:
        raise FormatError(p, f"header lacks {', '.join(missing)}")
    for f in SCHEMA_FIELDS:
        idx = schema.get_field_index(f.name)
        if idx < 0:
            raise FormatError(p, f"column {f.name!r} is missing")
        if schema.field(idx).type != f.type:
            raise FormatError(p, f"column {f.name!r} has type {schema.field(idx).type}, expected {f.type}")
    try:
        start = dt.datetime.fromisoformat(md["lmr.start"])
    except ValueError:
        raise FormatError(p, f"lmr.start is not an ISO 8601 time: {md['lmr.start']!r}") from None
    if start.utcoffset() is None:
        raise FormatError(p, f"lmr.start has no UTC offset: {md['lmr.start']!r}")
    tz_name = md.get("lmr.tz")
    if tz_name:
        try:
            zone = zoneinfo.ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is not None and start.astimezone(zone).utcoffset() == start.utcoffset():
            start = start.astimezone(zone)
    side = md.get("lmr.side", "unknown")
    if side not in SIDES:
        raise FormatError(p, f"lmr.side must be one of {SIDES}, got {side!r}")
    range_g = _parse_float(p, md, "lmr.range_g") if md.get("lmr.range_g") else None
    user = {k: v for k, v in md.items() if not k.startswith(_RESERVED_PREFIXES)}
    header = LmrHeader(
        fs=_parse_float(p, md, "lmr.fs_hz"),
        start=start,
        tick_hz=_parse_float(p, md, "lmr.tick_hz"),
        scale_g=_parse_float(p, md, "lmr.scale_g"),
        range_g=range_g,
        device_id=md.get("lmr.device_id", "unknown"),
        side=side,
        sensor=md.get("lmr.sensor", ""),
        firmware=md.get("lmr.firmware", ""),
        meta=user,
    )
    return header, {k: v for k, v in md.items() if k.startswith("lmr.")}


# ---------------------------------------------------------------------------------- tick rule
def nominal_tick_offsets(k: NDArray[np.int64] | int, tick_hz: float, fs: float) -> NDArray[np.int64]:
    """Ticks from an anchor sample to the sample ``k`` rows later: ``floor(k * tick_hz / fs + 0.5)``.

    Evaluated in IEEE double precision, multiplication first; writer and reader must use exactly
    this expression so that rows whose tick is left null decode to the tick that was written.
    """
    kk = np.asarray(k, dtype=np.float64)
    return np.floor(kk * tick_hz / fs + 0.5).astype(np.int64)


def expand_ticks(
    ticks: NDArray[np.int64], valid: NDArray[np.bool_], tick_hz: float, fs: float
) -> NDArray[np.int64]:
    """Per-sample ticks from a column whose null rows follow the nominal spacing.

    Row ``i`` with a null tick gets ``tick[a] + nominal_tick_offsets(i - a)`` where ``a`` is the
    nearest row at or before ``i`` with a non-null tick. ``valid[0]`` must be True.
    """
    n = ticks.shape[0]
    if n == 0:
        return ticks.astype(np.int64)
    idx = np.arange(n, dtype=np.int64)
    anchor = np.maximum.accumulate(np.where(valid, idx, 0))
    return ticks[anchor] + nominal_tick_offsets(idx - anchor, tick_hz, fs)


def tick_anchor_mask(
    ticks: NDArray[np.int64], run_start: NDArray[np.bool_], tick_hz: float, fs: float
) -> NDArray[np.bool_]:
    """Rows whose tick must be stored so that :func:`expand_ticks` reproduces ``ticks`` exactly.

    ``run_start`` marks rows that always store their tick (the first sample of each packet and
    of each record batch). Other rows are stored only where the tick deviates from the nominal
    continuation. Each pass adds the first deviating row of every run; a run still deviating
    after a few passes (irregular timing) stores every tick.
    """
    n = ticks.shape[0]
    valid = np.asarray(run_start, dtype=bool).copy()
    if n == 0:
        return valid
    valid[0] = True
    idx = np.arange(n, dtype=np.int64)
    for _ in range(16):
        anchor = np.maximum.accumulate(np.where(valid, idx, 0))
        dev = (ticks[anchor] + nominal_tick_offsets(idx - anchor, tick_hz, fs)) != ticks
        if not dev.any():
            return valid
        dev_idx = np.flatnonzero(dev)
        a = anchor[dev_idx]
        first = np.r_[True, a[1:] != a[:-1]]
        valid[dev_idx[first]] = True
    # irregular timing: store every tick of the runs that still deviate
    anchor = np.maximum.accumulate(np.where(valid, idx, 0))
    dev = (ticks[anchor] + nominal_tick_offsets(idx - anchor, tick_hz, fs)) != ticks
    bad_runs = np.unique(anchor[dev])
    valid |= np.isin(anchor, bad_runs)
    return valid


def datetime_to_ns(t: dt.datetime) -> int:
    """Nanoseconds since the Unix epoch of a timezone-aware datetime, exactly."""
    d = t - _EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000
