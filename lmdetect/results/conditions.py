"""Conditions of the nights summarised by ``lmdetect summarize``: where they come from, what is computed.

Conditions are boolean ``condition_<name>`` columns (:data:`lmdetect.summary.conditions.CONDITION_PREFIX`).
:func:`add_condition_columns` puts them on the night table from:

- each night's own diary interventions (the ``interventions`` of its ``summary.json`` whose source
  is ``diary``: a foot wrap, a dose, an infusion date logged for that night);
- the cohort table of a batch output folder given to ``lmdetect summarize`` (``cohort.parquet``,
  else ``cohort.csv``), matched by its ``night_id`` (the night table's ``night``);
- a conditions file (``--conditions``, CSV or Parquet): a ``night`` column (night label, folder name
  or date), optionally ``participant``, and ``condition_<name>`` columns (True/False, yes/no, 1/0;
  an empty cell or an unlisted night is False);
- ``condition_pad`` from the night table's pad rule (``Pad night``) when no source gives it.

:func:`analyse_conditions` then runs the analyses of :mod:`lmdetect.summary.conditions` asked for
(:class:`ConditionRequest`; without one, :func:`conditions_to_compare` picks every condition the
nights differ in, for the multi-night report); :data:`CONDITION_OUTPUTS` are the files
``lmdetect summarize`` adds when conditions are asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, FormatError
from ..summary.conditions import (
    CONDITION_PREFIX,
    BeforeAfter,
    CohortEffects,
    ConditionComparison,
    before_after,
    cohort_effects,
    compare_conditions,
)
from ..summary.multinight import DATE_COLUMN, NIGHT_COLUMN, PAD_COLUMN, PARTICIPANT_COLUMN

__all__ = [
    "CONDITION_OUTPUTS",
    "ConditionRequest",
    "ConditionAnalysis",
    "parse_before_after",
    "read_condition_file",
    "find_cohort_tables",
    "diary_conditions",
    "add_condition_columns",
    "conditions_to_compare",
    "analyse_conditions",
    "ConditionRenderer",
    "condition_sources",
    "condition_document",
]

#: Files written by ``lmdetect summarize`` when conditions are analysed, by key.
CONDITION_OUTPUTS: dict[str, str] = {"stats": "conditions.json", "report": "conditions.html"}

_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


def parse_before_after(text: str) -> tuple[str, dt.date]:
    """``NAME=YYYY-MM-DD`` (``--before-after``) as (name, date)."""
    name, sep, date = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--before-after {text!r}: expected NAME=YYYY-MM-DD")
    try:
        return name.strip(), dt.date.fromisoformat(date.strip())
    except ValueError:
        raise ConfigError(f"--before-after {text!r}: {date!r} is not a date YYYY-MM-DD") from None


@dataclasses.dataclass(frozen=True)
class ConditionRequest:
    """What to analyse: conditions compared, before/after changes, the washout and an optional file."""

    compare: tuple[str, ...] = ()
    before_after: tuple[tuple[str, dt.date], ...] = ()
    washout_days: int = 0
    conditions_file: Path | None = None

    def __bool__(self) -> bool:
        return bool(self.compare or self.before_after)


def _bools(path: Path, values: pd.Series, col: str) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("str").str.strip().str.lower().replace({"nan": "", "<na>": "", "none": ""})
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise FormatError(path, f"column {col}: {values.iloc[i]!r} is not True/False", line=i + 2)
    return text.isin(_TRUE).to_numpy()


def read_condition_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A conditions file or cohort table: ``night``, optional ``participant``, ``condition_*`` as bool."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(p, "no such file")
    try:
        if p.suffix.lower() == ".parquet":
            t = pd.read_parquet(p)
        else:
            t = pd.read_csv(p, dtype="str", keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise FormatError(p, "empty file (no header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise FormatError(p, f"not a readable table ({str(exc).splitlines()[0]})") from None
    if "night" not in t.columns and "night_id" not in t.columns:
        raise FormatError(p, "missing column night", line=1)
    cols = [c for c in t.columns if str(c).startswith(CONDITION_PREFIX)]
    if not cols:
        raise FormatError(p, f"no {CONDITION_PREFIX}<name> column", line=1)
    # a cohort table names a night by night_id (participant/night), as the night table does
    key = "night_id" if "night_id" in t.columns else "night"
    out = pd.DataFrame({"night": t[key].astype(str).to_numpy()})
    if "participant" in t.columns:
        out["participant"] = t["participant"].astype(str).to_numpy()
    for c in cols:
        out[c] = _bools(p, t[c], c)
    return out


def find_cohort_tables(dirs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """``cohort.parquet`` (else ``cohort.csv``) of each folder given that holds one (batch output folders)."""
    out = []
    for d in dirs:
        for name in ("cohort.parquet", "cohort.csv"):
            f = Path(d) / name
            if f.is_file():
                out.append(f)
                break
    return out


def diary_conditions(summary: Mapping[str, Any]) -> set[str]:
    """The names of a night's diary interventions (``summary.json`` ``interventions`` from the diary).

    The pad and manifest flags are left to the pad-night rule and the cohort table, which may have
    been corrected since the night was processed (a labels file, an edited manifest).
    """
    rows = summary.get("interventions") or []
    return {str(r["name"]) for r in rows if isinstance(r, Mapping) and r.get("source") == "diary" and r.get("name")}


def add_condition_columns(
    table: pd.DataFrame,
    sources: Sequence[str | os.PathLike[str]],
    recorded: Mapping[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """The night table with ``condition_*`` columns (module docstring); nights without a condition False.

    Parameters
    ----------
    table
        The night table (``night``, ``participant``, ``date``, ``pad_night``).
    sources
        Cohort tables and conditions files, in order; a condition named by several is True where any says so.
    recorded
        Night label -> the night's own conditions (:func:`diary_conditions`).

    Returns
    -------
    DataFrame
        ``table`` with one bool column ``condition_<name>`` per condition, sorted by name, after the others.
    """
    out = table.copy()
    if recorded:
        names = sorted({n for v in recorded.values() for n in v})
        for n in names:
            vals = np.array([n in set(recorded.get(str(k), ())) for k in out[NIGHT_COLUMN]], dtype=bool)
            col = CONDITION_PREFIX + n
            out[col] = (out[col].to_numpy(dtype=bool) | vals) if col in out.columns else vals
    for src in sources:
        conds = read_condition_file(src)
        keys = ["participant", "night"] if "participant" in conds.columns else ["night"]
        if conds.duplicated(keys).any():
            dup = conds[conds.duplicated(keys)].iloc[0]
            raise FormatError(src, f"night {dup['night']!r} listed twice")
        by_night = {tuple(r[k] for k in keys): r for _, r in conds.iterrows()}
        names = [c for c in conds.columns if c.startswith(CONDITION_PREFIX)]
        hits = []
        for _, row in out.iterrows():
            # the night's label, its folder name (the label's last part), its date
            cand = list(dict.fromkeys([row[NIGHT_COLUMN], str(row[NIGHT_COLUMN]).rsplit("/", 1)[-1], row[DATE_COLUMN]]))
            found = None
            for night in cand:
                key = (row[PARTICIPANT_COLUMN], night) if len(keys) == 2 else (night,)
                if key in by_night:
                    found = by_night[key]
                    break
            hits.append(found)
        for c in names:
            vals = np.array([bool(h[c]) if h is not None else False for h in hits])
            out[c] = (out[c].to_numpy(dtype=bool) | vals) if c in out.columns else vals
    if CONDITION_PREFIX + "pad" not in out.columns:
        out[CONDITION_PREFIX + "pad"] = out[PAD_COLUMN].astype(bool)
    conds = sorted(c for c in out.columns if str(c).startswith(CONDITION_PREFIX))
    return out[[c for c in out.columns if c not in conds] + conds]


def conditions_to_compare(table: pd.DataFrame) -> tuple[str, ...]:
    """Every condition the nights of ``table`` differ in (on some nights, not on all), by name.

    Empty when that is the pad alone, which the pad comparison already covers; what the multi-night
    report compares when no condition is asked for.
    """
    names = []
    for c in table.columns:
        if str(c).startswith(CONDITION_PREFIX):
            v = table[c].astype(bool)
            if v.any() and not v.all():
                names.append(str(c)[len(CONDITION_PREFIX):])
    return () if names in ([], ["pad"]) else tuple(sorted(names))


@dataclasses.dataclass(frozen=True, eq=False)
class ConditionAnalysis:
    """The analyses run: night-level comparisons, before/after changes, cohort effects (several participants).

    ``requested`` is False when the conditions compared were not asked for but are every condition the
    nights differ in (:func:`conditions_to_compare`).
    """

    metric: str
    comparisons: tuple[ConditionComparison, ...]
    before_after: tuple[BeforeAfter, ...]
    cohort: CohortEffects | None
    table: pd.DataFrame
    requested: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "requested": self.requested,
            "conditions": [c.condition for c in self.comparisons],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "before_after": [b.to_dict() for b in self.before_after],
            "cohort": None if self.cohort is None else self.cohort.to_dict(),
        }


def analyse_conditions(
    table: pd.DataFrame,
    request: ConditionRequest,
    *,
    metric: str,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    requested: bool = True,
) -> ConditionAnalysis:
    """Run the analyses of ``request`` on a night table that has its ``condition_*`` columns.

    Night-level comparisons pool every night given; with nights of 2 or more participants the
    within-participant effects (:func:`lmdetect.summary.conditions.cohort_effects`) are added, and a
    before/after change is analysed per participant only when there is one (else an error).
    """
    comparisons: tuple[ConditionComparison, ...] = ()
    cohort = None
    if request.compare:
        comparisons = compare_conditions(table, request.compare, metric, n_boot=n_boot, seed=seed,
                                         confidence=confidence)
        if table[PARTICIPANT_COLUMN].nunique() >= 2:
            cohort = cohort_effects(table, request.compare, metric, confidence=confidence,
                                    participant_column=PARTICIPANT_COLUMN)
    changes = []
    if request.before_after and table[PARTICIPANT_COLUMN].nunique() > 1:
        raise ConfigError("--before-after needs the nights of one participant; summarise each participant apart")
    for name, start in request.before_after:
        changes.append(before_after(table, name, start, metric, washout_days=request.washout_days, n_boot=n_boot,
                                    seed=seed, confidence=confidence))
    return ConditionAnalysis(metric=metric, comparisons=comparisons, before_after=tuple(changes), cohort=cohort,
                             table=table, requested=requested)


#: Renders ``conditions.html``: (analysis, its ``conditions.json`` document) -> HTML text.
ConditionRenderer = Callable[[ConditionAnalysis, "dict[str, Any]"], str]


def condition_sources(dirs: Sequence[str | os.PathLike[str]],
                      conditions_file: str | os.PathLike[str] | None = None) -> list[str | os.PathLike[str]]:
    """Where conditions come from besides the nights themselves: the cohort tables of ``dirs``, then the file."""
    sources: list[str | os.PathLike[str]] = [*find_cohort_tables(dirs)]
    if conditions_file is not None:
        sources.append(conditions_file)
    return sources


def condition_document(analysis: ConditionAnalysis) -> dict[str, Any]:
    """``conditions.json`` (and ``multinight.json``'s ``conditions``): :meth:`ConditionAnalysis.to_dict`, JSON-ready."""
    from .summary_json import to_jsonable

    return to_jsonable(analysis.to_dict())  # type: ignore[no-any-return]
