"""Shared test configuration: Agg backend for plots, seeded helpers."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
