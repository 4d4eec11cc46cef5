"""The BLE collector: record a night from an ankle sensor into a crash-safe ``.lmr`` file.

:class:`RecordSession` runs the night (see :mod:`lmdetect.collector.session`); links are
:class:`~lmdetect.collector.link.Link` objects found by a :class:`~lmdetect.collector.link.Connector`:
:class:`~lmdetect.collector.ble.BleakConnector` (bleak, imported lazily) or the in-memory
:class:`~lmdetect.collector.link.MemoryConnector` for tests and benchmarks.
"""

from __future__ import annotations

from .hostclock import HostClock
from .link import Connector, Link, LinkError, MemoryConnector, MemoryLink, MemoryRadio
from .outcome import SessionStatus, SessionSummary
from .params import CollectorParams, NightPlan
from .session import RecordSession
from .timesync import ClockFit, OnlineClockFit

__all__ = [
    "HostClock",
    "Connector",
    "Link",
    "LinkError",
    "MemoryConnector",
    "MemoryLink",
    "MemoryRadio",
    "CollectorParams",
    "NightPlan",
    "RecordSession",
    "SessionStatus",
    "SessionSummary",
    "ClockFit",
    "OnlineClockFit",
]
