"""The report's pad text, methods paragraph and timeline say what was done with each pad session,
as the summary recorded it; recording labels name what they show."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lmdetect.config import Config
from lmdetect.report import render_night_report
from lmdetect.report.figures import plot_timeline
from lmdetect.report.html import report_summary
from lmdetect.report.methods import methods_paragraphs
from lmdetect.report.pad_text import pad_handling_sentences
from lmdetect.report.pdf import _context_text
from tests.report import night_cases
from tests.report.html_checks import parse_report


@pytest.fixture(scope="module")
def default_night():
    """Logged sessions not masked (the default), detected vibration masked."""
    return night_cases.logged_pad_night()


@pytest.fixture(scope="module")
def masked_night():
    return night_cases.logged_pad_night(Config(mask_logged_pads=True))


@pytest.fixture(scope="module")
def default_html(default_night):
    return render_night_report(default_night)


def _paragraph(html: str, pid: str) -> str:
    m = re.search(rf'<p id="{pid}">(.*?)</p>', html, re.DOTALL)
    assert m, pid
    return " ".join(re.sub(r"<[^>]+>", "", m.group(1)).split())


def _lane_bars(result, lane: str) -> list[tuple[float, float]]:
    """(start_h, end_h) of the bars drawn in one timeline lane."""
    ax = plot_timeline(result)
    ticks = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    y = ticks[lane]
    bars = []
    for coll in ax.collections:
        for path in coll.get_paths():
            v = path.vertices
            if len(v) and abs(v[:, 1].mean() - y) < 0.35 and np.ptp(v[:, 0]) > 0:
                bars.append((float(v[:, 0].min()), float(v[:, 0].max())))
    return bars


def test_logged_pad_lane_shows_the_logged_sessions_under_the_default_config(default_night):
    bars = sorted(_lane_bars(default_night, "Pad (log)"))
    assert np.allclose(bars, [(0.5, 0.5 + 2100 / 3600), (3.0, 3.0 + 2100 / 3600)])
    assert len(_lane_bars(default_night, "Pad (signal)")) == 1


def test_pad_section_says_what_was_done_with_the_sessions(default_html, default_night):
    pad = default_night.summary["context"]["pad"]
    status = _paragraph(default_html, "pad-status")
    assert "masked" not in status and "no movement is observable" not in default_html
    text = _paragraph(default_html, "pad-handling")
    logged, detected = pad["handling"]["logged"], pad["handling"]["detected"]
    assert ("The 2 logged sessions (1.17 h) were not masked: leg movements were detected as at any other "
            f"time, except for {logged['masked_h']:.2f} h of their time masked as vibration detected in the "
            f"signal. Observable: {logged['observable_h']:.2f} of 1.17 h.") in text
    assert f"The 1 detected session ({detected['sessions_h']:.2f} h) was masked from leg-movement detection" in text
    # the table next to it agrees: the unseen session's train is counted
    assert pad["inside"]["n_plm"] >= 50
    note = _paragraph(default_html, "pad-windows-note")
    assert "partly observable (0.58 of 1.17 h)" in note


def test_pad_section_when_logged_sessions_are_masked(masked_night):
    html = render_night_report(masked_night)
    text = _paragraph(html, "pad-handling")
    assert "The 2 logged sessions (1.17 h) were masked from leg-movement detection. Observable: 0.00 of 1.17 h." in text
    assert "not observable (0.00 of 1.17 h)" in _paragraph(html, "pad-windows-note")


def test_per_session_tables_show_handling_and_observable_time(default_html, default_night):
    shown = {v["key"]: v for v in parse_report(default_html).values}
    assert shown["context.pad.agreement.logged.0.handling"]["text"] == "measured"
    assert shown["context.pad.agreement.logged.1.observable_s"]["text"] == "2100"
    assert shown["context.pad.agreement.detected.0.handling"]["text"] == "masked"


def test_methods_paragraph_follows_what_was_done(default_night, masked_night):
    default = methods_paragraphs(default_night.config, report_summary(default_night))[1]
    assert default.startswith("The 2 logged vibration-pad sessions were not masked: LMs were detected through them")
    assert "the 1 found was masked with 30 s on either side" in default
    masked = methods_paragraphs(masked_night.config, report_summary(masked_night))[1]
    assert masked.startswith("The 2 logged vibration-pad sessions were masked from LM detection until 60 s after")


def test_methods_paragraph_without_a_pad():
    result = night_cases.zero_movement_night()
    text = methods_paragraphs(result.config, report_summary(result))[1]
    assert text.startswith("No vibration-pad session was logged.") and "none was found" in text
    assert "No time was masked as pad use." in text


def test_pdf_pad_text_uses_the_same_facts(default_night):
    doc = report_summary(default_night)
    text = _context_text(doc)
    assert "Pad sessions are masked from detection" not in text
    for sentence in pad_handling_sentences(doc):
        assert sentence in text


def test_a_handling_the_report_does_not_know_is_named_not_reworded(default_night):
    doc = report_summary(default_night)
    det = doc["context"]["pad"]["handling"]["detected"]
    det.update(n_masked=0, n_by_handling={"vibration_removed": 1}, masked_h=0.0, observable_h=0.4,
               unobservable_h=round(det["sessions_h"] - 0.4, 4))
    (_, sentence) = pad_handling_sentences(doc)
    assert "handled as 'vibration_removed'" in sentence and "Observable: 0.40 of 0.59 h" in sentence
    assert "0.19 h had no usable signal" in sentence


def test_recording_labels_name_what_they_show(default_html, default_night):
    shown = {v["key"]: v for v in parse_report(default_html).values}
    rows = dict(re.findall(r"<tr><th>([^<]+)</th><td[^>]*>(.*?)</td></tr>", default_html, re.DOTALL))
    # 7.0 h without gaps: recorded time is 7.0 h whatever was masked
    assert shown["quality.recorded_h"]["text"] == "7.00"
    assert default_night.summary["quality"]["masked_pad_h"] > 0.5
    # the effective rate is the one of `info` and summary.json's recording block
    assert 'data-key="recording.fs_effective_hz"' in rows["Rate, effective (Hz)"]
    assert "quality.fs_effective_hz" not in default_html
    # time in bed names where it came from, not the sleep source
    tib = re.sub(r"<[^>]+>", "", rows["Time in bed"])
    assert "lights off and on from the diary" in tib and "actigraphy" not in tib
    assert "diary+actigraphy" in rows["Sleep from"]


def test_pad_sample_shape_night_unseen_logged_session_is_reported_as_observable():
    """A logged session the sensor does not see, nothing detected: the text says it was measured."""
    doc = {"context": {"pad": {"source": "log", "handling": {
        "logged": {"n_sessions": 1, "n_masked": 0, "n_by_handling": {"measured": 1}, "sessions_h": 0.5833,
                   "masked_h": 0.0, "observable_h": 0.5833, "unobservable_h": 0.0},
        "detected": {"n_sessions": 0, "n_masked": 0, "n_by_handling": {}, "sessions_h": 0.0, "masked_h": 0.0,
                     "observable_h": 0.0, "unobservable_h": 0.0}}}}}
    assert pad_handling_sentences(doc) == [
        "The 1 logged session (0.58 h) was not masked: leg movements were detected as at any other time. "
        "Observable: 0.58 of 0.58 h."
    ]
