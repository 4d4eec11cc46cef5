"""Turn batch inputs (files, folders, manifest CSVs) into a sorted list of nights.

A manifest is a CSV whose header has a ``path`` column::

    path,participant,night,diary,pad_log,hypnogram,tz,group
    P01/2026-03-14.lmr,P01,2026-03-14,P01/diary.csv,,,,rls
    P02/n1.cwa,P02,1,,P02/pad.csv,,Europe/Berlin,control

``path`` is required; ``participant``, ``night``, ``diary``, ``pad_log``, ``hypnogram`` and ``tz``
are optional (empty cells mean "none"). ``tz`` is the time zone the device clock was set in (IANA
name or offset, see :func:`lmdetect.io.read_recording`); it is needed by device files that keep
local time without an offset (CWA, GENEActiv, gt3x, EDF) and overrides the batch's ``--tz`` for
that row. Relative paths are resolved against the manifest's folder. A column
``condition_<name>`` (``<name>``: lower-case letters, digits and ``_``) says whether the night was
under that condition (``1``/``yes``/``true``/``y``; ``0``/``no``/``false``/``n`` or empty: no); the
names of the true ones are :attr:`NightInput.conditions`. Any other column is a covariate copied
into the cohort table. Header names are case-insensitive, and
spaces or hyphens count as underscores (``pad log`` = ``pad-log`` = ``pad_log``).

A folder is searched recursively for files with a registered recording extension; hidden files,
the batch's own output folder, manifests and the usual side files (diaries, pad logs, hypnograms,
event tables) are left out.

Every night gets an id, which is also its output folder under ``DIR/nights/``: ``participant/night``.
From a manifest, the ``participant`` and ``night`` columns (the file name without its extension
when ``night`` is empty). Otherwise the participant is the first folder below a given folder, or
the folder holding the file when it lies directly in a given folder or is given itself, and the
night is the rest of the path without the extension. So ``cohort/P01/n1.lmr`` is ``P01/n1``
whether the input was ``cohort``, ``cohort/P01`` or the file itself.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import ConfigError, FormatError, LmdetectError
from ..io._devicetime import parse_tz
from ..io._guard import csv_delimiter
from ..io.diary import INTERVENTION_NAME

__all__ = [
    "NightInput",
    "MANIFEST_COLUMNS",
    "collect_nights",
    "read_manifest",
    "is_manifest",
    "parse_shard",
    "select_shard",
    "safe_component",
    "CONDITION_PREFIX",
    "parse_condition_flag",
]

#: Prefix of the manifest columns that flag a per-night condition (``condition_foot_wrap``).
CONDITION_PREFIX = "condition_"
_YES = frozenset({"1", "yes", "y", "true"})
_NO = frozenset({"0", "no", "n", "false", ""})

#: Columns a manifest understands; any other column is carried into the cohort table.
MANIFEST_COLUMNS: tuple[str, ...] = ("path", "participant", "night", "diary", "pad_log", "hypnogram", "tz")

# Side files that share an extension with recordings (CSV) and must not be taken for nights.
_SIDE_STEMS = frozenset(
    {
        "diary", "pad_log", "padlog", "hypnogram", "events", "epochs", "truth_lm", "truth_lms",
        "cohort", "failures", "manifest", "summary", "config",
    }
)
_SIDE_SUFFIXES = ("_diary", "_pad_log", "_hypnogram", "_events", "_epochs", "_truth_lm")
_TABLE_EXTS = (".csv", ".tsv", ".txt")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclasses.dataclass(frozen=True)
class NightInput:
    """One night to process.

    Attributes
    ----------
    night_id
        Output folder under ``DIR/nights/`` (``/``-separated, safe characters only); unique in a batch.
    path
        The recording file, as given (relative to the current folder or absolute).
    participant, night
        Labels for the cohort table ("" when unknown).
    diary, pad_log, hypnogram
        Optional side files for :func:`lmdetect.pipeline.process_night`.
    tz
        Time zone of the device clock (IANA name or offset), or None for the batch's default.
    covariates
        Extra manifest columns, copied into the cohort row.
    conditions
        Names of the conditions the manifest flags for this night (``condition_<name>`` columns).
    """

    night_id: str
    path: str
    participant: str = ""
    night: str = ""
    diary: str | None = None
    pad_log: str | None = None
    hypnogram: str | None = None
    tz: str | None = None
    covariates: tuple[tuple[str, str], ...] = ()
    conditions: tuple[str, ...] = ()


def parse_condition_flag(text: str) -> bool:
    """``1``/``yes``/``true``/``y`` -> True, ``0``/``no``/``false``/``n``/empty -> False (any case).

    Raises
    ------
    ValueError
        Any other text.
    """
    t = text.strip().lower()
    if t in _YES:
        return True
    if t in _NO:
        return False
    raise ValueError(f"{text!r} is not one of 1/0, yes/no, true/false (or empty for no)")


def _condition_columns(p: Path, header: list[str]) -> dict[str, str]:
    """Manifest column -> condition name, checking each name."""
    out = {}
    for h in header:
        if h.startswith(CONDITION_PREFIX):
            name = h[len(CONDITION_PREFIX):]
            if not INTERVENTION_NAME.fullmatch(name):
                raise FormatError(
                    p, f"column {h!r}: a condition name is lower-case letters, digits and _ (e.g. condition_foot_wrap)",
                    line=1,
                )
            out[h] = name
    return out


def safe_component(part: str) -> str:
    """A path component safe on every file system ('..' and separators cannot escape DIR)."""
    s = _UNSAFE.sub("_", part.strip()).strip(".")
    return s or "_"


def _norm_header(name: str) -> str:
    return re.sub(r"[\s-]+", "_", (name or "").strip().lower())


def _strip_ext(name: str, exts: Iterable[str]) -> str:
    low = name.lower()
    for ext in sorted(exts, key=len, reverse=True):
        if low.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return Path(name).stem or name


def _read_extensions() -> tuple[str, ...]:
    from ..io import supported_read_extensions

    return tuple(supported_read_extensions())


def is_manifest(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a CSV file whose header row has a ``path`` column."""
    p = Path(path)
    if p.suffix.lower() != ".csv" or not p.is_file():
        return False
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            first = fh.readline()
        header = next(csv.reader([first], delimiter=csv_delimiter(first)), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return "path" in {_norm_header(h) for h in header}


def read_manifest(path: str | os.PathLike[str]) -> list[NightInput]:
    """Read a manifest CSV (see the module docs); errors name the file and line."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(p, "manifest not found")
    base = p.parent
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text)))
    except UnicodeDecodeError as exc:
        raise FormatError(p, f"not a UTF-8 text file ({exc.reason})") from None
    except csv.Error as exc:
        raise FormatError(p, f"not a valid CSV file: {exc}") from None
    if not rows:
        raise FormatError(p, "empty manifest (a header row with a 'path' column is required)", line=1)
    header = [_norm_header(h) for h in rows[0]]
    if "path" not in header:
        raise FormatError(p, f"no 'path' column in the header; found {', '.join(rows[0])}", line=1)
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise FormatError(p, f"duplicate column(s) {', '.join(dupes)}", line=1)
    condition_columns = _condition_columns(p, header)

    def resolve(cell: str) -> str | None:
        cell = cell.strip()
        if not cell:
            return None
        q = Path(cell)
        return str(q if q.is_absolute() else base / q)

    out: list[NightInput] = []
    for line, raw in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(raw) > len(header):
            raise FormatError(p, f"{len(raw)} fields but the header has {len(header)}", line=line)
        cells = {h: (raw[i] if i < len(raw) else "").strip() for i, h in enumerate(header) if h}
        rec = resolve(cells.get("path", ""))
        if rec is None:
            raise FormatError(p, "empty 'path'", line=line)
        participant = cells.get("participant", "")
        night = cells.get("night", "")
        stem = _strip_ext(Path(rec).name, _read_extensions())
        if participant and night:
            nid = f"{safe_component(participant)}/{safe_component(night)}"
        elif participant:
            nid = f"{safe_component(participant)}/{safe_component(stem)}"
        else:
            nid = safe_component(night or stem)
        tz = cells.get("tz") or None
        if tz is not None:
            try:
                parse_tz(tz)
            except ConfigError as exc:
                raise FormatError(p, f"column tz: {exc}", line=line) from None
        conditions = []
        for col, name in condition_columns.items():
            try:
                if parse_condition_flag(cells.get(col, "")):
                    conditions.append(name)
            except ValueError as exc:
                raise FormatError(p, f"column {col}: {exc}", line=line) from None
        out.append(
            NightInput(
                night_id=nid,
                path=rec,
                participant=participant,
                night=night or stem,
                diary=resolve(cells.get("diary", "")),
                pad_log=resolve(cells.get("pad_log", "")),
                hypnogram=resolve(cells.get("hypnogram", "")),
                tz=tz,
                covariates=tuple(
                    (k, v) for k, v in cells.items() if k not in MANIFEST_COLUMNS and k not in condition_columns
                ),
                conditions=tuple(sorted(conditions)),
            )
        )
    return out


def _is_side_file(name: str) -> bool:
    low = name.lower()
    ext = Path(low).suffix
    if ext not in _TABLE_EXTS:
        return False
    stem = low[: -len(ext)]
    return stem in _SIDE_STEMS or stem.endswith(_SIDE_SUFFIXES)


def _scan_folder(folder: Path, exclude: Path | None, exts: tuple[str, ...]) -> list[NightInput]:
    out: list[NightInput] = []
    for root, dirs, files in os.walk(folder):
        r = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (exclude is None or _resolved(r / d) != exclude)
        )
        for name in sorted(files):
            low = name.lower()
            if name.startswith(".") or not any(low.endswith(e) for e in exts) or _is_side_file(name):
                continue
            f = r / name
            if low.endswith(".csv") and is_manifest(f):
                continue
            rel = f.relative_to(folder)
            if len(rel.parts) == 1:  # directly in the given folder: the folder is the participant
                out.append(_from_file(f, exts))
                continue
            night = "/".join([*rel.parts[1:-1], _strip_ext(rel.name, exts)])
            out.append(
                NightInput(
                    night_id="/".join(safe_component(x) for x in [rel.parts[0], *night.split("/")]),
                    path=str(f),
                    participant=rel.parts[0],
                    night=night,
                )
            )
    return out


def _from_file(f: Path, exts: tuple[str, ...]) -> NightInput:
    """A file on its own: its folder is the participant, its name the night."""
    participant = _resolved(f).parent.name
    night = _strip_ext(f.name, exts)
    nid = f"{safe_component(participant)}/{safe_component(night)}" if participant else safe_component(night)
    return NightInput(night_id=nid, path=str(f), participant=participant, night=night)


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except OSError:
        return p.absolute()


def collect_nights(
    inputs: Sequence[str | os.PathLike[str] | NightInput], *, exclude: str | os.PathLike[str] | None = None
) -> list[NightInput]:
    """Expand files, folders and manifests into nights, sorted by night id.

    Parameters
    ----------
    inputs
        Recording files, folders (searched recursively), manifest CSVs or :class:`NightInput`.
    exclude
        A folder never searched (the batch output folder).

    Raises
    ------
    LmdetectError
        An input does not exist, or two inputs would share an output folder.
    FormatError
        A manifest is malformed.
    """
    exts = _read_extensions()
    skip = _resolved(Path(exclude)) if exclude is not None else None
    nights: list[NightInput] = []
    for item in inputs:
        if isinstance(item, NightInput):
            nights.append(item)
            continue
        p = Path(item)
        if p.is_dir():
            nights.extend(_scan_folder(p, skip, exts))
        elif is_manifest(p):
            nights.extend(read_manifest(p))
        elif p.exists() or any(str(p).lower().endswith(e) for e in exts):
            # a missing recording becomes a per-night failure, so a typo in one name never stops a cohort
            nights.append(_from_file(p, exts))
        else:
            raise LmdetectError(f"{p}: no such file or folder")
    seen: dict[str, NightInput] = {}
    for n in nights:
        other = seen.get(n.night_id)
        if other is not None and os.path.realpath(other.path) != os.path.realpath(n.path):
            raise LmdetectError(
                f"{other.path} and {n.path} would both be written to nights/{n.night_id}; "
                "give them distinct participant/night labels in a manifest"
            )
        seen.setdefault(n.night_id, n)
    return [seen[k] for k in sorted(seen)]  # the same file named twice is processed once


def parse_shard(text: str | tuple[int, int]) -> tuple[int, int]:
    """Parse ``"I/N"`` (1 <= I <= N) into ``(I, N)``; tuples are validated the same way."""
    if isinstance(text, tuple):
        i, n = text
    else:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not m:
            raise ConfigError(f"shard {text!r} is not of the form I/N (for example 3/10)")
        i, n = int(m.group(1)), int(m.group(2))
    if not (isinstance(i, int) and isinstance(n, int) and 1 <= i <= n):
        raise ConfigError(f"shard {i}/{n}: need 1 <= I <= N (shards are numbered from 1)")
    return i, n


def select_shard(nights: Sequence[NightInput], shard: tuple[int, int]) -> list[NightInput]:
    """Every N-th night starting at the I-th, in night-id order (the shards are disjoint and cover all)."""
    i, n = parse_shard(shard)
    ordered = sorted(nights, key=lambda x: x.night_id)
    return ordered[i - 1 :: n]
