"""Sensor protocols the collector can drive: each decodes its notifications into one sample stream.

* ``open``: the lmdetect open profile (:mod:`lmdetect.adapters.open_profile`), with sequence
  numbers, a ring buffer and resend;
* ``polar``: the Polar Measurement Data accelerometer stream of the Polar H10 and Verity Sense
  (:mod:`lmdetect.adapters.polar`);
* ``movesense``: the Movesense accelerometer over the GATT SensorData Protocol of the
  ``gatt_sensordata_app`` firmware (:mod:`lmdetect.adapters.movesense`).

:func:`adapter_names` is the list ``collect --sensor`` offers: every ``@register_adapter`` class in
a module of this package (:mod:`lmdetect.adapters.base`).
"""

from __future__ import annotations

from typing import Any

from .base import (
    DecodedPacket,
    SensorAdapter,
    StreamInfo,
    adapter_class,
    adapter_classes,
    adapter_names,
    register_adapter,
)
from .movesense import MovesenseAdapter
from .open_profile import OpenProfileAdapter
from .polar import PolarAdapter

__all__ = [
    "ADAPTERS",
    "adapter_class",
    "adapter_classes",
    "adapter_names",
    "register_adapter",
    "DecodedPacket",
    "SensorAdapter",
    "StreamInfo",
    "MovesenseAdapter",
    "OpenProfileAdapter",
    "PolarAdapter",
    "make_adapter",
]


def __getattr__(name: str) -> Any:
    # ADAPTERS (``--sensor`` name -> class) is read from the registry, the one list of sensors
    if name == "ADAPTERS":
        return adapter_classes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_adapter(name: str, **options: float) -> SensorAdapter:
    """The adapter registered as ``name`` (see :func:`adapter_names`), built with ``options``."""
    return adapter_class(name)(**options)
