"""The cohort table's night metrics: snake_case columns with units, typed for pandas.

One row per night (``lmdetect batch``'s ``cohort.parquet`` / ``cohort.csv``). Each display column of
:data:`lmdetect.summary.night.NIGHT_METRIC_COLUMNS` becomes a column named by
:data:`COHORT_METRIC_COLUMNS`: snake_case, the unit last (``_h`` hours, ``_s`` seconds,
``_per_h`` per hour, ``_mg`` milli-g; ``n_`` counts; ratios without a unit). Display labels such as
``PLMS/h`` stay in the reports. :data:`COLUMNS_BEFORE` lists the earlier column names.

Types (:func:`cohort_dtypes`): ``recording_start`` as a tz-aware datetime (UTC; the local offset is
in each night's ``summary.json``), counts as nullable integers (``Int64``), other numbers as
``float64`` (missing: NaN), and ``rule_set``, ``side``, ``sleep_source``, ``sleep_period_source``,
``device_id`` as pandas categories.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
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
]

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


def cohort_metrics(summary: NightSummary | Mapping[str, Any]) -> dict[str, Any]:
    """A night's metrics as cohort columns (:data:`COHORT_METRIC_COLUMNS` order).

    Parameters
    ----------
    summary
        The night's summary, typed or as the ``summary.json`` document.

    Returns
    -------
    dict
        Column -> value as in ``summary.json`` (None where the night has none).
    """
    night = summary if isinstance(summary, NightSummary) else NightSummary.from_dict(summary)
    return {column: get(night) for column, get in _GETTERS.items()}


def cohort_dtypes(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the metric columns typed (module docstring); other columns as they are.

    Numbers are typed even when every night lacks them (all None would give an untyped column), so
    shards and reruns always agree on the Parquet schema.
    """
    out = table.copy()
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
