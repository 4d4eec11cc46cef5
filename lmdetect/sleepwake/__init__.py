"""Sleep/wake and the sleep period, from ankle activity or from a given hypnogram / diary.

Names are loaded on first use: the parameter class (:mod:`.params`) needs no numerical library,
so the processing configuration imports it without pulling in the detector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .actigraphy import epoch_activity, epoch_movement_load, score_sleep_wake, sleep_period
    from .diary import DiaryRowCheck, reconcile_sleep_diary
    from .params import SLEEPWAKE_METHODS, SleepWakeParams

_LAZY = {
    "SleepWakeParams": ".params",
    "SLEEPWAKE_METHODS": ".params",
    "epoch_activity": ".actigraphy",
    "epoch_movement_load": ".actigraphy",
    "score_sleep_wake": ".actigraphy",
    "sleep_period": ".actigraphy",
    "DiaryRowCheck": ".diary",
    "reconcile_sleep_diary": ".diary",
}

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


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
