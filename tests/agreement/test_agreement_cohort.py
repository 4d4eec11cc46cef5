"""Cohort agreement over a manifest, with a stand-in per-night comparison (known per-night rows)."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from lmdetect.agreement.cohort import (
    ID_COLUMNS,
    NIGHT_ROW_KEYS,
    OUTPUT_NAMES,
    read_manifest,
    run_cohort,
)
from lmdetect.errors import FormatError, LmdetectError


def render(table, doc, dpi):  # the command passes the report's renderer the same way
    from lmdetect.report.agreement_cohort import render_cohort_report

    return render_cohort_report(table, doc, dpi=dpi)


def _loop_icc_a1(x, y):
    """ICC(A,1) of two columns from the two-way ANOVA mean squares, written out (McGraw & Wong 1996)."""
    n, k = len(x), 2
    data = list(zip(x, y, strict=True))
    grand = sum(a + b for a, b in data) / (n * k)
    rows = [(a + b) / 2 for a, b in data]
    cols = [sum(x) / n, sum(y) / n]
    msr = k * sum((m - grand) ** 2 for m in rows) / (n - 1)
    msc = n * sum((m - grand) ** 2 for m in cols) / (k - 1)
    mse = sum((v - rows[i] - cols[j] + grand) ** 2 for i, pair in enumerate(data) for j, v in enumerate(pair)) / (n - 1)
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


class StandIn:
    """Per-night rows with known indices and event counts, as ``NightAgreement.row()`` gives them."""

    def __init__(self, n_nights, seed=0):
        rng = np.random.default_rng(seed)
        self.ref = rng.gamma(2.0, 10.0, n_nights)
        self.sensor = 1.1 * self.ref + rng.normal(0.0, 2.0, n_nights)
        self.own = 0.9 * self.ref + rng.normal(0.0, 4.0, n_nights)
        self.n_ref = rng.integers(60, 300, n_nights)
        self.n_matched = np.floor(self.n_ref * rng.uniform(0.7, 0.95, n_nights)).astype(int)
        self.calls = []

    def __call__(self, row, *, rules, tolerance_s):
        i = int(row.night.removeprefix("night"))
        self.calls.append((row.line, rules, tolerance_s, row.offset_s))
        r = dict.fromkeys(NIGHT_ROW_KEYS)
        n, m = int(self.n_ref[i]), int(self.n_matched[i])
        r.update(offset_s=37.0, offset_se_s=0.05, drift_ppm=20.0, n_matched_pairs_for_alignment=m,
                 plms_per_h_reference=float(self.ref[i]), plms_per_h_sensor=float(self.sensor[i]),
                 plms_per_h_sensor_own=float(self.own[i]))
        for kind, extra in (("lm", 40), ("clm", 20), ("plm", 0)):
            r.update({f"{kind}_n_reference": n + extra, f"{kind}_n_sensor": n + extra + 5,
                      f"{kind}_n_matched": m + extra, f"{kind}_sensitivity": (m + extra) / (n + extra),
                      f"{kind}_ppv": (m + extra) / (n + extra + 5)})
        return r


def _cohort(tmp_path, n=12, children=(0, 1, 2), extra_cols="", extra=lambda i: ""):
    lines = ["sensor_night,reference,participant,child" + extra_cols]
    for i in range(n):
        (tmp_path / f"night{i}").mkdir()
        (tmp_path / f"psg{i}.txt").write_text("scoring\n")
        lines.append(f"night{i},psg{i}.txt,P{i:02d},{'true' if i in children else 'false'}{extra(i)}")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def test_cohort_outputs_and_statistics_against_direct_computation(tmp_path):
    manifest = _cohort(tmp_path)
    night = StandIn(12)
    res = run_cohort(manifest, tmp_path / "out", night_agreement=night, n_boot=2000, seed=3, tolerance_s=0.5, render=render)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_NAMES.values())
    table = pd.read_csv(out / "cohort_agreement.csv")
    assert list(table.columns) == [*ID_COLUMNS, *NIGHT_ROW_KEYS]
    assert list(table["night"]) == [f"night{i}" for i in range(12)]
    assert list(table["manifest_line"]) == list(range(2, 14))
    assert list(table["plms_cutoff_per_h"]) == [5.0] * 3 + [15.0] * 9
    assert [c[2] for c in night.calls] == [0.5] * 12

    doc = json.loads((out / "cohort_agreement.json").read_text())
    assert doc == res.document
    main = doc["plms_per_h"]["same_hypnogram"]
    s, r = table["plms_per_h_sensor"].to_numpy(), table["plms_per_h_reference"].to_numpy()
    assert main["icc_a1"]["value"] == pytest.approx(_loop_icc_a1(list(s), list(r)), rel=1e-10)
    d = s - r
    assert main["bland_altman"]["bias"] == pytest.approx(d.mean())
    assert main["bland_altman"]["loa_high"] == pytest.approx(d.mean() + 1.959964 * d.std(ddof=1), rel=1e-6)
    assert main["pearson"]["r"] == pytest.approx(np.corrcoef(s, r)[0, 1])
    own = doc["plms_per_h"]["own_sleep_wake"]
    assert own["icc_a1"]["value"] == pytest.approx(_loop_icc_a1(list(table["plms_per_h_sensor_own"]), list(r)))

    # cut-offs: strictly above 15/h for adults, 5/h for the nights marked child
    cut = table["plms_cutoff_per_h"].to_numpy()
    tp = int(((s > cut) & (r > cut)).sum())
    fn = int(((s <= cut) & (r > cut)).sum())
    acc = main["cutoffs"]["all_nights"]
    assert (acc["true_positive"], acc["false_negative"]) == (tp, fn)
    assert main["cutoffs"]["children"]["n"] == 3 and main["cutoffs"]["adults"]["n"] == 9
    assert main["cutoffs"]["children"]["cutoff_per_h"] == 5.0

    ev = doc["events"]["plm"]["sensitivity"]
    assert ev["pooled"]["value"] == pytest.approx(night.n_matched.sum() / night.n_ref.sum())
    assert ev["pooled"]["ci_low"] < ev["pooled"]["value"] < ev["pooled"]["ci_high"]
    assert ev["mean_of_nights"]["value"] == pytest.approx(np.mean(night.n_matched / night.n_ref))
    assert ev["n_matched"] == int(night.n_matched.sum()) and ev["n_events"] == int(night.n_ref.sum())
    assert [p["sensitivity"] for p in doc["events"]["plm"]["per_night"]] == pytest.approx(
        list(night.n_matched / night.n_ref))
    assert ev["pooled"]["seed"] == 3 and ev["pooled"]["method"] == "BCa" and ev["pooled"]["n_resamples"] == 2000
    assert doc["settings"]["resampled"] == "nights"
    # the sensor reads 10 % high: a bias growing with the index (slope ~ 0.1 / 1.05)
    assert main["bland_altman"]["slope_ci_low"] > 0
    assert [c.split(":")[0] for c in doc["cautions"]] == ["Proportional bias"]


def test_report_shows_the_figures_and_the_json_values(tmp_path):
    run_cohort(_cohort(tmp_path), tmp_path / "out", night_agreement=StandIn(12), n_boot=500, render=render)
    html = (tmp_path / "out" / "cohort_agreement.html").read_text()
    doc = json.loads((tmp_path / "out" / "cohort_agreement.json").read_text())
    for fig in ("fig-bland-altman", "fig-scatter", "fig-sensitivity"):
        assert re.search(rf'id="{fig}" src="data:image/png;base64,[A-Za-z0-9+/=]{{1000,}}"', html)
    stats = dict(re.findall(r'data-stat="([^"]+)" data-value="([^"]*)"', html))
    assert float(stats["plms_per_h.same_hypnogram.icc_a1.value"]) == doc["plms_per_h"]["same_hypnogram"]["icc_a1"]["value"]
    assert float(stats["plms_per_h.same_hypnogram.bland_altman.loa_low"]) == \
        doc["plms_per_h"]["same_hypnogram"]["bland_altman"]["loa_low"]
    assert float(stats["events.lm.sensitivity.pooled.value"]) == doc["events"]["lm"]["sensitivity"]["pooled"]["value"]
    assert html.count('data-column="plms_per_h_sensor"') == 12


def test_same_seed_same_output_other_seed_other_interval(tmp_path):
    manifest = _cohort(tmp_path)
    a = run_cohort(manifest, tmp_path / "a", night_agreement=StandIn(12), n_boot=500, seed=1)
    run_cohort(manifest, tmp_path / "b", night_agreement=StandIn(12), n_boot=500, seed=1)
    c = run_cohort(manifest, tmp_path / "c", night_agreement=StandIn(12), n_boot=500, seed=2,
                   method="percentile")
    assert (tmp_path / "a" / "cohort_agreement.json").read_bytes() == (tmp_path / "b" / "cohort_agreement.json").read_bytes()
    pa, pc = a.document["events"]["lm"]["sensitivity"]["pooled"], c.document["events"]["lm"]["sensitivity"]["pooled"]
    assert pa["value"] == pc["value"] and pa["ci_low"] != pc["ci_low"] and pc["method"] == "percentile"
    assert not (tmp_path / "a" / "cohort_agreement.html").exists()


def test_force_convention_and_nothing_left_on_error(tmp_path):
    manifest = _cohort(tmp_path)
    out = tmp_path / "out"
    run_cohort(manifest, out, night_agreement=StandIn(12), n_boot=500)
    before = (out / "cohort_agreement.json").read_bytes()
    with pytest.raises(LmdetectError, match="not empty; use --force"):
        run_cohort(manifest, out, night_agreement=StandIn(12, seed=9), n_boot=500)
    assert (out / "cohort_agreement.json").read_bytes() == before

    def failing(row, **kw):
        if row.line == 5:
            raise LmdetectError("the LM trains do not overlap")
        return StandIn(12)(row, **kw)

    with pytest.raises(LmdetectError, match=r"manifest\.csv, line 5 \(night3\): the LM trains do not overlap"):
        run_cohort(manifest, out, force=True, night_agreement=failing, n_boot=500, render=render)
    assert (out / "cohort_agreement.json").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["cohort_agreement.csv", "cohort_agreement.json"]
    fresh = tmp_path / "fresh"
    with pytest.raises(LmdetectError):
        run_cohort(manifest, fresh, night_agreement=failing, n_boot=500, render=render)
    assert not fresh.exists()
    run_cohort(manifest, out, force=True, night_agreement=StandIn(12, seed=9), n_boot=500)
    assert (out / "cohort_agreement.json").read_bytes() != before


def test_a_row_without_the_contract_keys_is_refused(tmp_path):
    def short(row, **kw):
        r = StandIn(12)(row, **kw)
        del r["drift_ppm"]
        r["extra"] = 1
        return r

    with pytest.raises(LmdetectError, match=r"line 2: .*missing: drift_ppm; unexpected: extra"):
        run_cohort(_cohort(tmp_path), tmp_path / "out", night_agreement=short, n_boot=500, render=render)


def test_missing_indices_are_left_out_and_flagged(tmp_path):
    def no_sleep(row, **kw):
        r = StandIn(12)(row, **kw)
        if row.night in ("night4", "night7"):
            r["plms_per_h_reference"] = None
        r["plms_per_h_sensor_own"] = None
        return r

    manifest = _cohort(tmp_path, extra_cols="", children=())
    res = run_cohort(manifest, tmp_path / "out", night_agreement=no_sleep, n_boot=500, render=render)
    main = res.document["plms_per_h"]["same_hypnogram"]
    assert main["n_nights"] == 10 and main["nights_left_out"] == ["night4", "night7"]
    assert "children" not in main["cutoffs"]
    own = res.document["plms_per_h"]["own_sleep_wake"]
    assert own["n_nights"] == 0 and own["icc_a1"]["value"] is None
    assert any("left out of the PLMS/h statistics: night4, night7" in c for c in res.document["cautions"])
    assert (tmp_path / "out" / "cohort_agreement.html").exists()


def test_few_nights_and_repeated_participants_are_cautioned(tmp_path):
    lines = ["sensor_night,reference,participant"]
    for i in range(4):
        (tmp_path / f"night{i}").mkdir()
        (tmp_path / f"psg{i}.txt").write_text("x")
        lines.append(f"night{i},psg{i}.txt,{'A' if i < 2 else 'B' + str(i)}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    res = run_cohort(tmp_path / "m.csv", tmp_path / "out", night_agreement=StandIn(4), n_boot=500, render=render)
    text = " ".join(res.document["cautions"])
    assert "Only 4 night(s)" in text and "same participant (A)" in text


# --------------------------------------------------------------------------- manifest


def _files(tmp_path):
    (tmp_path / "n1").mkdir()
    (tmp_path / "s1.txt").write_text("x")
    (tmp_path / "h1.csv").write_text("x")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"manifest\.csv: the manifest is empty"),
        ("sensor_night,reference\n", r"manifest\.csv: the manifest lists no nights"),
        ("sensor_night,psg\nn1,s1.txt\n", r"manifest\.csv, line 1: unknown column\(s\) 'psg'"),
        ("sensor_night,offset_s\nn1,3\n", r"manifest\.csv, line 1: missing column\(s\) reference"),
        ("sensor_night,reference\nn1,s1.txt\nn2,s1.txt\n", r"manifest\.csv, line 3: sensor night folder not found: n2"),
        ("sensor_night,reference\n\nn1,nope.txt\n", r"manifest\.csv, line 3: reference scoring file not found: nope"),
        ("sensor_night,reference,reference_hypnogram\nn1,s1.txt,h2.csv\n", r"line 2: reference hypnogram not found"),
        ("sensor_night,reference,offset_s\nn1,s1.txt,abc\n", r"line 2: offset_s must be a number"),
        ("sensor_night,reference,offset_s\nn1,s1.txt,nan\n", r"line 2: offset_s must be a number"),
        ("sensor_night,reference,child\nn1,s1.txt,maybe\n", r"line 2: child must be true or false"),
        ("sensor_night,reference\nn1,s1.txt,extra\n", r"line 2: 3 fields, the header has 2"),
        ("sensor_night,reference\nn1,s1.txt\n./n1,s1.txt\n", r"line 3: the pair ./n1, s1.txt is already on line 2"),
        ("sensor_night,reference\n,s1.txt\n", r"line 2: sensor_night is empty"),
    ],
)
def test_manifest_errors_name_the_file_and_line(tmp_path, text, message):
    _files(tmp_path)
    (tmp_path / "manifest.csv").write_text(text)
    with pytest.raises(FormatError, match=message):
        read_manifest(tmp_path / "manifest.csv")
    with pytest.raises(FormatError, match=message):
        run_cohort(tmp_path / "manifest.csv", tmp_path / "out", night_agreement=StandIn(1), render=render)
    assert not (tmp_path / "out").exists()


def test_manifest_paths_are_relative_to_the_manifest(tmp_path):
    _files(tmp_path)
    (tmp_path / "manifest.csv").write_text(
        "\ufeffsensor_night,reference,reference_hypnogram,offset_s,participant,child\n"
        "n1,s1.txt,h1.csv,-12.5,  P1 ,Yes\n"
    )
    (row,) = read_manifest(tmp_path / "manifest.csv")
    assert row.sensor_night == tmp_path / "n1" and row.reference == tmp_path / "s1.txt"
    assert row.reference_hypnogram == tmp_path / "h1.csv"
    assert row.offset_s == -12.5 and row.participant == "P1" and row.child and row.plms_cutoff_per_h == 5.0
    assert row.line == 2 and row.night == "n1"
    assert not math.isnan(row.offset_s)


def test_missing_manifest(tmp_path):
    with pytest.raises(FormatError, match=r"nope\.csv: manifest not found"):
        run_cohort(tmp_path / "nope.csv", tmp_path / "out", render=render)


def test_the_table_columns_are_the_per_night_contract():
    from lmdetect.agreement.night import ROW_KEYS

    assert NIGHT_ROW_KEYS == ROW_KEYS
