"""Settings no sensor can have are refused where they enter: adapter options and stream settings."""

from __future__ import annotations

import math

import pytest

from lmdetect.adapters import ADAPTERS, StreamInfo, make_adapter
from lmdetect.errors import ConfigError, ProtocolError


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize(
    "options",
    [
        {"rate_hz": 0},
        {"rate_hz": -50},
        {"rate_hz": math.nan},
        {"rate_hz": math.inf},
        {"rate_hz": 1e6},
        {"range_g": 0},
        {"range_g": math.nan},
        {"command_timeout_s": 0},
    ],
)
def test_impossible_adapter_options_are_config_errors(name, options):
    with pytest.raises(ConfigError, match="must be above 0"):
        make_adapter(name, **options)


GOOD = {"fs_hz": 50.0, "tick_hz": 32768, "scale_g": 8 / 32768, "range_g": 8.0, "sensor": "x"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fs_hz", 0.0),  # would divide by zero in every tick computation
        ("fs_hz", math.nan),
        ("fs_hz", 65535.0),
        ("tick_hz", 0),
        ("scale_g", math.nan),  # would turn every sample into 0
        ("scale_g", 0.0),
        ("scale_g", math.inf),
        ("range_g", -8.0),
        ("range_g", math.inf),
    ],
)
def test_impossible_stream_settings_are_protocol_errors(field, value):
    with pytest.raises(ProtocolError, match="impossible stream"):
        StreamInfo(**{**GOOD, field: value})


def test_a_range_of_zero_means_not_reported():
    assert StreamInfo(**{**GOOD, "range_g": 0.0}).range_g == 0.0
