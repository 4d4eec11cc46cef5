"""Shared test configuration: Agg backend for plots, seeded helpers."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

# fixtures for the BLE tests (private dbus-daemon + virtual BlueZ)
pytest_plugins = ["tests.ble_fixtures"]
