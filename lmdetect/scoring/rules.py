"""The rule-set base class and the registry of named rule sets.

A rule set is a frozen, validated parameter dataclass (see :class:`lmdetect._params.Params`). The
base class :class:`RuleSet` declares every field the scoring logic reads and validates them; it
holds **no constants**. The numbers, and the citation for each, live only in the concrete rule
sets: :class:`lmdetect.scoring.wasm2016.WASM2016` and :class:`lmdetect.scoring.aasm.AASM`.

The registry is the one list of rule sets: ``Config(rules=...)``, :func:`lmdetect.process_night`,
batch and the CLI's ``--rules`` choices all read it. A rule set is a module of this package whose
class carries ``@register_rule_set``; it is found on first use (:mod:`lmdetect._discovery`), so
adding one touches its own file only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

from .._params import Params, check_nonnegative, check_option, check_positive
from ..errors import ConfigError

__all__ = [
    "RuleSet",
    "BILATERAL_REFERENCES",
    "RESPIRATORY_REFERENCES",
    "get_rule_set",
    "rule_set_names",
    "register_rule_set",
]

#: How two monolateral LMs on different legs are tested for being one bilateral LM.
#: ``"offset"``: the later one starts less than ``bilateral_gap_s`` after the group's offset (or
#: overlaps it); ``"onset"``: the later one starts less than ``bilateral_gap_s`` after the onset of
#: a group member on another leg.
BILATERAL_REFERENCES: tuple[str, ...] = ("offset", "onset")

#: Where the respiratory window is anchored. ``"end"``: ``[end - before, end + after]`` around the
#: END of the respiratory event; ``"event"``: ``[onset - before, end + after]`` around the whole
#: event.
RESPIRATORY_REFERENCES: tuple[str, ...] = ("end", "event")


@dataclasses.dataclass(frozen=True)
class RuleSet(Params):
    """Fields every PLM scoring rule set defines (no defaults here: see the concrete classes).

    Durations and intervals are in seconds. A limit given as ``None`` means "no limit".

    Attributes
    ----------
    lm_min_duration_s
        LMs shorter than this (after the same-leg merge) are dropped.
    same_leg_merge_gap_s
        LMs on one leg with less than this from one offset to the next onset are one LM.
    clm_max_duration_mono_s
        A monolateral LM longer than this is not a candidate LM (CLM); it breaks series.
    clm_max_duration_bil_s
        A bilateral LM longer than this is not a CLM (``None``: no limit of its own).
    bilateral_max_mono
        A bilateral LM made of more monolateral LMs than this is not a CLM (``None``: no limit).
    bilateral_reference, bilateral_gap_s
        The bilateral merge test, see :data:`BILATERAL_REFERENCES`.
    imi_min_s, imi_max_s
        Inter-movement interval (onset to onset) bounds, both inclusive, for consecutive CLMs of
        a PLM series.
    min_series_length
        Fewest consecutive CLMs that make a PLM series.
    short_imi_breaks_series
        True: a CLM that follows the previous CLM by less than ``imi_min_s`` ends the running
        series and may start a new one. False: that CLM is skipped and the interval is measured
        from the previous counted CLM to the next CLM, so the run survives.
    respiratory_reference, respiratory_before_s, respiratory_after_s
        The window around a respiratory event that makes a CLM respiratory-related
        (:data:`RESPIRATORY_REFERENCES`).
    respiratory_excludes
        False: respiratory-related CLMs stay in the primary series (they are flagged and a second
        series without them is computed). True: they are not scored at all.
    arousal_gap_s
        An LM and an arousal are associated when they overlap or when less than this separates
        the end of one from the onset of the other, whichever comes first.
    pi_imi_min_s, pi_imi_max_s, pi_min_run_imis
        Periodicity index (Ferri et al., Sleep 2006;29:759-69): an IMI counts as periodic when
        ``pi_imi_min_s < IMI <= pi_imi_max_s`` and it belongs to a run of at least
        ``pi_min_run_imis`` consecutive such IMIs.
    """

    #: Name used in outputs (``summary.json`` ``rule_set``) and by :func:`get_rule_set`.
    name: ClassVar[str] = ""
    #: How a methods text names the rules, with a short citation.
    citation: ClassVar[str] = ""
    #: The full reference of the standard, for a report's reference list.
    reference: ClassVar[str] = ""

    lm_min_duration_s: float
    same_leg_merge_gap_s: float
    clm_max_duration_mono_s: float
    clm_max_duration_bil_s: float | None
    bilateral_max_mono: int | None
    bilateral_reference: str
    bilateral_gap_s: float
    imi_min_s: float
    imi_max_s: float
    min_series_length: int
    short_imi_breaks_series: bool
    respiratory_reference: str
    respiratory_before_s: float
    respiratory_after_s: float
    respiratory_excludes: bool
    arousal_gap_s: float
    pi_imi_min_s: float
    pi_imi_max_s: float
    pi_min_run_imis: int

    def __post_init__(self) -> None:
        for f in (
            "lm_min_duration_s",
            "clm_max_duration_mono_s",
            "bilateral_gap_s",
            "imi_min_s",
            "imi_max_s",
            "pi_imi_max_s",
        ):
            _check_finite(f, getattr(self, f))
            check_positive(f, getattr(self, f))
        for f in ("same_leg_merge_gap_s", "respiratory_before_s", "respiratory_after_s", "arousal_gap_s", "pi_imi_min_s"):
            _check_finite(f, getattr(self, f))
            check_nonnegative(f, getattr(self, f))
        if self.clm_max_duration_bil_s is not None:
            _check_finite("clm_max_duration_bil_s", self.clm_max_duration_bil_s)
            check_positive("clm_max_duration_bil_s", self.clm_max_duration_bil_s)
        for f in ("bilateral_max_mono", "min_series_length", "pi_min_run_imis"):
            v = getattr(self, f)
            if v is None and f == "bilateral_max_mono":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{f} must be an integer >= 1, got {v!r}")
        for f in ("short_imi_breaks_series", "respiratory_excludes"):
            if not isinstance(getattr(self, f), bool):
                raise ConfigError(f"{f} must be true or false, got {getattr(self, f)!r}")
        check_option("bilateral_reference", self.bilateral_reference, BILATERAL_REFERENCES)
        check_option("respiratory_reference", self.respiratory_reference, RESPIRATORY_REFERENCES)
        if self.imi_min_s >= self.imi_max_s:
            raise ConfigError(f"imi_min_s ({self.imi_min_s}) must be < imi_max_s ({self.imi_max_s})")
        if self.pi_imi_min_s >= self.pi_imi_max_s:
            raise ConfigError(
                f"pi_imi_min_s ({self.pi_imi_min_s}) must be < pi_imi_max_s ({self.pi_imi_max_s})"
            )
        if self.lm_min_duration_s > self.clm_max_duration_mono_s:
            raise ConfigError("lm_min_duration_s must not exceed clm_max_duration_mono_s")

    def describe(self) -> dict[str, Any]:
        """The rule set as a plain dict, with its name first (for reports and logs)."""
        return {"rule_set": self.name, **self.to_dict()}


def _check_finite(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


_REGISTRY: dict[str, type[RuleSet]] = {}


def register_rule_set(cls: type[RuleSet]) -> type[RuleSet]:
    """Class decorator: make ``cls`` available to :func:`get_rule_set` under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def rule_set_names() -> tuple[str, ...]:
    """Names accepted by :func:`get_rule_set`, sorted."""
    _load()
    return tuple(sorted(_REGISTRY))


_loaded = False


def _load() -> None:
    # importing the modules registers the classes; found by their decorator, not listed here
    global _loaded
    if _loaded:
        return
    _loaded = True
    from .._discovery import import_registering_modules

    import_registering_modules(__name__.rsplit(".", 1)[0], ("@register_rule_set",))


def get_rule_set(name: str | RuleSet, **overrides: Any) -> RuleSet:
    """The rule set called ``name`` (see :func:`rule_set_names`), optionally with fields changed.

    Parameters
    ----------
    name
        A rule-set name (case-insensitive) or a :class:`RuleSet`, returned as is (with overrides).
    **overrides
        Fields to change, validated again (e.g. ``imi_max_s=120``, in s).

    Returns
    -------
    RuleSet
        The rule set; its durations are in s, as the field names say (``_s``).

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the valid ones) or an invalid override.
    """
    if isinstance(name, RuleSet):
        rules = name
    else:
        _load()
        key = str(name).strip().lower()
        check_option("rule set", key, sorted(_REGISTRY))
        rules = _REGISTRY[key]()  # type: ignore[call-arg]  # subclasses give every field a default
    if overrides:
        valid = {f.name for f in dataclasses.fields(rules)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ConfigError(
                f"unknown rule parameter(s) {', '.join(unknown)}; valid names are {', '.join(sorted(valid))}"
            )
        rules = rules.replace(**overrides)
    return rules
