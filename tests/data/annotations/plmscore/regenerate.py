"""Write the RemLogic event exports of this folder and score them with PLMScoRe (golden files).

    python tests/data/annotations/plmscore/regenerate.py PLMSCORE_R_DIR

PLMSCORE_R_DIR is the ``R/`` folder of a checkout of PLMScoRe (Fulda S, 2020,
doi:10.5281/zenodo.3903318; github.com/Steph-Fulda/PLMScoRe), run with ``Rscript`` (Debian:
r-base-core). README.md says which commit made the files here.

Each export ``NAME.txt`` gets ``NAME.plmscore_movements.csv`` (one row per scored movement:
onset and duration in seconds since the earliest row of the export, side, CLM, CLMr, PLM, PLMnr
series, arousal, stage) and ``NAME.plmscore_indices.csv`` (counts and indices). PLMScoRe reads a
copy of each export in which every ``AROUSAL-RERA`` row is followed by a ``RERA`` row of
duration 0 at the same time: PLMScoRe gives an event one role only, while lmdetect reads
``AROUSAL-RERA`` as the arousal and as the end of the RERA it terminates (docs/scoring.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
T0 = dt.datetime(2026, 3, 14, 22, 0, 0)
LEFT, RIGHT = "LAntib1-LAntib2", "RAntib1-RAntib2"
US = 1_000_000
STAGE_EVENT = {"W": "SLEEP-S0", "N1": "SLEEP-S1", "N2": "SLEEP-S2", "N3": "SLEEP-S3", "R": "SLEEP-REM"}
STAGE_COLUMN = {"W": "W", "N1": "N1", "N2": "N2", "N3": "N3", "R": "REM"}


@dataclass
class Night:
    """Times in integer microseconds since T0."""

    name: str
    epochs: list[tuple[int, str]]  # onset, stage (30-s epochs)
    events: list[tuple[int, str, int, str]]  # onset, event name, duration, location
    lights: tuple[int, int] | None = None

    def lm(self, on_s: float, dur_s: float, leg: str) -> None:
        self.events.append((round(on_s * US), "PLM-LM", round(dur_s * US), LEFT if leg == "L" else RIGHT))

    def add(self, on_s: float, name: str, dur_s: float, location: str = "") -> None:
        self.events.append((round(on_s * US), name, round(dur_s * US), location))


def hypnogram(first_s: float, stages: str) -> list[tuple[int, str]]:
    """``stages``: one letter per epoch, W 1 2 3 R."""
    names = {"W": "W", "1": "N1", "2": "N2", "3": "N3", "R": "R"}
    return [(round((first_s + 30 * i) * US), names[c]) for i, c in enumerate(stages)]


def fmt_dur(us: int) -> str:
    s = f"{us / US:.6f}".rstrip("0").rstrip(".")
    return s or "0"


def stage_at(night: Night, t: int) -> str:
    for on, st in night.epochs:
        if on <= t < on + 30 * US:
            return STAGE_COLUMN[st]
    return ""


def earliest_us(night: Night) -> int:
    """Time of the earliest row: lmdetect's time zero for the export."""
    times = [on for on, _ in night.epochs] + [e[0] for e in night.events]
    return min(times + ([night.lights[0]] if night.lights else []))


def export_text(night: Night, *, split_arousal_rera: bool = False) -> str:
    rows = [(on, STAGE_EVENT[st], 30 * US, "") for on, st in night.epochs] + list(night.events)
    if night.lights is not None:
        rows += [(night.lights[0], "LIGHTS-OFF", 0, ""), (night.lights[1], "LIGHTS-ON", 0, "")]
    if split_arousal_rera:
        rows += [(on, "RERA", 0, "Flow") for on, name, _, _ in night.events if name == "AROUSAL-RERA"]
    rows.sort(key=lambda r: (r[0], r[1]))
    names = sorted({r[1] for r in rows})
    lines = ["Patient ID:\t" + night.name, "Recording Date:\t14/03/2026", "Events Included:", *names, ""]
    lines += ["Scoring Session:\tsynthetic, tests/data/annotations/plmscore/regenerate.py", ""]
    lines.append("Sleep Stage\tPosition\tTime [hh:mm:ss]\tEvent\tDuration[s]\tLocation")
    for on, name, dur, loc in rows:
        t = (T0 + dt.timedelta(microseconds=on)).isoformat(timespec="microseconds")
        lines.append(f"{stage_at(night, on)}\tSupine\t{t}\t{name}\t{fmt_dur(dur)}\t{loc}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- hand-made nights


def night_legs_and_intervals() -> Night:
    """Legs named LAntib1-LAntib2 / RAntib1-RAntib2, bilateral movements, short and boundary IMIs."""
    n = Night("legs_and_intervals", hypnogram(0, "WWWW" + "2" * 40 + "RRRRRR" + "WW"), [], (0, 1560 * US))
    for t in (150, 170, 210, 230):  # an ordinary series; 190 is bilateral (overlap)
        n.lm(t, 2.0, "L")
    n.lm(190, 2.0, "L")
    n.lm(191, 2.5, "R")
    n.lm(250, 8.0, "L")  # bilateral 250-262 (12 s): a CLM only as a bilateral movement
    n.lm(257, 5.0, "R")
    n.lm(270, 1.5, "R")
    n.lm(290, 1.5, "L")
    for i, t in enumerate((320.0, 321.2, 322.3, 323.4, 324.5)):  # 5 monolateral LMs: not a CLM
        n.lm(t, 0.8 if i % 2 else 1.0, "L" if i % 2 == 0 else "R")
    for t in (345, 365, 385):
        n.lm(t, 1.5, "L")
    n.lm(400, 8.0, "L")  # bilateral 400-416 (16 s): not a CLM
    n.lm(407, 9.0, "R")
    for t in (450, 470, 475, 495, 515, 535):  # 470 -> 475 is short: 475 starts a new series
        n.lm(t, 1.8, "R")
    # after a quiet stretch: IMIs of 9.999999 s (short) and then 10 s; 640 is in no series
    for t in (640.0, 649.999999, 659.999999, 669.999999, 679.999999):
        n.lm(t, 1.2, "L")
    # IMIs of 90 s and 90.000001 s: 780-960 is a run of 3, no series
    for t in (780.0, 870.0, 960.0, 1050.000001, 1080.000001, 1100.000001, 1120.000001):
        n.lm(t, 1.0, "R")
    for t in (1330, 1350, 1370, 1390):  # in REM, bilateral
        n.lm(t, 2.0, "L")
        n.lm(t + 0.4, 1.0, "R")
    return n


def night_arousal_labels() -> Night:
    """AROUSAL-APNEA / AROUSAL-HYPOPNEA next to their apnea / hypopnea, AROUSAL-RERA, RERA."""
    n = Night("arousal_labels", hypnogram(0, "WW" + "2" * 30 + "3" * 10 + "W"), [], (0, 1290 * US))
    n.add(100, "APNEA-OBSTRUCTIVE", 20.0, "Flow")
    n.add(119.5, "AROUSAL-APNEA", 5.5, "EEG.C3-M2")
    for t in (124, 144, 164, 184, 204):  # 124: CLMr (apnea end 120) and with the arousal
        n.lm(t, 1.5, "L")
    n.lm(131, 1.0, "R")  # 7 s after the arousal ends: CLMr only if the arousal were an apnea
    n.add(300, "HYPOPNEA", 20.0, "Flow")
    n.add(319, "AROUSAL-HYPOPNEA", 4.0, "EEG.C3-M2")
    for t in (321, 341, 361, 381, 401):
        n.lm(t, 2.0, "R")
    n.lm(327.5, 1.0, "L")  # 4.5 s after the arousal-hypopnea ends
    n.add(500, "AROUSAL-RERA", 5.0, "EEG.C3-M2")  # the RERA ends at 500 s
    for t in (502, 522, 542, 562, 582):
        n.lm(t, 1.5, "L")
    n.add(700, "RERA", 15.0, "Flow")
    for t in (716, 736, 756, 776):
        n.lm(t, 1.0, "R")
    n.lm(789, 1.0, "L")  # IMI 13 s from 776: in the series; ends 0.2 s before the arousal
    n.add(790.2, "AROUSAL-SPONT", 3.0, "EEG.C3-M2")
    n.add(1000, "AROUSAL-LM", 4.0, "EEG.C3-M2")
    for t in (998, 1018, 1038, 1058):  # N3
        n.lm(t, 2.5, "L")
    return n


def night_outside_epochs() -> Night:
    """Lights off 300 s before the first scored epoch, lights on 300 s after the last."""
    n = Night("outside_epochs", hypnogram(300, "W" + "2" * 36 + "W"), [], (0, 1740 * US))
    for t in (200, 220, 240, 260, 280):  # a series before the first epoch (ends before 300 s)
        n.lm(t, 2.0, "L")
    for t in (305, 325, 345, 365):  # would extend the series above
        n.lm(t, 2.0, "L")
    for t in (1340, 1360, 1380, 1400, 1420):  # the last epoch ends at 1440 s
        n.lm(t, 2.0, "R")
    for t in (1450, 1470, 1490, 1510):
        n.lm(t, 2.0, "R")
    n.add(800, "HYPOPNEA", 18.0, "Flow")
    for t in (810, 830, 850, 870):
        n.lm(t, 1.0, "L")
    return n


# ----------------------------------------------------------------------------- generated nights


def night_random(seed: int) -> Night:
    """A night of about 2 h with random PLM series, bilateral movements, respiratory events and
    arousals (fixed seed). Times are drawn on a 1-us grid, so no interval falls exactly on a
    rule limit; nothing is drawn within 20 s of the edges of the scored epochs."""
    rng = random.Random(seed)
    first = 240.0
    stages = "WWWW"
    while len(stages) < 230:
        stages += rng.choice("1222233RRW") * rng.randint(2, 20)
    stages = stages[:230] + "WW"
    n = Night(
        f"random_{seed}", hypnogram(first, stages), [], (0, round((first + 30 * len(stages) + 200) * US))
    )
    end = first + 30 * len(stages)

    def u(a: float, b: float) -> float:
        return round(rng.uniform(a, b), 6)

    for lo, hi in ((10.0, first - 30), (end + 20, end + 180)):  # movements outside the scored epochs
        t = lo
        while t < hi:
            n.lm(t, u(0.5, 3.0), rng.choice("LR"))
            t = u(t + 12, t + 30)
    t = first + 20
    leg = "L"
    while t < end - 40:
        if rng.random() < 0.25:
            t = u(t + 60, t + 300)  # a quiet stretch
            continue
        for _ in range(rng.randint(2, 14)):
            if t >= end - 40:
                break
            if rng.random() < 0.3:
                leg = "R" if leg == "L" else "L"
            r = rng.random()
            dur = u(10.5, 13.0) if r < 0.04 else u(0.3, 0.6) if r < 0.08 else u(0.6, 4.0)
            n.lm(t, dur, leg)
            other = "R" if leg == "L" else "L"
            if rng.random() < 0.25:  # the other leg too: overlapping or just after
                n.lm(u(t - 0.8, t + dur + 0.45), u(0.5, 6.0 if rng.random() < 0.2 else 2.5), other)
            if rng.random() < 0.03:  # a burst of alternating LMs (more than 4 in one movement)
                s = t + dur + 0.2
                for k in range(4):
                    d = u(0.5, 0.9)
                    n.lm(s, d, other if k % 2 == 0 else leg)
                    s = u(s + d - 0.1, s + d + 0.3)
            t = u(t + 4, t + 12) if rng.random() < 0.12 else u(t + 10, t + 95)
    # respiratory events with their arousals, RERAs, spontaneous arousals
    t = first + 60
    while t < end - 80:
        t = u(t + 20, t + 240)
        if t >= end - 80:
            break
        kind = rng.choice(
            ["APNEA-OBSTRUCTIVE", "APNEA-CENTRAL", "HYPOPNEA", "HYPOPNEA", "RERA", "AROUSAL-RERA"]
        )
        if kind == "AROUSAL-RERA":
            n.add(t, kind, u(3.0, 12.0), "EEG.C3-M2")
            t += 15
            continue
        d = u(10.0, 40.0)
        n.add(t, kind, d, "Flow")
        if rng.random() < 0.6:
            name = {"A": "AROUSAL-APNEA", "H": "AROUSAL-HYPOPNEA", "R": "AROUSAL-RERA"}[kind[0]]
            if kind == "RERA":
                name = "AROUSAL-RERA"
            n.add(u(t + d - 1.0, t + d + 3.0), name, u(3.0, 12.0), "EEG.C3-M2")
        t += d
    for _ in range(rng.randint(30, 60)):
        n.add(u(first + 60, end - 80), "AROUSAL-SPONT", u(3.0, 15.0), "EEG.C3-M2")
    return n


NIGHTS = [night_legs_and_intervals, night_arousal_labels, night_outside_epochs] + [
    (lambda s=s: night_random(s)) for s in (1, 2, 3)
]


def main(plmscore_r: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        nights = {}
        for make in NIGHTS:
            night = make()
            nights[night.name] = night
            (HERE / f"{night.name}.txt").write_text(export_text(night), newline="\n")
            (tmpd / f"{night.name}.txt").write_text(export_text(night, split_arousal_rera=True), newline="\n")
        subprocess.run(
            [
                "Rscript",
                str(HERE / "run_plmscore.R"),
                plmscore_r,
                str(tmpd / "out"),
                *[str(tmpd / f"{x}.txt") for x in nights],
            ],
            check=True,
        )
        for name, night in nights.items():
            earliest = T0 + dt.timedelta(microseconds=earliest_us(night))
            out = tmpd / "out"
            start = dt.datetime.fromisoformat((out / f"{name}.plmscore_start.txt").read_text().strip())
            shift = (start - earliest).total_seconds()
            with open(out / f"{name}.plmscore_movements.csv", newline="") as fh:
                rows = list(csv.DictReader(fh))
            for r in rows:
                r["onset_s"] = f"{float(r['onset_s']) + shift:.6f}"
            with open(HERE / f"{name}.plmscore_movements.csv", "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
                w.writeheader()
                w.writerows(rows)
            (HERE / f"{name}.plmscore_indices.csv").write_text(
                (out / f"{name}.plmscore_indices.csv").read_text().replace("\r\n", "\n")
            )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
