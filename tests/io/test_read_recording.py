"""`read_recording` shows its real options: one signature, each option documented, and each
format's options agree with its reader's own signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from lmdetect.errors import ConfigError
from lmdetect.io import READ_OPTIONS, read_recording, supported_read_extensions
from lmdetect.io.bids_motion import read_bids_motion
from lmdetect.io.csv import read_csv_recording
from lmdetect.io.cwa import read_cwa
from lmdetect.io.edf import read_edf
from lmdetect.io.geneactiv import read_geneactiv
from lmdetect.io.gt3x import read_gt3x
from lmdetect.io.native import read_lmr

READERS = {
    "lmdetect recording": read_lmr,
    "CSV": read_csv_recording,
    "Axivity CWA": read_cwa,
    "GENEActiv": read_geneactiv,
    "ActiGraph GT3X": read_gt3x,
    "EDF/EDF+": read_edf,
    "BDF/BDF+": read_edf,
    "BIDS motion": read_bids_motion,
}
DATA = Path(__file__).resolve().parents[1] / "data" / "readers"


def _keyword_options(func) -> set[str]:
    return {n for n, p in inspect.signature(func).parameters.items() if p.kind is p.KEYWORD_ONLY}


def test_every_reader_option_is_in_the_signature_and_documented():
    sig = inspect.signature(read_recording)
    options = {n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}
    every = set().union(*(_keyword_options(f) for f in READERS.values()))
    assert every == options
    doc = inspect.getdoc(read_recording) or ""
    params = doc.split("Parameters\n----------\n", 1)[1].split("\nReturns\n", 1)[0]
    documented = set(re.findall(r"^(\w+)$", params, flags=re.M))
    assert documented == {"path", *options}


def test_read_options_match_each_reader():
    assert set(READ_OPTIONS) == set(supported_read_extensions().values())
    for fmt, func in READERS.items():
        assert set(READ_OPTIONS[fmt]) == _keyword_options(func), fmt


def test_an_option_the_format_does_not_take_names_the_file_and_the_options():
    with pytest.raises(ConfigError, match=r"gnactv_sample\.bin: GENEActiv files do not take start \(their read options: tz, on_corrupt\)"):
        read_recording(DATA / "gnactv_sample.bin", start="2026-01-01T00:00:00+00:00")


def test_tz_is_taken_by_every_format(tmp_path):
    from lmdetect.io import write_recording
    from tests.io.test_readers_conformance import still_night

    path = tmp_path / "n.lmr"
    write_recording(still_night(seconds=60.0), path)
    rec = read_recording(path, tz="America/New_York")
    assert str(rec.start.tzinfo) == "America/New_York"
    assert rec.start == read_recording(path).start  # the same instant
