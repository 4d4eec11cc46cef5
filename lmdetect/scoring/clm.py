"""From monolateral leg movements to candidate leg movements (CLMs).

Steps, in this order (each reads its limits from the rule set):

1. **Same-leg merge** — LMs on one leg whose gap (offset to next onset) is shorter than
   ``same_leg_merge_gap_s`` become one LM (overlaps included).
2. **Minimum duration** — LMs shorter than ``lm_min_duration_s`` are dropped.
3. **Bilateral merge** — LMs on different legs are grouped into one bilateral LM when
   (``bilateral_reference="offset"``) the later one starts less than ``bilateral_gap_s`` after
   the group's latest offset, or (``"onset"``) less than ``bilateral_gap_s`` after the onset of a
   group member on another leg. Grouping is transitive, in onset order.
4. **CLM decision** — a movement is a CLM unless a member is of a non-CLM kind (long, posture,
   gross), a monolateral member lasts longer than ``clm_max_duration_mono_s``, or the bilateral
   movement lasts longer than ``clm_max_duration_bil_s`` or combines more than
   ``bilateral_max_mono`` monolateral LMs.

Sides: ``left`` and ``right`` are the two legs; ``unknown`` (one sensor, leg not recorded) is
treated as one leg of its own; ``both`` rows (already bilateral movements, e.g. re-scoring our
own events.csv) are a pseudo-leg that is "another leg" for every other row, and carry their
``n_mono`` count.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import LmdetectError
from ..model import LM_KINDS, SIDES
from ._common import EPS_S, KIND_PRIORITY, NON_CLM_KINDS
from .rules import RuleSet

__all__ = ["MonoLMs", "CandidateLMs", "prepare_lms", "merge_same_leg", "candidate_lms"]

log = logging.getLogger(__name__)


@dataclass
class MonoLMs:
    """Monolateral LMs as parallel arrays (internal working form)."""

    onset_s: NDArray[np.float64]
    offset_s: NDArray[np.float64]
    side: NDArray[np.object_]
    kind: NDArray[np.object_]
    amplitude_mg: NDArray[np.float64]
    n_mono: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.onset_s.size)

    def take(self, idx: NDArray[np.intp] | NDArray[np.bool_]) -> MonoLMs:
        return MonoLMs(
            self.onset_s[idx],
            self.offset_s[idx],
            self.side[idx],
            self.kind[idx],
            self.amplitude_mg[idx],
            self.n_mono[idx],
        )


@dataclass
class CandidateLMs:
    """Scored movements after both merges, sorted by onset (internal working form)."""

    onset_s: NDArray[np.float64]
    offset_s: NDArray[np.float64]
    side: list[str]
    kind: list[str]
    amplitude_mg: NDArray[np.float64]
    n_mono: NDArray[np.int64]
    is_clm: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.onset_s.size)


def prepare_lms(lms: pd.DataFrame) -> MonoLMs:
    """Validate an input LM table and return it as arrays.

    Required columns: ``onset_s``, ``duration_s``. Optional: ``side`` (default ``"unknown"``),
    ``kind`` (default ``"lm"``), ``amplitude_mg`` (default NaN), ``n_mono`` (used for ``both``
    rows only; default 2 there, 1 elsewhere).

    Raises
    ------
    LmdetectError
        Missing columns, non-finite times, negative durations, unknown sides or kinds.
    """
    if not isinstance(lms, pd.DataFrame):
        raise LmdetectError(f"lms must be a pandas DataFrame, got {type(lms).__name__}")
    missing = [c for c in ("onset_s", "duration_s") if c not in lms.columns]
    if missing:
        raise LmdetectError(f"LM table lacks column(s) {', '.join(missing)}")
    n = len(lms)
    onset = _float_column(lms, "onset_s")
    duration = _float_column(lms, "duration_s")
    bad = ~np.isfinite(onset) | ~np.isfinite(duration)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LmdetectError(f"LM table row {i}: onset_s and duration_s must be finite numbers")
    if (duration < 0).any():
        i = int(np.flatnonzero(duration < 0)[0])
        raise LmdetectError(f"LM table row {i}: negative duration_s {duration[i]!r}")
    side = _str_column(lms, "side", "unknown", n)
    kind = _str_column(lms, "kind", "lm", n)
    _check_values("side", side, SIDES)
    _check_values("kind", kind, LM_KINDS)
    if "amplitude_mg" in lms.columns:
        amplitude = _float_column(lms, "amplitude_mg")
    else:
        amplitude = np.full(n, np.nan)
    is_both = side == "both"
    n_mono = np.where(is_both, 2, 1).astype(np.int64)
    if "n_mono" in lms.columns:
        given = pd.to_numeric(lms["n_mono"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        use = is_both & np.isfinite(given) & (given >= 1)
        n_mono[use] = given[use].astype(np.int64)
    return MonoLMs(onset, onset + duration, side, kind, amplitude, n_mono)


def _float_column(df: pd.DataFrame, name: str) -> NDArray[np.float64]:
    try:
        return pd.to_numeric(df[name]).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise LmdetectError(f"LM table column {name} must be numeric: {exc}") from exc


def _str_column(df: pd.DataFrame, name: str, default: str, n: int) -> NDArray[np.object_]:
    if name not in df.columns:
        return np.full(n, default, dtype=object)
    values = df[name].to_numpy(dtype=object, na_value=None)
    out = np.empty(n, dtype=object)
    for i, v in enumerate(values):
        out[i] = default if v is None or (isinstance(v, float) and math.isnan(v)) or v == "" else str(v)
    return out


def _check_values(name: str, values: NDArray[np.object_], allowed: tuple[str, ...]) -> None:
    bad = sorted({v for v in values if v not in allowed})
    if bad:
        raise LmdetectError(
            f"LM table column {name} has invalid value(s) {', '.join(map(repr, bad))}; "
            f"valid values are {', '.join(allowed)}"
        )


def _merged_kind(kinds: list[str]) -> str:
    return max(kinds, key=KIND_PRIORITY.__getitem__)


def merge_same_leg(mono: MonoLMs, gap_s: float) -> MonoLMs:
    """Join LMs on the same leg whose offset-to-next-onset gap is shorter than ``gap_s``.

    The merged LM spans the first onset to the last offset, keeps the largest amplitude and the
    highest-ranked kind (see ``KIND_PRIORITY``). ``both`` rows merge with each other the same way
    and add up their ``n_mono``.
    """
    if len(mono) == 0:
        return mono
    order = np.lexsort((mono.offset_s, mono.onset_s))
    m = mono.take(order)
    on: list[float] = []
    off: list[float] = []
    side: list[str] = []
    kind: list[str] = []
    amp: list[float] = []
    nmono: list[int] = []
    open_by_leg: dict[str, int] = {}  # leg -> index of its last merged LM in the lists
    gap = gap_s - EPS_S
    for o, f, leg, k, a, n in zip(
        m.onset_s.tolist(),
        m.offset_s.tolist(),
        m.side.tolist(),
        m.kind.tolist(),
        m.amplitude_mg.tolist(),
        m.n_mono.tolist(),
        strict=True,
    ):
        j = open_by_leg.get(leg)
        if j is not None and o - off[j] < gap:
            if f > off[j]:
                off[j] = f
            if k != kind[j]:
                kind[j] = _merged_kind([kind[j], k])
            if a > amp[j] or math.isnan(amp[j]):  # NaN = unknown amplitude
                amp[j] = a
            if leg == "both":
                nmono[j] += n
            continue
        open_by_leg[leg] = len(on)
        on.append(o)
        off.append(f)
        side.append(leg)
        kind.append(k)
        amp.append(a)
        nmono.append(n)
    out = MonoLMs(
        np.asarray(on),
        np.asarray(off),
        np.asarray(side, dtype=object),
        np.asarray(kind, dtype=object),
        np.asarray(amp, dtype=np.float64),
        np.asarray(nmono, dtype=np.int64),
    )
    # legs interleave, so the appended order is by onset per leg only
    return out.take(np.lexsort((out.offset_s, out.onset_s)))


def candidate_lms(lms: pd.DataFrame | MonoLMs, rules: RuleSet) -> CandidateLMs:
    """Apply the same-leg merge, the minimum duration, the bilateral merge and the CLM limits.

    Returns the scored movements sorted by onset, with ``is_clm``. Kind ``lm``/``voluntary``
    movements that are not CLMs because they are too long are relabelled ``long``.
    """
    mono = lms if isinstance(lms, MonoLMs) else prepare_lms(lms)
    n_in = len(mono)
    mono = merge_same_leg(mono, rules.same_leg_merge_gap_s)
    n_joined = n_in - len(mono)
    keep = (mono.offset_s - mono.onset_s) >= rules.lm_min_duration_s - EPS_S
    n_short = int((~keep).sum())
    mono = mono.take(keep)
    if n_joined or n_short:
        log.debug(
            "same-leg merge joined %d LM(s); %d LM(s) shorter than %g s dropped",
            n_joined,
            n_short,
            rules.lm_min_duration_s,
        )

    dur = mono.offset_s - mono.onset_s
    is_mono_row = mono.side != "both"
    mono_limit = np.where(is_mono_row, rules.clm_max_duration_mono_s, np.inf)
    if rules.clm_max_duration_bil_s is not None:
        mono_limit = np.where(is_mono_row, mono_limit, rules.clm_max_duration_bil_s)
    too_long = dur > mono_limit + EPS_S
    member_non_clm = too_long | np.isin(mono.kind, list(NON_CLM_KINDS))

    groups = _bilateral_groups(mono, rules)

    # plain Python lists: the loop below runs once per movement and numpy scalars are slow
    on_l = mono.onset_s.tolist()
    off_l = mono.offset_s.tolist()
    side_l = mono.side.tolist()
    kind_l = mono.kind.tolist()
    amp_l = mono.amplitude_mg.tolist()
    nm_l = mono.n_mono.tolist()
    non_clm_l = member_non_clm.tolist()
    too_long_l = too_long.tolist()
    bil_max_s = rules.clm_max_duration_bil_s
    bil_max_n = rules.bilateral_max_mono

    k = len(groups)
    on = np.empty(k)
    off = np.empty(k)
    amp = np.empty(k)
    nm = np.empty(k, dtype=np.int64)
    clm = np.empty(k, dtype=bool)
    sides: list[str] = []
    kinds: list[str] = []
    for g, members in enumerate(groups):
        if len(members) == 1:
            i = members[0]
            g_on, g_off, side, kind, a = on_l[i], off_l[i], side_l[i], kind_l[i], amp_l[i]
            n_mono, ok, long_group = nm_l[i], not non_clm_l[i], too_long_l[i]
        else:
            g_on = on_l[members[0]]
            g_off = max(off_l[i] for i in members)
            legs = {side_l[i] for i in members}
            side = legs.pop() if len(legs) == 1 else "both"
            kind = _merged_kind([kind_l[i] for i in members])
            amps = [amp_l[i] for i in members if not math.isnan(amp_l[i])]
            a = max(amps) if amps else math.nan
            n_mono = sum(nm_l[i] for i in members)
            ok = not any(non_clm_l[i] for i in members)
            long_group = any(too_long_l[i] for i in members)
        if side == "both":
            if bil_max_s is not None and g_off - g_on > bil_max_s + EPS_S:
                ok = False
                long_group = True
            if bil_max_n is not None and n_mono > bil_max_n:
                ok = False
        if long_group and kind in ("lm", "voluntary"):
            kind = "long"
        on[g] = g_on
        off[g] = g_off
        amp[g] = a
        nm[g] = n_mono
        clm[g] = ok
        sides.append(side)
        kinds.append(kind)
    return CandidateLMs(on, off, sides, kinds, amp, nm, clm)


def _bilateral_groups(mono: MonoLMs, rules: RuleSet) -> list[list[int]]:
    """Indices of ``mono`` (sorted by onset) grouped into bilateral movements."""
    groups: list[list[int]] = []
    if len(mono) == 0:
        return groups
    gap = rules.bilateral_gap_s - EPS_S
    by_offset = rules.bilateral_reference == "offset"
    on_l = mono.onset_s.tolist()
    off_l = mono.offset_s.tolist()
    side_l = mono.side.tolist()
    current = [0]
    group_off = off_l[0]
    for i in range(1, len(on_l)):
        o = on_l[i]
        if by_offset:
            join = o - group_off < gap
        else:
            leg = side_l[i]
            join = any(
                (leg == "both" or side_l[j] == "both" or side_l[j] != leg) and o - on_l[j] < gap
                for j in current
            )
        if join:
            current.append(i)
            group_off = max(group_off, off_l[i])
        else:
            groups.append(current)
            current = [i]
            group_off = off_l[i]
    groups.append(current)
    return groups
