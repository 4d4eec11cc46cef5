"""Reports opened from file:// in headless Chromium: no console error, every image decoded, no
network request, and every number on the page equal to summary.json.

Screenshots are saved under the pytest temporary directory and their paths printed (run with -s
to see them).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lmdetect.outputs import write_night_outputs
from tests.report import night_cases
from tests.report.html_checks import expected_text, summary_value

pytestmark = pytest.mark.browser


#: Sections every night report must show, with some visible text.
SECTIONS = ("header", "note", "recording", "metrics", "timeline", "imi", "per-hour", "rls", "pad", "interventions",
            "methods", "provenance")
IMAGES = ("fig-timeline", "fig-imi", "fig-per-hour")


_COLLECT = """
return {
  ready: document.readyState,
  images: Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth, i.naturalHeight]),
  resources: performance.getEntriesByType('resource').map(r => r.name),
  values: Array.from(document.querySelectorAll('[data-key]')).map(e => ({
      key: e.dataset.key, value: e.dataset.value, format: e.dataset.format,
      decimals: e.dataset.decimals === undefined ? null : Number(e.dataset.decimals), text: e.innerText})),
  sections: Object.fromEntries(%s.map(id => {
      const el = document.getElementById(id);
      return [id, el ? el.innerText.trim().length : -1];
  })),
  height: document.documentElement.scrollHeight,
};
""" % json.dumps(list(SECTIONS))  # noqa: UP031 - %-templating keeps the JavaScript braces literal


def _check_report(driver, out_dir: Path, shots: Path, name: str) -> dict:
    html = out_dir / "report.html"
    driver.get_log("browser")  # drop messages of earlier pages
    driver.get(html.resolve().as_uri())
    page = driver.execute_script(_COLLECT)
    assert page["ready"] == "complete"

    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == [], f"console errors in {name}: {severe}"

    ids = [i[0] for i in page["images"]]
    assert sorted(ids) == sorted(IMAGES)
    broken = [i for i in page["images"] if not (i[1] and i[2] > 100 and i[3] > 100)]
    assert broken == [], f"images not decoded in {name}: {broken}"
    # nothing fetched from anywhere: figures are data: URIs, no scripts, fonts or styles to load
    assert page["resources"] == []

    empty = {k: n for k, n in page["sections"].items() if n <= 0}
    assert empty == {}, f"missing or empty sections in {name}: {empty}"

    summary = json.loads((out_dir / "summary.json").read_text())
    assert len(page["values"]) > 60
    for item in page["values"]:
        want = summary_value(summary, item["key"])
        assert json.loads(item["value"]) == want, item["key"]
        assert item["text"] == expected_text(want, item["format"], item["decimals"], summary), item
    for key in ("plms_index", "plmw_index", "clm_index", "periodicity_index", "plm_clm_ratio",
                "imi_geometric_mean_s", "quality.wear_h", "quality.n_gaps", "quality.n_backfilled"):
        assert key in {v["key"] for v in page["values"]}, key

    driver.set_window_size(1280, min(int(page["height"]) + 50, 16000))
    shot = shots / f"{name}.png"
    assert driver.save_screenshot(str(shot))
    print(f"screenshot of the {name} report: {shot}")
    return page


@pytest.mark.parametrize(
    "case", ["rich_night", "zero_movement_night", "no_sleep_night", "gappy_night", "late_diary_onset_night",
             "intervention_night"]
)
def test_report_renders_in_chromium_and_matches_summary(driver, case, tmp_path, tmp_path_factory):
    from selenium.webdriver.common.by import By

    result = getattr(night_cases, case)()
    out = tmp_path / case
    write_night_outputs(result, out, report=True)
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    page = _check_report(driver, out, shots, case)
    if case == "rich_night":
        keys = {v["key"] for v in page["values"]}
        assert "context.pad.agreement.jaccard" in keys and "context.rls.episodes.1.n_plm" in keys
        # one row per pad session with its rates, as displayed
        table = driver.find_element(By.ID, "pad-measurement")
        assert table.is_displayed() and len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == len(
            result.summary["pad_measurement"])
    if case == "intervention_night":
        # every timed intervention with its three windows, and the wrap's two occurrences
        rows = driver.find_elements(By.CSS_SELECTOR, "#intervention-windows tbody tr")
        assert all(r.is_displayed() for r in rows)
        assert [(r.get_attribute("data-intervention"), r.get_attribute("data-window")) for r in rows] == [
            (n, w) for n in ("foot_wrap", "ropinirole") for w in ("before", "during", "after")]
        assert driver.find_element(By.ID, "intervention-occurrences-foot_wrap").is_displayed()
        keys = {v["key"] for v in page["values"]}
        assert "context.interventions.ropinirole.during.plm_per_h" in keys
    if case == "late_diary_onset_night":
        flag = driver.find_element(By.ID, "diary-sleep_onset")
        assert flag.is_displayed() and "overruled" in flag.text and "sleep period starts 22:35" in flag.text


def test_report_of_a_simulated_night_from_the_command_line(driver, tmp_path, tmp_path_factory):
    from lmdetect.cli import main

    sim = tmp_path / "sim"
    assert main(["simulate", "--profile", "pad", "--hours", "2", "--seed", "1", "--out", str(sim)]) == 0
    out = tmp_path / "out"
    assert main(["process", str(sim / "night.lmr"), "--diary", str(sim / "diary.csv"), "--pad-log",
                 str(sim / "pad_log.csv"), "--out", str(out)]) == 0
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    _check_report(driver, out, shots, "simulated_pad_night")
    # a copy moved elsewhere still renders: nothing refers to files beside it
    lone = tmp_path / "elsewhere"
    lone.mkdir()
    shutil.copy(out / "report.html", lone / "report.html")
    shutil.copy(out / "summary.json", lone / "summary.json")
    _check_report(driver, lone, shots, "simulated_pad_night_copy")
