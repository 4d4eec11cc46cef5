"""``serve`` as a separate process: bus address on stdout, bleak against it, D-Bus control, exit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# tests/ holds ble_fixtures; importing the fixtures here works with or without a conftest plugin
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ble_fixtures import private_system_bus, virtual_bluez  # noqa: E402, F401

from firmware_sim.bluez import ControlClient  # noqa: E402
from lmdetect import protocol as p  # noqa: E402
from lmdetect.errors import LmdetectError  # noqa: E402

pytest.importorskip("bleak")
from bleak import BleakClient, BleakScanner  # noqa: E402

pytestmark = pytest.mark.ble

# the serve module's own entry points, independent of the package's __main__
_RUNNER = (
    "import argparse, sys\n"
    "from firmware_sim import serve\n"
    "parser = argparse.ArgumentParser(prog='firmware_sim serve')\n"
    "serve.add_arguments(parser)\n"
    "sys.exit(serve.run(parser.parse_args(sys.argv[1:])))\n"
)


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", _RUNNER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_banner(proc: subprocess.Popen[str], timeout_s: float = 30.0) -> dict[str, str]:
    lines: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"serve exited early ({proc.wait(5)}): {err}")
        key, _, rest = line.strip().partition(" ")
        if "=" in key:
            key, _, rest = line.strip().partition("=")
        lines.setdefault(key, rest)
        if key == "ready":
            return lines
    raise AssertionError("serve printed no 'ready' line in time")


def stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(10)
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return code


async def test_serve_on_a_given_bus_with_control(private_system_bus):
    proc = spawn(
        *("--virtual-bluez", "--bus", private_system_bus.address),
        *("--profile", "control", "--hours", "0.25", "--seed", "3"),
        *("--speed", "60", "--drift-ppm", "50"),
        *("--name", "LMD-TEST-02", "--address", "C0:FF:EE:00:00:22"),
    )
    try:
        banner = read_banner(proc)
        assert banner["DBUS_SYSTEM_BUS_ADDRESS"] == private_system_bus.address
        assert banner["device"].startswith("LMD-TEST-02 C0:FF:EE:00:00:22 open profile v1 50 Hz")
        dev = await BleakScanner.find_device_by_name("LMD-TEST-02", timeout=5.0)
        assert dev is not None
        lost = asyncio.Event()
        packets: list[p.DataPacket] = []
        client = BleakClient(dev, disconnected_callback=lambda _c: lost.set())
        await client.connect()
        await client.start_notify(p.DATA_UUID, lambda _c, d: packets.append(p.decode_data_packet(d)))
        await client.write_gatt_char(p.CONTROL_UUID, p.encode_command(p.Opcode.START), response=True)
        for _ in range(100):
            if len(packets) >= 10:
                break
            await asyncio.sleep(0.05)
        assert [pk.seq for pk in packets[:10]] == list(range(10))
        # the simulated night is the "control" profile: the leg mostly at rest, about 1 g in all
        g = packets[0].samples_g().astype(float)
        assert 0.8 < float((g**2).sum(axis=1).mean() ** 0.5) < 1.2
        async with ControlClient(private_system_bus.address) as ctl:
            await ctl.drop_link("LMD-TEST-02", 10.0)
            await asyncio.wait_for(lost.wait(), 3.0)
            await client.disconnect()
            state = await ctl.describe()
            assert state["clock"]["speed"] == 60.0
            (dev_state,) = state["devices"]
            assert dev_state["link"]["connects"] == 1 and dev_state["link"]["disconnects"] == 1
            assert dev_state["device"]["streaming"] is True
            with pytest.raises(LmdetectError, match="no virtual device"):
                await ctl.drop_link("NOT-THERE", 1.0)
            await ctl.stop()
        assert proc.wait(10) == 0
    finally:
        stop(proc)


async def test_serve_starts_its_own_private_bus_and_stops_on_sigterm(private_system_bus):
    proc = spawn("--profile", "control", "--hours", "0.25", "--speed", "10", "--polar")
    try:
        banner = read_banner(proc)
        address = banner["DBUS_SYSTEM_BUS_ADDRESS"]
        assert address.startswith("unix:path=") and address != private_system_bus.address
        async with ControlClient(address) as ctl:
            names = [d["name"] for d in (await ctl.describe())["devices"]]
        assert names == ["LMD-ANKLE-01", "Polar H10 0A1B2C3D"]
    finally:
        assert stop(proc) == 0
    assert not Path(address.removeprefix("unix:path=")).exists()  # the private bus is gone


def test_serve_reports_a_bad_replay_file(tmp_path):
    proc = spawn("--replay", str(tmp_path / "nope.lmr"))
    code = proc.wait(30)
    err = proc.stderr.read() if proc.stderr else ""
    stop(proc)
    assert code == 2
    assert "nope.lmr" in err and "error" in err


def test_private_bus_lifecycle(private_system_bus):
    from firmware_sim.bluez import PrivateBus
    from firmware_sim.bluez.private_bus import ENV_VAR

    before = os.environ.get(ENV_VAR)
    with PrivateBus() as bus:
        assert bus.running and os.environ[ENV_VAR] == bus.address != before
        assert Path(bus.address.removeprefix("unix:path=")).is_socket()
        folder = bus.dir
    assert os.environ.get(ENV_VAR) == before
    assert not folder.exists() and not bus.running
