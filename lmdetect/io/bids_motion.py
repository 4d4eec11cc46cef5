"""BIDS-motion recordings: ``*_motion.tsv`` with ``*_motion.json`` and ``*_channels.tsv``.

Follows the Motion-BIDS specification (Jeung S, Cockx H, Appelhoff S, et al. "Motion-BIDS:
an extension to the brain imaging data structure to organize motion data for reproducible
research", Scientific Data 2024; bids-specification ``modality-specific-files/motion.md``):

* ``sub-<label>[_ses-<label>]_task-<label>_tracksys-<label>_motion.tsv``: one column per channel,
  **no header row**, ``n/a`` for missing values;
* ``..._channels.tsv``: one row per column, with the required columns ``name``, ``component``
  (x, y, z, n/a), ``type`` (``ACCEL``, ``LATENCY``, ...), ``tracked_point`` and ``units``;
* ``..._motion.json``: ``SamplingFrequency`` and ``TrackingSystemName`` and ``TaskName``
  (required), ``SamplingFrequencyEffective``, ``ACCELChannelCount``, ``RecordingDuration`` ...;
* the absolute start is the ``acq_time`` of the file's row in ``*_scans.tsv`` (BIDS date time:
  ``YYYY-MM-DDThh:mm:ss[.000000][Z]``; with ``Z`` it is UTC, without it local time).

A ``LATENCY`` channel ("latency of samples in seconds from recording onset", for systems with
uneven sampling) gives each sample's time; the writer adds it when the samples are not on the
nominal grid or the recording has gaps, so gaps stay gaps. Acceleration is written in ``m/s^2``
(1 g = 9.80665 m/s^2): in the CMIXF units BIDS uses, ``g`` would mean gram.

The writer also stores an ``lmdetect`` object in the JSON sidecar (zone name, device id, side,
provenance), which BIDS allows as an extra field, and adds or updates the row of the file in the
``*_scans.tsv`` of the subject/session folder (the parent of ``motion/``, else the file's folder).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .. import __version__
from .._atomic import atomic_path
from ..errors import FormatError, LmdetectError
from ..model import Recording
from ._devicetime import device_start, file_zone, side_from_text
from ._guard import guarded
from ._registry import register_reader, register_writer
from ._units import STANDARD_GRAVITY_MS2, to_g_factor

__all__ = ["read_bids_motion", "write_bids_motion", "sidecar_paths"]

log = logging.getLogger(__name__)

SUFFIX = "_motion.tsv"
_CHANNEL_COLUMNS = ("name", "component", "type", "tracked_point", "units")
_ACQ_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z?)$")
_TRACKED_POINT = {"left": "LeftAnkle", "right": "RightAnkle", "both": "Ankles", "unknown": "Ankle"}


def sidecar_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The ``_motion.json`` and ``_channels.tsv`` that belong to a ``_motion.tsv``."""
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        raise LmdetectError(f"{path}: a BIDS motion file name ends in {SUFFIX}")
    stem = path.name[: -len(SUFFIX)]
    return path.with_name(stem + "_motion.json"), path.with_name(stem + "_channels.tsv")


def _entities(name: str) -> dict[str, str]:
    return dict(part.split("-", 1) for part in name.split("_") if "-" in part)


# ----------------------------------------------------------------------------- reading
def _read_channels(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise FormatError(path, "the channels table of the motion file is missing") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FormatError(path, f"not a readable TSV table: {exc}") from None
    missing = [c for c in _CHANNEL_COLUMNS if c not in table.columns]
    if missing:
        raise FormatError(path, f"missing required column(s) {', '.join(missing)}", line=1)
    return table


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(path, "the JSON sidecar of the motion file is missing") from None
    except json.JSONDecodeError as exc:
        raise FormatError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise FormatError(path, f"not UTF-8 text ({exc.reason})", offset=exc.start) from None
    if not isinstance(data, dict):
        raise FormatError(path, "the sidecar is not a JSON object")
    fs = data.get("SamplingFrequency")
    if not isinstance(fs, (int, float)) or isinstance(fs, bool) or not fs > 0:
        raise FormatError(path, f"SamplingFrequency must be a positive number, got {fs!r}")
    return data


def _read_values(path: Path, n_columns: int) -> np.ndarray:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise FormatError(path, "the motion file holds no samples")
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == ord("\n"))
    if ends.size == 0 or ends[-1] != arr.size - 1:
        ends = np.append(ends, arr.size)  # the last line lacks its newline
    tab_line = np.searchsorted(ends, np.flatnonzero(arr == ord("\t")))
    per_line = np.bincount(tab_line, minlength=ends.size)[: ends.size]
    bad = np.flatnonzero(per_line != n_columns - 1)
    if bad.size:
        i = int(bad[0])
        raise FormatError(
            path,
            f"{int(per_line[i]) + 1} values where the channels table lists {n_columns} columns"
            + (" (the file is cut short)" if i == per_line.size - 1 else ""),
            line=i + 1,
        )
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(
                null_values=["n/a", "NaN", "nan"],
                column_types={f"f{i}": pa.float64() for i in range(n_columns)},
            ),
        )
    except pa.ArrowInvalid as exc:
        raise FormatError(path, f"a value is not a number: {exc}") from None
    columns = [table.column(i).to_numpy(zero_copy_only=False) for i in range(n_columns)]
    return np.column_stack(columns).astype(np.float64)


def _acq_time(path: Path) -> tuple[str, Path] | None:
    """``acq_time`` of ``path`` from the nearest ``*_scans.tsv`` up to three folders above."""
    for folder in list(path.parents)[:3]:
        for scans in sorted(folder.glob("*scans.tsv")):
            rel = path.relative_to(folder).as_posix()
            try:
                table = pd.read_csv(scans, sep="\t", dtype=str, keep_default_na=False)
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise FormatError(scans, f"not a readable TSV table: {exc}") from None
            if "filename" not in table.columns or "acq_time" not in table.columns:
                continue
            rows = table.loc[table["filename"] == rel, "acq_time"]
            if len(rows) and rows.iloc[0] not in ("", "n/a"):
                return str(rows.iloc[0]), scans
    return None


@guarded("BIDS-motion")
def read_bids_motion(
    path: str | os.PathLike[str],
    *,
    tz: str | dt.tzinfo | None = None,
    tracked_point: str | None = None,
    start: str | dt.datetime | None = None,
) -> Recording:
    """Read the accelerometer channels of a BIDS ``*_motion.tsv`` recording.

    Parameters
    ----------
    path
        The ``*_motion.tsv`` file; its ``_motion.json`` and ``_channels.tsv`` must sit beside it.
    tz
        Zone of an ``acq_time`` written without ``Z`` (local time); also the zone the start is
        expressed in.
    tracked_point
        Which tracked point's ACCEL x/y/z to read when there are several.
    start
        Start of the recording (ISO text or datetime) when no ``*_scans.tsv`` gives ``acq_time``.

    Returns
    -------
    Recording
        Acceleration in g. Rows with ``n/a`` in an acceleration column are missing samples (gaps).
    """
    path = Path(path)
    json_path, channels_path = sidecar_paths(path)
    if not path.exists():
        raise FormatError(path, "file not found")
    channels = _read_channels(channels_path)
    sidecar = _read_json(json_path)
    fs = float(sidecar["SamplingFrequency"])
    stored = sidecar.get("lmdetect")
    extra: dict[str, Any] = stored if isinstance(stored, dict) else {}

    kind = channels["type"].str.upper()
    accel_rows = channels[kind == "ACCEL"]
    points = sorted(set(accel_rows["tracked_point"]))
    if tracked_point is not None:
        accel_rows = accel_rows[accel_rows["tracked_point"] == tracked_point]
        if accel_rows.empty:
            known = ", ".join(points) or "none"
            msg = f"no ACCEL channels for tracked point {tracked_point!r}; tracked points: {known}"
            raise FormatError(channels_path, msg)
    elif len(points) > 1:
        known = ", ".join(points)
        msg = f"ACCEL channels of several tracked points ({known}); pass tracked_point="
        raise FormatError(channels_path, msg)
    comps = accel_rows["component"].str.lower().tolist()
    if sorted(comps) != ["x", "y", "z"]:
        found = comps or "none"
        raise FormatError(channels_path, f"expected ACCEL channels with components x, y, z; found {found}")
    cols = [int(accel_rows.index[comps.index(a)]) for a in "xyz"]
    factors = []
    for c in cols:
        unit = str(channels.loc[c, "units"])
        f = to_g_factor(unit)
        if f is None:
            name = channels.loc[c, "name"]
            msg = f"channel {name!r} is in {unit!r}, not an acceleration unit"
            raise FormatError(channels_path, msg, line=c + 2)
        factors.append(f)
    latency_rows = channels.index[kind == "LATENCY"].tolist()

    values = _read_values(path, len(channels))
    accel = values[:, cols] * np.array(factors)
    if latency_rows:
        latency = values[:, latency_rows[0]]
    else:
        latency = np.arange(values.shape[0], dtype=np.float64) / fs
    keep = np.isfinite(accel).all(axis=1) & np.isfinite(latency)
    if not keep.any():
        raise FormatError(path, "no complete acceleration sample")
    accel, latency = accel[keep], latency[keep]
    step = np.diff(latency)
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise FormatError(path, "LATENCY does not increase", line=int(np.flatnonzero(keep)[i]) + 1)

    zone = tz if tz is not None else file_zone(path, extra.get("time_zone"))
    found = _acq_time(path)
    if found is not None:
        text, scans = found
        m = _ACQ_TIME.match(text.strip())
        if not m:
            raise FormatError(
                scans, f"acq_time {text!r} is not a BIDS date time (YYYY-MM-DDThh:mm:ss[.000000][Z])"
            )
        onset = dt.datetime.fromisoformat(m.group(1))
        offset = dt.timedelta(0) if m.group(2) == "Z" else None
    elif start is not None:
        given = start if isinstance(start, dt.datetime) else dt.datetime.fromisoformat(str(start))
        offset = given.utcoffset()
        onset = given.replace(tzinfo=None)
    else:
        raise FormatError(
            path, "no acq_time for this file in a *_scans.tsv and no start= given: the start time is unknown"
        )
    first_local = onset + dt.timedelta(seconds=float(latency[0]))
    start_dt, tmeta = device_start(path, first_local, tz=zone, file_offset=offset)

    point = str(accel_rows["tracked_point"].iloc[0])
    meta = {
        "source_format": "bids-motion",
        "source_file": path.name,
        "tracked_point": point,
        **tmeta,
    }
    for key in ("Manufacturer", "ManufacturersModelName", "TaskName", "TrackingSystemName"):
        if sidecar.get(key):
            meta[key] = str(sidecar[key])
    for key, value in extra.get("meta", {}).items():
        meta.setdefault(str(key), str(value))
    device = extra.get("device_id") or sidecar.get("DeviceSerialNumber") or "unknown"
    stored_side = extra.get("side")
    side = stored_side if stored_side in ("left", "right", "both", "unknown") else side_from_text(point)
    return Recording(
        accel_g=accel.astype(np.float32),
        time_s=latency - latency[0],
        fs=fs,
        start=start_dt,
        device_id=str(device),
        side=side,
        range_g=extra.get("range_g"),
        meta=meta,
    )


# ----------------------------------------------------------------------------- writing
def _needs_latency(rec: Recording) -> bool:
    rel = (rec.time_s - rec.time_s[0]) * rec.fs
    return bool(np.abs(rel - np.arange(rec.n_samples)).max() > 0.01)


def _scans_target(path: Path) -> tuple[Path, str]:
    folder = path.parent.parent if path.parent.name == "motion" else path.parent
    ent = _entities(path.name)
    prefix = "_".join(f"{k}-{ent[k]}" for k in ("sub", "ses") if k in ent)
    return folder / (f"{prefix}_scans.tsv" if prefix else "scans.tsv"), path.relative_to(folder).as_posix()


def write_bids_motion(recording: Recording, path: str | os.PathLike[str], *, task: str | None = None) -> None:
    """Write ``recording`` as a BIDS-motion tracking system (see the module notes).

    Parameters
    ----------
    recording
        The recording.
    path
        ``sub-<label>[_ses-<label>]_task-<label>_tracksys-<label>_motion.tsv``.
    task
        ``TaskName``; by default the ``task`` entity of the file name, else ``"sleep"``.
    """
    path = Path(path)
    json_path, channels_path = sidecar_paths(path)
    if recording.n_samples == 0:
        raise LmdetectError(f"{path}: nothing to write, the recording has no samples")
    ent = _entities(path.name)
    if "sub" not in ent or "tracksys" not in ent:
        log.warning("%s: not a BIDS name (sub-<label>_task-<label>_tracksys-<label>_motion.tsv)", path)
    task_name = task or ent.get("task", "sleep")
    latency = _needs_latency(recording)
    point = _TRACKED_POINT[recording.side]

    ms2 = np.round(recording.accel_g.astype(np.float64) * STANDARD_GRAVITY_MS2, 6)
    columns = {f"f{i}": ms2[:, i] for i in range(3)}
    names = ["acc_x", "acc_y", "acc_z"]
    rows = [(n, c, "ACCEL", point, "m/s^2") for n, c in zip(names, "xyz", strict=True)]
    if latency:
        columns["f3"] = np.round(recording.time_s - recording.time_s[0], 6)
        rows.append(("latency", "n/a", "LATENCY", "n/a", "s"))
    table = pa.table(columns)
    channel_tsv = "\t".join(_CHANNEL_COLUMNS) + "\n" + "".join("\t".join(r) + "\n" for r in rows)

    sidecar: dict[str, Any] = {
        "TaskName": task_name,
        "TrackingSystemName": ent.get("tracksys", "IMU"),
        "SamplingFrequency": recording.fs,
        "SamplingFrequencyEffective": round(recording.fs_effective, 6),
        "RecordingDuration": round(recording.duration_s, 6),
        "MotionChannelCount": len(rows),
        "ACCELChannelCount": 3,
        "TrackedPointsCount": 1,
        "MissingValues": "n/a",
        "SoftwareVersions": f"lmdetect {__version__}",
    }
    if latency:
        sidecar["LATENCYChannelCount"] = 1
    if recording.meta.get("device_model"):
        sidecar["ManufacturersModelName"] = recording.meta["device_model"]
    if recording.device_id != "unknown":
        sidecar["DeviceSerialNumber"] = recording.device_id
    zone = recording.start.tzinfo
    sidecar["lmdetect"] = {
        "time_zone": getattr(zone, "key", None) or recording.start.strftime("%z") or "UTC",
        "device_id": recording.device_id,
        "side": recording.side,
        "range_g": recording.range_g,
        "meta": dict(recording.meta),
    }

    scans_path, rel = _scans_target(path)
    utc_start = recording.start.astimezone(dt.UTC).replace(tzinfo=None)
    acq = utc_start.isoformat(timespec="microseconds") + "Z"
    if scans_path.exists():
        scans = pd.read_csv(scans_path, sep="\t", dtype=str, keep_default_na=False)
        if "filename" not in scans.columns:
            raise FormatError(scans_path, "a scans table needs a 'filename' column", line=1)
        if "acq_time" not in scans.columns:
            scans["acq_time"] = "n/a"
        scans = scans[scans["filename"] != rel]
        row = pd.DataFrame({"filename": [rel], "acq_time": [acq]})
        scans = pd.concat([scans, row], ignore_index=True).fillna("n/a")
    else:
        scans = pd.DataFrame({"filename": [rel], "acq_time": [acq]})

    with contextlib.ExitStack() as stack:
        tmp_tsv = stack.enter_context(atomic_path(path))
        tmp_json = stack.enter_context(atomic_path(json_path))
        tmp_channels = stack.enter_context(atomic_path(channels_path))
        tmp_scans = stack.enter_context(atomic_path(scans_path))
        pacsv.write_csv(
            table,
            tmp_tsv,
            write_options=pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"),
        )
        tmp_json.write_text(json.dumps(sidecar, indent=2, default=str) + "\n", encoding="utf-8")
        tmp_channels.write_text(channel_tsv, encoding="utf-8")
        tmp_scans.write_text(scans.to_csv(sep="\t", index=False, lineterminator="\n"), encoding="utf-8")


register_reader(SUFFIX, "BIDS motion", read_bids_motion)
register_writer(SUFFIX, "BIDS motion", write_bids_motion)
