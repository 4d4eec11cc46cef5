"""``lmdetect collect`` argument handling and the status line."""

from __future__ import annotations

import argparse
import io

import pytest

from lmdetect.cli import main
from lmdetect.collector.session import SessionStatus
from lmdetect.collector.status import StatusDisplay, format_duration, format_status
from lmdetect.commands.collect import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [("8h", 28800), ("7h30m", 27000), ("90m", 5400), ("45s", 45), ("3600", 3600), ("1.5h", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "eight hours", "8hours", "0", "-5m"])
def test_bad_durations_are_argument_errors(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_output_must_be_lmr(tmp_path, capsys):
    assert main(["collect", "--device", "LMD-ANKLE-01", "--out", str(tmp_path / "night.csv")]) == 2
    assert "--out must be a .lmr file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bad_options_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["collect", "--device", "X", "--out", "n.lmr", "--sensor", "fitbit"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        main(["collect", "--out", "n.lmr"])  # --device is required
    assert "--device" in capsys.readouterr().err


def status(**kw) -> SessionStatus:
    base = dict(
        state="streaming", elapsed_s=3725.0, duration_s=28800.0, samples=186_250, rate_hz=50.0, missing_packets=2,
        lost_packets=0, lost_samples=0, backfilled_samples=1250, rejected=0, battery_pct=87, rssi_dbm=-61,
        drift_ppm=12.34, reconnects=1,
    )
    base.update(kw)
    return SessionStatus(**base)


def test_status_line_shows_what_matters():
    line = format_status(status())
    for part in ("streaming", "1:02:05/8:00:00", "186,250 samples", "50.0 Hz", "gaps 2 missing/0 lost",
                 "backfilled 1,250", "battery 87%", "RSSI -61 dBm", "drift +12.3 ppm", "reconnects 1"):
        assert part in line
    quiet = format_status(status(battery_pct=None, rssi_dbm=None, drift_ppm=None, reconnects=0, duration_s=None))
    assert "battery ?" in quiet and "RSSI ?" in quiet and "drift" not in quiet and "/" not in quiet.split("|")[1]
    assert "rejected 7" in format_status(status(rejected=7))
    assert format_duration(0) == "0:00:00" and format_duration(86399) == "23:59:59"


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_display_redraws_one_line_with_a_progress_bar_on_a_terminal():
    out = FakeTty()
    d = StatusDisplay(out, use_rich=False)
    d.update(status(elapsed_s=14400.0))
    d.update(status(elapsed_s=14401.0, samples=5))
    d.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "[##########..........]  50%" in text


def test_plain_display_prints_now_and_then_into_a_log_file():
    out = io.StringIO()
    d = StatusDisplay(out, use_rich=False, plain_every_s=3600)
    for k in range(5):
        d.update(status(samples=k))
    d.close()
    assert out.getvalue().count("\n") == 1 and "\r" not in out.getvalue()


def test_rich_display_draws_a_progress_bar():
    pytest.importorskip("rich")
    out = FakeTty()
    d = StatusDisplay(out, use_rich=True)
    d.update(status(elapsed_s=7200.0))
    d.close()
    assert "25%" in out.getvalue() and "streaming" in out.getvalue()
