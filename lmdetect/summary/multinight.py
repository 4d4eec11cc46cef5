"""Several nights of one person: the night table, night-to-night trends, pad vs no-pad nights.

Pure: night summaries (the ``summary.json`` documents of ``lmdetect process``) in, tables and
frozen result objects out. Reading folders and drawing the report live in
:mod:`lmdetect.results.multinight` and :mod:`lmdetect.report.multinight`.

The night table has one row per night: :data:`TABLE_ID_COLUMNS` then the night metrics of
:data:`lmdetect.summary.night.NIGHT_METRIC_COLUMNS`, named by their stable snake_case ids with
units (:mod:`lmdetect.summary.metric_ids`: ``plms_per_h``, ``periodicity_index``, ...), the same
column names as the cohort table. The statistics are keyed by the same ids; display labels
(``PLMS/h``) appear in the reports only (:func:`lmdetect.summary.metric_ids.metric_label`).
:data:`COLUMNS_BEFORE` lists the names of earlier releases (the display labels).

**Pad nights.** A night counts as a pad night when its summary shows any vibration-pad use: a
logged session (``n_pad_logged > 0`` or ``context.pad_logged_h > 0``) or one detected in the
signal (``n_vibration_detected > 0`` or ``context.pad_detected_h > 0``). A label given for the
night (a labels file) overrides this rule.

**Why several nights.** PLM indices vary a lot from night to night within one person. Trotti et
al. (Sleep Med 2009; 20 people with RLS, 10-15 nights each by ankle accelerometer) found a mean
difference of 25.1/h between a person's lowest and highest night, and a between-person variance
only about 5 times the within-person variance; a single night crossed the cut-off of 15/h on 34 %
of nights, while at least one of 5 random nights crossed it in 63 % of cases. A comparison of conditions within one person therefore needs several nights of each:
:data:`MIN_NIGHTS_PER_GROUP` = 5, below which :func:`pad_comparison` adds a caution.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import ConfigError, LmdetectError
from .metric_ids import ID_BY_LABEL, METRIC_IDS, metric_label
from .night import NIGHT_METRIC_COLUMNS, metric_value

__all__ = [
    "NIGHT_COLUMN",
    "PARTICIPANT_COLUMN",
    "DATE_COLUMN",
    "PAD_COLUMN",
    "EVIDENCE_COLUMN",
    "TABLE_ID_COLUMNS",
    "COLUMNS_BEFORE",
    "COLUMN_LABELS",
    "column_id",
    "MIN_NIGHTS_PER_GROUP",
    "DEFAULT_METRIC",
    "TREND_METRICS",
    "PAD_RULE",
    "pad_evidence",
    "night_date",
    "multinight_table",
    "numeric_columns",
    "table_average",
    "table_cautions",
    "Trend",
    "metric_trend",
    "PadComparison",
    "pad_comparison",
    "MultiNightSummary",
    "multinight_summary",
]

NIGHT_COLUMN = "night"
PARTICIPANT_COLUMN = "participant"
DATE_COLUMN = "date"
PAD_COLUMN = "pad_night"
EVIDENCE_COLUMN = "pad_evidence"

#: The leading columns of the night table; the night's metrics follow, by id.
TABLE_ID_COLUMNS: tuple[str, ...] = (NIGHT_COLUMN, PARTICIPANT_COLUMN, DATE_COLUMN, PAD_COLUMN, EVIDENCE_COLUMN)

#: Column (and statistics key) of earlier releases -> its name now.
COLUMNS_BEFORE: dict[str, str] = {
    "Night": NIGHT_COLUMN,
    "Participant": PARTICIPANT_COLUMN,
    "Date": DATE_COLUMN,
    "Pad night": PAD_COLUMN,
    "Pad evidence": EVIDENCE_COLUMN,
    **ID_BY_LABEL,
}

#: Display label of each table column (the reports' headers).
COLUMN_LABELS: dict[str, str] = {
    NIGHT_COLUMN: "Night",
    PARTICIPANT_COLUMN: "Participant",
    DATE_COLUMN: "Date",
    PAD_COLUMN: "Pad night",
    EVIDENCE_COLUMN: "Pad evidence",
    **{METRIC_IDS[c.key]: c.label for c in NIGHT_METRIC_COLUMNS},
}

#: Nights per condition below which a within-person comparison gets a caution (Trotti et al.,
#: Sleep Med 2009: with 5 random nights at least one crossed PLMS index 5/10/15 per h in
#: 91/81/63 % of cases, against 70/52/34 % of single nights).
MIN_NIGHTS_PER_GROUP = 5

#: The metric compared between pad and no-pad nights by default (PLMS/h).
DEFAULT_METRIC = "plms_per_h"

#: Metrics whose night-to-night trend the report shows (PLMS/h, periodicity index).
TREND_METRICS: tuple[str, ...] = ("plms_per_h", "periodicity_index")

#: The pad-night rule in words (shown in the report and docs).
PAD_RULE = (
    "A night is a pad night when its summary shows vibration-pad use: at least one session in the "
    "pad log (n_pad_logged > 0, or logged pad time > 0) or found in the acceleration "
    "(n_vibration_detected > 0, or detected pad time > 0). A labels file overrides this per night."
)


def column_id(name: str) -> str:
    """The column ``name`` stands for: a column as it is; a name of earlier releases (``PLMS/h``,
    :data:`COLUMNS_BEFORE`) mapped to its id with a :class:`DeprecationWarning`."""
    new = COLUMNS_BEFORE.get(name)
    if new is None or new == name:
        return name
    warnings.warn(
        f"the night-table column {name!r} is now named {new!r}; the old name will stop working in a later release",
        DeprecationWarning,
        stacklevel=3,
    )
    return new


def _positive(summary: Mapping[str, Any], key: str) -> bool:
    v = metric_value(summary, key)
    try:
        return bool(v is not None and float(v) > 0)
    except (TypeError, ValueError):
        return False


def pad_evidence(summary: Mapping[str, Any]) -> str:
    """How a night's summary shows pad use: ``"log"``, ``"signal"``, ``"log+signal"`` or ``"none"``.

    The log counts when ``n_pad_logged`` or ``context.pad_logged_h`` is positive; the signal when
    ``n_vibration_detected`` or ``context.pad_detected_h`` is.
    """
    logged = _positive(summary, "n_pad_logged") or _positive(summary, "context.pad_logged_h")
    detected = _positive(summary, "n_vibration_detected") or _positive(summary, "context.pad_detected_h")
    if logged and detected:
        return "log+signal"
    return "log" if logged else "signal" if detected else "none"


def _start(summary: Mapping[str, Any], where: str) -> dt.datetime:
    text = summary.get("recording_start") or metric_value(summary, "recording.start")
    try:
        start = dt.datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        raise LmdetectError(f"{where}: recording_start {text!r} is not an ISO 8601 date-time") from None
    if start.tzinfo is None or start.utcoffset() is None:
        raise LmdetectError(f"{where}: recording_start {text!r} has no UTC offset")
    return start


def night_date(summary: Mapping[str, Any]) -> dt.date:
    """The date of the evening a night began: the local recording start minus 12 h.

    A recording started at 22:30 or at 00:30 the next day both belong to the evening's date.
    """
    return (_start(summary, "summary") - dt.timedelta(hours=12)).date()


def multinight_table(
    summaries: Sequence[Mapping[str, Any]],
    nights: Sequence[str],
    *,
    participants: Sequence[str] | None = None,
    pad_labels: Sequence[bool | None] | None = None,
) -> pd.DataFrame:
    """One row per night, sorted by recording start.

    Parameters
    ----------
    summaries
        ``summary.json`` documents, one per night.
    nights
        A unique label per night (``night`` column).
    participants
        Participant per night (``participant`` column); default: the ``batch.participant`` of the
        summary when present, else empty.
    pad_labels
        Per night True (pad night), False (no-pad night) or None (decide by :data:`PAD_RULE`).

    Returns
    -------
    DataFrame
        Columns :data:`TABLE_ID_COLUMNS` (``date`` as ``YYYY-MM-DD`` text, ``pad_night`` bool,
        ``pad_evidence`` one of ``log``, ``signal``, ``log+signal``, ``none`` or ``label``), then
        the metric ids (:data:`lmdetect.summary.metric_ids.METRIC_IDS`) of
        :data:`lmdetect.summary.night.NIGHT_METRIC_COLUMNS`: measures as float64 (NaN when not
        available), counts as nullable Int64, text as strings.
    """
    n = len(summaries)
    if len(nights) != n:
        raise ConfigError(f"{n} summaries but {len(nights)} night labels")
    if len(set(nights)) != n:
        dup = sorted({x for x in nights if list(nights).count(x) > 1})
        raise ConfigError(f"night labels must be unique; repeated: {', '.join(dup)}")
    if participants is not None and len(participants) != n:
        raise ConfigError(f"{n} summaries but {len(participants)} participants")
    if pad_labels is not None and len(pad_labels) != n:
        raise ConfigError(f"{n} summaries but {len(pad_labels)} pad labels")
    rows, starts = [], []
    for i, (summary, night) in enumerate(zip(summaries, nights, strict=True)):
        start = _start(summary, f"night {night}")
        evidence = pad_evidence(summary)
        label = None if pad_labels is None else pad_labels[i]
        if participants is not None:
            who = participants[i]
        else:
            who = str(metric_value(summary, "batch.participant") or "")
        row: dict[str, Any] = {
            NIGHT_COLUMN: night,
            PARTICIPANT_COLUMN: who,
            DATE_COLUMN: (start - dt.timedelta(hours=12)).date().isoformat(),
            PAD_COLUMN: (evidence != "none") if label is None else bool(label),
            EVIDENCE_COLUMN: evidence if label is None else "label",
        }
        row.update({METRIC_IDS[c.key]: metric_value(summary, c.key) for c in NIGHT_METRIC_COLUMNS})
        rows.append(row)
        starts.append((start.astimezone(dt.UTC), night))
    order = sorted(range(n), key=lambda k: starts[k])
    columns = list(TABLE_ID_COLUMNS) + [METRIC_IDS[c.key] for c in NIGHT_METRIC_COLUMNS]
    table = pd.DataFrame.from_records([rows[k] for k in order], columns=columns)
    for c in NIGHT_METRIC_COLUMNS:
        name = METRIC_IDS[c.key]
        if c.group == "night":
            table[name] = table[name].map(lambda v: "" if v is None else str(v)).astype("str")
            continue
        x = pd.to_numeric(table[name], errors="coerce").astype("float64")
        whole = x.dropna()
        if c.decimals is None and len(whole) and bool((whole == np.round(whole)).all()):
            table[name] = x.astype("Int64")  # counts stay integers, missing ones <NA>
        else:
            table[name] = x
    for col in (NIGHT_COLUMN, PARTICIPANT_COLUMN, DATE_COLUMN, EVIDENCE_COLUMN):
        table[col] = table[col].astype("str")
    table[PAD_COLUMN] = table[PAD_COLUMN].astype(bool)
    return table


def numeric_columns(table: pd.DataFrame) -> list[str]:
    """The metric columns of a night table that hold numbers."""
    return [METRIC_IDS[c.key] for c in NIGHT_METRIC_COLUMNS if c.group != "night" and METRIC_IDS[c.key] in table.columns]


def _finite(values: pd.Series) -> NDArray[np.float64]:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    return x[np.isfinite(x)]


def table_average(table: pd.DataFrame) -> dict[str, float | None]:
    """Mean of every numeric metric column over the nights that have a value (None if none do)."""
    out: dict[str, float | None] = {}
    for col in numeric_columns(table):
        x = _finite(table[col])
        out[col] = float(x.mean()) if x.size else None
    return out


def table_cautions(table: pd.DataFrame) -> list[str]:
    """Cautions about the set of nights itself (several participants, mixed rule sets, repeated dates)."""
    out = []
    who = sorted({p for p in table[PARTICIPANT_COLUMN].tolist() if p})
    if len(who) > 1:
        out.append(
            f"The nights come from {len(who)} participants ({', '.join(who)}): trends and the pad comparison "
            "pool them, so they mix differences between people with differences between nights."
        )
    rules = sorted({r for r in table.get("rule_set", pd.Series([], dtype=str)).tolist() if r})
    if len(rules) > 1:
        out.append(f"The nights were scored with different rule sets ({', '.join(rules)}); their indices differ in definition.")
    dates = table[DATE_COLUMN]
    repeated = sorted(set(dates[dates.duplicated()].tolist()))
    if repeated:
        out.append(f"Several recordings share a night date ({', '.join(repeated)}).")
    return out


# --------------------------------------------------------------------------- trends


@dataclasses.dataclass(frozen=True)
class Trend:
    """Night-to-night spread and drift of one metric.

    Attributes
    ----------
    column
        The metric (a night-table column id, e.g. ``plms_per_h``).
    label
        Its display label (``PLMS/h``).
    n_nights
        Nights with a value.
    mean, sd, cv
        Mean, sample standard deviation (ddof 1) and coefficient of variation (sd / mean) over
        those nights; sd and cv need 2 nights, cv a positive mean.
    minimum, maximum, spread
        Lowest and highest night and their difference (the quantity Trotti et al., Sleep Med
        2009, report: 25.1 PLMS/h on average over 10-15 nights).
    slope_per_night, slope_low, slope_high
        Theil-Sen slope against the night date (change per calendar night) and its 95 %
        confidence interval (Sen, J Am Stat Assoc 1968;63:1379-1389; Theil, Proc K Ned Akad
        Wet 1950;53); None with fewer than 3 nights on 2 different dates.
    """

    column: str
    label: str
    n_nights: int
    mean: float | None
    sd: float | None
    cv: float | None
    minimum: float | None
    maximum: float | None
    spread: float | None
    slope_per_night: float | None
    slope_low: float | None
    slope_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _days(dates: pd.Series) -> NDArray[np.float64]:
    d = pd.to_datetime(dates, format="%Y-%m-%d")
    return ((d - d.min()).dt.days).to_numpy(dtype=np.float64)


def _num(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def metric_trend(table: pd.DataFrame, column: str) -> Trend:
    """Spread and Theil-Sen drift of ``column`` over the nights of ``table``.

    The slope is robust to a single odd night, which least squares is not (Sen 1968).
    """
    column = column_id(column)
    if column not in table.columns:
        raise ConfigError(f"no column {column!r} in the night table; numeric columns are {', '.join(numeric_columns(table))}")
    y_all = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(y_all)
    y = y_all[ok]
    x = _days(table[DATE_COLUMN])[ok] if len(table) else np.zeros(0)
    n = int(y.size)
    mean = float(y.mean()) if n else None
    sd = float(y.std(ddof=1)) if n >= 2 else None
    cv = sd / mean if sd is not None and mean is not None and mean > 0 else None
    slope = low = high = None
    if n >= 3 and np.unique(x).size >= 2:
        from scipy import stats  # here: every night folder imports this module's column names

        r = stats.theilslopes(y, x, alpha=0.95)
        slope, low, high = _num(r.slope), _num(r.low_slope), _num(r.high_slope)
    return Trend(
        column=column,
        label=metric_label(column),
        n_nights=n,
        mean=mean,
        sd=sd,
        cv=cv,
        minimum=float(y.min()) if n else None,
        maximum=float(y.max()) if n else None,
        spread=float(y.max() - y.min()) if n else None,
        slope_per_night=slope,
        slope_low=low,
        slope_high=high,
    )


# --------------------------------------------------------------------------- pad vs no pad


@dataclasses.dataclass(frozen=True)
class PadComparison:
    """Pad nights against no-pad nights: the ratio of mean ``column`` with a bootstrap interval.

    Attributes
    ----------
    column
        The metric compared (a night-table column id; default ``plms_per_h``).
    label
        Its display label (``PLMS/h``).
    n_pad, n_no_pad
        Nights with a value in each group.
    n_excluded
        Nights left out because the metric is missing (e.g. no sleep scored).
    mean_pad, mean_no_pad
        Group means.
    ratio
        ``mean_pad / mean_no_pad``; None when a group is empty or the no-pad mean is 0.
    ci_low, ci_high
        Percentile bootstrap interval of the ratio; None with fewer than 2 nights in a group.
        ``ci_high`` is None as well when the interval is unbounded above (resamples of no-pad
        nights with a mean of 0).
    confidence
        Coverage of the interval (0.95).
    n_boot, seed
        Bootstrap resamples and the seed of their generator.
    n_undefined
        Resamples whose ratio was 0/0 (both means 0), left out of the interval.
    cautions
        Plain-language cautions (too few nights, undefined ratio, ...).
    replicates
        The bootstrap ratios (for plotting); not part of :meth:`to_dict`.
    """

    column: str
    label: str
    n_pad: int
    n_no_pad: int
    n_excluded: int
    mean_pad: float | None
    mean_no_pad: float | None
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    n_boot: int
    seed: int
    n_undefined: int
    cautions: tuple[str, ...]
    replicates: NDArray[np.float64] = dataclasses.field(repr=False, compare=False)

    @property
    def method(self) -> str:
        """The method in one paragraph, with this comparison's settings."""
        return (
            f"Ratio of the mean {self.label} of pad nights to that of no-pad nights. Its "
            f"{100 * self.confidence:g} % confidence interval is the percentile interval of "
            f"{self.n_boot} bootstrap resamples (Efron & Tibshirani, An Introduction to the Bootstrap, 1993): "
            "each resample draws nights with replacement within each group, keeping the group sizes, and "
            "takes the ratio of the two resampled means. The resamples come from numpy's default generator "
            f"seeded with {self.seed}, so the interval is reproducible. Nights are treated as independent "
            "and exchangeable within a group; order effects (a trend over nights) are not modelled."
        )

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "replicates"}
        d["cautions"] = list(self.cautions)
        d["method"] = self.method
        return d


def _too_few(n: int, what: str) -> str:
    return (
        f"Only {n} {what} night{'s' if n != 1 else ''} (fewer than {MIN_NIGHTS_PER_GROUP}). PLM indices vary "
        "widely between one person's nights (Trotti et al., Sleep Med 2009: 25/h between the lowest and "
        f"highest night on average), so a comparison needs at least {MIN_NIGHTS_PER_GROUP} nights per condition; "
        "treat this one as preliminary."
    )


def pad_comparison(
    table: pd.DataFrame,
    column: str = DEFAULT_METRIC,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PadComparison:
    """Compare ``column`` between pad and no-pad nights (ratio of means, bootstrap CI).

    Parameters
    ----------
    table
        A night table (:func:`multinight_table`).
    column
        Numeric column to compare (a metric id; a display label of earlier releases is mapped to
        its id with a DeprecationWarning); nights where it is missing are left out.
    n_boot
        Bootstrap resamples (>= 100).
    seed
        Seed of the resampling generator (same seed, same interval).
    confidence
        Interval coverage, between 0.5 and 0.999.

    Returns
    -------
    PadComparison
    """
    column = column_id(column)
    if column not in numeric_columns(table):
        raise ConfigError(f"cannot compare {column!r}; numeric columns are {', '.join(numeric_columns(table))}")
    label = metric_label(column)
    if not (isinstance(n_boot, int) and n_boot >= 100):
        raise ConfigError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    if not (isinstance(seed, int) and seed >= 0):
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if not (0.5 <= confidence <= 0.999):
        raise ConfigError(f"confidence must be within [0.5, 0.999], got {confidence!r}")
    y = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    pad = table[PAD_COLUMN].to_numpy(dtype=bool)
    ok = np.isfinite(y)
    xp, xn = y[ok & pad], y[ok & ~pad]
    n_p, n_n = int(xp.size), int(xn.size)
    cautions: list[str] = []
    for n, what in ((n_p, "pad"), (n_n, "no-pad")):
        if n < MIN_NIGHTS_PER_GROUP:
            cautions.append(_too_few(n, what))
    n_excluded = int((~ok).sum())
    if n_excluded:
        cautions.append(f"{n_excluded} night{'s' if n_excluded != 1 else ''} without a {label} value left out.")
    mean_p = float(xp.mean()) if n_p else None
    mean_n = float(xn.mean()) if n_n else None
    ratio = ci_low = ci_high = None
    n_undefined = 0
    reps = np.zeros(0)
    if mean_p is not None and mean_n is not None:
        if mean_n > 0:
            ratio = mean_p / mean_n
        else:
            cautions.append(f"The no-pad nights have a mean {label} of 0: the ratio is not defined.")
        if n_p >= 2 and n_n >= 2:
            rng = np.random.default_rng(seed)
            # resample nights within each group, group sizes kept
            mp = xp[rng.integers(0, n_p, size=(n_boot, n_p))].mean(axis=1)
            mn = xn[rng.integers(0, n_n, size=(n_boot, n_n))].mean(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                reps = mp / mn
            undefined = np.isnan(reps)
            n_undefined = int(undefined.sum())
            reps = reps[~undefined]
            if ratio is not None and reps.size:
                alpha = 1.0 - confidence
                # inverted_cdf: the plain order statistic, which stays exact when some ratios are inf
                lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
                ci_low = float(lo)
                if math.isfinite(hi):
                    ci_high = float(hi)
                else:
                    cautions.append(
                        "The upper confidence limit is unbounded: some resamples of no-pad nights had a mean of 0."
                    )
        elif n_p and n_n:
            cautions.append("A confidence interval needs at least 2 nights in each group.")
    if not n_p or not n_n:
        cautions.append(f"No {'pad' if not n_p else 'no-pad'} nights with a {label} value: nothing to compare.")
    return PadComparison(
        column=column,
        label=metric_label(column),
        n_pad=n_p,
        n_no_pad=n_n,
        n_excluded=n_excluded,
        mean_pad=mean_p,
        mean_no_pad=mean_n,
        ratio=ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=float(confidence),
        n_boot=n_boot,
        seed=seed,
        n_undefined=n_undefined,
        cautions=tuple(cautions),
        replicates=reps,
    )


# --------------------------------------------------------------------------- everything together


@dataclasses.dataclass(frozen=True, eq=False)
class MultiNightSummary:
    """The night table and the statistics shown in the multi-night report.

    Attributes
    ----------
    table
        :func:`multinight_table` output.
    comparison
        Pad vs no-pad nights (:func:`pad_comparison`).
    trends
        :func:`metric_trend` of each of :data:`TREND_METRICS` (and the compared metric).
    averages
        Mean of every numeric column over ``all`` nights, ``pad`` nights and ``no_pad`` nights
        (the report's average rows).
    cautions
        :func:`table_cautions` followed by the comparison's cautions.
    """

    table: pd.DataFrame
    comparison: PadComparison
    trends: dict[str, Trend]
    averages: dict[str, dict[str, float | None]]
    cautions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready statistics (what ``multinight.json`` holds besides provenance)."""
        t = self.table
        return {
            "n_nights": int(len(t)),
            "n_pad_nights": int(t[PAD_COLUMN].sum()),
            "n_no_pad_nights": int((~t[PAD_COLUMN]).sum()),
            "nights": t[NIGHT_COLUMN].tolist(),
            "first_date": t[DATE_COLUMN].min() if len(t) else None,
            "last_date": t[DATE_COLUMN].max() if len(t) else None,
            "participants": sorted({p for p in t[PARTICIPANT_COLUMN] if p}),
            "pad_rule": PAD_RULE,
            "min_nights_per_group": MIN_NIGHTS_PER_GROUP,
            "comparison": self.comparison.to_dict(),
            "trends": {k: v.to_dict() for k, v in self.trends.items()},
            "averages": self.averages,
            "cautions": list(self.cautions),
        }


def multinight_summary(
    table: pd.DataFrame,
    *,
    metric: str = DEFAULT_METRIC,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> MultiNightSummary:
    """Trends, averages and the pad comparison of ``metric`` for a night table.

    Raises
    ------
    ConfigError
        An empty table or a metric that is not a numeric column.
    """
    if len(table) == 0:
        raise ConfigError("no nights to summarise")
    metric = column_id(metric)
    comparison = pad_comparison(table, metric, n_boot=n_boot, seed=seed, confidence=confidence)
    names = list(dict.fromkeys([*TREND_METRICS, metric]))
    trends = {m: metric_trend(table, m) for m in names if m in table.columns}
    pad = table[PAD_COLUMN].to_numpy(dtype=bool)
    averages = {"all": table_average(table), "pad": table_average(table[pad]), "no_pad": table_average(table[~pad])}
    return MultiNightSummary(
        table=table,
        comparison=comparison,
        trends=trends,
        averages=averages,
        cautions=tuple(table_cautions(table)) + comparison.cautions,
    )
