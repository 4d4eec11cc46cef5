"""GENEActiv ``.bin`` files (Activinsights GENEActiv Original).

Layout (GENEActiv "Instructions for use", section "Binary file format", Activinsights; the same
facts drive GGIR's and scikit-digital-health's readers): a text file of ``key:value`` lines. A
header in sections ("Device Identity", "Configuration Info" with ``Measurement Frequency``,
``Start Time`` and ``Time Zone: GMT +hh:mm``, "Subject Info" with ``Device Location Code``,
"Calibration Data" with per-axis ``gain`` and ``offset``) is followed by pages of 10 lines:
``Recorded Data``, serial code, ``Sequence Number``, ``Page Time`` (``YYYY-MM-DD hh:mm:ss:mmm``,
the time of the page's first sample), unassigned, temperature, battery voltage, device status,
``Measurement Frequency``, then one line of 3600 hexadecimal digits: 300 samples of 48 bits
(x, y, z as 12-bit two's complement, 10-bit light, button, reserved).

Acceleration in g is ``(raw * 100 - offset) / gain`` per axis. Sample ``i`` of a page is at
``page_time + i / fs``. Should a page start before the previous page's last sample (a clock
step), it is moved to just after it and the adjustment is counted in
``meta["n_page_time_adjusted"]``, so times stay strictly increasing; any other step between pages
is a real gap.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._params import check_option
from ..errors import FormatError
from ..model import Recording
from ._devicetime import device_start, parse_offset, side_from_text
from ._guard import guarded
from ._registry import register_reader

__all__ = ["read_geneactiv", "SAMPLES_PER_PAGE"]

log = logging.getLogger(__name__)

SAMPLES_PER_PAGE = 300
_HEX_PER_SAMPLE = 12
_HEX_PER_PAGE = SAMPLES_PER_PAGE * _HEX_PER_SAMPLE
_PAGE_LINES = 10
_CHUNK_PAGES = 8192

_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
    _HEX[bytes([_c]).lower()[0]] = _i

_PAGE_TIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?::(\d{1,3}))?$")


def _parse_time(text: str) -> dt.datetime | None:
    m = _PAGE_TIME.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    ms = int((m.group(7) or "0").ljust(3, "0"))
    try:
        return dt.datetime(y, mo, d, h, mi, s, ms * 1000)
    except ValueError:
        return None


def _split(line: bytes) -> tuple[str, str]:
    key, _, value = line.decode("latin-1").partition(":")
    return key.strip(), value.strip().strip("\x00").strip()


@guarded("GENEActiv")
def read_geneactiv(
    path: str | os.PathLike[str],
    *,
    tz: str | dt.tzinfo | None = None,
    on_corrupt: str = "raise",
) -> Recording:
    """Read a GENEActiv ``.bin`` file.

    Parameters
    ----------
    path
        The ``.bin`` file.
    tz
        IANA zone to express the start in. The file's ``Time Zone`` field, when present, fixes
        the instant; without it ``tz`` gives the offset, else UTC is assumed with a warning.
    on_corrupt
        ``"raise"`` (default) or ``"skip"``: what to do with a page that is cut short or holds
        characters that are not hexadecimal digits (skipped pages become gaps, counted in
        ``meta["n_bad_pages"]``).

    Returns
    -------
    Recording
        Calibrated acceleration in g; light, temperature and the button are not kept.
    """
    path = Path(path)
    check_option("on_corrupt", on_corrupt, ("raise", "skip"))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
    if not lines or not lines[0].startswith(b"Device Identity"):
        raise FormatError(path, "not a GENEActiv .bin file: it does not start with 'Device Identity'", line=1)
    try:
        first_page = lines.index(b"Recorded Data")
    except ValueError:
        raise FormatError(path, "no 'Recorded Data' page: the file holds a header only") from None

    header: dict[str, str] = {}
    for ln in lines[:first_page]:
        if b":" in ln:
            key, value = _split(ln)
            header.setdefault(key, value)
    try:
        fs = float(header["Measurement Frequency"].split()[0])
        gain = np.array([float(header[f"{a} gain"]) for a in "xyz"])
        offset = np.array([float(header[f"{a} offset"]) for a in "xyz"])
    except (KeyError, ValueError, IndexError) as exc:
        what = f"a {exc.args[0]!r} field" if isinstance(exc, KeyError) else "valid numbers"
        raise FormatError(
            path, f"header lacks {what} (Measurement Frequency and x/y/z gain and offset are required)"
        ) from None
    if fs <= 0 or not (gain > 0).all():
        raise FormatError(path, "header holds a non-positive frequency or gain")

    # -- pages
    n_pages = (len(lines) - first_page) // _PAGE_LINES
    tail = (len(lines) - first_page) % _PAGE_LINES
    n_bad = 0
    if tail:
        msg = f"the last page is cut short after {tail} of {_PAGE_LINES} lines (truncated file)"
        if on_corrupt == "raise":
            raise FormatError(path, msg, line=first_page + n_pages * _PAGE_LINES + 1)
        log.warning("%s: %s; dropped", path, msg)
        n_bad += 1
    page_times: list[dt.datetime] = []
    hex_lines: list[bytes] = []
    for p in range(n_pages):
        base = first_page + p * _PAGE_LINES
        block = lines[base : base + _PAGE_LINES]
        problem = None
        if block[0] != b"Recorded Data":
            problem = (base + 1, "page does not start with 'Recorded Data'")
        else:
            fields = dict(_split(ln) for ln in block[1:9] if b":" in ln)
            t = _parse_time(fields.get("Page Time", ""))
            page_fs = fields.get("Measurement Frequency", "")
            if t is None:
                problem = (base + 4, f"page {p} has no valid 'Page Time' ({fields.get('Page Time', '')!r})")
            elif _to_float(page_fs) != fs:
                problem = (base + 9, f"page {p} is at {page_fs} Hz, the header says {fs:g} Hz")
            elif len(block[9]) != _HEX_PER_PAGE:
                got = f"{len(block[9])} of {_HEX_PER_PAGE}"
                problem = (base + 10, f"page {p} holds {got} hex digits (truncated or corrupt)")
            elif (_HEX[np.frombuffer(block[9], dtype=np.uint8)] == 255).any():
                problem = (base + 10, f"page {p} holds characters that are not hexadecimal digits")
        if problem is not None:
            if on_corrupt == "raise":
                raise FormatError(path, problem[1], line=problem[0])
            log.warning("%s, line %d: %s; page dropped", path, *problem)
            n_bad += 1
            continue
        page_times.append(t)  # type: ignore[arg-type]
        hex_lines.append(block[9])
    if not hex_lines:
        raise FormatError(path, "no readable pages")

    accel = _decode(hex_lines, gain, offset)

    # -- times: page time + i / fs, kept strictly increasing
    t0 = page_times[0]
    page_s = np.array([(t - t0).total_seconds() for t in page_times])
    page_len_s = SAMPLES_PER_PAGE / fs
    adjusted = 0
    for p in range(1, page_s.size):
        earliest = page_s[p - 1] + page_len_s
        if page_s[p] < earliest - 0.5 / fs:
            adjusted += 1
            page_s[p] = earliest
    if adjusted:
        log.warning("%s: %d page(s) started before the previous page ended; moved after it", path, adjusted)
    time_s = (page_s[:, None] + np.arange(SAMPLES_PER_PAGE)[None, :] / fs).ravel()

    zone_text = header.get("Time Zone", "")
    file_offset = parse_offset(zone_text) if zone_text else None
    start, tmeta = device_start(
        path, t0, tz=tz, file_offset=file_offset, clock_set=_parse_time(header.get("Config Time", ""))
    )
    location = header.get("Device Location Code", "")
    range_text = header.get("Accelerometer Range", "")
    range_g = _to_float(range_text.split("to")[-1]) if "to" in range_text else None
    serial = header.get("Device Unique Serial Code", "unknown")
    meta = {
        "source_format": "geneactiv",
        "source_file": path.name,
        "device_model": f"GENEActiv {header.get('Device Model', '')}".strip(),
        "firmware": header.get("Device Firmware Version", ""),
        "n_pages": str(len(hex_lines)),
        "n_bad_pages": str(n_bad),
        "n_page_time_adjusted": str(adjusted),
        **tmeta,
    }
    if location:
        meta["body_location"] = location
    if header.get("Extract Notes"):
        meta["extract_notes"] = header["Extract Notes"]
    return Recording(
        accel_g=accel,
        time_s=time_s,
        fs=fs,
        start=start,
        device_id=f"GENEActiv-{serial}",
        side=side_from_text(location),
        range_g=range_g,
        meta=meta,
    )


def _to_float(text: str) -> float | None:
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        return None


def _decode(
    hex_lines: list[bytes], gain: NDArray[np.float64], offset: NDArray[np.float64]
) -> NDArray[np.float32]:
    n = len(hex_lines) * SAMPLES_PER_PAGE
    out = np.empty((n, 3), dtype=np.float32)
    weights = np.array([256, 16, 1], dtype=np.int32)
    for c0 in range(0, len(hex_lines), _CHUNK_PAGES):
        chunk = b"".join(hex_lines[c0 : c0 + _CHUNK_PAGES])
        nib = _HEX[np.frombuffer(chunk, dtype=np.uint8)].reshape(-1, _HEX_PER_SAMPLE)[:, :9]
        raw = (nib.reshape(-1, 3, 3).astype(np.int32) * weights).sum(axis=2)
        raw = np.where(raw > 2047, raw - 4096, raw)
        s0 = c0 * SAMPLES_PER_PAGE
        out[s0 : s0 + raw.shape[0]] = (raw * 100.0 - offset) / gain
    return out


register_reader(".bin", "GENEActiv", read_geneactiv)
