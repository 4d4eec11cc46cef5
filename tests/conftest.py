"""Shared test configuration: the Agg backend for plots and the BLE fixtures."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

# fixtures for the BLE tests (private dbus-daemon + virtual BlueZ)
pytest_plugins = ["tests.ble_fixtures"]
