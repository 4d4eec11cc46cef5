"""The registries of readers, sensor adapters and rule sets: one list each, read by everything.

A throwaway module dropped into a package's search path is found without being listed anywhere,
and is then usable end to end: the reader by ``read_recording`` and ``lmdetect info``, the adapter
by ``collect --sensor``, the rule set by ``Config``, ``process_night`` and batch. The docs' lists
are checked against the registries.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lmdetect.adapters
import lmdetect.adapters.base as adapter_base
import lmdetect.io
import lmdetect.io._registry as io_registry
import lmdetect.scoring
import lmdetect.scoring.rules as rule_registry
from lmdetect.errors import ConfigError, FormatError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def plug_in(monkeypatch, tmp_path, request):
    """``plug_in(package, source, module)``: write ``module``.py into a folder added to ``package``'s
    search path; the folder and the imported module are gone after the test."""

    def plug(package, source: str, module: str) -> str:
        folder = tmp_path / f"plugin_{package.__name__.replace('.', '_')}"
        folder.mkdir(exist_ok=True)
        (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
        importlib.invalidate_caches()
        name = f"{package.__name__}.{module}"
        request.addfinalizer(lambda: sys.modules.pop(name, None))
        return name

    return plug


@pytest.fixture
def fresh_io_registry(monkeypatch):
    io_registry._load()
    monkeypatch.setattr(io_registry, "_READERS", dict(io_registry._READERS))
    monkeypatch.setattr(io_registry, "_WRITERS", dict(io_registry._WRITERS))
    monkeypatch.setattr(io_registry, "_UNAVAILABLE", {})
    monkeypatch.setattr(io_registry, "_loaded", False)


@pytest.fixture
def fresh_adapter_registry(monkeypatch):
    adapter_base._load()
    monkeypatch.setattr(adapter_base, "_REGISTRY", dict(adapter_base._REGISTRY))
    monkeypatch.setattr(adapter_base, "_loaded", False)


@pytest.fixture
def fresh_rule_registry(monkeypatch):
    rule_registry._load()
    monkeypatch.setattr(rule_registry, "_REGISTRY", dict(rule_registry._REGISTRY))
    monkeypatch.setattr(rule_registry, "_loaded", False)


# --- readers -------------------------------------------------------------------------------------

TEXT_ACCEL_FORMAT = '''
    """A throwaway format: first line the rate in Hz, then one ``x y z`` line (g) per sample."""
    import datetime as dt

    import numpy as np

    from lmdetect.errors import FormatError
    from lmdetect.io._registry import register_reader
    from lmdetect.model import Recording


    def read_zzacc(path, **options):
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\\n")
        try:
            fs = float(lines[0])
            accel = np.array([[float(v) for v in ln.split()] for ln in lines[1:] if ln.strip()], np.float32)
        except ValueError as exc:
            raise FormatError(path, f"not a zzacc file: {exc}") from None
        start = dt.datetime(2026, 3, 14, 22, 0, tzinfo=dt.timezone.utc)
        return Recording(accel, np.arange(len(accel)) / fs, fs, start, device_id="zz-1")


    register_reader(".zzacc", "throwaway text accel", read_zzacc)
'''


def test_a_format_module_is_found_without_being_listed(monkeypatch, tmp_path, fresh_io_registry, capsys, plug_in):
    plug_in(lmdetect.io, TEXT_ACCEL_FORMAT, "zz_text_accel")
    night = tmp_path / "night.zzacc"
    night.write_text("10\n" + "0 0 1\n" * 600, encoding="utf-8")

    assert lmdetect.io.supported_read_extensions()[".zzacc"] == "throwaway text accel"
    rec = lmdetect.io.read_recording(night)
    assert rec.fs == 10.0 and rec.accel_g.shape == (600, 3)

    from lmdetect.cli import main

    assert main(["info", str(night)]) == 0
    out = capsys.readouterr().out
    assert "zz-1" in out and "throwaway text accel" in out


def test_a_format_module_missing_an_optional_package_is_reported_with_its_extra(
    monkeypatch, tmp_path, fresh_io_registry
, plug_in):
    plug_in(lmdetect.io, '''
        from lmdetect.io._registry import register_reader
        raise ModuleNotFoundError("No module named 'edfio'", name="edfio")  # as "import edfio" would
        register_reader(".zzedf", "never registered", print)
    ''', "zz_needs_edfio")
    reason = lmdetect.io.unavailable_formats()["lmdetect.io.zz_needs_edfio"]
    assert "'edfio'" in reason and "pip install 'lmdetect[edf]'" in reason
    with pytest.raises(FormatError, match=r"x\.unknownext: .*Not available: lmdetect\.io\.zz_needs_edfio needs"):
        lmdetect.io.read_recording("x.unknownext")
    assert ".cwa" in lmdetect.io.supported_read_extensions()  # the others still load


def test_a_format_module_with_a_broken_import_of_lmdetect_is_not_hidden(monkeypatch, tmp_path, fresh_io_registry, plug_in):
    plug_in(lmdetect.io, '''
        from lmdetect.io._registry import register_reader
        import lmdetect.no_such_module
        register_reader(".zzbroken", "never registered", print)
    ''', "zz_broken")
    with pytest.raises(ModuleNotFoundError, match="lmdetect.no_such_module"):
        lmdetect.io.supported_read_extensions()


def test_discovery_imports_only_the_registering_modules():
    import subprocess

    code = ("import sys, lmdetect.io as io; io.supported_read_extensions(); "
            "print(sorted(m for m in sys.modules if m.startswith('lmdetect.io.') and '._' not in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(out) == ["lmdetect.io.bids_motion", "lmdetect.io.csv", "lmdetect.io.cwa", "lmdetect.io.edf",
                         "lmdetect.io.geneactiv", "lmdetect.io.gt3x", "lmdetect.io.native"]


# --- sensor adapters -----------------------------------------------------------------------------

THROWAWAY_ADAPTER = '''
    """A throwaway sensor: notifications of little-endian int16 x, y, z triples, 1 mg per count."""
    import numpy as np

    from lmdetect.adapters.base import DecodedPacket, SensorAdapter, StreamInfo, register_adapter
    from lmdetect.errors import ProtocolError


    @register_adapter
    class ZzAdapter(SensorAdapter):
        name = "zzsensor"
        service_uuid = "0000abc0-0000-1000-8000-00805f9b34fb"
        data_uuid = "0000abc1-0000-1000-8000-00805f9b34fb"
        seq_bits = None
        tick_bits = 32
        max_samples_per_packet = 40
        default_rate_hz = 25.0

        async def start(self, link, *, fresh, required=None):
            await link.start_notify(self.data_uuid, lambda data: None)
            return StreamInfo(fs_hz=self.rate_hz, tick_hz=1000, scale_g=0.001, range_g=self.range_g, sensor="zz")

        async def stop(self, link):
            await link.stop_notify(self.data_uuid)

        def decode(self, data):
            if len(data) % 6:
                raise ProtocolError(f"zz notification of {len(data)} bytes is not whole samples")
            counts = np.frombuffer(bytes(data), "<i2").reshape(-1, 3).astype(np.int16)
            return [DecodedPacket(seq=None, tick=0, counts=counts)]
'''


def test_an_adapter_module_is_found_and_offered_by_collect(monkeypatch, tmp_path, fresh_adapter_registry, plug_in):
    plug_in(lmdetect.adapters, THROWAWAY_ADAPTER, "zz_sensor")
    assert "zzsensor" in lmdetect.adapters.adapter_names()

    from lmdetect.cli import build_parser
    from lmdetect.commands.collect import adapter_options

    parser, _ = build_parser()
    args = parser.parse_args(["collect", "--device", "ZZ 1", "--out", str(tmp_path / "n.lmr"), "--sensor", "zzsensor"])
    options = adapter_options(args.sensor, args.rate, args.range_g)
    assert options == {"rate_hz": 25.0, "range_g": 8.0}
    adapter = lmdetect.adapters.make_adapter(args.sensor, **options)
    assert type(adapter).__name__ == "ZzAdapter" and adapter.rate_hz == 25.0
    (packet,) = adapter.decode(np.array([1, -2, 1000], "<i2").tobytes())
    assert packet.counts.tolist() == [[1, -2, 1000]]
    assert lmdetect.adapters.ADAPTERS["zzsensor"] is type(adapter)


def test_an_unknown_sensor_lists_the_registered_ones():
    with pytest.raises(ConfigError, match="unknown sensor 'nope'; valid choices are movesense, open, polar"):
        lmdetect.adapters.make_adapter("nope")


# --- rule sets -----------------------------------------------------------------------------------

THROWAWAY_RULE_SET = '''
    """A throwaway rule set: WASM 2016 with a shorter longest IMI."""
    import dataclasses

    from lmdetect.scoring.rules import register_rule_set
    from lmdetect.scoring.wasm2016 import WASM2016


    @register_rule_set
    @dataclasses.dataclass(frozen=True)
    class Zz2099(WASM2016):
        name = "zz2099"
        citation = "ZZ 2099 rules (a throwaway set)"
        imi_max_s: float = 60.0
'''


def _short_night():
    from tests.synth import add_burst, quiet, recording

    fs = 25.0
    a = quiet(3600.0, fs)
    for k in range(12):  # a train of leg movements every 75 s: periodic by WASM 2016, not by zz2099
        add_burst(a, fs, 1200.0 + 75.0 * k, 2.0, 0.3)
    return recording(a, fs)


def test_a_rule_set_module_is_usable_by_config_process_night_and_batch(monkeypatch, tmp_path, fresh_rule_registry, plug_in):
    plug_in(lmdetect.scoring, THROWAWAY_RULE_SET, "zz2099")
    from lmdetect import Config, process_night
    from lmdetect.batch import run_batch
    from lmdetect.io import write_recording

    assert "zz2099" in lmdetect.scoring.rule_set_names()
    config = Config(rules="zz2099")
    rec = _short_night()
    result = process_night(rec, config)
    assert result.summary["rule_set"] == "zz2099"
    assert lmdetect.scoring.get_rule_set("zz2099").imi_max_s == 60.0
    from lmdetect.report.methods import methods_text, references

    assert "scored with the ZZ 2099 rules (a throwaway set)" in methods_text(config, result.summary)
    assert references(config)[0].startswith("Ferri R, Fulda S")  # the detection text cites WASM 2016

    write_recording(rec, tmp_path / "n1.lmr")
    with cf.ThreadPoolExecutor(1) as ex:  # in-process: the throwaway module is not on a worker's path
        summary = run_batch([tmp_path / "n1.lmr"], tmp_path / "out", config=config, executor=ex)
    (outcome,) = summary.outcomes
    assert outcome.status == "done", outcome.error
    import json

    night_summary = json.loads(next((tmp_path / "out").rglob("summary.json")).read_text(encoding="utf-8"))
    assert night_summary["rule_set"] == "zz2099"

    from lmdetect.cli import build_parser

    parser, _ = build_parser()
    assert parser.parse_args(["process", "n.lmr", "--out", "o", "--rules", "zz2099"]).rules == "zz2099"


def test_config_refuses_a_rule_set_that_is_not_registered():
    from lmdetect import Config

    with pytest.raises(ConfigError, match="invalid rules='zz2099'; valid choices are 'aasm', 'wasm2016'"):
        Config(rules="zz2099")


# --- the docs' lists -----------------------------------------------------------------------------


def test_the_readers_table_lists_every_registered_extension():
    text = (ROOT / "docs" / "readers.md").read_text(encoding="utf-8")
    table = text.split("| extension | format | read | write | module |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`([._a-z0-9]+)`", "\n".join(ln.split("|")[1] for ln in table.splitlines()[2:])))
    assert documented == set(lmdetect.io.supported_read_extensions()) | set(lmdetect.io.supported_write_extensions())


def test_the_collector_docs_list_every_registered_sensor():
    text = (ROOT / "docs" / "collector.md").read_text(encoding="utf-8")
    (choices,) = re.findall(r"\| `--sensor ([a-z0-9_\\|]+)`", text)
    assert tuple(sorted(choices.split("\\|"))) == lmdetect.adapters.adapter_names()


def test_the_scoring_docs_describe_every_registered_rule_set():
    text = (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8")
    header = next(ln for ln in text.splitlines() if ln.startswith("| rule |"))
    assert tuple(sorted(re.findall(r"\(`([a-z0-9_]+)`\)", header))) == lmdetect.scoring.rule_set_names()
