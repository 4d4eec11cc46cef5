"""Agreement of one sensor night (``lmdetect process`` output) with a PSG scoring of the same night.

Steps of :func:`agree_night`:

1. read the sensor's ``events.csv`` and ``summary.json`` (and ``epochs.csv`` when present), and
   the reference scoring with :func:`lmdetect.io.annotations.read_scored_events`;
2. score the reference's movements with the rule set (the sensor night's by default) and its
   hypnogram, in its time in bed (as ``lmdetect score-events``);
3. align the clocks (:mod:`lmdetect.agreement.align`) or take the user's offset;
4. map the sensor's movements into the reference clock and re-score them with the same rules, the
   same reference hypnogram, respiratory events, arousals and time in bed, so that any difference
   in the indices is the sensor's alone;
5. match movements one to one (:mod:`lmdetect.agreement.match`) for LMs, CLMs and PLMs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormatError, LmdetectError
from .align import AgreementError, Alignment, align_onsets, user_alignment
from .match import (
    AMPLITUDE_BANDS,
    DEFAULT_TOLERANCE_S,
    DURATION_BANDS_S,
    by_group,
    error_stats,
    match_tables,
    rates,
)

__all__ = ["MATCHED_COLUMNS", "ROW_KEYS", "NightAgreement", "SensorNight", "agree_night", "read_sensor_night"]

#: Keys of :meth:`NightAgreement.row`, in order (the contract with the cohort layer).
ROW_KEYS: tuple[str, ...] = (
    "offset_s", "offset_se_s", "drift_ppm", "n_matched_pairs_for_alignment",
    *(f"{e}_{k}" for e in ("lm", "clm", "plm") for k in ("n_reference", "n_sensor", "n_matched", "sensitivity", "ppv")),
    "plms_per_h_reference", "plms_per_h_sensor", "plms_per_h_sensor_own",
    "plmw_per_h_reference", "plmw_per_h_sensor", "plmw_per_h_sensor_own",
    "clm_per_h_reference", "clm_per_h_sensor", "clm_per_h_sensor_own",
    "periodicity_index_reference", "periodicity_index_sensor", "periodicity_index_sensor_own",
    "tst_h_reference", "tst_h_sensor_own",
)  # fmt: skip

#: Columns of matched.csv.
MATCHED_COLUMNS: tuple[str, ...] = (
    "status", "reference_onset_s", "reference_duration_s", "reference_side", "reference_stage", "reference_is_clm",
    "reference_in_plm_series", "sensor_onset_s", "sensor_onset_reference_s", "sensor_duration_s", "sensor_side",
    "sensor_amplitude_mg", "sensor_is_clm", "sensor_in_plm_series", "onset_error_s", "duration_error_s",
)  # fmt: skip

#: summary.json index keys behind the rows' per-hour figures.
_INDEX_KEYS = {"plms_per_h": "plms_index", "plmw_per_h": "plmw_index", "clm_per_h": "clm_index",
               "periodicity_index": "periodicity_index"}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SensorNight:
    """The files of one ``lmdetect process`` output folder that agreement needs."""

    path: Path
    events: pd.DataFrame
    summary: dict[str, Any]
    epochs: pd.DataFrame | None
    start: dt.datetime | None


def _read_csv(path: Path, need: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise FormatError(path, "file not found")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise FormatError(path, "empty file, expected a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FormatError(path, f"not a readable CSV file: {exc}") from exc
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise FormatError(path, f"missing column(s) {', '.join(missing)}")
    for c in ("onset_s", "duration_s"):
        if c in df and len(df) == 0:
            df[c] = df[c].astype(float)  # a header-only file: a night without movements
        elif c in df and not pd.api.types.is_numeric_dtype(df[c]):
            raise FormatError(path, f"column {c} must be numbers (seconds)")
    return df


def read_sensor_night(night_dir: str | os.PathLike[str]) -> SensorNight:
    """Read events.csv, summary.json and (optional) epochs.csv of a ``lmdetect process`` folder.

    Raises
    ------
    FormatError
        A missing folder or file, unreadable JSON/CSV, missing columns.
    """
    d = Path(night_dir)
    if not d.is_dir():
        raise FormatError(d, "not a folder (expected the output folder of `lmdetect process`)")
    events = _read_csv(d / "events.csv", ("onset_s", "duration_s", "side", "kind"))
    sp = d / "summary.json"
    if not sp.is_file():
        raise FormatError(sp, "file not found")
    try:
        summary = json.loads(sp.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(sp, f"not valid JSON: {exc}") from exc
    if not isinstance(summary, dict):
        raise FormatError(sp, "expected a JSON object")
    epochs = (
        _read_csv(d / "epochs.csv", ("onset_s", "duration_s", "stage"))
        if (d / "epochs.csv").is_file()
        else None
    )
    start_text = (
        (summary.get("recording") or {}).get("start")
        or summary.get("recording_start")
        or summary.get("start")
    )
    start = None
    if start_text:
        try:
            start = dt.datetime.fromisoformat(str(start_text))
        except ValueError:
            raise FormatError(sp, f"unreadable recording start {start_text!r}") from None
    return SensorNight(d, events, summary, epochs, start)


def nominal_offset_s(sensor_start: dt.datetime | None, reference_start: dt.datetime | None) -> float:
    """Sensor start minus reference start (s); 0 when either is unknown. A reference start without
    time zone (EDF+, RemLogic) is read in the sensor's UTC offset: the same room, the same clock."""
    if sensor_start is None or reference_start is None:
        return 0.0
    if reference_start.tzinfo is None and sensor_start.tzinfo is not None:
        reference_start = reference_start.replace(tzinfo=sensor_start.tzinfo)
    elif reference_start.tzinfo is not None and sensor_start.tzinfo is None:
        sensor_start = sensor_start.replace(tzinfo=reference_start.tzinfo)
    return (sensor_start - reference_start).total_seconds()


@dataclasses.dataclass(frozen=True)
class NightAgreement:
    """Result of :func:`agree_night`. ``row()`` is the flat per-night record; ``to_dict()`` the
    full agreement.json content; ``matched`` the matched.csv table."""

    sensor_night: str
    reference: str
    reference_format: str
    rule_set: str
    tolerance_s: float
    reference_side: str
    alignment: Alignment
    events: dict[str, dict[str, Any]]  # lm / clm / plm -> rates
    indices: dict[str, dict[str, float | None]]  # reference / sensor / sensor_own -> index -> value
    by_stage: dict[str, Any]
    by_duration: dict[str, Any]
    by_amplitude: dict[str, Any]
    onset_error: dict[str, Any]
    duration_error: dict[str, Any]
    matched: pd.DataFrame = dataclasses.field(repr=False)
    reference_scored: pd.DataFrame = dataclasses.field(repr=False)
    sensor_scored: pd.DataFrame = dataclasses.field(repr=False)
    reference_hypnogram: pd.DataFrame | None = dataclasses.field(repr=False)
    time_in_bed_s: tuple[float, float] = (0.0, 0.0)
    warnings: tuple[str, ...] = ()

    def row(self) -> dict[str, float | int | str | None]:
        """The per-night record of the cohort table (keys :data:`ROW_KEYS`)."""
        a = self.alignment
        out: dict[str, float | int | str | None] = {
            "offset_s": a.offset_s,
            "offset_se_s": a.offset_se_s,
            "drift_ppm": a.drift_ppm if a.drift_fitted else None,
            "n_matched_pairs_for_alignment": a.n_pairs,
        }
        for e in ("lm", "clm", "plm"):
            for k in ("n_reference", "n_sensor", "n_matched", "sensitivity", "ppv"):
                out[f"{e}_{k}"] = self.events[e][k]
        for name in _INDEX_KEYS:
            for src in ("reference", "sensor", "sensor_own"):
                out[f"{name}_{src}"] = self.indices[src][name]
        out["tst_h_reference"] = self.indices["reference"]["tst_h"]
        out["tst_h_sensor_own"] = self.indices["sensor_own"]["tst_h"]
        assert tuple(out) == ROW_KEYS
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "sensor_night": self.sensor_night,
            "reference": self.reference,
            "reference_format": self.reference_format,
            "rule_set": self.rule_set,
            "reference_legs": self.reference_side,
            "matching": {
                "rule": "one-to-one; intervals overlap and onsets within the tolerance; closest onsets first",
                "onset_tolerance_s": self.tolerance_s,
            },
            "alignment": self.alignment.to_dict(),
            "time_in_bed_s": list(self.time_in_bed_s),
            "events": self.events,
            "indices": self.indices,
            "by_reference_stage": self.by_stage["sensitivity"],
            "by_sensor_stage": self.by_stage["ppv"],
            "by_reference_duration_s": self.by_duration,
            "by_sensor_amplitude_mg": self.by_amplitude,
            "onset_error": self.onset_error,
            "duration_error": self.duration_error,
            "row": self.row(),
            "warnings": list(self.warnings),
        }


def _own_indices(summary: dict[str, Any]) -> dict[str, float | None]:
    def num(k: str) -> float | None:
        v = summary.get(k)
        return None if v is None else float(v)

    out = {name: num(key) for name, key in _INDEX_KEYS.items()}
    out["tst_h"] = num("tst_h")
    return out


def _indices(summary: dict[str, Any]) -> dict[str, float | None]:
    return _own_indices(summary)


def _read_reference(reference: str | os.PathLike[str], hypnogram: str | os.PathLike[str] | None) -> Any:
    from ..io.annotations import read_hypnogram_csv, read_scored_events

    ref = read_scored_events(reference)
    if hypnogram is not None:
        hp = Path(hypnogram)
        if hp.suffix.lower() == ".csv":
            hyp = read_hypnogram_csv(hp)
        else:  # a scoring file of its own (e.g. the stages exported separately)
            hyp = read_scored_events(hp).hypnogram
            if hyp is None:
                raise FormatError(hp, "has no sleep stages")
        ref = dataclasses.replace(ref, hypnogram=hyp)
    return ref


def _flags(df: pd.DataFrame, col: str) -> np.ndarray:
    return df[col].fillna(False).astype(bool).to_numpy() if col in df else np.zeros(len(df), bool)


def agree_night(
    night_dir: str | os.PathLike[str],
    reference: str | os.PathLike[str],
    *,
    reference_hypnogram: str | os.PathLike[str] | None = None,
    offset_s: float | None = None,
    rules: str | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    reference_side: str | None = None,
) -> NightAgreement:
    """Compare a sensor night with a PSG scoring of the same night.

    Parameters
    ----------
    night_dir
        Output folder of ``lmdetect process`` (events.csv, summary.json; epochs.csv optional).
    reference
        PSG scoring: RemLogic export, EDF+ annotations, NSRR XML or events CSV.
    reference_hypnogram
        Hypnogram to use instead of the stages in ``reference``: a CSV (onset_s, duration_s, stage)
        or a scoring file with stages, in the reference's time.
    offset_s
        Known clock offset (s): reference clock minus sensor clock; skips the estimation (no drift).
    rules
        Rule set name; default the sensor night's (``rule_set`` in summary.json), else WASM 2016.
    tolerance_s
        Onset tolerance (s) of the matching (:mod:`lmdetect.agreement.match`).
    reference_side
        Compare with the PSG movements of one leg only: ``left``, ``right``, or ``sensor`` (the
        sensor night's ``side`` in summary.json). Default: both legs, as the PSG scored them (a
        one-leg sensor then misses the other leg's movements by design).

    Raises
    ------
    FormatError
        Missing or malformed files.
    AgreementError
        The two nights cannot be aligned (no overlap in time, ambiguous, too few matches).
    """
    from ..scoring import SleepInfo, get_rule_set, night_indices, score_lms

    if not (np.isfinite(tolerance_s) and tolerance_s > 0):
        raise LmdetectError(
            f"the matching tolerance must be a positive number of seconds, got {tolerance_s!r}"
        )
    sensor = read_sensor_night(night_dir)
    rule_set = get_rule_set(rules or str(sensor.summary.get("rule_set") or "wasm2016"))
    ref = _read_reference(reference, reference_hypnogram)
    warnings: list[str] = list(ref.warnings)
    if reference_side is not None:
        side = str(sensor.summary.get("side") or "") if reference_side == "sensor" else reference_side
        if side not in ("left", "right"):
            raise LmdetectError(
                f"reference side {reference_side!r}: expected left, right or sensor"
                + (f" (the sensor night {sensor.path} names no leg)" if reference_side == "sensor" else "")
            )
        keep = ref.lms["side"].isin([side, "both"]).to_numpy()
        n_unknown = int((ref.lms["side"] == "unknown").sum())
        if n_unknown:
            warnings.append(
                f"{n_unknown} PSG leg movement(s) name no leg and are left out of the {side}-leg comparison"
            )
        ref = dataclasses.replace(ref, lms=ref.lms[keep].reset_index(drop=True))
    if len(ref.lms) == 0:
        raise AgreementError(f"{reference}: no leg movements scored; nothing to compare {sensor.path} with")
    tib = ref.time_in_bed()
    hyp = ref.hypnogram
    if hyp is None:
        warnings.append("the reference has no hypnogram: sleep and wake indices are undefined")
    ref_scored = score_lms(
        ref.lms, rule_set, hypnogram=hyp, respiratory=ref.respiratory, arousals=ref.arousals, period=tib
    ).reset_index(drop=True)

    nominal = nominal_offset_s(sensor.start, ref.start)
    s_on = sensor.events["onset_s"].to_numpy(float)
    if offset_s is not None:
        if not np.isfinite(offset_s):
            raise LmdetectError(f"--offset must be a finite number of seconds, got {offset_s!r}")
        alignment = user_alignment(offset_s, nominal)
    else:
        try:
            # without both absolute starts the file starts say nothing: search every overlap
            known = sensor.start is not None and ref.start is not None
            alignment = align_onsets(
                s_on, ref.lms["onset_s"].to_numpy(float), nominal_s=nominal, search_s=600.0 if known else None
            )
        except AgreementError as exc:
            raise AgreementError(f"{sensor.path / 'events.csv'} vs {reference}: {exc}") from None

    # the sensor's movements on the reference clock, re-scored with the reference's sleep and context
    mapped = pd.DataFrame(
        {
            "onset_s": alignment.to_reference(s_on),
            "duration_s": sensor.events["duration_s"].to_numpy(float) * (1 + alignment.drift_ppm * 1e-6),
            "side": sensor.events["side"].astype(str).to_numpy(),
            # 'long' is the rules' verdict on duration: let the (possibly other) rule set decide again
            "kind": sensor.events["kind"].astype(str).replace({"long": "lm"}).to_numpy(),
            "amplitude_mg": sensor.events["amplitude_mg"].to_numpy(float)
            if "amplitude_mg" in sensor.events
            else np.nan,
        }
    )
    if "n_mono" in sensor.events:
        mapped["n_mono"] = sensor.events["n_mono"].fillna(1).astype(int).to_numpy()
    sens_scored = score_lms(
        mapped, rule_set, hypnogram=hyp, respiratory=ref.respiratory, arousals=ref.arousals, period=tib
    ).reset_index(drop=True)

    sleep = SleepInfo(hyp, tib[0], tib[1], "hypnogram" if hyp is not None else "none")
    idx_ref = _indices(night_indices(ref_scored, sleep, rule_set))
    idx_sens = _indices(night_indices(sens_scored, sleep, rule_set))
    idx_own = _own_indices(sensor.summary)
    if sensor.summary.get("rule_set") not in (None, rule_set.name):
        warnings.append(
            f"the sensor's own indices are scored with {sensor.summary.get('rule_set')}, the comparison with "
            f"{rule_set.name}"
        )

    # event agreement
    events: dict[str, dict[str, Any]] = {}
    di, ri = match_tables(sens_scored, ref_scored, tolerance_s)
    events["lm"] = rates(di.size, len(sens_scored), len(ref_scored))
    for name, col in (("clm", "is_clm"), ("plm", "in_plm_series")):
        sm, rm = _flags(sens_scored, col), _flags(ref_scored, col)
        a, _ = match_tables(sens_scored[sm], ref_scored[rm], tolerance_s)
        events[name] = rates(a.size, int(sm.sum()), int(rm.sum()))

    ref_matched = np.zeros(len(ref_scored), bool)
    ref_matched[ri] = True
    sens_matched = np.zeros(len(sens_scored), bool)
    sens_matched[di] = True
    by_stage = {
        "sensitivity": by_group(ref_matched, ref_scored["stage"].to_numpy(object)),
        "ppv": by_group(sens_matched, sens_scored["stage"].to_numpy(object)),
    }
    by_duration = by_group(ref_matched, ref_scored["duration_s"].to_numpy(float), DURATION_BANDS_S)
    by_amplitude = by_group(sens_matched, sens_scored["amplitude_mg"].to_numpy(float), AMPLITUDE_BANDS)
    onset_err = sens_scored["onset_s"].to_numpy(float)[di] - ref_scored["onset_s"].to_numpy(float)[ri]
    dur_err = sens_scored["duration_s"].to_numpy(float)[di] - ref_scored["duration_s"].to_numpy(float)[ri]

    matched = _matched_table(sens_scored, ref_scored, di, ri, alignment)
    return NightAgreement(
        sensor_night=str(sensor.path),
        reference=os.fspath(reference),
        reference_format=ref.source_format,
        rule_set=rule_set.name,
        tolerance_s=float(tolerance_s),
        reference_side=side if reference_side is not None else "both",
        alignment=alignment,
        events=events,
        indices={"reference": idx_ref, "sensor": idx_sens, "sensor_own": idx_own},
        by_stage=by_stage,
        by_duration=by_duration,
        by_amplitude=by_amplitude,
        onset_error=error_stats(onset_err),
        duration_error=error_stats(dur_err),
        matched=matched,
        reference_scored=ref_scored,
        sensor_scored=sens_scored,
        reference_hypnogram=hyp,
        time_in_bed_s=(float(tib[0]), float(tib[1])),
        warnings=tuple(warnings),
    )


def _matched_table(
    sens: pd.DataFrame,
    ref: pd.DataFrame,
    di: np.ndarray,
    ri: np.ndarray,
    alignment: Alignment,
) -> pd.DataFrame:
    """One row per matched pair (``match``), unmatched reference movement (``miss``) and unmatched
    sensor movement (``extra``), in reference-clock order."""
    pair_of_ref = np.full(len(ref), -1)
    pair_of_ref[ri] = di
    matched_sens = np.zeros(len(sens), bool)
    matched_sens[di] = True
    rows: list[tuple[int, int, str]] = [
        (j, int(pair_of_ref[j]), "match" if pair_of_ref[j] >= 0 else "miss") for j in range(len(ref))
    ]
    rows += [(-1, i, "extra") for i in range(len(sens)) if not matched_sens[i]]

    def get(df: pd.DataFrame, i: int, col: str) -> Any:
        return df[col].iat[i] if i >= 0 and col in df else None

    recs = []
    for j, i, status in rows:
        s_on_ref = get(sens, i, "onset_s")
        # the sensor's own clock: the inverse of Alignment.to_reference
        own = (
            None
            if i < 0
            else float(
                (s_on_ref - alignment.nominal_s - alignment.offset_s) / (1 + alignment.drift_ppm * 1e-6)
            )
        )
        r_on, r_du = get(ref, j, "onset_s"), get(ref, j, "duration_s")
        s_du = get(sens, i, "duration_s")
        recs.append(
            {
                "status": status,
                "reference_onset_s": r_on,
                "reference_duration_s": r_du,
                "reference_side": get(ref, j, "side"),
                "reference_stage": get(ref, j, "stage"),
                "reference_is_clm": get(ref, j, "is_clm"),
                "reference_in_plm_series": get(ref, j, "in_plm_series"),
                "sensor_onset_s": own,
                "sensor_onset_reference_s": s_on_ref,
                "sensor_duration_s": s_du,
                "sensor_side": get(sens, i, "side"),
                "sensor_amplitude_mg": get(sens, i, "amplitude_mg"),
                "sensor_is_clm": get(sens, i, "is_clm"),
                "sensor_in_plm_series": get(sens, i, "in_plm_series"),
                "onset_error_s": None if status != "match" else float(s_on_ref) - float(r_on),
                "duration_error_s": None if status != "match" else float(s_du) - float(r_du),
            }
        )
    out = pd.DataFrame.from_records(recs, columns=list(MATCHED_COLUMNS))
    key = out["reference_onset_s"].astype(float).fillna(out["sensor_onset_reference_s"].astype(float))
    return out.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
