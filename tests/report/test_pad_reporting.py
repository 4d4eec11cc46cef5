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
    # the visible session's line was removed: only seconds of it stayed too strong and were masked
    assert set(logged["masked_by_h"]) == {"residual"} and logged["masked_h"] < 0.01
    assert ("The 2 logged sessions (1.17 h) were not masked: leg movements were detected as at any other "
            f"time, except for {60 * logged['masked_h']:.1f} min of their time masked because the vibration left "
            "after its line was removed was still too strong to measure through. "
            f"Observable: {logged['observable_h']:.2f} of 1.17 h.") in text
    assert f"The 1 detected session ({detected['sessions_h']:.2f} h) was not masked" in text
    # the table next to it agrees: the unseen session's train is counted
    assert pad["inside"]["n_plm"] >= 50
    note = _paragraph(default_html, "pad-windows-note")
    assert "were observable (1.17 of 1.17 h)" in note


def test_pad_text_says_movements_were_measured_through_the_vibration(default_html, default_night):
    rows = default_night.summary["pad_measurement"]
    seen = next(r for r in rows if r["source"] == "log" and r["line_freq_hz"] is not None)
    text = _paragraph(default_html, "pad-measurement-text")
    assert text.startswith("Leg movements were measured through the vibration: in 1 of the 2 logged pad sessions "
                           f"its line (at {seen['line_freq_hz']:.1f} Hz as sampled")
    assert "in the other session no vibration line was seen, so nothing was removed" in text
    logged = [r for r in rows if r["source"] == "log"]
    share = sum(r["duration_s"] * r["measurable_fraction"] for r in logged) / sum(r["duration_s"] for r in logged)
    masked_min = sum(r["masked_s"] for r in logged) / 60
    assert f"Measurable: {100 * share:.0f} % of the session time; {masked_min:.1f} min of it was masked" in text
    assert "The detection limit under the pad (the smallest movement that could be detected) was 3.5 mg" in text


def test_each_pad_session_has_a_row_with_its_plm_rates(default_html, default_night):
    s = default_night.summary
    table = re.search(r'<table id="pad-measurement">(.*?)</table>', default_html, re.DOTALL).group(1)
    body_rows = re.findall(r"<tr><td>(.*?)</tr>", table, re.DOTALL)
    assert len(body_rows) == len(s["pad_measurement"]) == 3
    shown = {v["key"]: v for v in parse_report(default_html).values}
    for i, r in enumerate(s["pad_measurement"]):
        assert shown[f"pad_measurement.{i}.source"]["text"] == r["source"]
        assert shown[f"pad_measurement.{i}.measurable_fraction"]["parsed"] == r["measurable_fraction"]
    # the logged session at 3 h that the sensor does not see: its 60-movement train is under it
    unseen = s["context"]["pad"]["agreement"]["logged"][1]
    assert unseen["onset_s"] == 10800.0
    assert unseen["rates"]["during"]["n_plm"] >= 55 and unseen["rates"]["before"]["n_plm"] == 0
    assert shown["pad_measurement.2.line_freq_hz"]["text"] == "n/a"
    assert shown["context.pad.agreement.logged.1.rates.during.n_plm"]["parsed"] == unseen["rates"]["during"]["n_plm"]
    # the first session: the train starts 5 min after it ends, so it is in the 30 min after
    first = s["context"]["pad"]["agreement"]["logged"][0]["rates"]
    assert first["during"]["n_plm"] == 0 and first["after"]["n_plm"] >= 55
    assert shown["context.pad.agreement.logged.0.rates.after.plm_per_h"]["text"] == f"{first['after']['plm_per_h']:.1f}"


def test_session_rates_count_only_observable_time(default_night):
    det = default_night.summary["context"]["pad"]["agreement"]["detected"][0]
    during = det["rates"]["during"]
    # observable time under the session: its length minus the masked seconds (all of it in bed)
    assert during["observed_h"] == pytest.approx((det["duration_s"] - det["masked_s"]) / 3600, abs=2e-3)


def test_pad_section_when_logged_sessions_are_masked(masked_night):
    html = render_night_report(masked_night)
    text = _paragraph(html, "pad-handling")
    assert "The 2 logged sessions (1.17 h) were masked from leg-movement detection. Observable: 0.00 of 1.17 h." in text
    assert "not observable (0.00 of 1.17 h)" in _paragraph(html, "pad-windows-note")


def test_per_session_tables_show_handling_and_observable_time(default_html, default_night):
    shown = {v["key"]: v for v in parse_report(default_html).values}
    assert shown["context.pad.agreement.logged.0.handling"]["text"] == "measured"
    assert shown["context.pad.agreement.logged.1.observable_s"]["text"] == "2100"
    assert shown["context.pad.agreement.detected.0.handling"]["text"] == "measured"


def test_methods_paragraph_follows_what_was_done(default_night, masked_night):
    default = methods_paragraphs(default_night.config, report_summary(default_night))[1]
    assert default.startswith("The 2 logged vibration-pad sessions were not masked: LMs were detected through them")
    assert "tracked through its drift and ramp-down and subtracted from the signal" in default
    masked_min = 60 * default_night.summary["quality"]["masked_pad_h"]
    assert f"exceeded 1 mg RMS were masked, with 2 s on either side ({masked_min:.1f} min in this night)" in default
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
    assert default_night.summary["quality"]["vibration_removed_h"] > 0.5
    assert shown["quality.vibration_removed_h"]["text"] == f"{default_night.summary['quality']['vibration_removed_h']:.2f}"
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
