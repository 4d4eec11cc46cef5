"""Seed files for every reader, a deterministic mutator, and the check of one reader run.

Used by ``tests/fuzz/test_fuzz_readers.py`` (a fixed budget in the normal test run) and by
``scripts/fuzz_readers.py`` (long campaigns). Seeds are small valid files: written by lmdetect's
own writers from a synthetic night, or the small committed examples in ``tests/data``.

A mutant is a seed changed by one or more of: truncation, bit flips, overwriting bytes with
boundary values, splicing in bytes of another seed, deleting or repeating a chunk, changing a
number in a header field (the header region of binary files, any cell of text files) to an
extreme value, re-encoding text (UTF-16 with and without BOM, Windows-1252, invalid UTF-8), and
for CSV-like files duplicating, swapping or emptying rows. For the gt3x zip the mutation can
also be applied to ``log.bin`` or ``info.txt`` inside a valid zip.

:func:`run_one` reads a mutant and classifies the outcome:

* ``ok``: the reader returned a result that meets the value guarantees (finite acceleration
  within the plausibility limit, strictly increasing times);
* ``error``: a :class:`~lmdetect.errors.LmdetectError` with a one-line message naming the file;
* anything else (another exception, a multi-line message, a message without the file name, a
  result that breaks the guarantees, a file left behind) is a ``failure`` with its reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import random
import re
import shutil
import traceback
import zipfile
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lmdetect.errors import LmdetectError
from lmdetect.model import Recording

DATA = Path(__file__).resolve().parents[1] / "data"
START = dt.datetime(2026, 3, 28, 23, 10, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))


# ------------------------------------------------------------------------------------ seeds
def small_night(fs: float = 25.0, seconds: float = 40.0, device_id: str = "AX3-7") -> Recording:
    """A still, tilted ankle with one movement and one 2-s gap (about 1000 samples)."""
    rng = np.random.default_rng(3)
    n = int(fs * seconds)
    t = np.arange(n) / fs
    a = np.tile([0.28, -0.35, 0.894], (n, 1)) + rng.normal(0, 0.004, (n, 3))
    burst = (t >= 10.0) & (t < 11.5)
    a[burst, 0] += 0.5 * np.sin(2 * np.pi * 2.0 * (t[burst] - 10.0))
    keep = (t < 20.0) | (t >= 22.0)
    return Recording(
        a[keep].astype(np.float32), t[keep], fs, START, device_id=device_id, side="left", range_g=8.0
    )


def _diary(folder: Path) -> list[Path]:
    p = folder / "diary.csv"
    p.write_text(
        "kind,start,end,severity,note\n"
        "lights_off,2026-03-28T23:00:00+01:00,,,\n"
        "rls_episode,2026-03-28T23:05:00+01:00,2026-03-28T23:20:00+01:00,6,legs restless\n"
        "sleep_onset,2026-03-28T23:30:00+01:00,,,\n"
        "final_awakening,2026-03-29T06:05:00+02:00,,,\n"
        "lights_on,2026-03-29T06:20:00+02:00,,,\n",
        encoding="utf-8",
    )
    return [p]


def _pad_log(folder: Path) -> list[Path]:
    p = folder / "pads.csv"
    p.write_text(
        "start,end,intensity\n"
        "2026-03-28T23:10:00+01:00,2026-03-28T23:40:00+01:00,5\n"
        "2026-03-29T01:00:00+01:00,2026-03-29T01:30:00+01:00,7\n",
        encoding="utf-8",
    )
    return [p]


def _copy(name: str, sub: str) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        dst = folder / name
        shutil.copyfile(DATA / sub / name, dst)
        return [dst]

    return build


def _written(ext: str) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        from lmdetect.io import write_recording

        name = "sub-01_task-sleep_tracksys-IMU_motion.tsv" if ext == "_motion.tsv" else f"night{ext}"
        path = folder / name
        write_recording(small_night(), path)
        if ext == "_motion.tsv":
            # the recording and its sidecars, all mutable
            return [path] + sorted(p for p in folder.iterdir() if p != path)
        return [path]

    return build


def _geneactiv(folder: Path) -> list[Path]:
    """The committed GENEActiv file cut to its header and first pages (a valid, smaller file)."""
    data = (DATA / "readers" / "gnactv_sample.bin").read_bytes()
    lines = data.split(b"\n")
    first_page = next(i for i, line in enumerate(lines) if line.strip() == b"Recorded Data")
    keep = first_page + 10 * 3  # three pages of ten lines
    dst = folder / "gnactv.bin"
    dst.write_bytes(b"\n".join(lines[:keep]) + b"\n")
    return [dst]


def _edf_annotations(folder: Path) -> list[Path]:
    from lmdetect.io.edf_annotations import write_edf_annotations

    table = pd.DataFrame(
        {
            "onset_s": [100.0, 130.0, 160.0, 600.0],
            "duration_s": [2.0, 1.5, 2.0, 30.0],
            "label": ["LM left", "LM right", "Limb movement", "Stage 2 sleep"],
        }
    )
    p = folder / "scored.edf"
    write_edf_annotations(p, table, START)
    return [p]


@dataclasses.dataclass(frozen=True)
class ReaderCase:
    """One reader, how to build its seed files, and how to call it on a (mutated) file."""

    name: str
    build: Callable[[Path], list[Path]]
    read: Callable[[Path], Any]
    text: bool = False  # a text format (gets encoding and cell mutations)
    header_bytes: int = 512  # binary formats: where header-field numbers are changed
    needs: str | None = None  # an optional module the reader needs


def _recording(path: Path) -> Any:
    from lmdetect.io import read_recording

    return read_recording(path)


def _csv_recording(path: Path) -> Any:
    from lmdetect.io import read_recording

    return read_recording(path)


def _diary_read(path: Path) -> Any:
    from lmdetect.io.diary import read_diary

    return read_diary(path)


def _pad_read(path: Path) -> Any:
    from lmdetect.io.diary import read_pad_log

    return read_pad_log(path)


def _hypnogram_read(path: Path) -> Any:
    from lmdetect.io.hypnogram import read_hypnogram

    return read_hypnogram(path, START)


def _scored_read(path: Path) -> Any:
    from lmdetect.io.annotations import read_scored_events

    return read_scored_events(path)


CASES: tuple[ReaderCase, ...] = (
    ReaderCase("lmr", _written(".lmr"), _recording, header_bytes=1200),
    ReaderCase("csv", _written(".csv"), _csv_recording, text=True),
    ReaderCase("cwa", _written(".cwa"), _recording, header_bytes=1100),
    ReaderCase("geneactiv", _geneactiv, _recording, text=False, header_bytes=2600),
    ReaderCase("gt3x", _copy("actigraph_neo_ism.gt3x", "readers"), _recording),
    ReaderCase("gt3x-2", _copy("actigraph_mos_dst.gt3x", "readers"), _recording),
    ReaderCase("edf", _written(".edf"), _recording, header_bytes=256 * 5, needs="edfio"),
    ReaderCase("bdf", _written(".bdf"), _recording, header_bytes=256 * 5, needs="edfio"),
    ReaderCase("bids-motion", _written("_motion.tsv"), _recording, text=True),
    ReaderCase("diary", _diary, _diary_read, text=True),
    ReaderCase("pad-log", _pad_log, _pad_read, text=True),
    ReaderCase("hypnogram", _copy("hypnogram_example.csv", "annotations"), _hypnogram_read, text=True),
    ReaderCase("events-csv", _copy("events_example.csv", "annotations"), _scored_read, text=True),
    ReaderCase("nsrr-xml", _copy("nsrr_example.xml", "annotations"), _scored_read, text=True),
    ReaderCase("remlogic", _copy("remlogic_example.txt", "annotations"), _scored_read, text=True),
    ReaderCase("edf-annotations", _edf_annotations, _scored_read, header_bytes=512, needs="edfio"),
)


# ---------------------------------------------------------------------------------- mutator
_EXTREME_NUMBERS = (
    "0", "-1", "1e308", "-1e308", "nan", "inf", "-inf", "4294967296", "99.0", "9" * 24,
    "0.000001", "1E-300", "-0", "2147483648", "", " ", "1,5", "0x10",
)  # fmt: skip
_EXTREME_TEXT = (
    "\x00",
    "\u00e9",
    "\u00fc\u00df",
    "\ufeff",
    '"',
    "\r",
    ";",
    "\t",
    ",",
    "\U0001f600",
    "a" * 300,
)
_NUMBER_RE = re.compile(rb"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _flip(rng: random.Random, data: bytearray) -> str:
    k = rng.choice((1, 1, 2, 4, 8))
    for _ in range(k):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return f"flip{k}"


def _overwrite(rng: random.Random, data: bytearray) -> str:
    i = rng.randrange(len(data))
    value = rng.choice((b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff\xff\xff", b"\x00\x00\x00\x80"))
    data[i : i + len(value)] = value
    return "overwrite"


def _truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.choice((0, 1, 2, 8, rng.randrange(len(data) + 1), len(data) - 1, len(data) // 2))
    return data[: max(0, cut)], f"truncate@{cut}"


def _splice(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    j = rng.randrange(len(other) + 1)
    k = rng.randrange(1, 512)
    return data[:i] + other[j : j + k] + data[i + k :], "splice"


def _chunk(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    i = rng.randrange(len(data) + 1)
    k = rng.randrange(1, max(2, min(4096, len(data) // 4 + 2)))
    if rng.random() < 0.5:
        return data[:i] + data[i + k :], "delete"
    return data[:i] + data[i : i + k] * rng.randrange(2, 4) + data[i + k :], "repeat"


def _number_field(rng: random.Random, data: bytes, limit: int) -> tuple[bytes, str]:
    """Replace one number in the first ``limit`` bytes with an extreme value (same width if a
    binary header, where fields are fixed width)."""
    found = list(_NUMBER_RE.finditer(data[:limit]))
    if not found:
        return data, "number(none)"
    m = rng.choice(found)
    new = rng.choice(_EXTREME_NUMBERS).encode()
    return data[: m.start()] + new + data[m.end() :], f"number({new.decode()!r})"


def _fixed_width_field(rng: random.Random, data: bytes, limit: int) -> tuple[bytes, str]:
    """Overwrite a number in a fixed-width ASCII header (EDF) keeping the field width."""
    found = list(_NUMBER_RE.finditer(data[:limit]))
    if not found:
        return data, "field(none)"
    m = rng.choice(found)
    width = m.end() - m.start()
    value = rng.choice(_EXTREME_NUMBERS).encode()[:width].ljust(width)
    return data[: m.start()] + value + data[m.end() :], f"field({value.decode().strip()!r})"


def _text_edit(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    op = rng.randrange(6)
    if op == 0 and len(lines) > 2:  # duplicate a row (a repeated time)
        i = rng.randrange(1, len(lines) - 1)
        lines.insert(i, lines[i])
        what = "dup-row"
    elif op == 1 and len(lines) > 3:  # swap two rows (non-monotonic time)
        i = rng.randrange(1, len(lines) - 2)
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        what = "swap-rows"
    elif op == 2:  # one cell becomes an extreme number or odd text
        i = rng.randrange(len(lines))
        cells = re.split(r"([,\t;])", lines[i])
        j = rng.randrange(0, len(cells), 2) if cells else 0
        if cells:
            cells[j] = rng.choice(_EXTREME_NUMBERS + _EXTREME_TEXT)
        lines[i] = "".join(cells)
        what = "cell"
    elif op == 3 and len(lines) > 1:  # delete a row
        del lines[rng.randrange(len(lines))]
        what = "del-row"
    elif op == 4:  # insert odd text at a random spot
        i = rng.randrange(len(text) + 1)
        return (text[:i] + rng.choice(_EXTREME_TEXT) + text[i:]).encode("utf-8", "surrogatepass"), "insert"
    else:  # keep only the header row
        lines = lines[:1]
        what = "header-only"
    return "\n".join(lines).encode("utf-8", "surrogatepass"), what


def _encoding(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    text = data.decode("utf-8", "replace")
    choice = rng.randrange(6)
    if choice == 0:
        return "\ufeff".encode("utf-16-le") + text.encode("utf-16-le"), "utf-16le-bom"
    if choice == 1:
        return text.encode("utf-16-le"), "utf-16le"
    if choice == 2:
        return text.encode("utf-16"), "utf-16"
    if choice == 3:
        return (text + "caf\u00e9").encode("cp1252", "replace"), "cp1252"
    if choice == 4:
        i = rng.randrange(len(data) + 1)
        return data[:i] + b"\xc3\x28\xff" + data[i:], "bad-utf8"
    return "\ufeff".encode() + data.replace(b"\n", b"\r\n"), "utf8-bom-crlf"


def mutate(rng: random.Random, case: ReaderCase, data: bytes, other: bytes) -> tuple[bytes, str]:
    """One mutant of ``data`` (1 to 3 stacked mutations) and a short description."""
    steps = []
    out = bytes(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not out:
            out = bytes(data)
        ops = ["flip", "overwrite", "truncate", "splice", "chunk", "number"]
        if case.text:
            ops += ["text", "text", "encoding"]
        else:
            ops += ["field", "field"]
        op = rng.choice(ops)
        if op in ("flip", "overwrite"):
            buf = bytearray(out)
            steps.append(_flip(rng, buf) if op == "flip" else _overwrite(rng, buf))
            out = bytes(buf)
        elif op == "truncate":
            out, s = _truncate(rng, out)
            steps.append(s)
        elif op == "splice":
            out, s = _splice(rng, out, other)
            steps.append(s)
        elif op == "chunk":
            out, s = _chunk(rng, out)
            steps.append(s)
        elif op == "number":
            out, s = _number_field(rng, out, len(out) if case.text else case.header_bytes)
            steps.append(s)
        elif op == "field":
            out, s = _fixed_width_field(rng, out, case.header_bytes)
            steps.append(s)
        elif op == "text":
            out, s = _text_edit(rng, out)
            steps.append(s)
        else:
            out, s = _encoding(rng, out)
            steps.append(s)
    return out, "+".join(steps)


def mutate_zip(rng: random.Random, case: ReaderCase, data: bytes, other: bytes) -> tuple[bytes, str]:
    """A gt3x mutant: raw zip bytes, or one member mutated inside a valid zip."""
    if rng.random() < 0.4:
        return mutate(rng, case, data, other)
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    target = rng.choice([n for n in names if n in ("log.bin", "info.txt")] or names)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for n in names:
            body = src.read(n)
            if n == target:
                inner = dataclasses.replace(case, text=n.endswith(".txt"), header_bytes=len(body))
                body, what = mutate(rng, inner, body, other)
            dst.writestr(n, body)
    return buf.getvalue(), f"{target}:{what}"


# ------------------------------------------------------------------------------------ check
@dataclasses.dataclass
class Outcome:
    case: str
    kind: str  # "ok", "error" or "failure"
    detail: str


def check_result(out: Any) -> str | None:
    """Why a returned result breaks the guarantees, or None."""
    if isinstance(out, Recording):
        a = out.accel_g
        if not np.isfinite(a).all():
            return "accepted non-finite acceleration"
        from lmdetect.io._guard import hard_limit_g

        if a.size and float(np.abs(a).max()) > hard_limit_g(out.range_g):
            return f"accepted |a| = {float(np.abs(a).max()):.3g} g"
        if out.n_samples > 1 and not np.all(np.diff(out.time_s) > 0):
            return "accepted non-increasing times"
    return None


def run_one(case: ReaderCase, path: Path, mutated: Path | None = None) -> Outcome:
    """Read ``path`` with ``case``'s reader and classify the outcome (see module notes).

    ``mutated`` is the file that was changed when it is a side file of ``path`` (a BIDS
    sidecar); an error message may name either.
    """
    names = {path.name} | ({mutated.name} if mutated is not None else set())
    before = sorted(os.listdir(path.parent))
    try:
        out = case.read(path)
    except LmdetectError as exc:
        msg = str(exc)
        cause = exc.__cause__
        if isinstance(cause, MemoryError):
            return Outcome(case.name, "failure", f"memory blow-up: {msg}")
        if "\n" in msg:
            return Outcome(case.name, "failure", f"multi-line message: {msg!r}")
        if not any(name in msg for name in names):
            return Outcome(case.name, "failure", f"message does not name the file: {msg!r}")
        kind, detail = "error", msg
    except MemoryError:  # before formatting anything: the frames still hold the allocation
        return Outcome(case.name, "failure", "memory blow-up (MemoryError under the address-space cap)")
    except Exception as exc:  # noqa: BLE001 - the point of the fuzz test: nothing else may escape
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        where = "".join(tb[-3:]).strip().replace("\n", " | ")
        return Outcome(case.name, "failure", f"{type(exc).__name__} escaped: {where}")
    else:
        why = check_result(out)
        kind, detail = ("failure", why) if why else ("ok", "")
    after = sorted(os.listdir(path.parent))
    if after != before:
        return Outcome(case.name, "failure", f"left files behind: {sorted(set(after) - set(before))}")
    return Outcome(case.name, kind, detail)


def available(case: ReaderCase) -> bool:
    if case.needs is None:
        return True
    try:
        __import__(case.needs)
    except ImportError:
        return False
    return True


def campaign(
    folder: Path,
    budget: int,
    seed: int,
    cases: tuple[ReaderCase, ...] = CASES,
    on_outcome: Callable[[Outcome, str], None] | None = None,
) -> list[Outcome]:
    """Run ``budget`` mutants spread evenly over ``cases`` and return every outcome.

    Each case works in its own subfolder of ``folder``: the seeds are built there once, and each
    mutant is written over a copy of one seed file (the others, e.g. BIDS sidecars, stay valid),
    read, and then the seed is restored.
    """
    rng = random.Random(seed)
    usable = [c for c in cases if available(c)]
    seeds: dict[str, list[tuple[Path, bytes]]] = {}
    for c in usable:
        sub = folder / c.name
        sub.mkdir(parents=True, exist_ok=True)
        seeds[c.name] = [(p, p.read_bytes()) for p in c.build(sub)]
    pool = [b for files in seeds.values() for _, b in files]
    outcomes: list[Outcome] = []
    for i in range(budget):
        c = usable[i % len(usable)]
        files = seeds[c.name]
        target, original = files[0] if rng.random() < 0.75 else rng.choice(files)
        other = rng.choice(pool)
        if c.name.startswith("gt3x"):
            data, what = mutate_zip(rng, c, original, other)
        else:
            data, what = mutate(rng, c, original, other)
        target.write_bytes(data)
        try:
            outcome = run_one(c, files[0][0], target)
        finally:
            target.write_bytes(original)
        outcome.detail = f"[{target.name} {what}] {outcome.detail}"
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome, what)
    return outcomes
