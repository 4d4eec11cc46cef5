"""The result type of every scored-event reader, and the collector that builds it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import math
import os
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...errors import FormatError
from ._labels import Label

__all__ = ["ScoredEvents", "EventCollector", "DEFAULT_EPOCH_S"]

log = logging.getLogger(__name__)

#: Stage events longer than one epoch (NSRR XML stores runs of equal stages as one event) are
#: split into epochs of this length (AASM scoring epoch, 30 s) unless the file says otherwise.
DEFAULT_EPOCH_S = 30.0


@dataclasses.dataclass(frozen=True)
class ScoredEvents:
    """The content of a scored-event file that the PLM scoring can use.

    Attributes
    ----------
    lms : DataFrame
        Monolateral leg movements: onset_s, duration_s, side, kind (``lm``), amplitude_mg (NaN)
        and, for our own events.csv, the columns it carries (n_mono ...). Sorted by onset.
    hypnogram : DataFrame or None
        onset_s, duration_s, stage (W/N1/N2/N3/R) epochs; None when the file has no stages.
    respiratory : DataFrame or None
        onset_s, duration_s, kind (apnea/hypopnea/rera); None when the file has none.
    start : datetime or None
        Absolute time of ``onset_s = 0`` as written in the file (naive when the file has no time
        zone); None when the file does not give a date.
    source_format : str
        ``remlogic``, ``edf+``, ``nsrr-xml`` or ``events-csv``.
    path : str
        The file read.
    lights_off_s, lights_on_s : float or None
        Lights off / on events, if present (the last of each when repeated).
    ignored : mapping of str to int
        Labels that were not used, with their counts.
    arousals : DataFrame or None
        onset_s, duration_s of the cortical arousals; None when the file has none.
    warnings : tuple of str
        Problems the scoring should report (e.g. leg movements on channels that name no leg,
        scored as side ``unknown``).
    """

    lms: pd.DataFrame
    hypnogram: pd.DataFrame | None
    respiratory: pd.DataFrame | None
    start: dt.datetime | None
    source_format: str
    path: str
    lights_off_s: float | None = None
    lights_on_s: float | None = None
    ignored: Mapping[str, int] = dataclasses.field(default_factory=dict)
    arousals: pd.DataFrame | None = None
    warnings: tuple[str, ...] = ()

    @property
    def n_ignored(self) -> int:
        return int(sum(self.ignored.values()))

    def time_in_bed(self) -> tuple[float, float]:
        """Time in bed (s), which is also the period in which movements are scored: lights off ..
        lights on when present; otherwise the span of the hypnogram; otherwise 0 .. the end of
        the last event. With a hypnogram it is clipped to the scored epochs (the first epoch's
        onset .. the last epoch's end): movements outside them have no stage and are not scored
        (as PLMScoRe, Fulda 2020, ``determine_startstop``).

        Raises
        ------
        FormatError
            When the end comes before the start (e.g. lights on before lights off, or lights on
            before the first scored epoch).
        """
        h = self.hypnogram
        if self.lights_off_s is not None:
            start = self.lights_off_s
        elif h is not None and len(h):
            start = float(h["onset_s"].min())
        else:
            start = 0.0
        if self.lights_on_s is not None:
            end = self.lights_on_s
        elif h is not None and len(h):
            end = float((h["onset_s"] + h["duration_s"]).max())
        else:
            ends = [0.0]
            for t in (self.lms, self.respiratory):
                if t is not None and len(t):
                    ends.append(float((t["onset_s"] + t["duration_s"]).max()))
            end = max(ends)
        if h is not None and len(h):
            start = max(start, float(h["onset_s"].min()))
            end = min(end, float((h["onset_s"] + h["duration_s"]).max()))
        if end < start:
            raise FormatError(self.path, f"time in bed ends ({end:g} s) before it starts ({start:g} s)")
        return start, end


#: Largest plausible event onset or duration in a scored-event file, in seconds (7 days).
MAX_EVENT_S = 7 * 86400.0


class EventCollector:
    """Accumulates classified events while a reader walks a file; :meth:`finish` builds the
    :class:`ScoredEvents` (sorted, de-duplicated, stage runs split into epochs)."""

    def __init__(self, path: str | os.PathLike[str], source_format: str, *, epoch_s: float = DEFAULT_EPOCH_S):
        self.path = os.fspath(path)
        self.source_format = source_format
        self.epoch_s = epoch_s
        self._lm: list[tuple[float, float, str, str]] = []
        self._stage: list[tuple[float, float, str, int]] = []
        self._resp: list[tuple[float, float, str]] = []
        self._arousal: list[tuple[float, float]] = []
        self._unmapped: Counter[str] = Counter()  # LM channels that name no leg
        self.lights_off_s: float | None = None
        self.lights_on_s: float | None = None
        self.ignored: Counter[str] = Counter()

    def add(
        self, label: Label | None, raw_label: str, onset_s: float, duration_s: float, line: int | None
    ) -> None:
        """Record one event; ``line`` (1-based) is used in error messages."""
        if not (math.isfinite(onset_s) and math.isfinite(duration_s)):
            raise FormatError(
                self.path, f"event {raw_label!r}: onset and duration must be finite numbers", line=line
            )
        if duration_s < 0:
            raise FormatError(
                self.path, f"event {raw_label!r}: negative duration {duration_s:g} s", line=line
            )
        if abs(onset_s) > MAX_EVENT_S or duration_s > MAX_EVENT_S:
            # a damaged time field; refused before a stage run is split into epochs in memory
            raise FormatError(
                self.path,
                f"event {raw_label!r}: onset {onset_s:g} s / duration {duration_s:g} s is beyond "
                f"{MAX_EVENT_S / 86400:g} days, implausible for a scored recording",
                line=line,
            )
        if label is None:
            self.ignored[raw_label.strip() or "(empty label)"] += 1
        elif label.category == "lm":
            self._lm.append((onset_s, duration_s, label.value, label.kind or "lm"))
            if label.unmapped_channel:
                self._unmapped[label.unmapped_channel] += 1
        elif label.category == "stage":
            self._stage.append((onset_s, duration_s, label.value, line or 0))
        elif label.category == "respiratory":
            self._resp.append((onset_s, duration_s, label.value))
        elif label.category == "arousal":
            self._arousal.append((onset_s, duration_s))
            if label.value == "rera":  # the RERA this arousal ends: see _labels.Label
                self._resp.append((onset_s, 0.0, "rera"))
        elif label.category == "lights_off":
            self.lights_off_s = onset_s
        elif label.category == "lights_on":
            self.lights_on_s = onset_s
        else:  # pragma: no cover - Label categories are fixed in _labels
            raise AssertionError(label)

    def finish(
        self, start: dt.datetime | None, *, extra_lm_columns: Mapping[str, list[object]] | None = None
    ) -> ScoredEvents:
        lms = self._lm_table(extra_lm_columns)
        hyp = self._hypnogram()
        resp = None
        if self._resp:
            r = sorted(set(self._resp))
            resp = pd.DataFrame(
                {
                    "onset_s": [x[0] for x in r],
                    "duration_s": [x[1] for x in r],
                    "kind": pd.Series([x[2] for x in r], dtype=object),
                }
            )
        arousals = None
        if self._arousal:
            a = sorted(set(self._arousal))
            arousals = pd.DataFrame({"onset_s": [x[0] for x in a], "duration_s": [x[1] for x in a]})
        if self.ignored:
            top = ", ".join(f"{k!r} x{v}" for k, v in self.ignored.most_common(8))
            more = "" if len(self.ignored) <= 8 else f" and {len(self.ignored) - 8} more label(s)"
            log.info(
                "%s: ignored %d event(s) with labels not used for scoring: %s%s",
                self.path,
                sum(self.ignored.values()),
                top,
                more,
            )
        log.info(
            "%s: %d leg movement(s), %s, %d respiratory event(s), %d arousal(s)",
            self.path,
            len(lms),
            f"{len(hyp)} stage epoch(s)" if hyp is not None else "no hypnogram",
            0 if resp is None else len(resp),
            0 if arousals is None else len(arousals),
        )
        warnings: list[str] = []
        if self._unmapped:
            names = ", ".join(f"{k!r} x{v}" for k, v in self._unmapped.most_common(8))
            warnings.append(
                f"{sum(self._unmapped.values())} leg-movement event(s) on channel(s) that name no leg "
                f"({names}): scored as side 'unknown', i.e. as one leg, without the bilateral rules"
            )
        for w in warnings:
            log.warning("%s: %s", self.path, w)
        return ScoredEvents(
            lms=lms,
            hypnogram=hyp,
            respiratory=resp,
            start=start,
            source_format=self.source_format,
            path=self.path,
            lights_off_s=self.lights_off_s,
            lights_on_s=self.lights_on_s,
            ignored=dict(self.ignored),
            arousals=arousals,
            warnings=tuple(warnings),
        )

    def _lm_table(self, extra: Mapping[str, list[object]] | None) -> pd.DataFrame:
        rows = self._lm
        cols: dict[str, list[object]] = dict(extra or {})
        # the same movement written twice (e.g. as "LM/left" and "PLM/left"): keep one, and prefer
        # a row that names its side over one that does not. ``extra`` columns align with the rows
        # in the order they were added.
        keep: list[int] = []
        seen: dict[tuple[float, float], set[str]] = {}
        order = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], rows[i][2] == "unknown"))
        n_dup = 0
        for i in order:
            on, du, side, _ = rows[i]
            key = (round(on, 3), round(du, 3))
            sides = seen.setdefault(key, set())
            if side in sides or (side == "unknown" and sides):
                n_dup += 1
                continue
            sides.add(side)
            keep.append(i)
        if n_dup:
            log.info("%s: %d duplicate leg-movement event(s) dropped", self.path, n_dup)
        table = pd.DataFrame(
            {
                "onset_s": np.array([rows[i][0] for i in keep], dtype=np.float64),
                "duration_s": np.array([rows[i][1] for i in keep], dtype=np.float64),
                "side": pd.Series([rows[i][2] for i in keep], dtype=object),
                "kind": pd.Series([rows[i][3] for i in keep], dtype=object),
                "amplitude_mg": np.full(len(keep), np.nan),
            }
        )
        for name, values in cols.items():
            if name in ("onset_s", "duration_s", "side", "kind"):
                continue
            table[name] = pd.Series([values[i] for i in keep])
        return table.reset_index(drop=True)

    def _hypnogram(self) -> pd.DataFrame | None:
        if not self._stage:
            return None
        epochs: list[tuple[float, float, str, int]] = []
        for on, du, st, line in self._stage:
            if du <= 0:
                du = self.epoch_s  # a stage mark without duration stands for one epoch
            n = max(1, round(du / self.epoch_s))
            if n > 1 and abs(n * self.epoch_s - du) < 1e-6:
                epochs.extend((on + k * self.epoch_s, self.epoch_s, st, line) for k in range(n))
            else:
                epochs.append((on, du, st, line))
        epochs = sorted(set(epochs), key=lambda e: (e[0], e[3]))
        for a, b in itertools.pairwise(epochs):
            if b[0] < a[0] + a[1] - 1e-6:
                if b[0] == a[0] and b[1] == a[1] and b[2] == a[2]:
                    continue
                raise FormatError(
                    self.path,
                    f"sleep stage events overlap: {b[2]} at {b[0]:g} s starts inside {a[2]} at {a[0]:g} s "
                    f"(+{a[1]:g} s)",
                    line=b[3] or None,
                )
        # identical epochs listed twice (different lines) collapse to one
        uniq: dict[tuple[float, float, str], None] = {}
        for on, du, st, _ in epochs:
            uniq.setdefault((on, du, st), None)
        return pd.DataFrame(
            {
                "onset_s": [e[0] for e in uniq],
                "duration_s": [e[1] for e in uniq],
                "stage": pd.Series([e[2] for e in uniq], dtype=object),
            }
        )
