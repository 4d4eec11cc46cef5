"""The night report's interventions section: every treatment of the night, and PLM/CLM rates in the
windows before, during and after each timed one (a dose, a wrap worn twice, the pad), equal to
summary.json and worded for what each window was."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from lmdetect.outputs import write_night_outputs
from tests.report import night_cases
from tests.report.html_checks import expected_text, parse_report, summary_value


@pytest.fixture(scope="module")
def night_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("interventions")
    write_night_outputs(night_cases.intervention_night(), out, report=True)
    return out


@pytest.fixture(scope="module")
def summary(night_out):
    return json.loads((night_out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def html(night_out):
    return (night_out / "report.html").read_text(encoding="utf-8")


class _Rows(HTMLParser):
    """Text of each ``<tr>`` of the table with the given id, with its data- attributes."""

    def __init__(self, table_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.table_id, self.depth, self.rows = table_id, 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and (self.depth or a.get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append({"attrs": {k: v for k, v in a.items() if k.startswith("data-")}, "text": ""})

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.rows:
            self.rows[-1]["text"] += data


def _rows(html: str, table_id: str) -> list[dict]:
    p = _Rows(table_id)
    p.feed(html)
    return [r for r in p.rows if r["attrs"]]


def test_every_intervention_has_a_row(html, summary):
    rows = _rows(html, "interventions-table")
    assert [r["attrs"]["data-intervention"] for r in rows] == ["ropinirole", "foot_wrap", "foot_wrap"]
    assert "23:10" in rows[0]["text"] and "0.25 mg" in rows[0]["text"] and "diary" in rows[0]["text"]
    assert "23:50" in rows[1]["text"] and "900" in rows[1]["text"]
    assert summary["conditions"] == ["foot_wrap", "ropinirole"]


def test_window_numbers_equal_summary_json(html, summary):
    page = parse_report(html)
    shown = [v for v in page.values if v["key"].startswith(("interventions.", "context.interventions."))]
    for item in shown:
        assert item["parsed"] == summary_value(summary, item["key"]), item["key"]
        assert item["text"] == expected_text(item["parsed"], item["format"], item["decimals"], summary), item
    keys = {v["key"] for v in shown}
    for name in ("foot_wrap", "ropinirole"):
        for part in ("before", "during", "after"):
            for stat in ("observed_h", "n_plm", "n_clm", "plm_per_h", "clm_per_h"):
                assert f"context.interventions.{name}.{part}.{stat}" in keys
    # the wrap was worn twice: a row per occurrence; the single dose has no occurrence table
    assert "context.interventions.foot_wrap.occurrences.1.during.plm_per_h" in keys
    assert not any(k.startswith("context.interventions.ropinirole.occurrences") for k in keys)


def test_windows_are_worded_for_a_dose_and_for_a_period(html):
    rows = {(r["attrs"]["data-intervention"], r["attrs"]["data-window"]): r["text"]
            for r in _rows(html, "intervention-windows")}
    assert len(rows) == 6
    assert "From the time to the end of time in bed" in rows["ropinirole", "during"]
    assert "30 min after the time" in rows["ropinirole", "after"]
    assert "During" in rows["foot_wrap", "during"] and "30 min after the end" in rows["foot_wrap", "after"]
    assert "a period, 2 occurrences" in rows["foot_wrap", "before"]
    assert "a time (a dose), 1 occurrence" in rows["ropinirole", "before"]


def test_the_rates_follow_the_night(summary):
    """PLM trains at 10-30 min and 85-110 min, a dose at 40 min, the wrap on 80-95 and 100-125 min."""
    dose = summary["context"]["interventions"]["ropinirole"]
    assert dose["before"]["n_plm"] == 40 and dose["after"]["n_plm"] == 0  # the first train, then nothing
    assert dose["during"]["observed_h"] == pytest.approx((10500 - 2400) / 3600, abs=1e-3)  # to lights on
    wrap = summary["context"]["interventions"]["foot_wrap"]
    assert wrap["during"]["plm_per_h"] > wrap["before"]["plm_per_h"]  # the second train runs mostly under the wrap
    assert wrap["occurrences"][0]["before"]["n_plm"] == 0  # 50-80 min: between the trains


def test_a_night_without_interventions_says_so():
    from lmdetect.report.html import render_night_report

    html = render_night_report(night_cases.zero_movement_night())
    assert 'id="interventions-none"' in html and 'id="intervention-windows"' not in html


def test_the_pad_is_an_intervention_with_its_windows():
    from lmdetect.report.html import render_night_report

    result = night_cases.rich_night()
    html = render_night_report(result)
    assert [r["attrs"]["data-intervention"] for r in _rows(html, "interventions-table")] == ["pad"]
    rows = _rows(html, "intervention-windows")
    assert [r["attrs"]["data-window"] for r in rows] == ["before", "during", "after"]
    assert result.summary["context"]["interventions"]["pad"]["kind"] == "period"
