"""lmdetect: periodic limb movements during sleep from an ankle-worn accelerometer.

Public API (pandas in, pandas out)::

    from lmdetect import read_recording, process_night, Config
    rec = read_recording("night.lmr")
    result = process_night(rec, Config(rules="wasm2016"))
    result.summary["plms_index"], result.events

Names are loaded on first use, so ``import lmdetect`` stays cheap and never pulls in matplotlib,
bleak or dask.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .errors import ConfigError, DeviceNotFoundError, FormatError, LmdetectError, ProtocolError

try:
    __version__ = version("lmdetect")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# loaded on first use: even the data model pulls in numpy and pandas, which `lmdetect --version` and
# `lmdetect --help` must not wait for
_LAZY = {
    "Recording": "lmdetect.model",
    "Config": "lmdetect.config",
    "load_config": "lmdetect.config",
    "process_night": "lmdetect.pipeline",
    "NightResult": "lmdetect.pipeline",
    "read_recording": "lmdetect.io",
    "write_recording": "lmdetect.io",
    "read_diary": "lmdetect.io.diary",
    "read_pad_log": "lmdetect.io.diary",
    "read_hypnogram": "lmdetect.io.hypnogram",
    "write_night_outputs": "lmdetect.outputs",
    "score_lms": "lmdetect.scoring",
    "night_indices": "lmdetect.scoring",
    "get_rule_set": "lmdetect.scoring",
    "WASM2016": "lmdetect.scoring",
    "AASM": "lmdetect.scoring",
    "evaluate_events": "lmdetect.evaluation",
    "summarize_nights": "lmdetect.outputs",
}

__all__ = [
    "__version__",
    "LmdetectError",
    "FormatError",
    "ConfigError",
    "ProtocolError",
    "DeviceNotFoundError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lmdetect' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
