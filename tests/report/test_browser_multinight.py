"""The multi-night report opened from file:// in headless Chromium: no console error, every image
decoded, no network request, every section filled, the caution visible, and every number shown
equal to multinight.csv / multinight.json.

The full-page screenshot is saved under the pytest temporary directory and its path printed (run
with -s to see it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lmdetect.cli import main
from lmdetect.summary.night import format_metric, metric_value
from tests.report.multinight_cases import build_series, expected_cell

pytestmark = pytest.mark.browser


SECTIONS = ("header", "cautions", "nights", "trends", "pad", "pad-caution", "all-metrics", "methods", "provenance")
IMAGES = ("fig-timeline", "fig-trends", "fig-pad")

_COLLECT = """
const cell = e => ({night: e.dataset.night ?? null, column: e.dataset.column ?? null,
                    average: e.dataset.average ?? null, stat: e.dataset.stat ?? null,
                    value: e.dataset.value, decimals: e.dataset.decimals ?? null, text: e.innerText.trim()});
return {
  ready: document.readyState,
  images: Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth, i.naturalHeight]),
  resources: performance.getEntriesByType('resource').map(r => r.name),
  cells: Array.from(document.querySelectorAll('[data-value]')).map(cell),
  sections: Object.fromEntries(%s.map(id => {
      const el = document.getElementById(id);
      return [id, el ? el.innerText.trim().length : -1];
  })),
  height: document.documentElement.scrollHeight,
};
""" % json.dumps(list(SECTIONS))  # noqa: UP031 - %-templating keeps the JavaScript braces literal


@pytest.fixture(scope="module")
def summary_dir(tmp_path_factory) -> Path:
    nights = build_series(tmp_path_factory.mktemp("series"))
    out = tmp_path_factory.mktemp("multinight")
    assert main(["summarize", *map(str, nights), "--out", str(out), "--n-boot", "2000"]) == 0
    return out


def test_multinight_report_in_chromium(driver, summary_dir, tmp_path_factory):
    html = summary_dir / "multinight.html"
    driver.get_log("browser")  # drop messages of earlier pages
    driver.get(html.resolve().as_uri())
    page = driver.execute_script(_COLLECT)
    assert page["ready"] == "complete"

    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == [], f"console errors: {severe}"

    assert sorted(i[0] for i in page["images"]) == sorted(IMAGES)
    for img_id, complete, w, h in page["images"]:
        assert complete and w > 300 and h > 150, f"image {img_id} not decoded ({w}x{h})"
    assert [r for r in page["resources"] if not r.startswith(("data:", "file:"))] == []

    for sid, n_chars in page["sections"].items():
        assert n_chars > 40, f"section #{sid} missing or empty ({n_chars} characters)"
    caution = driver.find_element("id", "cautions")
    assert caution.is_displayed() and "fewer than 5" in caution.text and "Trotti" in caution.text

    table = pd.read_csv(summary_dir / "multinight.csv", keep_default_na=False, na_values={
        c: [""] for c in pd.read_parquet(summary_dir / "multinight.parquet").select_dtypes("number").columns})
    doc = json.loads((summary_dir / "multinight.json").read_text())
    rows = {str(r["night"]): r for r in table.to_dict(orient="records")}
    pad = table["pad_night"].to_numpy(bool)
    groups = {"all": np.ones(len(table), bool), "pad": pad, "no_pad": ~pad}
    seen = {"night": 0, "average": 0, "stat": 0}
    for c in page["cells"]:
        if c["night"] is not None:
            value = rows[c["night"]][c["column"]]
            value = None if isinstance(value, float) and np.isnan(value) else value
            if isinstance(value, (np.integer, np.floating, np.bool_)):
                value = value.item()
            assert c["text"] == expected_cell(value, c["column"]), c
            seen["night"] += 1
        elif c["average"] is not None:
            x = pd.to_numeric(table[c["column"]][groups[c["average"]]], errors="coerce").dropna().to_numpy(float)
            assert c["text"] == expected_cell(float(x.mean()) if x.size else None, c["column"], average=True), c
            seen["average"] += 1
        elif c["stat"] is not None:
            value = metric_value(doc, c["stat"])
            decimals = None if c["decimals"] is None else int(c["decimals"])
            want = str(value) if isinstance(value, int) and not isinstance(value, bool) else format_metric(value, decimals)
            assert c["text"] == want, c
            seen["stat"] += 1
    assert seen["night"] == 7 * (len(table.columns) + 11) and seen["average"] == 21 and seen["stat"] > 20
    ratio = driver.find_element("id", "ratio").text
    assert f"{doc['comparison']['ratio']:.2f}" in ratio and "95 % confidence interval" in ratio

    driver.set_window_size(1280, page["height"] + 100)
    shot = tmp_path_factory.mktemp("screenshots") / "multinight.png"
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 50_000
    print(f"\nscreenshot: {shot}")
