"""Every condition in headless Chromium, opened from file://: the conditions report (the before/after
report written by ``lmdetect summarize`` and a 20-participant cohort report) and the multi-night
report's conditions section, for one participant and for a cohort summarised by ``lmdetect
summarize``. No console error, every image decoded, no network request, every section filled,
every number shown equal to conditions.json / multinight.json, and every condition visible."""

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


def _visible_rows(driver, table_id: str) -> list[str]:
    rows = driver.find_elements("css selector", f"#{table_id} tbody tr")
    assert rows and all(r.is_displayed() for r in rows), table_id
    return [r.get_attribute("data-condition") for r in rows]


def _open_multinight(driver, out: Path, images: set[str]) -> dict:
    """multinight.html: checks as :func:`_open` for its conditions section, against multinight.json."""
    doc = json.loads((out / "multinight.json").read_text())
    driver.get_log("browser")
    driver.get((out / "multinight.html").resolve().as_uri())
    page = driver.execute_script(_COLLECT)
    assert page["ready"] == "complete"
    assert [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"] == []
    shown = {i[0] for i in page["images"]}
    assert images <= shown, images - shown
    for img_id, complete, w, h in page["images"]:
        assert complete and w > 300 and h > 150, f"image {img_id} not decoded ({w}x{h})"
    assert [r for r in page["resources"] if not r.startswith(("data:", "file:"))] == []
    cells = [c for c in page["cells"] if c[0].startswith("conditions.")]
    for stat, _value, text in cells:
        want = _get(doc, stat)
        if want is None:
            assert text == "n/a", stat
        elif isinstance(want, bool):
            assert text == ("yes" if want else "no"), stat
        elif isinstance(want, int):
            assert text == str(want), stat
        else:
            assert text == f"{want:.{len(text.split('.')[1])}f}", stat
    assert len(cells) > 15
    section = driver.find_element("id", "conditions")
    assert section.is_displayed()
    # every condition of the nights is listed, with its nights
    table = pd.read_csv(out / "multinight.csv")
    names = [c.removeprefix("condition_") for c in table.columns if c.startswith("condition_")]
    assert _visible_rows(driver, "condition-nights") == names
    return doc


def test_before_after_report_in_chromium(driver, tmp_path_factory):
    root = write_cohort(tmp_path_factory.mktemp("ba"), before_after_rows(5))
    out = tmp_path_factory.mktemp("ba-out") / "s"
    assert main(["summarize", str(root), "--before-after", "iron_infusion=2026-03-16", "--washout-days", "7",
                 "--compare", "iron_infusion", "--out", str(out), "--n-boot", "500"]) == 0
    doc = json.loads((out / "conditions.json").read_text())
    _open(driver, out / "conditions.html", doc, {"fig-compare", "fig-before-after-0"}, {"compare", "before-after-0"})
    sec = driver.find_element("id", "before-after-0").text
    assert "Segmented regression" in sec and "7-day washout" in sec
    # the multi-night report shows the same analyses, not only conditions.html
    mdoc = _open_multinight(driver, out, {"fig-timeline", "fig-pad", "fig-conditions", "fig-conditions-before-after-0"})
    assert mdoc["conditions"] == doc
    assert _visible_rows(driver, "conditions-table") == ["iron_infusion"]
    assert "7-day washout" in driver.find_element("id", "conditions-before-after-0").text
    assert driver.find_element("css selector", "#conditions a[href='conditions.html']").is_displayed()


def test_one_participants_conditions_in_the_multinight_report(driver, tmp_path_factory):
    """No condition named: the report compares every condition the nights differ in, the pad among them."""
    rows = crossover_rows(22, n_participants=1, nights=5, effects={"pad": 0.6, "foot_wrap": 0.8, "ropinirole": 0.5})
    root = write_cohort(tmp_path_factory.mktemp("one"), rows)
    out = tmp_path_factory.mktemp("one-out") / "s"
    assert main(["summarize", str(root), "--out", str(out), "--n-boot", "500"]) == 0
    doc = _open_multinight(driver, out, {"fig-timeline", "fig-pad", "fig-conditions"})
    assert doc["conditions"]["requested"] is False and doc["conditions"]["cohort"] is None
    assert _visible_rows(driver, "conditions-table") == ["foot_wrap", "pad", "ropinirole"]
    assert not driver.find_elements("id", "conditions-caution")  # 5 nights each: no small-sample caution
    # each night's conditions beside its numbers
    shown = [e.text for e in driver.find_elements("css selector", "#nights-table td.night-conditions")]
    assert sorted(set(shown)) == ["", "foot_wrap", "pad", "ropinirole"]


def test_cohort_conditions_in_the_multinight_and_conditions_reports(driver, tmp_path_factory):
    """``lmdetect summarize`` over a cohort: both reports show every condition and its within-participant effect."""
    root = write_cohort(tmp_path_factory.mktemp("cohort-nights"), crossover_rows(23, n_participants=6, nights=3))
    out = tmp_path_factory.mktemp("cohort-out") / "s"
    assert main(["summarize", str(root), "--compare", "pad", "--compare", "wrap", "--out", str(out),
                 "--n-boot", "500"]) == 0
    doc = _open_multinight(driver, out, {"fig-conditions", "fig-conditions-cohort", "fig-conditions-participants"})
    assert _visible_rows(driver, "conditions-table") == ["pad", "wrap"]
    assert _visible_rows(driver, "conditions-cohort-table") == ["pad", "wrap"]
    method = driver.find_element("id", "conditions-cohort-method").text
    assert "random intercept" in method and "MixedLM" in method
    cdoc = json.loads((out / "conditions.json").read_text())
    assert doc["conditions"] == cdoc
    _open(driver, out / "conditions.html", cdoc, {"fig-compare", "fig-cohort", "fig-participants"}, {"compare", "cohort"})
    assert _visible_rows(driver, "compare-table") == ["pad", "wrap"]
    assert _visible_rows(driver, "cohort-table") == ["pad", "wrap"]


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
