"""Sensor protocols the collector can drive: each decodes its notifications into one sample stream.

* ``open``: the lmdetect open profile (:mod:`lmdetect.adapters.open_profile`), with sequence
  numbers, a ring buffer and resend;
* ``polar``: the Polar Measurement Data accelerometer stream of the Polar H10 and Verity Sense
  (:mod:`lmdetect.adapters.polar`);
* ``movesense``: the Movesense accelerometer over the GATT SensorData Protocol of the
  ``gatt_sensordata_app`` firmware (:mod:`lmdetect.adapters.movesense`).
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import DecodedPacket, SensorAdapter, StreamInfo
from .movesense import MovesenseAdapter
from .open_profile import OpenProfileAdapter
from .polar import PolarAdapter

__all__ = [
    "ADAPTERS",
    "DecodedPacket",
    "SensorAdapter",
    "StreamInfo",
    "MovesenseAdapter",
    "OpenProfileAdapter",
    "PolarAdapter",
    "make_adapter",
]

#: ``--sensor`` name -> adapter class.
ADAPTERS: dict[str, type[SensorAdapter]] = {
    OpenProfileAdapter.name: OpenProfileAdapter,
    PolarAdapter.name: PolarAdapter,
    MovesenseAdapter.name: MovesenseAdapter,
}


def make_adapter(name: str, **options: float) -> SensorAdapter:
    """The adapter called ``name`` (``open``, ``polar``, ``movesense``), built with ``options``."""
    try:
        cls = ADAPTERS[name]
    except KeyError:
        raise ConfigError(f"unknown sensor {name!r}; valid choices are {', '.join(sorted(ADAPTERS))}") from None
    return cls(**options)
