"""Agreement of a sensor night with a polysomnography (PSG) scoring of the same night.

Pure computation (no io of night folders beyond small readers in :mod:`night`, no plotting):

- :mod:`lmdetect.agreement.align` -- clock offset and drift between the sensor's and the PSG's
  LM onset trains (coarse cross-correlation, then one-to-one matching and a robust linear fit).
- :mod:`lmdetect.agreement.match` -- one-to-one matching of LMs by onset tolerance.
- :mod:`lmdetect.agreement.night` -- :func:`agree_night` and :class:`NightAgreement`.
- :mod:`lmdetect.agreement.cohort` / :mod:`lmdetect.agreement.stats` -- across nights.

Contract between the per-night and the cohort layer
---------------------------------------------------
``agree_night(night_dir, reference, *, reference_hypnogram=None, offset_s=None, rules=None,
tolerance_s=...) -> NightAgreement``

``night_dir`` is the output folder of ``lmdetect process`` (events.csv, summary.json, epochs.csv);
``reference`` a PSG scoring file readable by :mod:`lmdetect.io.annotations` (RemLogic, EDF+, NSRR XML,
events CSV); ``reference_hypnogram`` an optional separate hypnogram file; ``offset_s`` a user-given
clock offset (reference time = sensor time + offset, no drift estimated); ``rules`` a rule-set name
(default: the sensor night's rule set); ``tolerance_s`` the onset tolerance of event matching.
Raises :class:`lmdetect.agreement.AgreementError` (a :class:`lmdetect.errors.LmdetectError`; CLI
exit 2) when the trains do not overlap, alignment is ambiguous or too few onsets match.

``NightAgreement.row() -> dict[str, float | int | str | None]`` with exactly these keys (None where
undefined)::

    offset_s, offset_se_s, drift_ppm, n_matched_pairs_for_alignment,
    lm_n_reference, lm_n_sensor, lm_n_matched, lm_sensitivity, lm_ppv,
    clm_n_reference, clm_n_sensor, clm_n_matched, clm_sensitivity, clm_ppv,
    plm_n_reference, plm_n_sensor, plm_n_matched, plm_sensitivity, plm_ppv,
    plms_per_h_reference, plms_per_h_sensor, plms_per_h_sensor_own,
    plmw_per_h_reference, plmw_per_h_sensor, plmw_per_h_sensor_own,
    clm_per_h_reference, clm_per_h_sensor, clm_per_h_sensor_own,
    periodicity_index_reference, periodicity_index_sensor, periodicity_index_sensor_own,
    tst_h_reference, tst_h_sensor_own

``*_reference``: the PSG's LMs scored with the reference hypnogram; ``*_sensor``: the sensor's LMs
mapped into the reference clock and re-scored with the same rules and the same reference hypnogram
(so the difference is the sensor alone); ``*_sensor_own``: the sensor's own indices and sleep/wake
(its summary.json).

``lmdetect agree --cohort MANIFEST --out DIR [--force]`` dispatches to
``lmdetect.agreement.cohort.run_cohort(manifest_path, out_dir, force=...)``; manifest columns:
sensor_night, reference, reference_hypnogram (optional), offset_s (optional), participant (optional),
child (optional).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ROW_KEYS", "AgreementError", "Alignment", "NightAgreement", "agree_night", "align_onsets"]

# loaded on first use: the readers and the scoring import pandas
_WHERE = {
    "AgreementError": "align",
    "Alignment": "align",
    "align_onsets": "align",
    "NightAgreement": "night",
    "agree_night": "night",
    "ROW_KEYS": "night",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
