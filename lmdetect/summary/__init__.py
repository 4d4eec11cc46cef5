"""Night metrics beyond the indices: RLS episodes and vibration-pad sessions against PLMs, and the
display columns shared by the per-night report and the multi-night table."""

from .night import (
    NIGHT_METRIC_COLUMNS,
    MetricColumn,
    format_metric,
    metric_value,
    night_context,
    night_metrics_row,
)
from .pad import pad_agreement, pad_context
from .rls import plm_series_spans, rls_context

__all__ = [
    "night_context",
    "night_metrics_row",
    "NIGHT_METRIC_COLUMNS",
    "MetricColumn",
    "metric_value",
    "format_metric",
    "rls_context",
    "plm_series_spans",
    "pad_agreement",
    "pad_context",
]
