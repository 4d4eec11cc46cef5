"""The cohort table's night metrics: snake_case columns with units, typed for pandas.

One row per night (``lmdetect batch``'s ``cohort.parquet`` / ``cohort.csv``). Each display column of
:data:`lmdetect.summary.night.NIGHT_METRIC_COLUMNS` becomes a column named by
:data:`COHORT_METRIC_COLUMNS`: snake_case, the unit last (``_h`` hours, ``_s`` seconds,
``_per_h`` per hour, ``_mg`` milli-g; ``n_`` counts; ratios without a unit). Display labels such as
``PLMS/h`` stay in the reports. :data:`COLUMNS_BEFORE` lists the earlier column names.

After the metrics, :func:`condition_columns`: ``interventions`` (the night's interventions as text)
and one boolean ``condition_<name>`` per condition (``summary.json`` ``conditions``: diary
interventions, the pad, manifest flags), False on the nights without it.

Types (:func:`cohort_dtypes`): ``recording_start`` as a tz-aware datetime (UTC; the local offset is
in each night's ``summary.json``), counts as nullable integers (``Int64``), other numbers as
``float64`` (missing: NaN), and ``rule_set``, ``side``, ``sleep_source``, ``sleep_period_source``,
``device_id`` as pandas categories.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..summary.metric_ids import METRIC_IDS
from ..summary.night import NIGHT_METRIC_COLUMNS
from .night_summary import NightSummary

__all__ = [
    "COHORT_METRIC_COLUMNS",
    "COLUMNS_BEFORE",
    "CATEGORY_COLUMNS",
    "DATETIME_COLUMNS",
    "cohort_metrics",
    "cohort_dtypes",
    "condition_columns",
    "CONDITION_PREFIX",
]

#: Prefix of the boolean per-condition cohort columns (``condition_pad``, ``condition_foot_wrap``).
CONDITION_PREFIX = "condition_"

#: ``summary.json`` key (dotted for nested sections) -> cohort column, in table order: the metric
#: ids of :mod:`lmdetect.summary.metric_ids`, the same names as the multi-night table's.
COHORT_METRIC_COLUMNS: dict[str, str] = dict(METRIC_IDS)

#: Earlier cohort column (the report's display label) -> cohort column.
COLUMNS_BEFORE: dict[str, str] = {c.label: COHORT_METRIC_COLUMNS[c.key] for c in NIGHT_METRIC_COLUMNS}

#: Columns stored as pandas categories.
CATEGORY_COLUMNS: tuple[str, ...] = ("device_id", "side", "rule_set", "sleep_source", "sleep_period_source")
#: Columns stored as tz-aware (UTC) datetimes.
DATETIME_COLUMNS: tuple[str, ...] = ("recording_start",)

_NUMERIC = {COHORT_METRIC_COLUMNS[c.key] for c in NIGHT_METRIC_COLUMNS if c.decimals is not None}
_COUNTS = {COHORT_METRIC_COLUMNS[c.key] for c in NIGHT_METRIC_COLUMNS
           if c.decimals is None and COHORT_METRIC_COLUMNS[c.key].startswith("n_")}
_GETTERS = {column: operator.attrgetter(key) for key, column in COHORT_METRIC_COLUMNS.items()}


def cohort_metrics(
    summary: NightSummary | Mapping[str, Any], manifest_conditions: Iterable[str] | None = None
) -> dict[str, Any]:
    """A night's metrics as cohort columns (:data:`COHORT_METRIC_COLUMNS` order).

    Parameters
    ----------
    summary
        The night's summary, typed or as the ``summary.json`` document.

    manifest_conditions
        See :func:`condition_columns`.

    Returns
    -------
    dict
        Column -> value as in ``summary.json`` (None where the night has none), then
        :func:`condition_columns`.
    """
    night = summary if isinstance(summary, NightSummary) else NightSummary.from_dict(summary)
    out = {column: get(night) for column, get in _GETTERS.items()}
    out.update(condition_columns(night.to_dict() if isinstance(summary, NightSummary) else summary,
                                 manifest_conditions))
    return out


def _is_true(v: Any) -> bool:
    # True from rows, or "True" read back from a CSV; missing (a night without the condition) is False
    return v is True or (isinstance(v, (bool, int)) and bool(v)) or str(v).strip().lower() in ("true", "1")


def _clock(iso: str | None) -> str:
    return iso[11:16] if iso and len(iso) >= 16 else ""


def _describe(row: Mapping[str, Any]) -> str:
    """``ropinirole 0.25 mg 21:00``, ``foot_wrap 22:30-06:10``, ``iron_infusion 1000 mg 2026-03-10``."""
    parts = [str(row.get("name", "")), row.get("dose") or ""]
    a, b = _clock(row.get("start")), _clock(row.get("end"))
    parts.append(f"{a}-{b}" if a and b else a or (row.get("date") or ""))
    return " ".join(p for p in parts if p)


def condition_columns(
    summary: Mapping[str, Any], manifest_conditions: Iterable[str] | None = None
) -> dict[str, Any]:
    """``interventions`` text and ``condition_<name>`` True for each of the night's conditions.

    Parameters
    ----------
    summary
        The ``summary.json`` document.
    manifest_conditions
        The manifest's flags for this night as they are now; when given they replace the manifest
        flags recorded in the summary (a resumed batch whose manifest was edited), the diary's and
        the pad's stay.
    """
    rows = [r for r in summary.get("interventions") or [] if isinstance(r, Mapping)]
    if manifest_conditions is None:
        names = set(summary.get("conditions") or [])
    else:
        rows = [r for r in rows if r.get("source") != "manifest"]
        names = {str(r.get("name")) for r in rows} | set(manifest_conditions)
    timed = [r for r in rows if r.get("source") != "manifest"]
    out: dict[str, Any] = {"interventions": "; ".join(dict.fromkeys(_describe(r) for r in timed))}
    out.update({f"{CONDITION_PREFIX}{n}": True for n in sorted(names)})
    return out


def cohort_dtypes(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the metric columns typed (module docstring); other columns as they are.

    Numbers are typed even when every night lacks them (all None would give an untyped column), so
    shards and reruns always agree on the Parquet schema.
    """
    out = table.copy()
    conditions = sorted(c for c in out.columns if str(c).startswith(CONDITION_PREFIX))
    if conditions:
        # every night has every condition column (False where absent), right after ``interventions``
        for col in conditions:
            out[col] = out[col].map(_is_true).astype(bool)
        rest = [c for c in out.columns if c not in conditions]
        at = rest.index("interventions") + 1 if "interventions" in rest else len(rest)
        out = out[rest[:at] + conditions + rest[at:]]
    if "interventions" in out.columns:
        out["interventions"] = out["interventions"].fillna("").astype(str)
    for col in out.columns:
        if col in _NUMERIC:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        elif col in _COUNTS:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
        elif col in DATETIME_COLUMNS:
            out[col] = pd.to_datetime(out[col], utc=True, format="ISO8601")  # with or without fractional seconds
        elif col in CATEGORY_COLUMNS:
            out[col] = out[col].astype("category")
    return out
