"""EDF / EDF+ / BDF accelerometer channels (through edfio, the optional ``edf`` extra).

Reading picks three accelerometer signals: the ``channels=`` given, otherwise the signals whose
physical dimension is an acceleration (``g``, ``mg``, ``m/s^2``, ...) or whose label says ``acc``,
at one sampling rate, ordered x, y, z by their labels. Values are converted to g (1 g =
9.80665 m/s^2, the standard acceleration of gravity, 3rd CGPM 1901).

EDF stores the start as local wall time without a zone (EDF spec, Kemp et al., Electroenceph
Clin Neurophysiol 1992; EDF+, Kemp & Olivan, Clin Neurophysiol 2003). This module's writer adds
``utc=+hh:mm`` and ``tz=<IANA name>`` subfields to the EDF+ recording identification, which the
reader uses; for other files ``tz=`` applies the usual policy (:mod:`lmdetect.io._devicetime`).

Writing (EDF+C, or BDF+C for 24-bit): one signal per axis in g, labelled ``ACC X ankle-L`` (an EDF
label has 16 characters; the transducer field spells out "accelerometer, left ankle"), on a
uniform grid at the nominal rate. Samples already on that grid (a sensor clock) are written as
they are; otherwise they are linearly interpolated onto it within continuous stretches. EDF+C
cannot leave holes, so gaps are written as zeros and marked with ``recording/gap`` annotations
(onset, duration); the reader drops the samples under those annotations again, so a gap stays a
gap and never becomes data. Discontinuous EDF+D files are not read.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import __version__
from .._atomic import atomic_path
from ..errors import FormatError, LmdetectError
from ..model import Recording, Side
from ._devicetime import device_start, file_zone, parse_offset, side_from_text
from ._edfheader import equipment_code
from ._guard import guarded
from ._registry import register_reader, register_writer
from ._units import to_g_factor

__all__ = ["read_edf", "write_edf", "write_bdf", "GAP_ANNOTATION"]

log = logging.getLogger(__name__)

#: Annotation text that marks samples which are not data (a gap padded to keep EDF+C continuous).
GAP_ANNOTATION = "recording/gap"

_SIDE_CODE = {"left": "L", "right": "R", "both": "B"}
_AXIS_RE = re.compile(r"(?:^|[^a-z])([xyz])(?:[^a-z]|$)", re.IGNORECASE)


def _edfio() -> ModuleType:
    try:
        import edfio
    except ImportError:  # pragma: no cover - depends on the installation
        raise LmdetectError("EDF/BDF needs the optional 'edf' extra: pip install 'lmdetect[edf]'") from None
    return edfio


# ----------------------------------------------------------------------------- reading
def _is_bdf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(1) == b"\xff"


def _accel_candidates(signals: Sequence[Any]) -> list[int]:
    out = []
    for i, s in enumerate(signals):
        label = s.label.strip().lower()
        if label.startswith("edf annotations") or label.startswith("bdf annotations"):
            continue
        if to_g_factor(s.physical_dimension) is not None or "acc" in label:
            out.append(i)
    return out


def _axis_of(label: str) -> str | None:
    m = _AXIS_RE.search(label.replace("_", " ").replace("-", " "))
    return m.group(1).lower() if m else None


def _pick_channels(
    path: Path, signals: Sequence[Any], channels: Sequence[str] | None, side: str | None
) -> list[int]:
    labels = [s.label.strip() for s in signals]
    if channels is not None:
        if len(channels) != 3:
            raise FormatError(path, f"channels= needs three labels (x, y, z), got {len(channels)}")
        idx = []
        for name in channels:
            hits = [i for i, lab in enumerate(labels) if lab == name.strip()]
            if not hits:
                raise FormatError(path, f"no signal labelled {name!r}; signals are {', '.join(labels)}")
            idx.append(hits[0])
        return idx
    cand = _accel_candidates(signals)
    if side is not None:
        suffix = "-" + _SIDE_CODE.get(side, side[:1].upper())
        cand = [
            i for i in cand if side_from_text(_site_text(signals[i])) == side or labels[i].endswith(suffix)
        ]
    groups: dict[float, list[int]] = {}
    for i in cand:
        groups.setdefault(float(signals[i].sampling_frequency), []).append(i)
    triples = [g for g in groups.values() if len(g) == 3]
    crowded = [g for g in groups.values() if len(g) > 3]
    if len(triples) == 1 and not crowded:
        pick = triples[0]
    else:
        found = ", ".join(labels[i] for i in cand) or "none"
        raise FormatError(
            path,
            f"cannot tell which three signals are the ankle accelerometer (acceleration signals: {found}); "
            "pass channels=(x, y, z) or side=",
        )
    axes = [_axis_of(labels[i]) for i in pick]
    if sorted(a for a in axes if a) == ["x", "y", "z"]:
        pick = [pick[axes.index(a)] for a in "xyz"]
    return pick


def _site_text(signal: Any) -> str:
    return f"{signal.label} {signal.transducer_type}"


@guarded("EDF/BDF")
def read_edf(
    path: str | os.PathLike[str],
    *,
    tz: str | dt.tzinfo | None = None,
    channels: Sequence[str] | None = None,
    side: str | None = None,
) -> Recording:
    """Read three accelerometer signals of an EDF, EDF+ or BDF file.

    Parameters
    ----------
    path
        ``.edf`` or ``.bdf`` file.
    tz
        Zone of the EDF start time when the file does not state it (see module notes).
    channels
        Labels of the x, y and z signals; by default they are recognised by unit or label.
    side
        ``"left"`` or ``"right"`` to choose one ankle when the file holds both.

    Returns
    -------
    Recording
        Acceleration in g on the file's uniform grid, with ``recording/gap`` stretches removed.
    """
    path = Path(path)
    edfio = _edfio()
    try:
        bdf = _is_bdf(path)
        edf = edfio.read_bdf(path) if bdf else edfio.read_edf(path, lazy_load_data=False)
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # edfio raises ValueError, IndexError, UnicodeDecodeError... on bad files
        kind = "BDF" if path.suffix.lower() == ".bdf" else "EDF"
        raise FormatError(path, f"not a readable {kind} file: {exc}") from None
    if str(edf.reserved).startswith(("EDF+D", "BDF+D")):
        raise FormatError(path, "discontinuous EDF+D/BDF+D files are not supported (convert to EDF+C first)")
    signals = list(edf.signals)
    pick = _pick_channels(path, signals, channels, side)
    fs = float(signals[pick[0]].sampling_frequency)
    columns = []
    for i in pick:
        s = signals[i]
        factor = to_g_factor(s.physical_dimension)
        if factor is None:
            raise FormatError(
                path,
                f"signal {s.label.strip()!r} is in {s.physical_dimension!r}, "
                "not an acceleration unit (g, mg, m/s^2)",
            )
        if float(s.sampling_frequency) != fs:
            raise FormatError(path, "the chosen accelerometer signals have different sampling rates")
        columns.append(np.asarray(s.data, dtype=np.float64) * factor)
    n = min(c.size for c in columns)
    if n == 0:
        raise FormatError(path, "the accelerometer signals hold no samples")
    accel = np.stack([c[:n] for c in columns], axis=1).astype(np.float32)
    time_s = np.arange(n, dtype=np.float64) / fs
    keep = np.ones(n, dtype=bool)
    n_gap = 0
    for ann in edf.annotations:
        if ann.text.strip() == GAP_ANNOTATION and ann.duration:
            keep &= ~((time_s >= ann.onset - 0.5 / fs) & (time_s < ann.onset + ann.duration - 0.5 / fs))
            n_gap += 1
    if not keep.any():
        raise FormatError(path, "every sample lies inside a recording/gap annotation")
    accel, time_s = accel[keep], time_s[keep]

    fields = _recording_fields(edf)
    file_offset = parse_offset(fields["utc"]) if "utc" in fields else None
    zone = tz if tz is not None else file_zone(path, fields.get("tz"))
    first_local = _start(path, edf) + dt.timedelta(seconds=float(time_s[0]))
    start, tmeta = device_start(path, first_local, tz=zone, file_offset=file_offset)
    time_s = time_s - time_s[0]
    labels = [signals[i].label.strip() for i in pick]
    site = " ".join(_site_text(signals[i]) for i in pick)
    equipment = fields.get("equipment", "")
    meta = {
        "source_format": "bdf" if bdf else "edf",
        "source_file": path.name,
        "channels": ",".join(labels),
        "n_gap_annotations": str(n_gap),
        **tmeta,
    }
    return Recording(
        accel_g=accel,
        time_s=time_s,
        fs=fs,
        start=start,
        device_id=equipment if equipment and equipment != "X" else "unknown",
        side=side_from_text(side) if side else _side_of(site),
        range_g=_range_of(signals[pick[0]]),
        meta=meta,
    )


def _start(path: Path, edf: Any) -> dt.datetime:
    """Local start date and time; an anonymised EDF+ date falls back to the header's legacy field."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            start = edf.startdatetime.replace(tzinfo=None)
        except ValueError as exc:  # edfio's AnonymizedDateError is a ValueError
            with open(path, "rb") as fh:
                head = fh.read(184)
            try:
                day, month, yy = (int(x) for x in head[168:176].decode("ascii").split("."))
                year = 1900 + yy if yy >= 85 else 2000 + yy  # EDF: years 1985-2084
                start = dt.datetime.combine(dt.date(year, month, day), edf.starttime)
            except ValueError:
                raise FormatError(path, f"no usable start date: {exc}") from None
            log.warning("%s: %s; using the header's legacy start date %s", path, exc, start.date())
    for w in caught:
        log.warning("%s: %s", path, w.message)
    return start


def _side_of(text: str) -> Side:
    s = side_from_text(text)
    if s != "unknown":
        return s
    sides: tuple[Side, ...] = ("left", "right", "both")
    for side in sides:
        if re.search(rf"ankle-{_SIDE_CODE[side]}\b", text):
            return side
    return "unknown"


def _range_of(signal: Any) -> float | None:
    factor = to_g_factor(signal.physical_dimension) or 1.0
    lo, hi = signal.physical_min * factor, signal.physical_max * factor
    return float(max(abs(lo), abs(hi))) if np.isfinite([lo, hi]).all() else None


def _recording_fields(edf: Any) -> dict[str, str]:
    """``tz``/``utc`` subfields and the equipment code of an EDF+ recording identification."""
    out: dict[str, str] = {}
    try:
        rec = edf.recording
    except Exception:  # plain EDF: no EDF+ recording subfields
        return out
    out["equipment"] = str(rec.equipment_code)
    for item in rec.additional:
        key, sep, value = str(item).partition("=")
        if sep and key in ("tz", "utc"):
            out[key] = value
    return out


# ----------------------------------------------------------------------------- writing
def _on_grid(time_s: NDArray[np.float64], fs: float) -> NDArray[np.int64] | None:
    """Grid index of every sample when all samples sit on the nominal grid (within 1 % of a period)."""
    rel = (time_s - time_s[0]) * fs
    idx = np.rint(rel).astype(np.int64)
    if np.abs(rel - idx).max() > 0.01 or (np.diff(idx) <= 0).any():
        return None
    return idx


def _to_grid(rec: Recording) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Samples on the uniform grid ``time_s[0] + k / fs``: values (m, 3) and a validity mask."""
    fs, t = rec.fs, rec.time_s
    idx = _on_grid(t, fs)
    if idx is not None:
        m = int(idx[-1]) + 1
        values = np.zeros((m, 3))
        valid = np.zeros(m, dtype=bool)
        values[idx] = rec.accel_g
        valid[idx] = True
        return values, valid
    log.info("samples are not on a %g Hz grid (effective rate %.4f Hz): interpolating", fs, rec.fs_effective)
    m = int(np.floor((t[-1] - t[0]) * fs + 1e-9)) + 1
    grid = t[0] + np.arange(m) / fs
    j = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 1)
    step_ok = np.append(np.diff(t) <= 1.5 / fs, False)
    valid = step_ok[j] | np.isclose(grid, t[j], rtol=0, atol=1e-9)
    values = np.zeros((m, 3))
    for axis in range(3):
        values[valid, axis] = np.interp(grid[valid], t, rec.accel_g[:, axis].astype(np.float64))
    return values, valid


def _record_duration(fs: float) -> float:
    for d in (1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 100):
        if abs(fs * d - round(fs * d)) < 1e-9:
            return float(d)
    raise LmdetectError(f"an EDF data record cannot hold a whole number of samples at {fs:g} Hz")


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _write(recording: Recording, path: str | os.PathLike[str], *, bdf: bool) -> None:
    edfio = _edfio()
    path = Path(path)
    if recording.n_samples == 0:
        raise LmdetectError(f"{path}: nothing to write, the recording has no samples")
    fs = recording.fs
    values, valid = _to_grid(recording)
    d = _record_duration(fs)
    per_record = int(round(fs * d))
    m = values.shape[0]
    total = -(-m // per_record) * per_record
    if total > m:  # pad the last data record; the padding is marked as a gap
        values = np.vstack([values, np.zeros((total - m, 3))])
        valid = np.append(valid, np.zeros(total - m, dtype=bool))
    peak = float(np.abs(values).max()) if values.size else 1.0
    range_g = recording.range_g
    covers = range_g is not None and range_g >= peak
    limit = range_g if range_g is not None and covers else max(np.ceil(peak * 1.01), 1.0)
    side = recording.side
    code = _SIDE_CODE.get(side)
    site = f"ankle-{code}" if code else "ankle"
    transducer = f"accelerometer, {side} ankle" if code else "accelerometer, ankle"
    signal_cls = edfio.BdfSignal if bdf else edfio.EdfSignal
    digital = (-8388608, 8388607) if bdf else (-32768, 32767)
    signals = [
        signal_cls(
            values[:, a],
            fs,
            label=f"ACC {axis} {site}",
            transducer_type=transducer,
            physical_dimension="g",
            physical_range=(-float(limit), float(limit)),
            digital_range=digital,
        )
        for a, axis in enumerate("XYZ")
    ]
    annotations = [edfio.EdfAnnotation(a / fs, (b - a) / fs, GAP_ANNOTATION) for a, b in _runs(~valid)]
    source = recording.meta.get("source_sha256")
    if source:
        text = f"lmdetect {__version__} source sha256={source}"
        annotations.insert(0, edfio.EdfAnnotation(0.0, None, text))
    start = recording.start
    offset = start.utcoffset() or dt.timedelta(0)
    total_s = int(offset.total_seconds())
    utc = f"{'-' if total_s < 0 else '+'}{abs(total_s) // 3600:02d}:{abs(total_s) % 3600 // 60:02d}"
    extra = [f"utc={utc}"]
    zone = getattr(start.tzinfo, "key", None)
    if zone:
        extra.append(f"tz={zone}")
    # EDF+ recording field: 80 characters for "Startdate dd-MMM-yyyy X X <equipment> <extra...>"
    room = 80 - len("Startdate 01-JAN-2000 X X ") - len(" ".join(extra)) - 1
    equipment = equipment_code(path, recording.device_id, max(room, 1))
    rec_id = edfio.Recording(startdate=start.date(), equipment_code=equipment, additional=tuple(extra))
    cls = edfio.Bdf if bdf else edfio.Edf
    edf = cls(
        signals,
        recording=rec_id,
        starttime=start.time().replace(tzinfo=None),
        data_record_duration=d,
        annotations=annotations,
    )
    with atomic_path(path) as tmp:
        edf.write(tmp)


def write_edf(recording: Recording, path: str | os.PathLike[str]) -> None:
    """Write ``recording`` as EDF+C: 16-bit, three signals in g (see the module notes)."""
    _write(recording, path, bdf=False)


def write_bdf(recording: Recording, path: str | os.PathLike[str]) -> None:
    """Write ``recording`` as BDF+C: like :func:`write_edf` with 24-bit samples."""
    _write(recording, path, bdf=True)


register_reader(".edf", "EDF/EDF+", read_edf)
register_reader(".bdf", "BDF/BDF+", read_edf)
register_writer(".edf", "EDF+", write_edf)
register_writer(".bdf", "BDF+", write_bdf)
