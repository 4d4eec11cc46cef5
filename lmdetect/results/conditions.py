"""Conditions of the nights summarised by ``lmdetect summarize``: where they come from, what is computed.

Conditions are boolean ``condition_<name>`` columns (:data:`lmdetect.summary.conditions.CONDITION_PREFIX`).
:func:`add_condition_columns` puts them on the night table from:

- the cohort table of a batch output folder given to ``lmdetect summarize`` (``cohort.parquet``,
  else ``cohort.csv``), matched by participant and night id;
- a conditions file (``--conditions``, CSV or Parquet): a ``night`` column (night label, folder name
  or date), optionally ``participant``, and ``condition_<name>`` columns (True/False, yes/no, 1/0;
  an empty cell or an unlisted night is False);
- ``condition_pad`` from the night table's pad rule (``Pad night``) when no source gives it.

:func:`analyse_conditions` then runs the analyses of :mod:`lmdetect.summary.conditions` asked for
(:class:`ConditionRequest`); :data:`CONDITION_OUTPUTS` are the files ``lmdetect summarize`` adds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
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
    "add_condition_columns",
    "analyse_conditions",
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
    if "night" not in t.columns:
        raise FormatError(p, "missing column night", line=1)
    cols = [c for c in t.columns if str(c).startswith(CONDITION_PREFIX)]
    if not cols:
        raise FormatError(p, f"no {CONDITION_PREFIX}<name> column", line=1)
    out = pd.DataFrame({"night": t["night"].astype(str).to_numpy()})
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


def add_condition_columns(table: pd.DataFrame, sources: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """The night table with ``condition_*`` columns from ``sources`` (module docstring); unlisted nights False."""
    out = table.copy()
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
            cand = [row[NIGHT_COLUMN], row[DATE_COLUMN]]
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
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class ConditionAnalysis:
    """The analyses run: night-level comparisons, before/after changes, cohort effects (several participants)."""

    metric: str
    comparisons: tuple[ConditionComparison, ...]
    before_after: tuple[BeforeAfter, ...]
    cohort: CohortEffects | None
    table: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
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
                             table=table)


#: Renders ``conditions.html`` from the analysis and its ``conditions.json`` document.
ConditionRenderer = Any  # Callable[[ConditionAnalysis, dict[str, Any]], str]


def condition_outputs(
    request: ConditionRequest,
    dirs: Sequence[str | os.PathLike[str]],
    *,
    metric: str,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    render: ConditionRenderer | None = None,
) -> Any:
    """The extra outputs of ``lmdetect summarize`` for ``request``: a function of the multi-night summary
    returning ``{key: (file name, text)}`` (``conditions.json``, and ``conditions.html`` with ``render``).

    Condition columns come from the cohort tables of ``dirs`` and ``request.conditions_file``
    (:func:`add_condition_columns`).
    """
    import json

    from .summary_json import to_jsonable

    sources: list[str | os.PathLike[str]] = [*find_cohort_tables(dirs)]
    if request.conditions_file is not None:
        sources.append(request.conditions_file)

    def outputs(summary: Any, _folders: Any) -> dict[str, tuple[str, str]]:
        table = add_condition_columns(summary.table, sources)
        analysis = analyse_conditions(table, request, metric=metric, n_boot=n_boot, seed=seed, confidence=confidence)
        doc = to_jsonable(analysis.to_dict())
        out = {"conditions_stats": (CONDITION_OUTPUTS["stats"], json.dumps(doc, indent=2, allow_nan=False) + "\n")}
        if render is not None:
            out["conditions_report"] = (CONDITION_OUTPUTS["report"], render(analysis, doc))
        return out

    return outputs
