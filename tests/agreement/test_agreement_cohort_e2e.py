"""`lmdetect agree --cohort` end to end: simulated nights, their truth exported as PSG scorings with a
clock offset, drift and scorer jitter, through the command; ICC and Bland-Altman checked against a
direct computation from the written night table."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from firmware_sim.psg_export import export_psg
from lmdetect.cli import main

pytestmark = pytest.mark.slow

N_NIGHTS = 10
HOURS = 1.5
# short nights that are mostly sleep, with PLM rates spread across the 5/h and 15/h cut-offs
SLEEP = ["--set", "sleep_latency_median_s=200", "--set", "sleep_lights_off_range_s=60,120",
         "--set", "sleep_lights_on_range_s=60,120", "--set", "sleep_final_wake_median_s=60"]
PLM_RATES = [(3, 6), (6, 10), (10, 16), (14, 20), (18, 26), (24, 32), (30, 40), (40, 55), (8, 12), (50, 65)]
CHILD = {1, 8}


def _direct_icc_a1(x, y):
    """ICC(A,1) from the two-way ANOVA mean squares, element by element (McGraw & Wong 1996, case 2A)."""
    n, k = len(x), 2
    pairs = list(zip(x, y, strict=True))
    grand = sum(a + b for a, b in pairs) / (n * k)
    row_m = [(a + b) / 2 for a, b in pairs]
    col_m = [sum(x) / n, sum(y) / n]
    msr = k * sum((m - grand) ** 2 for m in row_m) / (n - 1)
    msc = n * sum((m - grand) ** 2 for m in col_m) / (k - 1)
    mse = sum((v - row_m[i] - col_m[j] + grand) ** 2 for i, p in enumerate(pairs) for j, v in enumerate(p))
    mse /= (n - 1) * (k - 1)
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    lines = ["sensor_night,reference,participant,child"]
    offsets = {}
    for i, (lo, hi) in enumerate(PLM_RATES[:N_NIGHTS]):
        sim = root / "sim" / f"n{i:02d}"
        assert main(["simulate", "--hours", str(HOURS), "--seed", str(100 + i), *SLEEP,
                     "--set", f"plm_rate_range_per_h={lo},{hi}", "--out", str(sim)]) == 0
        assert main(["process", str(sim / "night.lmr"), "--out", str(root / "nights" / f"n{i:02d}"),
                     "--no-report"]) == 0
        offsets[f"nights/n{i:02d}"] = 20.0 + 7.0 * i
        export_psg(sim, root / "psg" / f"n{i:02d}.txt", offset_s=20.0 + 7.0 * i, drift_ppm=20.0,
                   jitter_sd_s=0.2, seed=i)
        lines.append(f"nights/n{i:02d},psg/n{i:02d}.txt,P{i:02d},{'true' if i in CHILD else 'false'}")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    out = root / "out"
    code = main(["agree", "--cohort", str(manifest), "--out", str(out)])
    return {"root": root, "manifest": manifest, "out": out, "code": code, "offsets": offsets}


def test_cohort_command_writes_the_outputs(cohort):
    assert cohort["code"] == 0
    out = cohort["out"]
    assert sorted(p.name for p in out.iterdir()) == [
        "cohort_agreement.csv", "cohort_agreement.html", "cohort_agreement.json"]
    table = pd.read_csv(out / "cohort_agreement.csv")
    assert len(table) == N_NIGHTS
    # the clock offset of every night is recovered from the LM trains (PSG = sensor + offset)
    for night, offset in cohort["offsets"].items():
        got = table.loc[table["night"] == night, "offset_s"].item()
        assert got == pytest.approx(offset, abs=0.5), night
    assert (table["lm_sensitivity"] > 0.7).all()
    assert list(table["plms_cutoff_per_h"]) == [5.0 if i in CHILD else 15.0 for i in range(N_NIGHTS)]


def test_icc_and_bland_altman_equal_the_direct_computation(cohort):
    table = pd.read_csv(cohort["out"] / "cohort_agreement.csv")
    doc = json.loads((cohort["out"] / "cohort_agreement.json").read_text())
    main_cmp = doc["plms_per_h"]["same_hypnogram"]
    ok = table["plms_per_h_sensor"].notna() & table["plms_per_h_reference"].notna()
    s = table.loc[ok, "plms_per_h_sensor"].to_numpy()
    r = table.loc[ok, "plms_per_h_reference"].to_numpy()
    assert main_cmp["n_nights"] == int(ok.sum()) >= N_NIGHTS - 1
    icc = main_cmp["icc_a1"]
    assert icc["value"] == pytest.approx(_direct_icc_a1(list(s), list(r)), rel=1e-9)
    assert icc["ci_low"] < icc["value"] <= icc["ci_high"] <= 1.0
    # the simulated indices span 3-65/h, so a working sensor agrees well
    assert icc["value"] > 0.8
    d = s - r
    ba = main_cmp["bland_altman"]
    assert ba["bias"] == pytest.approx(d.mean())
    assert ba["loa_low"] == pytest.approx(d.mean() - 1.959964 * d.std(ddof=1), rel=1e-6)
    assert ba["loa_high"] == pytest.approx(d.mean() + 1.959964 * d.std(ddof=1), rel=1e-6)
    assert doc["plms_per_h"]["same_hypnogram"]["pearson"]["r"] == pytest.approx(np.corrcoef(s, r)[0, 1])
    pooled = doc["events"]["lm"]["sensitivity"]["pooled"]
    assert pooled["value"] == pytest.approx(table["lm_n_matched"].sum() / table["lm_n_reference"].sum())
    assert pooled["method"] == "BCa" and pooled["seed"] == 0


def test_report_has_the_bland_altman_plot(cohort):
    html = (cohort["out"] / "cohort_agreement.html").read_text()
    m = re.search(r'id="fig-bland-altman" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m and base64.b64decode(m.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'id="fig-scatter"' in html and 'id="fig-sensitivity"' in html
    doc = json.loads((cohort["out"] / "cohort_agreement.json").read_text())
    want = doc["plms_per_h"]["same_hypnogram"]["icc_a1"]["value"]
    assert f'data-stat="plms_per_h.same_hypnogram.icc_a1.value" data-value="{json.dumps(want)}"' in html


def test_a_bad_manifest_line_exits_2_and_writes_nothing(cohort, capsys):
    bad = cohort["root"] / "bad.csv"
    text = cohort["manifest"].read_text().splitlines()
    text[3] = text[3].replace("psg/n02.txt", "psg/missing.txt")
    bad.write_text("\n".join(text) + "\n")
    out = cohort["root"] / "bad-out"
    assert main(["agree", "--cohort", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 4: reference scoring file not found: psg/missing.txt" in err
    assert not out.exists() or not any(out.iterdir())
    # an existing output folder is not replaced without --force
    assert main(["agree", "--cohort", str(cohort["manifest"]), "--out", str(cohort["out"])]) == 2
    assert "use --force" in capsys.readouterr().err
