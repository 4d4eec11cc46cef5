"""Night splitting: local noon to noon across DST changes, diary windows, and their edge cases."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pandas as pd
import pytest

from lmdetect.errors import ConfigError, LmdetectError
from lmdetect.model import Recording
from lmdetect.preprocessing.nights import night_windows, split_nights

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def days(
    start: dt.datetime, n_days: float, fs: float = 0.5, gap: tuple[float, float] | None = None
) -> Recording:
    n = int(n_days * 86400 * fs)
    t = np.arange(n) / fs
    a = np.zeros((n, 3), np.float32)
    a[:, 2] = 1.0
    a[:, 0] = (t % 1000) / 1000  # a ramp, to tell samples apart
    if gap:
        keep = (t < gap[0]) | (t >= gap[1])
        a, t = a[keep], t[keep]
    return Recording(a, t, fs, start, device_id="AX3-1", side="left")


def hours(rec: Recording) -> float:
    return (rec.end.astimezone(UTC) - rec.start.astimezone(UTC)).total_seconds() / 3600


@pytest.mark.parametrize(
    ("first", "dst_night", "dst_hours"),
    [
        (dt.datetime(2026, 3, 26, 9, 0), "2026-03-28", 23.0),
        (dt.datetime(2026, 10, 22, 9, 0), "2026-10-24", 25.0),
    ],
)
def test_noon_to_noon_across_dst(first: dt.datetime, dst_night: str, dst_hours: float) -> None:
    rec = days(first.replace(tzinfo=BERLIN), 5.0)
    nights = split_nights(rec, min_duration_s=0)
    labels = [n.meta["night"] for n in nights]
    assert labels == [(first.date() + dt.timedelta(days=k - 1)).isoformat() for k in range(6)]
    # every sample lands in exactly one night
    assert sum(n.n_samples for n in nights) == rec.n_samples
    for n in nights[1:-1]:
        local = n.start.astimezone(BERLIN)
        assert (local.hour, local.minute, local.second) == (12, 0, 0)
        expect = dst_hours if n.meta["night"] == dst_night else 24.0
        assert hours(n) == pytest.approx(expect, abs=1e-6)
        assert np.all(np.diff(n.time_s) > 0) and n.time_s[0] == 0.0
    # samples are moved, never changed
    np.testing.assert_array_equal(np.concatenate([n.accel_g for n in nights]), rec.accel_g)


def test_short_edges_are_dropped_by_min_duration() -> None:
    rec = days(dt.datetime(2026, 3, 26, 9, 0, tzinfo=BERLIN), 3.0)  # ends 29 March 10:00 CEST
    nights = split_nights(rec)  # default: at least one hour of data
    assert [n.meta["night"] for n in nights] == ["2026-03-25", "2026-03-26", "2026-03-27", "2026-03-28"]
    strict = split_nights(rec, min_duration_s=4 * 3600)
    assert [n.meta["night"] for n in strict] == ["2026-03-26", "2026-03-27", "2026-03-28"]


def test_gaps_stay_gaps_and_count_against_min_duration() -> None:
    start = dt.datetime(2026, 6, 1, 12, 0, tzinfo=BERLIN)
    rec = days(start, 2.0, gap=(3600.0, 23 * 3600.0))  # day 1 holds 2 h of data
    nights = split_nights(rec, min_duration_s=3 * 3600)
    assert [n.meta["night"] for n in nights] == ["2026-06-02"]
    both = split_nights(rec, min_duration_s=3600)
    assert both[0].gaps()["duration_s"].iloc[0] == pytest.approx(22 * 3600)


def test_zone_option_moves_noon() -> None:
    rec = days(dt.datetime(2026, 6, 1, 0, 0, tzinfo=UTC), 2.0)
    nights = split_nights(rec, tz="America/New_York", min_duration_s=0)
    ny = zoneinfo.ZoneInfo("America/New_York")
    assert nights[1].start == dt.datetime(2026, 6, 1, 12, 0, tzinfo=ny)
    assert nights[1].start.tzinfo == ny
    assert nights[1].meta["night_window_start"] == "2026-06-01T12:00:00-04:00"


def test_diary_windows_with_margin() -> None:
    rec = days(dt.datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN), 4.0)
    diary = pd.DataFrame(
        {
            "kind": ["lights_off", "rls_episode", "lights_on"] + ["lights_off", "lights_on"] * 2,
            "start": [
                pd.Timestamp("2026-03-28 23:10", tz=BERLIN),
                pd.Timestamp("2026-03-28 23:20", tz=BERLIN),
                pd.Timestamp("2026-03-29 07:30", tz=BERLIN),  # CEST by then
                "2026-03-30 00:40",  # naive: local to the recording's zone; after midnight -> 29th
                "2026-03-30 06:10",
                "2026-03-30 13:00",  # an afternoon nap: same evening label, second window
                "2026-03-30 14:00",
            ],
        }
    )
    nights = split_nights(diary=diary, method="diary", recording=rec, margin_s=900)
    assert [n.meta["night"] for n in nights] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    first = nights[0]
    assert first.start == dt.datetime(2026, 3, 28, 22, 55, tzinfo=BERLIN)
    assert hours(first) == pytest.approx(7 + 20 / 60 + 0.5, abs=1e-3)  # 23:10 CET -> 07:30 CEST is 7 h 20 min
    nap = split_nights(diary=diary, method="diary", recording=rec, margin_s=0, min_duration_s=0)[2]
    assert nap.meta["night"] == "2026-03-30" and hours(nap) == pytest.approx(1.0, abs=1e-3)


def test_diary_errors() -> None:
    rec = days(dt.datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN), 2.0)
    unpaired = pd.DataFrame({"kind": ["lights_off", "lights_off", "lights_on"],
                             "start": ["2026-03-27 23:00", "2026-03-28 23:00", "2026-03-29 07:00"]})
    with pytest.raises(LmdetectError, match="lights_off at 2026-03-27T23:00:00\\+01:00 has no lights_on"):
        split_nights(rec, method="diary", diary=unpaired)
    with pytest.raises(ConfigError, match="needs a diary"):
        split_nights(rec, method="diary")
    with pytest.raises(ConfigError, match="invalid method='midnight'"):
        split_nights(rec, method="midnight")
    with pytest.raises(ConfigError, match="kind and start"):
        split_nights(rec, method="diary", diary=pd.DataFrame({"when": []}))
    with pytest.raises(ConfigError, match="unknown time zone"):
        split_nights(rec, tz="Mars/Olympus")


def test_windows_are_listed_without_cutting() -> None:
    rec = days(dt.datetime(2026, 3, 28, 20, 0, tzinfo=BERLIN), 0.5)
    (w,) = night_windows(rec)
    assert (w.label, w.start.hour, w.end.hour) == ("2026-03-28", 12, 12)
    assert (w.end.astimezone(UTC) - w.start.astimezone(UTC)) == dt.timedelta(hours=23)
