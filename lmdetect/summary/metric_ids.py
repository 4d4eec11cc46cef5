"""Stable snake_case ids of the night metrics, shared by the cohort and multi-night tables.

A night metric has three names: its ``summary.json`` key (dotted for nested sections,
:attr:`lmdetect.summary.night.MetricColumn.key`), its display label (``PLMS/h``, shown in the
reports only) and its id, the column name of every table a program reads (``cohort.parquet``,
``multinight.parquet``, the statistics of ``multinight.json``). Ids are snake_case with the unit
last: ``_h`` hours, ``_s`` seconds, ``_per_h`` per hour, ``_mg`` milli-g; ``n_`` counts; ratios
and text without a unit.
"""

from __future__ import annotations

from ..errors import ConfigError
from .night import NIGHT_METRIC_COLUMNS, MetricColumn

__all__ = ["METRIC_IDS", "METRIC_BY_ID", "ID_BY_LABEL", "metric_label", "metric_id_for"]

#: ``summary.json`` key -> metric id, in :data:`~lmdetect.summary.night.NIGHT_METRIC_COLUMNS` order.
METRIC_IDS: dict[str, str] = {
    "recording_start": "recording_start",
    "device_id": "device_id",
    "side": "side",
    "rule_set": "rule_set",
    "sleep_source": "sleep_source",
    "sleep_period_source": "sleep_period_source",
    "tib_h": "tib_h",
    "tst_h": "tst_h",
    "wake_h": "wake_h",
    "plms_index": "plms_per_h",
    "plmw_index": "plmw_per_h",
    "clm_index": "clm_per_h",
    "clmw_index": "clmw_per_h",
    "plm_index_tib": "plm_tib_per_h",
    "plmnr_index": "plmsnr_per_h",
    "plms_arousal_index": "plms_arousal_per_h",
    "n_plms": "n_plms",
    "n_plmw": "n_plmw",
    "n_clm": "n_clm",
    "n_series": "n_series",
    "periodicity_index": "periodicity_index",
    "plm_clm_ratio": "plm_clm_ratio",
    "imi_geometric_mean_s": "imi_geometric_mean_s",
    "imi_median_s": "imi_median_s",
    "context.rls.inside.plm_per_h": "rls_inside_plm_per_h",
    "context.rls.outside.plm_per_h": "rls_outside_plm_per_h",
    "context.pad.windows.before.plm_per_h": "pad_before_plm_per_h",
    "context.pad.windows.after_end.plm_per_h": "pad_after_end_plm_per_h",
    "context.pad.agreement.jaccard": "pad_agreement_jaccard",
    "quality.wear_h": "wear_h",
    "quality.gap_total_s": "gap_total_s",
    "quality.n_backfilled": "n_backfilled",
    "quality.noise_floor_mg": "noise_floor_mg",
    "quality.onset_threshold_mg": "onset_threshold_mg",
}

_missing = [c.key for c in NIGHT_METRIC_COLUMNS if c.key not in METRIC_IDS]
if _missing:  # a display column added without an id would silently vanish from the tables
    raise RuntimeError(f"night metric(s) without an id in METRIC_IDS: {', '.join(_missing)}")

#: Metric id -> its display column (label, group, decimals, description).
METRIC_BY_ID: dict[str, MetricColumn] = {METRIC_IDS[c.key]: c for c in NIGHT_METRIC_COLUMNS}
#: Display label (the column name of earlier releases) -> metric id.
ID_BY_LABEL: dict[str, str] = {c.label: METRIC_IDS[c.key] for c in NIGHT_METRIC_COLUMNS}


def metric_label(name: str) -> str:
    """The display label of a metric id (the name itself when it is no metric, e.g. ``night``)."""
    column = METRIC_BY_ID.get(name)
    return column.label if column is not None else name


def metric_id_for(name: str, choices: tuple[str, ...] | list[str] | None = None) -> str:
    """The metric id ``name`` stands for: an id as it is, a display label mapped to its id.

    Parameters
    ----------
    name
        A metric id (``plms_per_h``) or a display label of earlier releases (``PLMS/h``).
    choices
        Ids allowed; default: every metric id.

    Raises
    ------
    ConfigError
        ``name`` is neither (the message lists the choices).
    """
    allowed = list(METRIC_BY_ID) if choices is None else list(choices)
    metric = ID_BY_LABEL.get(name, name)
    if metric not in allowed:
        raise ConfigError(f"unknown metric {name!r}; choose one of {', '.join(allowed)}")
    return metric
