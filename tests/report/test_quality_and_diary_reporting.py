"""The report's quality section shows the night's noise and detection limit and warns when faint
movements could not be detected; an overruled diary row is flagged and the methods say why."""

from __future__ import annotations

import copy
import re

import pytest

from lmdetect.report import render_night_report
from lmdetect.report.html import report_summary
from lmdetect.report.methods import methods_paragraphs, references
from lmdetect.report.pdf import _context_text, detection_limit_warning, night_report_pages
from lmdetect.summary.night import metric_value
from tests.report import night_cases
from tests.report.html_checks import expected_text, parse_report


@pytest.fixture(scope="module")
def late_onset():
    return night_cases.late_diary_onset_night()


@pytest.fixture(scope="module")
def late_onset_html(late_onset):
    return render_night_report(late_onset)


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", fragment).split())


def _numbers_match(html: str, summary: dict) -> dict:
    shown = {v["key"]: v for v in parse_report(html).values}
    for key, v in shown.items():
        assert v["parsed"] == metric_value(summary, key), key
        assert v["text"] == expected_text(v["parsed"], v["format"], v["decimals"], summary), key
    return shown


def test_an_overruled_diary_row_is_flagged(late_onset, late_onset_html):
    s = report_summary(late_onset)
    check = s["sleep_diary_check"]["sleep_onset"]
    assert s["sleep_diary_overruled"] == 1 and check["status"] == "actigraphy"
    box = re.search(r'<div class="warn" id="diary-check"[^>]*>(.*?)</div>', late_onset_html, re.DOTALL)
    assert box, "no diary flag"
    text = _text(box.group(1))
    # 9000 s and 300 s after 22:30
    assert (f"Diary sleep onset 01:00 overruled: {check['periodic_lms']} periodic movements in sleep before it; "
            "sleep period starts 22:35") in text
    assert "Sleep diary overruled by the actigraphy (1 row)" in text
    shown = _numbers_match(late_onset_html, s)
    assert shown["sleep_diary_check.sleep_onset.shift_min"]["text"] == "-145"


def test_kept_diary_rows_raise_no_flag():
    html = render_night_report(night_cases.rich_night())
    assert 'id="diary-check"' not in html


def test_methods_say_how_the_diary_was_reconciled(late_onset):
    s = report_summary(late_onset)
    sleep = methods_paragraphs(late_onset.config, s)[3]
    assert "the way GGIR uses a sleep log to guide its own detection of the sleep period (van Hees et al., Sci " \
           "Rep 2018)" in sleep
    assert "at least 20 members of PLM series (WASM 2016 rules) beyond a row" in sleep
    assert "In this night: Diary sleep onset 01:00 overruled" in sleep
    assert any(r.startswith("van Hees VT") for r in references(late_onset.config, s))
    # a kept row: said so, and no diary reference without a diary row
    kept = copy.deepcopy(s)
    kept["sleep_diary_check"]["sleep_onset"].update(status="diary", used_s=9000.0, shift_min=0.0)
    kept["sleep_diary_overruled"] = 0
    assert "In this night the diary row was kept." in methods_paragraphs(late_onset.config, kept)[3]
    rich = night_cases.rich_night()
    assert not any(r.startswith("van Hees VT") for r in references(rich.config, report_summary(rich)))


def test_quality_shows_noise_and_detection_limit(late_onset_html, late_onset):
    s = report_summary(late_onset)
    shown = _numbers_match(late_onset_html, s)
    for key in ("quality.noise_rms_mg", "quality.noise_floor_mg", "quality.onset_threshold_mg",
                "quality.vibration_removed_h", "quality.masked_pad_h"):
        assert key in shown, key
    assert s["quality"]["detection_limited"] is False
    assert 'id="detection-limited"' not in late_onset_html


def test_a_detection_limited_night_is_warned_about(late_onset):
    s = report_summary(late_onset)
    s["quality"].update(noise_rms_mg=6.0, onset_threshold_mg=14.2, detection_limited=True)
    html = render_night_report(late_onset, summary=s)
    box = re.search(r'<p class="warn" id="detection-limited"[^>]*>(.*?)</p>', html, re.DOTALL)
    assert box, "no detection-limit warning"
    text = _text(box.group(1))
    assert "onset threshold of 14.2 mg set from a sensor noise of 6.00 mg RMS" in text
    assert "is above 10 mg" in text and "may be too low" in text
    _numbers_match(html, s)
    # the PDF's first page carries the same warning
    warning = detection_limit_warning(s, late_onset.config.detect.faint_movement_mg)
    assert warning is not None and "14.2 mg" in warning
    first = night_report_pages(late_onset, s)[0]
    assert any("Detection limited by the sensor" in t.get_text() for t in first.texts)


def test_pdf_flags_the_overruled_row_and_lists_pad_sessions(late_onset):
    s = report_summary(late_onset)
    first = night_report_pages(late_onset, s)[0]
    assert any("Diary sleep onset 01:00 overruled" in t.get_text() for t in first.texts)
    pad = report_summary(night_cases.logged_pad_night())
    text = _context_text(pad)
    assert "Leg movements were measured through the vibration" in text
    assert text.count("Session at ") == len(pad["pad_measurement"]) == 3
