"""The night summary as typed, documented sections: what ``summary.json`` holds.

:class:`NightSummary` is the content of one night's ``summary.json`` as frozen dataclasses, one per
section (:class:`Quality`, :class:`RecordingInfo`, :class:`NightContext` with its RLS and pad
parts, :class:`BatchInfo`). Field names are the JSON keys and carry their unit (``_h`` hours,
``_s`` seconds, ``_per_h`` per hour, ``_mg`` milli-g, ``_hz`` hertz, ``n_`` counts).

``NightSummary.from_dict(doc).to_dict() == doc`` for every document this release writes, and
for the documents of earlier releases:

- A key this version does not know (a newer file, or a key another tool added) is kept in the
  section's ``extra`` mapping and written back unchanged; it is never an error.
- A known key missing from the file (an older file) reads as None (a missing section as an
  empty section whose fields are None) and is not written back (the section remembers it in
  ``absent_keys``). A section that is not a JSON object in the file is kept in ``extra``.
- ``schema_version`` says which layout a file has. Files written before the key existed have
  none and are read as version 1. A file with a version this release does not read raises
  :class:`SummarySchemaError` naming that version.

Adding a key to ``summary.json`` is one line: a field with a None default in its section.
Values are kept as in the document (numbers, strings, lists, None), not converted.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, Self

from ..errors import LmdetectError

__all__ = [
    "SCHEMA_VERSION",
    "SummarySchemaError",
    "Section",
    "Rates",
    "AnalysisWindow",
    "RlsTiming",
    "RlsContext",
    "PadWindows",
    "PadAgreement",
    "PadContext",
    "NightContext",
    "Quality",
    "RecordingInfo",
    "BatchInfo",
    "NightSummary",
]

#: The ``summary.json`` layout this release writes and the newest it reads.
SCHEMA_VERSION = 1
#: The version of a ``summary.json`` without a ``schema_version`` key (written before it existed).
UNVERSIONED = 1

_META = ("extra", "absent_keys")


class SummarySchemaError(LmdetectError, ValueError):
    """A ``summary.json`` has a ``schema_version`` this release cannot read."""


_FIELDS: dict[type, tuple[tuple[str, type[Section] | None], ...]] = {}


def _section_fields(cls: type[Section]) -> tuple[tuple[str, type[Section] | None], ...]:
    """(name, section class or None) of each data field of ``cls``, worked out once per class."""
    if cls in _FIELDS:
        return _FIELDS[cls]
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name in _META:
            continue
        args = typing.get_args(hints[f.name]) or (hints[f.name],)
        sub = next((a for a in args if isinstance(a, type) and issubclass(a, Section)), None)
        out.append((f.name, sub))
    _FIELDS[cls] = tuple(out)
    return _FIELDS[cls]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Section:
    """Base of the summary sections: the dict round trip shared by all.

    Attributes
    ----------
    extra
        Keys of the document this version does not know, with their values, written back by
        :meth:`to_dict`.
    absent_keys
        Known keys the document did not have (an older file); :meth:`to_dict` leaves them out.
    """

    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    absent_keys: frozenset[str] = dataclasses.field(default=frozenset(), repr=False)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Self:
        """The section of ``doc`` (a JSON object of ``summary.json``); see the module docstring."""
        kwargs: dict[str, Any] = {}
        absent = []
        for name, sub in _section_fields(cls):
            if name not in doc:
                absent.append(name)
                continue
            value = doc[name]
            if sub is None:
                kwargs[name] = value
            elif isinstance(value, Mapping):
                kwargs[name] = sub.from_dict(value)
        known = {name for name, sub in _section_fields(cls) if sub is None or isinstance(doc.get(name), Mapping)}
        # unknown keys, and a section that is not a JSON object, are kept as they are
        extra = {k: v for k, v in doc.items() if k not in known}
        return cls(**kwargs, extra=extra, absent_keys=frozenset(absent))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this section, as ``summary.json`` holds it."""
        out: dict[str, Any] = {}
        for name, _ in _section_fields(type(self)):
            if name in self.absent_keys or name in self.extra:
                continue
            value = getattr(self, name)
            out[name] = value.to_dict() if isinstance(value, Section) else value
        out.update(self.extra)
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rates(Section):
    """Movements in a stretch of the night (inside RLS episodes, before pad sessions, ...).

    Rates are per observable hour (recorded and not masked) and None under 10 min of it
    (:mod:`lmdetect.summary._intervals`).
    """

    n_clm: int | None = None
    n_plm: int | None = None
    observed_h: float | None = None
    clm_per_h: float | None = None
    plm_per_h: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnalysisWindow(Section):
    """The analysis window (time in bed), seconds since the recording start."""

    start_s: float | None = None
    end_s: float | None = None
    observed_h: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RlsTiming(Section):
    """How diary RLS episodes lie relative to PLM series (:func:`lmdetect.summary.rls.rls_context`)."""

    n_series: int | None = None
    n_series_overlapping: int | None = None
    n_episodes_with_overlap: int | None = None
    n_episodes_with_series_before: int | None = None
    n_episodes_with_series_after: int | None = None
    n_episodes_isolated: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RlsContext(Section):
    """Movements and diary RLS episodes (``context.rls``)."""

    n_episodes: int | None = None
    episodes_h: float | None = None
    episodes: list[dict[str, Any]] | None = None
    inside: Rates = dataclasses.field(default_factory=Rates)
    outside: Rates = dataclasses.field(default_factory=Rates)
    timing: RlsTiming = dataclasses.field(default_factory=RlsTiming)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PadWindows(Section):
    """Movements in the windows around pad sessions (``context.pad.windows``)."""

    window_s: float | None = None
    before: Rates = dataclasses.field(default_factory=Rates)
    after_start: Rates = dataclasses.field(default_factory=Rates)
    after_end: Rates = dataclasses.field(default_factory=Rates)
    sessions: list[dict[str, Any]] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PadAgreement(Section):
    """Logged against detected pad sessions (:func:`lmdetect.summary.pad.pad_agreement`)."""

    status: str | None = None
    n_logged: int | None = None
    n_detected: int | None = None
    n_logged_matched: int | None = None
    n_detected_matched: int | None = None
    logged_h: float | None = None
    detected_h: float | None = None
    overlap_h: float | None = None
    union_h: float | None = None
    jaccard: float | None = None
    logged_fraction_detected: float | None = None
    detected_fraction_logged: float | None = None
    logged: list[dict[str, Any]] | None = None
    detected: list[dict[str, Any]] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PadContext(Section):
    """Movements and vibration-pad sessions (``context.pad``, :func:`lmdetect.summary.pad.pad_context`).

    ``handling`` (what was done with each session, totals per source) stays a mapping.
    """

    source: str | None = None
    n_sessions: int | None = None
    sessions_h: float | None = None
    agreement: PadAgreement = dataclasses.field(default_factory=PadAgreement)
    handling: dict[str, Any] | None = None
    inside: Rates = dataclasses.field(default_factory=Rates)
    outside: Rates = dataclasses.field(default_factory=Rates)
    windows: PadWindows = dataclasses.field(default_factory=PadWindows)


@dataclasses.dataclass(frozen=True, kw_only=True)
class NightContext(Section):
    """The night's movements related to diary RLS episodes and pad sessions (``context``)."""

    rls_episodes_h: float | None = None
    pad_logged_h: float | None = None
    pad_detected_h: float | None = None
    window: AnalysisWindow = dataclasses.field(default_factory=AnalysisWindow)
    rls: RlsContext = dataclasses.field(default_factory=RlsContext)
    pad: PadContext = dataclasses.field(default_factory=PadContext)
    #: per timed intervention name: rates before / during / after (lmdetect.summary.interventions)
    interventions: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Quality(Section):
    """Recording quality (``quality``)."""

    recorded_h: float | None = None
    n_gaps: int | None = None
    gap_total_s: float | None = None
    n_backfilled: int | None = None
    n_spikes_removed: int | None = None
    n_lms_onset_unseen: int | None = None
    nonwear_h: float | None = None
    wear_h: float | None = None
    clock_source: str | None = None
    clock_drift_ppm: float | None = None
    grid_fs_hz: float | None = None
    masked_pad_h: float | None = None
    vibration_removed_h: float | None = None
    noise_floor_mg: float | None = None
    noise_rms_mg: float | None = None
    onset_threshold_mg: float | None = None
    detection_limited: bool | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecordingInfo(Section):
    """The recording processed (``recording``, :meth:`lmdetect.model.Recording.describe`)."""

    device_id: str | None = None
    side: str | None = None
    start: str | None = None
    end: str | None = None
    duration_s: float | None = None
    n_samples: int | None = None
    fs_nominal_hz: float | None = None
    fs_effective_hz: float | None = None
    range_g: float | None = None
    n_gaps: int | None = None
    gap_total_s: float | None = None
    n_backfilled: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class BatchInfo(Section):
    """Where a night of ``lmdetect batch`` came from (``batch``)."""

    night_id: str | None = None
    participant: str | None = None
    night: str | None = None
    sidecar_sha256: dict[str, str] | None = None
    split_nights: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class NightSummary(Section):
    """One night's ``summary.json``: indices, sections and provenance.

    The indices follow the rule set named in ``rule_set`` (:mod:`lmdetect.scoring`); ``*_index``
    fields are per hour (of TST for sleep indices, of wake in bed for wake indices, of time in
    bed for ``*_tib``). ``config`` is the configuration's dict form
    (:meth:`lmdetect.config.Config.to_dict`).
    """

    schema_version: int = SCHEMA_VERSION
    # provenance
    lmdetect_version: str | None = None
    config_hash: str | None = None
    config: dict[str, Any] | None = None
    input_file: str | None = None
    input_sha256: str | None = None
    rule_set: str | None = None
    #: SHA-256 of every other file of the night folder, by file name (written with the folder;
    #: checked by :func:`lmdetect.results.night_folder.read_night_folder`)
    files: dict[str, str] | None = None
    # the night
    recording_start: str | None = None
    device_id: str | None = None
    side: str | None = None
    sleep_source: str | None = None
    sleep_period_source: str | None = None
    tib_source: str | None = None
    sleep_diary_overruled: int | None = None
    sleep_diary_check: dict[str, Any] | None = None
    tib_start_s: float | None = None
    tib_end_s: float | None = None
    tib_h: float | None = None
    tst_h: float | None = None
    wake_h: float | None = None
    # leg movements and indices
    n_lm: int | None = None
    n_clm: int | None = None
    n_clms: int | None = None
    n_clmw: int | None = None
    n_clmr: int | None = None
    n_plm: int | None = None
    n_plms: int | None = None
    n_plmw: int | None = None
    n_plmsnr: int | None = None
    n_plms_arousal: int | None = None
    n_series: int | None = None
    plms_index: float | None = None
    plmw_index: float | None = None
    plm_index_tib: float | None = None
    plmnr_index: float | None = None
    plms_arousal_index: float | None = None
    clm_index: float | None = None
    clms_index: float | None = None
    clmw_index: float | None = None
    clm_index_tib: float | None = None
    plm_per_hour_of_night: list[Any] | None = None
    respiratory_scored: bool | None = None
    arousals_scored: bool | None = None
    # inter-movement intervals
    imi_scope: str | None = None
    n_imi: int | None = None
    n_imi_lt10: int | None = None
    n_imi_10_90: int | None = None
    n_imi_gt90: int | None = None
    periodicity_index: float | None = None
    plm_clm_ratio: float | None = None
    imi_geometric_mean_s: float | None = None
    imi_median_s: float | None = None
    # diary and pad counts
    n_rls_episodes: int | None = None
    n_pad_logged: int | None = None
    n_vibration_detected: int | None = None
    pad_measurement: list[Any] | None = None
    # treatments: condition names and the intervention table (docs/inputs.md)
    conditions: list[str] | None = None
    interventions: list[Any] | None = None
    # sections
    quality: Quality = dataclasses.field(default_factory=Quality)
    recording: RecordingInfo = dataclasses.field(default_factory=RecordingInfo)
    context: NightContext = dataclasses.field(default_factory=NightContext)
    batch: BatchInfo = dataclasses.field(default_factory=BatchInfo)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> NightSummary:
        """The summary of a ``summary.json`` document.

        Raises
        ------
        SummarySchemaError
            When the document's ``schema_version`` is not one this release reads.
        """
        version = doc.get("schema_version", UNVERSIONED)
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
            raise SummarySchemaError(
                f"summary.json schema_version {version!r} is not readable by this lmdetect "
                f"(it reads versions 1 to {SCHEMA_VERSION}); use the lmdetect release that wrote it or a newer one"
            )
        return super().from_dict(doc)
