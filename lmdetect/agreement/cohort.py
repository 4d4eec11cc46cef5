"""Agreement across nights: ``lmdetect agree --cohort MANIFEST --out DIR``.

Each manifest row pairs a sensor night (an output folder of ``lmdetect process``) with the PSG
scoring of the same night. Every pair goes through :func:`lmdetect.agreement.night.agree_night`;
the rows of the resulting :class:`NightAgreement` objects form the night table, and the cohort
statistics are computed from it (:mod:`lmdetect.agreement.stats`):

- PLMS/h, sensor against PSG: Bland-Altman bias and limits of agreement (with their intervals and
  a proportional-bias check), ICC(A,1) and Pearson r -- once with the sensor's LMs scored on the
  PSG hypnogram (``plms_per_h_sensor``: the difference is the sensor alone) and once with the
  sensor's own sleep/wake (``plms_per_h_sensor_own``: what the sensor gives without a PSG);
- sensitivity and specificity of the sensor's PLMS/h at the clinical cut-off, PSG-positive when
  PLMS/h > 15 in adults and > 5 in children (ICSD-3 criteria for periodic limb movement disorder,
  American Academy of Sleep Medicine 2014), with Wilson intervals;
- event sensitivity and PPV of LMs, CLMs and PLMs pooled over nights (sum of matched events over
  sum of PSG events) and as the mean of the nights' values, with seeded bootstrap intervals that
  resample nights (BCa by default, Efron 1987).

Manifest
--------
A CSV file with a header row. Columns (paths relative to the manifest's folder):

``sensor_night`` (required)
    Output folder of ``lmdetect process`` for the night.
``reference`` (required)
    The PSG scoring file of the same night (RemLogic, EDF+, NSRR XML, events CSV).
``reference_hypnogram``
    A separate PSG hypnogram file, when the scoring file has no stages.
``offset_s``
    A known clock offset, PSG time = sensor time + offset (s); empty: estimated.
``participant``
    Who was recorded; several nights of one person are flagged (they are not independent).
``child``
    true/false (also yes/no, 1/0): the night of a child, judged at the > 5/h cut-off.

Outputs (``OUTPUT_NAMES``, written together or not at all): ``cohort_agreement.json`` (the
statistics, settings and provenance), ``cohort_agreement.csv`` (one row per night: the manifest's
identifiers, then the per-night contract columns :data:`NIGHT_ROW_KEYS`) and
``cohort_agreement.html`` (Bland-Altman plot, scatter with identity line, per-night event
sensitivity; needs the ``report`` extra).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_write_text
from .._files import sha256_file
from ..errors import FormatError, LmdetectError
from ..io._guard import csv_delimiter
from . import stats
from .night import ROW_KEYS
from .params import MANIFEST_COLUMNS

__all__ = [
    "MANIFEST_COLUMNS",
    "NIGHT_ROW_KEYS",
    "ID_COLUMNS",
    "OUTPUT_NAMES",
    "ADULT_PLMS_CUTOFF_PER_H",
    "CHILD_PLMS_CUTOFF_PER_H",
    "ManifestRow",
    "CohortResult",
    "read_manifest",
    "cohort_table",
    "cohort_statistics",
    "run_cohort",
]

log = logging.getLogger(__name__)

_REQUIRED = ("sensor_night", "reference")

#: The keys of ``NightAgreement.row()``, in the order of the CSV (the per-night contract).
NIGHT_ROW_KEYS: tuple[str, ...] = ROW_KEYS

#: Identifier columns before the contract columns in the night table.
ID_COLUMNS = ("night", "manifest_line", "participant", "child", "plms_cutoff_per_h", "offset_given")

#: PSG-positive above these PLMS/h (ICSD-3 PLMD criterion, AASM 2014: > 15/h adults, > 5/h children).
ADULT_PLMS_CUTOFF_PER_H = 15.0
CHILD_PLMS_CUTOFF_PER_H = 5.0

OUTPUT_NAMES = {
    "stats": "cohort_agreement.json",
    "table": "cohort_agreement.csv",
    "report": "cohort_agreement.html",
}

#: The two sensor PLMS/h compared with the PSG's: on the PSG hypnogram, and on the sensor's own sleep/wake.
COMPARISONS: dict[str, str] = {"same_hypnogram": "plms_per_h_sensor", "own_sleep_wake": "plms_per_h_sensor_own"}
REFERENCE_COLUMN = "plms_per_h_reference"
EVENT_KINDS = ("lm", "clm", "plm")

_TRUE = {"1", "true", "yes", "y", "child"}
_FALSE = {"", "0", "false", "no", "n", "adult"}
_MIN_NIGHTS = 10


@dataclasses.dataclass(frozen=True)
class ManifestRow:
    """One manifest row, paths resolved against the manifest's folder.

    Attributes
    ----------
    line
        Line of the manifest (1-based, the header is line 1).
    night
        The ``sensor_night`` value as written: the night's label in the outputs.
    sensor_night, reference, reference_hypnogram
        Resolved paths (the hypnogram may be None).
    offset_s
        User-given clock offset (s) or None.
    participant
        Participant label or None.
    child
        Whether the child cut-off applies.
    """

    line: int
    night: str
    sensor_night: Path
    reference: Path
    reference_hypnogram: Path | None
    offset_s: float | None
    participant: str | None
    child: bool

    @property
    def plms_cutoff_per_h(self) -> float:
        return CHILD_PLMS_CUTOFF_PER_H if self.child else ADULT_PLMS_CUTOFF_PER_H


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestRow]:
    """Read and check a cohort manifest (module docstring); every problem names the file and line.

    Raises
    ------
    FormatError
        Missing file, no header or rows, unknown or missing columns, a missing night folder or
        scoring file, a bad offset or child value, or the same pair listed twice.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FormatError(path, "manifest not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(path, f"cannot read the manifest: {e}") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FormatError(path, "the manifest is empty; expected a header row with sensor_night,reference") from None
    except csv.Error as e:
        raise FormatError(path, f"not a CSV file: {e}", line=1) from None
    unknown = [h for h in header if h not in MANIFEST_COLUMNS]
    if unknown:
        raise FormatError(path, f"unknown column(s) {', '.join(map(repr, unknown))}; "
                                f"the columns are {', '.join(MANIFEST_COLUMNS)}", line=1)
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise FormatError(path, f"missing column(s) {', '.join(missing)}", line=1)
    dup = [h for h, n in Counter(header).items() if n > 1]
    if dup:
        raise FormatError(path, f"column(s) given twice: {', '.join(dup)}", line=1)
    base = path.parent
    rows: list[ManifestRow] = []
    seen: dict[tuple[Path, Path], int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise FormatError(path, f"not a CSV row: {e}", line=reader.line_num) from None
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise FormatError(path, f"{len(cells)} fields, the header has {len(header)}", line=line)
        rec = {h: c.strip() for h, c in zip(header, cells, strict=True)}
        rows.append(_manifest_row(path, base, line, rec, seen))
    if not rows:
        raise FormatError(path, "the manifest lists no nights")
    return rows


def _manifest_row(path: Path, base: Path, line: int, rec: Mapping[str, str],
                  seen: dict[tuple[Path, Path], int]) -> ManifestRow:
    for c in _REQUIRED:
        if not rec[c]:
            raise FormatError(path, f"{c} is empty", line=line)
    night = _path(base, rec["sensor_night"])
    if not night.is_dir():
        raise FormatError(path, f"sensor night folder not found: {rec['sensor_night']}", line=line)
    ref = _path(base, rec["reference"])
    if not ref.is_file():
        raise FormatError(path, f"reference scoring file not found: {rec['reference']}", line=line)
    hyp = None
    if rec.get("reference_hypnogram"):
        hyp = _path(base, rec["reference_hypnogram"])
        if not hyp.is_file():
            raise FormatError(path, f"reference hypnogram not found: {rec['reference_hypnogram']}", line=line)
    offset = None
    if rec.get("offset_s"):
        try:
            offset = float(rec["offset_s"])
        except ValueError:
            offset = math.nan
        if not math.isfinite(offset):
            raise FormatError(path, f"offset_s must be a number of seconds, got {rec['offset_s']!r}", line=line)
    child_text = rec.get("child", "").lower()
    if child_text not in _TRUE | _FALSE:
        raise FormatError(path, f"child must be true or false, got {rec['child']!r}", line=line)
    key = (night.resolve(), ref.resolve())
    if key in seen:
        raise FormatError(path, f"the pair {rec['sensor_night']}, {rec['reference']} is already on line {seen[key]}",
                          line=line)
    seen[key] = line
    return ManifestRow(line=line, night=rec["sensor_night"], sensor_night=night, reference=ref,
                       reference_hypnogram=hyp, offset_s=offset, participant=rec.get("participant") or None,
                       child=child_text in _TRUE)


# --------------------------------------------------------------------------- the night table


def _night_agreement_row(row: ManifestRow, *, rules: str | None, tolerance_s: float | None) -> Mapping[str, Any]:
    """``agree_night(...).row()`` of one manifest row (imported here: the per-night layer is heavier)."""
    from .night import agree_night

    kw: dict[str, Any] = {"reference_hypnogram": row.reference_hypnogram, "offset_s": row.offset_s, "rules": rules}
    if tolerance_s is not None:
        kw["tolerance_s"] = tolerance_s
    return agree_night(row.sensor_night, row.reference, **kw).row()  # type: ignore[no-any-return]


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def cohort_table(manifest: Sequence[ManifestRow], rows: Sequence[Mapping[str, Any]], *,
                 source: str | os.PathLike[str] = "manifest") -> pd.DataFrame:
    """The night table: :data:`ID_COLUMNS`, then :data:`NIGHT_ROW_KEYS`, one row per manifest row.

    ``rows`` are the ``NightAgreement.row()`` dicts in manifest order; each must have exactly the
    contract keys (a mismatch names the manifest line).
    """
    want = set(NIGHT_ROW_KEYS)
    records = []
    for m, r in zip(manifest, rows, strict=True):
        got = set(r)
        if got != want:
            extra, lost = sorted(got - want), sorted(want - got)
            raise LmdetectError(f"{source}, line {m.line}: the night's agreement row does not have the expected "
                                f"columns (missing: {', '.join(lost) or 'none'}; unexpected: {', '.join(extra) or 'none'})")
        rec: dict[str, Any] = {"night": m.night, "manifest_line": m.line, "participant": m.participant,
                               "child": m.child, "plms_cutoff_per_h": m.plms_cutoff_per_h,
                               "offset_given": m.offset_s is not None}
        rec.update({k: _cell(r[k]) for k in NIGHT_ROW_KEYS})
        records.append(rec)
    table = pd.DataFrame.from_records(records, columns=[*ID_COLUMNS, *NIGHT_ROW_KEYS])
    for k in NIGHT_ROW_KEYS:  # all-None columns stay numeric (NaN), so statistics see them as missing
        if table[k].dtype == object and table[k].map(lambda v: v is None or isinstance(v, (int, float))).all():
            table[k] = pd.to_numeric(table[k])
    return table


# --------------------------------------------------------------------------- statistics


def _col(table: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(table[name], errors="coerce").to_numpy(np.float64)


def _pooled(matched: np.ndarray, total: np.ndarray, axis: int = -1) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        return matched.sum(axis=axis) / total.sum(axis=axis)


def _mean(values: np.ndarray, axis: int = -1) -> Any:
    return values.mean(axis=axis)


def _plms_comparison(table: pd.DataFrame, sensor_col: str, confidence: float) -> dict[str, Any]:
    s, r = _col(table, sensor_col), _col(table, REFERENCE_COLUMN)
    cut = table["plms_cutoff_per_h"].to_numpy(np.float64)
    child = table["child"].to_numpy(bool)
    ok = np.isfinite(s) & np.isfinite(r)
    cutoffs = {"all_nights": stats.diagnostic_accuracy(s, r, cut, confidence=confidence).to_dict()}
    for name, sel, c in (("adults", ~child, ADULT_PLMS_CUTOFF_PER_H), ("children", child, CHILD_PLMS_CUTOFF_PER_H)):
        if sel.any():
            cutoffs[name] = {"cutoff_per_h": c,
                             **stats.diagnostic_accuracy(s[sel], r[sel], c, confidence=confidence).to_dict()}
    return {
        "sensor_column": sensor_col,
        "reference_column": REFERENCE_COLUMN,
        "n_nights": int(ok.sum()),
        "nights_left_out": [str(n) for n in table.loc[~ok, "night"]],
        "bland_altman": stats.bland_altman(s, r, confidence=confidence).to_dict(),
        "icc_a1": stats.icc_a1(np.column_stack([s, r]), confidence=confidence).to_dict(),
        "pearson": stats.pearson_ci(s, r, confidence=confidence).to_dict(),
        "cutoffs": cutoffs,
    }


def _events(table: pd.DataFrame, kind: str, *, n_boot: int, seed: int, method: str,
            confidence: float) -> dict[str, Any]:
    nref, nsen, nmat = (_col(table, f"{kind}_{w}") for w in ("n_reference", "n_sensor", "n_matched"))
    boot: dict[str, Any] = {"n_resamples": n_boot, "seed": seed, "method": method, "confidence": confidence}
    out: dict[str, Any] = {}
    for what, total in (("sensitivity", nref), ("ppv", nsen)):
        ok = np.isfinite(total) & np.isfinite(nmat)
        has = ok & (total > 0)  # nights without events of that kind have no per-night value
        out[what] = {
            "pooled": stats.bootstrap_ci((nmat[ok], total[ok]), _pooled, **boot).to_dict()
            if ok.any() and total[ok].sum() > 0 else None,
            "mean_of_nights": stats.bootstrap_ci((nmat[has] / total[has],), _mean, **boot).to_dict()
            if has.any() else None,
            "n_matched": int(nmat[ok].sum()),
            "n_events": int(total[ok].sum()),
        }
    per_night = []
    for night, k, n in zip(table["night"], nmat, nref, strict=True):
        good = math.isfinite(k) and math.isfinite(n) and n > 0
        lo, hi = stats.proportion_ci(int(k), int(n), confidence=confidence) if good else (None, None)
        per_night.append({"night": str(night), "n_reference": None if not math.isfinite(n) else int(n),
                          "n_matched": None if not math.isfinite(k) else int(k),
                          "sensitivity": float(k / n) if good else None, "ci_low": lo, "ci_high": hi})
    out["per_night"] = per_night
    return out


def cohort_cautions(table: pd.DataFrame, statistics: Mapping[str, Any]) -> list[str]:
    """Plain-language warnings about what the cohort statistics can be trusted for."""
    out = []
    n = len(table)
    if n < _MIN_NIGHTS:
        out.append(f"Only {n} night(s): limits of agreement and ICC from fewer than {_MIN_NIGHTS} nights have wide "
                   "confidence intervals; read the intervals, not the point values.")
    parts = table["participant"].dropna()
    repeated = sorted(p for p, c in Counter(parts).items() if c > 1)
    if repeated:
        out.append(f"Several nights of the same participant ({', '.join(map(str, repeated))}): the statistics treat "
                   "nights as independent, so their confidence intervals are too narrow.")
    main = statistics["plms_per_h"]["same_hypnogram"]
    if main["nights_left_out"]:
        out.append(f"{len(main['nights_left_out'])} night(s) without PLMS/h from both methods are left out of the "
                   f"PLMS/h statistics: {', '.join(main['nights_left_out'])}.")
    ba = main["bland_altman"]
    if ba["slope_ci_low"] is not None and (ba["slope_ci_low"] > 0 or ba["slope_ci_high"] < 0):
        out.append("Proportional bias: the sensor-PSG difference in PLMS/h changes with the level of PLMS/h "
                   f"(slope {ba['slope']:.2f} per PLMS/h), so one pair of limits of agreement does not fit every "
                   "level; see the regression line in the Bland-Altman plot.")
    return out


def cohort_statistics(table: pd.DataFrame, *, n_boot: int = 10_000, seed: int = 0, method: str = "BCa",
                      confidence: float = 0.95) -> dict[str, Any]:
    """The statistics of the night table (keys ``plms_per_h``, ``event_sensitivity``, ``cautions``).

    Parameters
    ----------
    table
        :func:`cohort_table`.
    n_boot, seed, method
        Bootstrap resamples, seed and interval method ('BCa' or 'percentile') of the event
        sensitivities and PPVs; nights are resampled.
    confidence
        Coverage of every interval.
    """
    out: dict[str, Any] = {
        "n_nights": len(table),
        "plms_per_h": {name: _plms_comparison(table, col, confidence) for name, col in COMPARISONS.items()},
        "events": {k: _events(table, k, n_boot=n_boot, seed=seed, method=method, confidence=confidence)
                   for k in EVENT_KINDS},
    }
    out["cautions"] = cohort_cautions(table, out)
    return out


# --------------------------------------------------------------------------- run


@dataclasses.dataclass(frozen=True)
class CohortResult:
    """What :func:`run_cohort` computed and wrote (``files``: output name -> path)."""

    manifest: list[ManifestRow]
    table: pd.DataFrame
    document: dict[str, Any]
    files: dict[str, Path]


def _document(manifest_path: Path, table: pd.DataFrame, statistics: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    from .. import __version__
    from ..results.summary_json import to_jsonable

    doc = {
        "lmdetect_version": __version__,
        "manifest": os.fspath(manifest_path),
        "manifest_sha256": sha256_file(manifest_path),
        "settings": settings,
        "cutoffs_per_h": {"adults": ADULT_PLMS_CUTOFF_PER_H, "children": CHILD_PLMS_CUTOFF_PER_H},
        "differences": "sensor - reference",
        **statistics,
    }
    return to_jsonable(doc, _where="cohort_agreement")  # type: ignore[no-any-return]


def run_cohort(
    manifest_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    seed: int = 0,
    n_boot: int = 10_000,
    method: str = "BCa",
    confidence: float = 0.95,
    rules: str | None = None,
    tolerance_s: float | None = None,
    render: Callable[[pd.DataFrame, Mapping[str, Any], float], str] | None = None,
    dpi: float = 100,
    night_agreement: Callable[..., Mapping[str, Any]] | None = None,
) -> CohortResult:
    """Agreement of sensor and PSG over every night of a manifest; writes :data:`OUTPUT_NAMES`.

    Parameters
    ----------
    manifest_path
        The manifest CSV (module docstring).
    out_dir
        Output folder; an existing, non-empty one is replaced only with ``force``.
    force
        Allow replacing the contents of ``out_dir``.
    seed, n_boot, method, confidence
        Bootstrap and interval settings (:func:`cohort_statistics`).
    rules, tolerance_s
        Passed to each night's ``agree_night`` (rule set name; onset tolerance of event
        matching, s); None: its defaults.
    render
        Renders ``cohort_agreement.html`` from the night table, the statistics document and the
        dpi (:func:`lmdetect.report.agreement_cohort.render_cohort_report`, which the command
        passes); None writes no report (and removes an earlier one).
    dpi
        Resolution of the report's figures.
    night_agreement
        ``f(row: ManifestRow, *, rules, tolerance_s) -> row dict``; default: through
        :func:`lmdetect.agreement.night.agree_night`.

    Every night is compared and every output rendered before the first file is written; the
    files are then written to a staging folder and moved into place together, so an error (a
    bad manifest line, a night that cannot be aligned) leaves nothing behind.
    """
    from .._outputs import check_output_folder

    check_output_folder(out_dir, force)
    stats.bootstrap_ci((np.zeros(0),), _mean, n_resamples=n_boot, seed=seed, method=method,
                       confidence=confidence)  # checks the settings before any night is read
    manifest_path = Path(manifest_path)
    manifest = read_manifest(manifest_path)
    agree = night_agreement or _night_agreement_row
    rows = []
    for m in manifest:
        log.info("night %s (manifest line %d)", m.night, m.line)
        try:
            rows.append(dict(agree(m, rules=rules, tolerance_s=tolerance_s)))
        except FormatError:
            raise  # already names its file (and line)
        except LmdetectError as e:
            raise LmdetectError(f"{manifest_path}, line {m.line} ({m.night}): {e}") from e
    table = cohort_table(manifest, rows, source=manifest_path)
    statistics = cohort_statistics(table, n_boot=n_boot, seed=seed, method=method, confidence=confidence)
    settings = {"bootstrap_method": method, "n_boot": n_boot, "seed": seed, "confidence": confidence,
                "rules": rules, "tolerance_s": tolerance_s, "resampled": "nights"}
    doc = _document(manifest_path, table, statistics, settings)
    csv_text = table.to_csv(index=False, lineterminator="\n")
    json_text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    html = None
    if render is not None:
        html = render(table, doc, dpi)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".lmdetect-", dir=out))
    try:
        texts = {"stats": json_text, "table": csv_text, "report": html}
        staged = {k: stage / OUTPUT_NAMES[k] for k, v in texts.items() if v is not None}
        for key, path in staged.items():
            atomic_write_text(path, texts[key])  # type: ignore[arg-type]
        files = {}
        for key, path in staged.items():
            files[key] = out / path.name
            os.replace(path, files[key])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    stale = out / OUTPUT_NAMES["report"]
    if html is None and stale.exists():  # never leave a report that disagrees with the table
        stale.unlink()
    return CohortResult(manifest=manifest, table=table, document=doc, files=files)
