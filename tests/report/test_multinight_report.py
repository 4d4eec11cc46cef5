"""``lmdetect summarize`` on a simulated 7-night series: the table files, the statistics and the
multi-night report agree with each other; bad input fails cleanly and leaves nothing behind."""

from __future__ import annotations

import base64
import html as html_lib
import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lmdetect.cli import main
from lmdetect.errors import FormatError
from lmdetect.outputs import summarize_nights
from lmdetect.report.multinight import (
    column_header,
    night_track,
    plot_nights_timeline,
    render_multinight_report,
)
from lmdetect.results.multinight import (
    NightFolder,
    find_night_folders,
    read_night_folder,
    read_night_labels,
)
from lmdetect.summary.multinight import (
    multinight_summary,
    multinight_table,
    night_date,
    numeric_columns,
)
from lmdetect.summary.night import format_metric, metric_value
from tests.report.multinight_cases import PAD_NIGHTS, build_series, expected_cell


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> list[Path]:
    return build_series(tmp_path_factory.mktemp("series"))


@pytest.fixture(scope="module")
def summarized(series, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("summary") / "out"
    assert main(["summarize", *map(str, series), "--out", str(out), "--n-boot", "2000", "--seed", "5"]) == 0
    return out


class _Page(HTMLParser):
    """Table cells and stat spans with their data attributes, images, links, tags and ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[dict[str, Any]] = []
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.ids: set[str] = set()
        self.headers: dict[str, list[str]] = {}
        self._open: list[dict[str, Any]] = []
        self._table: str | None = None
        self._th: str | None = None
        self._in_thead = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "table":
            self._table = a.get("id")
        if tag == "thead":
            self._in_thead = True
        if tag == "th" and self._in_thead:
            self._th = ""
        if tag == "img":
            self.images.append(a)
        if tag == "a":
            self.links.append(a.get("href", ""))
        if any(k.startswith("data-") for k in a) and "data-value" in a:
            self._open.append({**a, "tag": tag, "text": ""})

    def handle_data(self, data: str) -> None:
        for o in self._open:
            o["text"] += data
        if self._th is not None:
            self._th += data

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[-1]["tag"]:
            done = self._open.pop()
            done["text"] = done["text"].strip()
            self.cells.append(done)
        if tag == "th" and self._th is not None:
            self.headers.setdefault(self._table or "", []).append(self._th.strip())
            self._th = None
        if tag == "thead":
            self._in_thead = False


def parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    p.close()
    return p


def _value(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


# --------------------------------------------------------------------------- the files


def test_table_files_agree_and_carry_the_html_column_names(summarized):
    parquet = pd.read_parquet(summarized / "multinight.parquet")
    csv = pd.read_csv(summarized / "multinight.csv", dtype=str, keep_default_na=False)
    assert list(csv.columns) == list(parquet.columns)
    page = parse((summarized / "multinight.html").read_text(encoding="utf-8"))
    # each header: the display label, then the column's name in the files
    assert page.headers["metrics-table"] == [column_header(c) + c for c in parquet.columns]
    # the night's conditions follow the metrics: here the pad alone, from the pad-night rule
    assert [c for c in parquet.columns if c.startswith("condition_")] == ["condition_pad"]
    assert parquet["condition_pad"].tolist() == parquet["pad_night"].tolist()
    assert "PLMS/h" not in parquet.columns and "plms_per_h" in parquet.columns
    assert len(parquet) == 7
    assert parquet["night"].tolist() == [f"night{k}" for k in range(1, 8)]
    assert parquet["pad_night"].tolist() == [k in PAD_NIGHTS for k in range(7)]
    nums = set(numeric_columns(parquet))
    for col in parquet.columns:
        if col in nums:
            a = pd.to_numeric(csv[col].replace("", np.nan)).to_numpy(float)
            b = pd.to_numeric(parquet[col]).to_numpy(float)
            np.testing.assert_array_equal(a, b, err_msg=col)  # full precision in the CSV
        else:
            assert csv[col].tolist() == parquet[col].astype(str).tolist(), col


def test_statistics_follow_from_the_table(summarized):
    t = pd.read_parquet(summarized / "multinight.parquet")
    doc = json.loads((summarized / "multinight.json").read_text())
    pad = t["pad_night"].to_numpy(bool)
    plms = t["plms_per_h"].to_numpy(float)
    c = doc["comparison"]
    assert (c["n_pad"], c["n_no_pad"]) == (3, 4)
    assert c["ratio"] == pytest.approx(plms[pad].mean() / plms[~pad].mean())
    assert c["ci_low"] < c["ratio"] < c["ci_high"]
    assert (c["n_boot"], c["seed"]) == (2000, 5)
    assert doc["trends"]["plms_per_h"]["mean"] == pytest.approx(plms.mean())
    assert doc["trends"]["plms_per_h"]["spread"] == pytest.approx(plms.max() - plms.min())
    assert doc["averages"]["no_pad"]["tst_h"] == pytest.approx(t["tst_h"][~pad].mean())
    assert doc["table_columns"] == list(t.columns)
    prov = doc["night_provenance"]
    assert [p["night"] for p in prov] == t["night"].tolist()
    assert all(len(p["summary_sha256"]) == 64 and p["config_hash"] for p in prov)
    # fewer than 5 nights per group: both groups get the caution
    assert sum("fewer than 5" in x for x in doc["cautions"]) == 2


# --------------------------------------------------------------------------- the page


def test_every_number_on_the_page_matches_the_files(summarized):
    t = pd.read_parquet(summarized / "multinight.parquet")
    doc = json.loads((summarized / "multinight.json").read_text())
    page = parse((summarized / "multinight.html").read_text(encoding="utf-8"))
    rows = {r["night"]: r for r in t.to_dict(orient="records")}
    pad = t["pad_night"].to_numpy(bool)
    groups = {"all": np.ones(len(t), bool), "pad": pad, "no_pad": ~pad}
    n_night = n_avg = n_stat = 0
    for cell in page.cells:
        if "data-night" in cell:
            value = _value(rows[cell["data-night"]][cell["data-column"]])
            assert cell["text"] == expected_cell(value, cell["data-column"]), cell
            assert json.loads(cell["data-value"]) == value
            n_night += 1
        elif "data-average" in cell:
            col = cell["data-column"]
            x = pd.to_numeric(t[col][groups[cell["data-average"]]], errors="coerce").dropna().to_numpy(float)
            want = float(x.mean()) if x.size else None
            assert cell["text"] == expected_cell(want, col, average=True), cell
            n_avg += 1
        elif "data-stat" in cell:
            value = metric_value(doc, cell["data-stat"])
            assert json.loads(cell["data-value"]) == value
            decimals = int(cell["data-decimals"]) if "data-decimals" in cell else None
            want = str(value) if isinstance(value, int) and not isinstance(value, bool) else format_metric(value, decimals)
            assert cell["text"] == want, cell
            n_stat += 1
    assert n_night == 7 * (len(t.columns) + 4 + 7)  # all-metrics table + the nights table (ids + key columns)
    assert n_avg == 3 * 7 and n_stat > 20


def test_page_is_self_contained_with_sections_cautions_and_links(summarized, series):
    html = (summarized / "multinight.html").read_text(encoding="utf-8")
    page = parse(html)
    assert "script" not in page.tags and "link" not in page.tags
    for section in ("header", "cautions", "nights", "trends", "pad", "pad-caution", "all-metrics", "methods",
                    "provenance", "why-nights", "pad-method", "pad-rule"):
        assert section in page.ids, section
    assert {i["id"] for i in page.images} == {"fig-timeline", "fig-trends", "fig-pad"}
    for img in page.images:
        assert img["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(img["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert "Trotti" in html and "fewer than 5" in html and "percentile interval" in html
    assert not [u for u in page.links if u.startswith(("http:", "https:", "//"))]
    night_links = [u for u in page.links if u.endswith("report.html")]
    assert len(night_links) == 1 and not night_links[0].startswith("/")  # only night 1 has a report, linked relatively
    assert (summarized / night_links[0]).resolve() == (series[0] / "report.html").resolve()


def test_timeline_draws_every_plm_of_every_night(series):
    from matplotlib.colors import to_rgba

    from lmdetect.report.figures import COLORS

    folders = [read_night_folder(p) for p in series]
    tracks = [night_track(f, f.night_id, night_date(f.summary), k in PAD_NIGHTS) for k, f in enumerate(folders)]
    fig = plot_nights_timeline(tracks)
    axes = [ax for ax in fig.axes if ax.get_ylabel()]
    assert len(axes) == 7
    for k, (ax, f) in enumerate(zip(axes, folders, strict=True)):
        n_plm = int(f.events["in_plm_series"].sum())
        ticks = [c for c in ax.collections if hasattr(c, "get_segments") and len(c.get_segments())
                 and tuple(c.get_color()[0]) == to_rgba(COLORS["plm"])]
        assert n_plm > 0 and sum(len(c.get_segments()) for c in ticks) == n_plm
        assert ax.get_ylabel().endswith("pad") == (k in PAD_NIGHTS)


def test_synthetic_nights_without_movement_files_and_enough_nights(tmp_path):
    """Ten nights with summaries only (no events/epochs): the page still renders, shows n/a for a
    night without sleep, and has no caution with 5 nights in each group."""
    import datetime as dt

    folders, docs = [], []
    for k in range(10):
        start = dt.datetime(2026, 4, 1, 23, 0, tzinfo=dt.UTC) + dt.timedelta(days=k)
        doc = {"recording_start": start.isoformat(), "rule_set": "wasm2016", "sleep_source": "actigraphy",
               "plms_index": None if k == 9 else 20.0 + k, "periodicity_index": 0.7, "tst_h": 6.0,
               "n_pad_logged": int(k % 2 == 0), "n_vibration_detected": 0}
        folders.append(NightFolder(tmp_path / f"n{k}", doc, None, None))
        docs.append(doc)
    t = multinight_table(docs, [f"n{k}" for k in range(10)])
    ms = multinight_summary(t, n_boot=500)
    assert ms.comparison.n_pad == 5 and ms.comparison.n_no_pad == 4
    ms = multinight_summary(t.assign(**{"plms_per_h": t["plms_per_h"].fillna(25.0)}), n_boot=500)
    assert ms.comparison.cautions == () and ms.cautions == ()
    by_label = {f"n{k}": f for k, f in enumerate(folders)}
    html = render_multinight_report(ms, by_label, {"lmdetect_version": "x", **ms.to_dict(), "labels_file": None,
                                                   "night_provenance": []})
    page = parse(html)
    assert "cautions" not in page.ids and "pad-caution" not in page.ids
    cells = [c for c in page.cells if c.get("data-night") == "n9" and c.get("data-column") == "periodicity_index"]
    assert cells and cells[0]["text"] == "0.70"
    # the original table (night n9 without PLMS/h) shows n/a for it
    html2 = render_multinight_report(multinight_summary(t, n_boot=500), by_label,
                                     {"lmdetect_version": "x", "labels_file": None, "night_provenance": [],
                                      **multinight_summary(t, n_boot=500).to_dict()})
    miss = [c for c in parse(html2).cells if c.get("data-night") == "n9" and c.get("data-column") == "plms_per_h"]
    assert miss and all(c["text"] == "n/a" for c in miss)


# --------------------------------------------------------------------------- options


def test_labels_file_overrides_the_pad_rule(series, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("night,pad\n2026-03-15,no-pad\nnight3,PAD\nnight5,\n", encoding="utf-8")
    out = tmp_path / "out"
    res = summarize_nights(series, out, labels=labels, n_boot=500, report=False)
    t = res.summary.table
    assert t["pad_night"].tolist() == [False, False, True, True, False, True, False]
    assert t["pad_evidence"].tolist()[1:3] == ["label", "label"]
    assert res.document["labels_file"] == "labels.csv"
    assert sorted(p.name for p in out.iterdir()) == ["multinight.csv", "multinight.json", "multinight.parquet"]


def test_batch_folder_is_searched_and_results_are_reproducible(series, summarized, tmp_path):
    root = series[0].parent.parent
    hidden = series[0] / ".lmdetect-interrupted"  # the staging folder of an interrupted run
    hidden.mkdir()
    shutil.copy(series[0] / "summary.json", hidden / "summary.json")
    assert find_night_folders([root]) == series
    shutil.rmtree(hidden)
    out = tmp_path / "again"
    assert main(["summarize", str(root), "--out", str(out), "--n-boot", "2000", "--seed", "5"]) == 0
    a = json.loads((summarized / "multinight.json").read_text())
    b = json.loads((out / "multinight.json").read_text())
    assert a == b
    assert (summarized / "multinight.csv").read_bytes() == (out / "multinight.csv").read_bytes()


def test_no_report_removes_a_stale_report(series, tmp_path):
    out = tmp_path / "out"
    summarize_nights(series[:3], out, n_boot=200)
    assert (out / "multinight.html").exists()
    assert main(["summarize", *map(str, series[:2]), "--out", str(out), "--no-report", "--n-boot", "200", "--force"]) == 0
    assert not (out / "multinight.html").exists()
    assert len(pd.read_csv(out / "multinight.csv")) == 2


# --------------------------------------------------------------------------- bad input


def _fails(args: list[str], capsys) -> str:
    assert main(["summarize", *args]) == 2
    return capsys.readouterr().err


def test_folder_without_summary_fails_and_writes_nothing(series, tmp_path, capsys):
    empty = tmp_path / "not-a-night"
    empty.mkdir()
    out = tmp_path / "out"
    err = _fails([str(series[0]), str(empty), "--out", str(out)], capsys)
    assert str(empty) in err and "summary.json" in err
    assert not out.exists()
    err = _fails([str(tmp_path / "missing"), "--out", str(out)], capsys)
    assert "missing: no such folder" in err
    assert not out.exists()


def test_malformed_files_are_named_with_their_line(series, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(series[0], bad)
    (bad / "summary.json").write_text('{\n  "recording_start": "2026-03-14T22:30:00+01:00",\n  "plms_index": ,\n}\n')
    out = tmp_path / "out"
    err = _fails([str(bad), "--out", str(out)], capsys)
    assert f"{bad / 'summary.json'}, line 3: invalid JSON" in err
    shutil.copy(series[0] / "summary.json", bad / "summary.json")
    events = (series[0] / "events.csv").read_text().splitlines()
    events[2] = events[2].replace("True", "maybe", 1).replace("False", "maybe", 1)
    (bad / "events.csv").write_text("\n".join(events) + "\n")
    # the summary records the checksum of events.csv: the change is caught before the parse
    err = _fails([str(bad), "--out", str(out)], capsys)
    assert f"{bad / 'events.csv'}: SHA-256 differs from the one recorded in summary.json" in err
    # a folder without checksums (an earlier release) gets to the parse, which names the line
    doc = json.loads((bad / "summary.json").read_text())
    del doc["files"]
    (bad / "summary.json").write_text(json.dumps(doc))
    err = _fails([str(bad), "--out", str(out)], capsys)
    assert f"{bad / 'events.csv'}, line 3" in err and "maybe" in err
    (bad / "events.csv").write_text("onset_s,duration_s\n1.0,2.0\n")
    with pytest.raises(FormatError, match="events.csv, line 1: missing column"):
        read_night_folder(bad)
    assert not out.exists()


def test_bad_labels_files(series, tmp_path, capsys):
    out = tmp_path / "out"
    cases = {
        "night,pad\nnight2,maybe\n": "line 2: pad value 'maybe'",
        "night,pad\nnight9,pad\n": "line 2: night 'night9' matches none",
        "night,label\nnight2,pad\n": "line 1: header needs columns night and pad",
        "night,pad\nnight2,pad\nnight2,no\n": "line 3: night 'night2' labelled twice",
        "night,pad\nnight2,pad\n2026-03-15,no\n": "line 3: night night2 is labelled twice (also on line 2)",
    }
    for i, (text, message) in enumerate(cases.items()):
        labels = tmp_path / f"labels{i}.csv"
        labels.write_text(text, encoding="utf-8")
        err = _fails([*map(str, series), "--labels", str(labels), "--out", str(out)], capsys)
        assert str(labels) in err and message in err, (text, err)
    assert not out.exists()
    labels = tmp_path / "ok.csv"
    labels.write_text("Night,Pad\n\nnight2,yes\nnight4,0\nnight6,\n", encoding="utf-8")
    assert [(x.night, x.pad, x.line) for x in read_night_labels(labels)] == [("night2", True, 3), ("night4", False, 4)]


def test_bad_options(series, tmp_path, capsys):
    out = tmp_path / "out"
    assert "cannot compare 'device_id'" in _fails([str(series[0]), "--out", str(out), "--metric", "device_id"], capsys)
    assert "cannot compare 'PLMS per hour'" in _fails([str(series[0]), "--out", str(out), "--metric", "PLMS per hour"],
                                                      capsys)
    assert "--n-boot must be at least 100" in _fails([str(series[0]), "--out", str(out), "--n-boot", "5"], capsys)
    assert "given more than once" in _fails([str(series[0]), str(series[0]), "--out", str(out)], capsys)
    assert not out.exists()


def test_pad_sentences_say_what_was_done_with_the_vibration(summarized, series):
    from lmdetect.report.pad_text import multinight_pad_sentence

    html = (summarized / "multinight.html").read_text(encoding="utf-8")
    summaries = [json.loads((p / "summary.json").read_text()) for p in series]
    padded = [s for s in summaries if s.get("pad_measurement") or s["quality"]["masked_pad_h"]]
    sentence = multinight_pad_sentence(summaries)
    removed = sum(s["quality"]["vibration_removed_h"] for s in padded)
    assert f"In the {len(padded)} nights with pad sessions" in sentence
    if removed > 0:
        assert f"vibration line was removed from the signal for {removed:.2f} h" in sentence
    rule = html_lib.unescape(re.search(r'<p id="pad-rule">(.*?)</p>', html, re.DOTALL).group(1))
    assert " ".join(sentence.split()) in " ".join(rule.split())
    assert "Pad vibration found in the signal is masked from" not in html


def test_pad_sentence_from_the_nights_facts():
    from lmdetect.report.pad_text import multinight_pad_sentence

    def night(removed: float, masked: float, sessions: int) -> dict:
        return {"quality": {"vibration_removed_h": removed, "masked_pad_h": masked},
                "pad_measurement": [{"source": "log"}] * sessions}

    assert multinight_pad_sentence([night(0.0, 0.0, 0)] * 3) == (
        "No night had pad vibration in the signal, so none was removed or masked.")
    text = multinight_pad_sentence([night(0.5, 0.1, 1), night(0.25, 0.0, 1), night(0.0, 0.0, 0)])
    assert text.startswith("In the 2 nights with pad sessions, the pad's vibration line was removed from the "
                           "signal for 0.75 h and leg movements were detected through it; 0.10 h, where")
    # older summaries: masked vibration, nothing removed
    old = multinight_pad_sentence([{"quality": {"masked_pad_h": 0.6}}])
    assert old.startswith("In the 1 night with pad sessions, no vibration line was removed from the signal; 0.60 h")


def test_metric_by_its_earlier_label_is_mapped_with_a_deprecation_message(series, tmp_path, capsys):
    out = tmp_path / "out"
    args = [*map(str, series[:4]), "--out", str(out), "--n-boot", "200", "--no-report"]
    assert main(["summarize", *args, "--metric", "Periodicity index"]) == 0
    captured = capsys.readouterr()
    assert "--metric 'Periodicity index' is deprecated, use --metric periodicity_index" in captured.err
    assert "Periodicity index pad / no-pad ratio" in captured.out
    doc = json.loads((out / "multinight.json").read_text())
    assert doc["comparison"]["column"] == "periodicity_index" and doc["comparison"]["label"] == "Periodicity index"
    assert set(doc["trends"]) == {"plms_per_h", "periodicity_index"}
    assert set(doc["averages"]["all"]) <= set(doc["table_columns"])
