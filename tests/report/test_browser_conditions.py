"""The conditions report opened from file:// in headless Chromium: the before/after report written by
``lmdetect summarize`` and a 20-participant cohort report. No console error, every image decoded,
no network request, every section filled, and every number shown equal to conditions.json."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lmdetect.cli import main
from lmdetect.report.conditions import write_conditions_report
from lmdetect.results.conditions import ConditionRequest, analyse_conditions
from tests.report.conditions_cases import before_after_rows, crossover_rows, write_cohort

pytestmark = pytest.mark.browser

_COLLECT = """
return {
  ready: document.readyState,
  images: Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth, i.naturalHeight]),
  resources: performance.getEntriesByType('resource').map(r => r.name),
  cells: Array.from(document.querySelectorAll('[data-stat]')).map(e => [e.dataset.stat, e.dataset.value, e.innerText.trim()]),
  sections: Array.from(document.querySelectorAll('section')).map(s => [s.id, s.innerText.trim().length]),
};
"""


def _get(doc, dotted):
    for part in dotted.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def _open(driver, html: Path, doc: dict, images: set[str], sections: set[str]):
    driver.get_log("browser")
    driver.get(html.resolve().as_uri())
    page = driver.execute_script(_COLLECT)
    assert page["ready"] == "complete"
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []
    assert {i[0] for i in page["images"]} == images
    for img_id, complete, w, h in page["images"]:
        assert complete and w > 300 and h > 150, f"image {img_id} not decoded ({w}x{h})"
    assert [r for r in page["resources"] if not r.startswith(("data:", "file:"))] == []
    assert {s[0] for s in page["sections"]} == sections and all(n > 80 for _, n in page["sections"])
    for stat, value, text in page["cells"]:
        want = _get(doc, stat)
        if want is None:
            assert text == "n/a" and value == "", stat
        elif isinstance(want, int):
            assert text == str(want), stat
        else:
            decimals = len(text.split(".")[1])
            assert text == f"{want:.{decimals}f}", stat
    assert len(page["cells"]) > 10
    return page


def test_before_after_report_in_chromium(driver, tmp_path_factory):
    root = write_cohort(tmp_path_factory.mktemp("ba"), before_after_rows(5))
    out = tmp_path_factory.mktemp("ba-out") / "s"
    assert main(["summarize", str(root), "--before-after", "iron_infusion=2026-03-16", "--washout-days", "7",
                 "--compare", "iron_infusion", "--out", str(out), "--n-boot", "500"]) == 0
    doc = json.loads((out / "conditions.json").read_text())
    _open(driver, out / "conditions.html", doc, {"fig-compare", "fig-before-after-0"}, {"compare", "before-after-0"})
    sec = driver.find_element("id", "before-after-0").text
    assert "Segmented regression" in sec and "7-day washout" in sec


def test_cohort_report_in_chromium(driver, tmp_path_factory):
    t = pd.DataFrame(crossover_rows(21))
    t["date"] = (pd.Timestamp("2026-03-02") + pd.to_timedelta(t["day"], unit="D")).dt.strftime("%Y-%m-%d")
    a = analyse_conditions(t, ConditionRequest(compare=("pad", "wrap")), metric="plms_per_h", n_boot=500)
    doc = json.loads(json.dumps(a.to_dict()))
    html = write_conditions_report(a, doc, tmp_path_factory.mktemp("cohort") / "conditions.html")
    _open(driver, html, doc, {"fig-compare", "fig-cohort", "fig-participants"}, {"compare", "cohort"})
    method = driver.find_element("id", "cohort-method").text
    assert "random intercept" in method and "MixedLM" in method
    rows = driver.find_elements("css selector", "#cohort-table tbody tr")
    assert [r.get_attribute("data-condition") for r in rows] == ["pad", "wrap"]
    shot = tmp_path_factory.mktemp("screenshots") / "conditions.png"
    driver.set_window_size(1280, 2400)
    assert driver.save_screenshot(str(shot))
    print(f"\nscreenshot: {shot}")
