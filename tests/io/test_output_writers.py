"""summary.json and events.csv writers: format, type conversion, atomicity."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import LmdetectError
from lmdetect.io.annotations import read_events_csv
from lmdetect.io.annotations.events_csv import EVENTS_LEADING_COLUMNS, write_events_csv
from lmdetect.results.summary_json import write_summary_json
from lmdetect.scoring import score_lms


def test_summary_json_sorted_indented_plain_types(tmp_path):
    p = tmp_path / "out" / "summary.json"
    write_summary_json(
        p,
        {
            "b": np.int64(3),
            "a": np.float32(0.5),
            "nan": float("nan"),
            "inf": np.inf,
            "flag": np.bool_(True),
            "list": (1, np.float64(2.5)),
            "arr": np.array([1, 2]),
            "when": dt.datetime(2026, 3, 14, 22, 30),
            "nested": {"z": None, "y": Path("x/y")},
        },
    )
    text = p.read_text()
    assert text.endswith("\n") and text.startswith('{\n  "a": 0.5,')
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data == {
        "a": 0.5,
        "arr": [1, 2],
        "b": 3,
        "flag": True,
        "inf": None,
        "list": [1, 2.5],
        "nan": None,
        "nested": {"y": "x/y", "z": None},
        "when": "2026-03-14T22:30:00",
    }


def test_summary_json_refuses_unknown_types_and_keeps_the_old_file(tmp_path):
    p = tmp_path / "summary.json"
    write_summary_json(p, {"a": 1})
    with pytest.raises(LmdetectError, match=r"summary\.x"):
        write_summary_json(p, {"x": object()})
    assert json.loads(p.read_text()) == {"a": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left


def test_events_csv_column_order_and_round_trip(tmp_path):
    lms = pd.DataFrame(
        {
            "onset_s": [0.1, 20.2, 40.3, 60.4, 61.0],
            "duration_s": [1.25, 2, 2, 2, 0.7],
            "side": ["left", "left", "left", "right", "left"],
            "kind": "lm",
            "amplitude_mg": [10.0, np.nan, 30.0, 40.0, 5.0],
        }
    )
    scored = score_lms(lms)
    p = write_events_csv(tmp_path / "events.csv", scored)
    header = p.read_text().splitlines()[0].split(",")
    assert tuple(header[: len(EVENTS_LEADING_COLUMNS)]) == EVENTS_LEADING_COLUMNS
    assert "imi_s" in header and "amplitude_mg" in header
    back = pd.read_csv(p, keep_default_na=False, na_values=[""])
    np.testing.assert_array_equal(back["onset_s"].to_numpy(), scored["onset_s"].to_numpy())
    assert list(back["is_clm"]) == list(scored["is_clm"])
    assert back["amplitude_mg"].isna().sum() == scored["amplitude_mg"].isna().sum()
    # and our own reader takes it as input again
    again = score_lms(read_events_csv(p).lms)
    assert list(again["series_id"]) == list(scored["series_id"])


def test_events_csv_needs_the_leading_columns(tmp_path):
    with pytest.raises(LmdetectError, match="stage"):
        write_events_csv(tmp_path / "events.csv", pd.DataFrame({"onset_s": [1.0]}))
    assert not (tmp_path / "events.csv").exists()
