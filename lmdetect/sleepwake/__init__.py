"""Sleep/wake and the sleep period, from ankle activity or from a given hypnogram / diary."""

from .actigraphy import epoch_activity, epoch_movement_load, score_sleep_wake, sleep_period
from .diary import DiaryRowCheck, reconcile_sleep_diary
from .params import SLEEPWAKE_METHODS, SleepWakeParams

__all__ = [
    "SleepWakeParams",
    "SLEEPWAKE_METHODS",
    "epoch_activity",
    "epoch_movement_load",
    "score_sleep_wake",
    "sleep_period",
    "DiaryRowCheck",
    "reconcile_sleep_diary",
]
