"""Sleep/wake estimation settings."""

from __future__ import annotations

import dataclasses

from .._params import Params, check_nonnegative, check_option, check_positive, check_range

__all__ = ["SleepWakeParams", "SLEEPWAKE_METHODS"]

SLEEPWAKE_METHODS: tuple[str, ...] = ("ankle_activity",)


@dataclasses.dataclass(frozen=True)
class SleepWakeParams(Params):
    """Settings of the ankle-activity sleep/wake scorer.

    Attributes
    ----------
    method
        Scoring method (see :data:`SLEEPWAKE_METHODS`).
    epoch_s
        Epoch length (30 s, as in PSG scoring).
    weights
        Weights of the activity of epochs -4..+2 around the scored epoch (a weighted window as in
        Cole et al., Sleep 1992;15:461-469; the default centred 0.25/0.5/0.25 window and the
        threshold were tuned on the simulator, where they gave the smallest PLMS-index error).
    threshold
        The epoch is wake when the weighted activity exceeds this value.
    load_window_epochs
        The non-periodic movement load is summed over the epoch and this many epochs either side.
    load_threshold_mg_s
        The epoch is wake when that windowed load exceeds this many mg s (0 turns the load rule
        off). 800 mg s is e.g. one 200-mg, 4-s turn; 4 isolated 1.5-s LMs of 60 mg make 360. The
        window and threshold were tuned on the simulator (seeds 1-6 of every profile) and checked
        on held-out seeds 7-12 (docs/detection.md).
    rescore
        Apply Webster's rescoring rules (Webster et al., Sleep 1982;5:389-399): after >= 4 min of
        wake the next 1 min of sleep is wake; after >= 10 min, 3 min; after >= 15 min, 4 min.
    min_sleep_onset_min
        Sleep onset is the first run of this many minutes of sleep epochs; the sleep period ends
        with the last such run.
    diary_min_periodic_lms
        The diary's sleep onset (final awakening) is overruled when at least this many members of
        PLM series scored as sleep lie before it (after it) in time in bed
        (:mod:`lmdetect.sleepwake.diary`); 0 trusts the diary always. 20 is about ten minutes of
        PLMs at a typical 20-40 s interval (Shin et al., J Clin Sleep Med 2016): more than a
        diary line a few minutes to a quarter of an hour off can leave out, far fewer than a
        line hours off drops from a night with PLMS. A modelling choice, set on tuning nights.
    diary_series_sleep_frac
        A PLM series counts as evidence of sleep when at least this share of its members fall in
        epochs the actigraphy scored sleep.
    diary_max_lead_min
        An overruled sleep onset is placed at most this long before the first periodic LM found
        before the logged one (an overruled final awakening at most this long after the last
        one): the actigraphy cannot tell still wake from sleep, and PLM series are densest in
        the light NREM sleep that follows sleep onset (Pollmächer & Schulz, Sleep 1993). A
        modelling choice.
    """

    method: str = "ankle_activity"
    epoch_s: float = 30.0
    weights: tuple[float, ...] = (0.0, 0.0, 0.0, 0.25, 0.5, 0.25, 0.0)
    threshold: float = 0.26
    load_window_epochs: int = 1
    load_threshold_mg_s: float = 800.0
    rescore: bool = True
    min_sleep_onset_min: float = 5.0
    diary_min_periodic_lms: int = 20
    diary_series_sleep_frac: float = 0.75
    diary_max_lead_min: float = 15.0

    def __post_init__(self) -> None:
        check_option("method", self.method, SLEEPWAKE_METHODS)
        check_positive("epoch_s", self.epoch_s)
        check_positive("threshold", self.threshold)
        check_range("load_window_epochs", self.load_window_epochs, 0, 20)
        check_nonnegative("load_threshold_mg_s", self.load_threshold_mg_s)
        check_range("min_sleep_onset_min", self.min_sleep_onset_min, 0, 120)
        check_range("diary_min_periodic_lms", self.diary_min_periodic_lms, 0, 10000)
        check_range("diary_series_sleep_frac", self.diary_series_sleep_frac, 0.0, 1.0)
        check_range("diary_max_lead_min", self.diary_max_lead_min, 0.0, 600.0)
        if len(self.weights) != 7:
            from ..errors import ConfigError

            raise ConfigError("weights must have 7 values (epochs -4..+2)")
