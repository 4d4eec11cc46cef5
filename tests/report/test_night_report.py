"""The per-night HTML and PDF reports: self-contained, numbers equal to summary.json, methods text
from the config, and sensible reports for nights with no movement, no sleep or large gaps."""

from __future__ import annotations

import base64
import json
import re

import pytest

from lmdetect.config import Config
from lmdetect.io.native import write_lmr
from lmdetect.outputs import write_night_outputs
from lmdetect.pipeline import process_night
from lmdetect.report import render_night_report, write_night_report, write_night_report_pdf
from lmdetect.report.html import report_summary
from lmdetect.report.methods import methods_text, references
from lmdetect.summary.night import NIGHT_METRIC_COLUMNS
from tests.report import night_cases
from tests.report.html_checks import expected_text, parse_report, summary_value

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rich():
    return night_cases.rich_night()


@pytest.fixture(scope="module")
def rich_outputs(rich, tmp_path_factory):
    out = tmp_path_factory.mktemp("rich")
    write_night_outputs(rich, out, report=True, pdf=True)
    return out


def _check_numbers(html: str, summary: dict) -> dict[str, dict]:
    page = parse_report(html)
    by_key = {}
    for item in page.values:
        assert item["parsed"] == summary_value(summary, item["key"]), item["key"]
        assert item["text"] == expected_text(item["parsed"], item["format"], item["decimals"], summary), item
        by_key[item["key"]] = item
    return by_key


def test_report_is_one_self_contained_file(rich_outputs):
    html = (rich_outputs / "report.html").read_text(encoding="utf-8")
    page = parse_report(html)
    assert not ({"script", "link", "iframe", "object", "embed"} & page.tags)
    assert not re.search(r"url\(", html), "CSS must not load anything"
    assert all(u.startswith("data:image/png;base64,") for u in page.urls), [u[:40] for u in page.urls]
    assert [i["id"] for i in page.images] == ["fig-timeline", "fig-imi", "fig-per-hour"]
    for img in page.images:
        png = base64.b64decode(img["src"].split(",", 1)[1])
        assert png.startswith(PNG_MAGIC) and len(png) > 5_000
        assert img["alt"]
    assert len(html.encode()) < 3_000_000


def test_every_number_shown_equals_summary_json(rich_outputs):
    html = (rich_outputs / "report.html").read_text(encoding="utf-8")
    summary = json.loads((rich_outputs / "summary.json").read_text())
    shown = _check_numbers(html, summary)
    # the WASM 2016 metric set and each column of the shared metrics table
    for c in NIGHT_METRIC_COLUMNS:
        if c.group != "night":
            assert c.key in shown, c.key
    assert shown["plms_index"]["text"] == f"{summary['plms_index']:.1f}"
    # per-hour table, RLS episodes and pad sessions are there too
    assert "plm_per_hour_of_night.2" in shown
    assert shown["context.rls.episodes.1.onset_s"]["text"] == "00:46"  # 8200 s after 22:30
    assert shown["context.pad.agreement.logged.0.intensity"]["text"] == "5"
    assert "context.pad.agreement.detected.0.freq_hz" in shown
    # one row per measured pad session, with its rates from the same file
    for i in range(len(summary["pad_measurement"])):
        assert f"pad_measurement.{i}.measurable_fraction" in shown
        assert f"pad_measurement.{i}.detection_limit_mg" in shown
    assert "context.pad.agreement.logged.0.rates.during.plm_per_h" in shown
    assert "quality.noise_rms_mg" in shown and "quality.onset_threshold_mg" in shown


def test_report_states_it_is_not_an_emg_diagnosis(rich_outputs):
    html = (rich_outputs / "report.html").read_text(encoding="utf-8")
    note = re.search(r'<p class="note" id="note"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert "not an EMG-based diagnosis" in note
    assert "Smith et al., J Clin Sleep Med 2018, recommendation 8" in note


def test_periodicity_index_definition_is_given(rich_outputs):
    html = (rich_outputs / "report.html").read_text(encoding="utf-8")
    para = re.search(r'<p id="pi-definition">(.*?)</p>', html, re.S).group(1)
    assert "Ferri et al., Sleep 2006" in para and "run of at least 3" in para and "PLM/CLM ratio" in para


def test_provenance_lists_version_config_hash_and_input_checksum(rich, tmp_path):
    rec = night_cases.gappy_recording()
    src = tmp_path / "night.lmr"
    write_lmr(rec, src)
    from lmdetect.io import read_recording
    from lmdetect.results.night_folder import sha256_file

    result = process_night(read_recording(src))
    write_night_outputs(result, tmp_path / "out", input_path=src, report=True)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    shown = _check_numbers(html, json.loads((tmp_path / "out" / "summary.json").read_text()))
    assert shown["input_sha256"]["text"] == sha256_file(src)
    assert shown["input_file"]["text"] == "night.lmr"
    assert shown["config_hash"]["text"] == result.config.hash()
    assert "numpy" in html and "matplotlib" in html


def test_zero_movement_night_gives_a_sensible_report():
    result = night_cases.zero_movement_night()
    html = render_night_report(result)
    shown = _check_numbers(html, report_summary(result))
    assert shown["plms_index"]["text"] == "0.0"
    assert shown["n_clm"]["text"] == "0"
    assert shown["periodicity_index"]["text"] == "n/a"
    assert shown["imi_geometric_mean_s"]["text"] == "n/a"
    assert "No RLS episodes were logged" in html and "No pad session was logged or detected" in html


def test_night_without_sleep_gives_a_sensible_report():
    result = night_cases.no_sleep_night()
    assert result.summary["tst_h"] == 0.0
    html = render_night_report(result)
    shown = _check_numbers(html, report_summary(result))
    assert shown["tst_h"]["text"] == "0.00"
    assert shown["plms_index"]["text"] == "n/a"  # no sleep: no denominator
    assert shown["clmw_index"]["parsed"] > 100


def test_night_with_large_gaps_gives_a_sensible_report():
    result = night_cases.gappy_night()
    html = render_night_report(result)
    shown = _check_numbers(html, report_summary(result))
    assert shown["quality.n_gaps"]["text"] == "2"
    assert shown["quality.gap_total_s"]["parsed"] == pytest.approx(4200.0, abs=1.0)
    assert shown["quality.n_backfilled"]["text"] == "3000"
    assert shown["quality.wear_h"]["parsed"] == pytest.approx(4.0 - 4200 / 3600, abs=0.01)
    # both PLM trains are counted; the gaps are not in TST
    assert shown["n_plms"]["parsed"] == 80
    assert shown["tst_h"]["parsed"] <= 4.0 - 4200 / 3600 + 0.01


def test_methods_text_is_generated_from_the_config():
    text = methods_text(Config())
    assert "WASM 2016 rules (Ferri et al., Sleep Med 2016)" in text
    assert "1.5 mg and 3 times the noise floor" in text and "10-90 s" in text
    assert "at least 4 consecutive CLMs" in text and "subtracted from the signal" in text
    changed = methods_text(Config(rules="aasm").replace(detect=Config().detect.replace(on_min_mg=12.0)))
    assert "AASM" in changed and "5-90 s" in changed and "12 mg and 3 times" in changed and "1.5 mg" not in changed
    hyp = methods_text(Config(), {"sleep_source": "hypnogram"})
    assert "supplied hypnogram" in hyp and "Cole" not in hyp
    refs = references(Config(rules="aasm"))
    assert refs[0].startswith("Berry RB") and any(r.startswith("Smith MT") for r in refs)


def test_pdf_report_has_four_pages(rich_outputs):
    pdf = (rich_outputs / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 4


@pytest.mark.parametrize("case", ["zero_movement_night", "no_sleep_night", "gappy_night"])
def test_pdf_report_of_edge_cases(case, tmp_path):
    path = write_night_report_pdf(getattr(night_cases, case)(), tmp_path / "r.pdf")
    assert path.read_bytes().startswith(b"%PDF-")


def test_failed_report_leaves_no_partial_file(rich, tmp_path, monkeypatch):
    import lmdetect.report.html as html_mod

    target = tmp_path / "report.html"
    target.write_text("previous report")

    def broken(*a, **k):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(html_mod, "night_figures", broken)
    with pytest.raises(RuntimeError):
        write_night_report(rich, target)
    assert target.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_process_command_writes_html_and_pdf(tmp_path):
    from lmdetect.cli import main

    src = tmp_path / "night.lmr"
    write_lmr(night_cases.gappy_recording(), src)
    assert main(["process", str(src), "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "report.html").exists() and not (tmp_path / "a" / "report.pdf").exists()
    assert main(["process", str(src), "--out", str(tmp_path / "b"), "--pdf"]) == 0
    assert (tmp_path / "b" / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert main(["process", str(src), "--out", str(tmp_path / "c"), "--no-report"]) == 0
    assert not (tmp_path / "c" / "report.html").exists()
