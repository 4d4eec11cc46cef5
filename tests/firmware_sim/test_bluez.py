"""End to end through bleak's real BlueZ backend, against the virtual BlueZ on a private D-Bus."""

from __future__ import annotations

import asyncio
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

# tests/ holds ble_fixtures; importing the fixtures here works with or without a conftest plugin
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ble_fixtures import ADDRESS, NAME, open_peripheral, private_system_bus, virtual_bluez  # noqa: E402, F401

from firmware_sim.bluez import PolarPeripheral, PolarPmdFirmware  # noqa: E402
from firmware_sim.bluez.pmd import PMD_CONTROL_UUID, PMD_DATA_UUID, PMD_SERVICE_UUID  # noqa: E402
from firmware_sim.faults import FaultPlan  # noqa: E402
from firmware_sim.sources import FunctionSource  # noqa: E402
from lmdetect import protocol as p  # noqa: E402

bleak = pytest.importorskip("bleak")
from bleak import BleakClient, BleakScanner  # noqa: E402
from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError  # noqa: E402

pytestmark = pytest.mark.ble


class Sensor:
    """A bleak client of the open profile: notifications into lists, commands with replies."""

    def __init__(self, client: BleakClient):
        self.client = client
        self.packets: list[p.DataPacket] = []
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.arrived = asyncio.Event()

    def _on_data(self, _c: object, data: bytearray) -> None:
        self.packets.append(p.decode_data_packet(data))
        self.arrived.set()

    async def subscribe(self, **bluez: object) -> None:
        await self.client.start_notify(p.CONTROL_UUID, lambda _c, d: self.replies.put_nowait(bytes(d)))
        await self.client.start_notify(p.DATA_UUID, self._on_data, bluez=bluez)

    async def command(self, op: p.Opcode, *args: int) -> tuple[p.Opcode, p.Status, bytes]:
        await self.client.write_gatt_char(p.CONTROL_UUID, p.encode_command(op, *args), response=True)
        return p.decode_reply(await asyncio.wait_for(self.replies.get(), 2.0))

    async def wait_packets(self, n: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.packets) < n:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


async def find(name: str = NAME):
    dev = await BleakScanner.find_device_by_name(name, timeout=3.0)
    assert dev is not None, f"{name} not found while scanning"
    return dev


async def test_scan_finds_the_device_with_its_advertisement(virtual_bluez):
    await virtual_bluez([open_peripheral()])
    found = await BleakScanner.discover(timeout=0.4, return_adv=True)
    dev, adv = found[ADDRESS]
    assert dev.name == NAME and adv.local_name == NAME
    assert p.SERVICE_UUID in adv.service_uuids
    assert adv.manufacturer_data == {0xFFFF: bytes([p.PROFILE_VERSION]) + b"LMD"}
    assert -64 <= adv.rssi <= -56


async def test_gatt_table_as_bleak_sees_it(virtual_bluez):
    per = open_peripheral()
    await virtual_bluez([per])
    async with BleakClient(await find()) as client:
        svc = client.services.get_service(p.SERVICE_UUID)
        chars = {c.uuid: c for c in svc.characteristics}
        assert chars[p.DATA_UUID].properties == ["notify"]
        assert set(chars[p.CONTROL_UUID].properties) == {"read", "write", "indicate"}
        # handles come from BlueZ's object paths, which follow the attribute handles
        assert chars[p.DATA_UUID].handle == per.data_char.handle
        assert [d.uuid for d in chars[p.DATA_UUID].descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
        info = p.decode_info(await client.read_gatt_char(p.INFO_UUID))
        assert (info.profile_version, info.rate_hz, info.range_g, info.streaming) == (1, 50, 8, False)
        assert await client.read_gatt_char(p.BATTERY_LEVEL_UUID) == bytearray([100])
        assert (await client.read_gatt_char(p.MANUFACTURER_NAME_UUID)).decode() == "lmdetect"
        assert client.services.get_service(p.DEVICE_INFO_SERVICE_UUID) is not None


@pytest.mark.parametrize("use_start_notify", [True, False], ids=["StartNotify", "AcquireNotify"])
async def test_notifications_arrive_in_order_at_the_paced_rate(virtual_bluez, use_start_notify):
    fw_source = FunctionSource(lambda t: np.stack([np.sin(t), np.cos(t), np.ones_like(t)], 1))
    per = open_peripheral(fw_source, faults=FaultPlan(drift_ppm=50.0))
    vbz = await virtual_bluez([per], speed=60.0)
    async with BleakClient(await find()) as client:
        s = Sensor(client)
        await s.subscribe(use_start_notify=use_start_notify)
        _, status, _ = await s.command(p.Opcode.START)
        sim0 = vbz.clock.now()
        assert status == p.Status.OK
        await asyncio.sleep(1.0)
        sim1 = vbz.clock.now()
        got = list(s.packets)
    seqs = [pkt.seq for pkt in got]
    assert seqs == list(range(len(seqs)))
    # 2 packets per simulated second (25 samples at 50 Hz) for 1 s x 60
    assert len(seqs) == pytest.approx((sim1 - sim0) * 2, abs=4)
    fw = per.firmware
    for pkt in got[:3] + got[-3:]:
        truth = fw.packet_truth(pkt.seq)
        assert pkt.tick == round(truth.ticks[0]) & 0xFFFFFFFF
        t = truth.source_time_s
        expected = np.rint(np.stack([np.sin(t), np.cos(t), np.ones(25)], 1) * 4096)
        np.testing.assert_array_equal(pkt.samples, expected)
    ticks = np.array([pkt.tick for pkt in got], dtype=np.float64)
    np.testing.assert_allclose(np.diff(ticks), 25 * p.TICK_HZ / 50 * (1 + 50e-6), atol=1.0)


async def test_commands_over_the_air(virtual_bluez):
    per = open_peripheral()
    vbz = await virtual_bluez([per], speed=60.0)
    async with BleakClient(await find()) as client:
        s = Sensor(client)
        await s.subscribe()
        assert (await s.command(p.Opcode.SET_RATE, 100))[1] == p.Status.OK
        assert (await s.command(p.Opcode.SET_RANGE, 4))[1] == p.Status.OK
        assert (await s.command(p.Opcode.START))[1] == p.Status.OK
        assert (await s.command(p.Opcode.SET_RATE, 25))[1] == p.Status.BUSY
        await s.wait_packets(20)
        _, status, payload = await s.command(p.Opcode.TIME_SYNC)
        tick, next_seq = struct.unpack("<II", payload)
        sim_now = vbz.clock.now()
        assert status == p.Status.OK and next_seq >= 20
        # the tick is read at the moment the command is handled
        assert float(per.firmware.true_time_s(tick)) == pytest.approx(sim_now, abs=0.3 * 60)
        info = p.decode_info((await s.command(p.Opcode.GET_STATUS))[2])
        assert (info.rate_hz, info.range_g, info.streaming) == (100, 4, True)
        assert {pkt.n for pkt in s.packets} == {38} and {pkt.range_g for pkt in s.packets} == {4}
        _, status, payload = await s.command(p.Opcode.RESEND, 2, 4)
        assert status == p.Status.OK and struct.unpack("<II", payload) == (2, 4)
        await asyncio.sleep(0.1)
        resent = [pkt.seq for pkt in s.packets if pkt.flags & p.Flags.RESENT]
        assert resent == [2, 3, 4]
        assert (await s.command(p.Opcode.STOP))[1] == p.Status.OK
        assert await client.read_gatt_char(p.CONTROL_UUID) == p.encode_reply(p.Opcode.STOP, p.Status.OK)


async def test_link_drop_fires_the_callback_and_resend_backfills(virtual_bluez):
    per = open_peripheral()
    vbz = await virtual_bluez([per], speed=60.0)
    lost = asyncio.Event()
    client = BleakClient(await find(), disconnected_callback=lambda _c: lost.set())
    await client.connect()
    s = Sensor(client)
    await s.subscribe()
    await s.command(p.Opcode.START)
    await s.wait_packets(10)
    vbz.drop_link(for_s=60.0)  # one second of wall time at x60
    await asyncio.wait_for(lost.wait(), 2.0)
    assert not client.is_connected
    await client.disconnect()  # after a remote disconnect bleak keeps its D-Bus connection until this
    with pytest.raises(BleakDBusError, match="connection abort"):
        await client.connect()  # still out of range
    await asyncio.sleep(1.0)
    await client.connect()
    s.replies = asyncio.Queue()
    await s.subscribe()
    before = {pkt.seq for pkt in s.packets}
    _, _, payload = await s.command(p.Opcode.TIME_SYNC)
    _, next_seq = struct.unpack("<II", payload)
    missing = sorted(set(range(next_seq)) - before)
    assert len(missing) >= 120  # >= 60 s at 2 packets/s
    _, status, payload = await s.command(p.Opcode.RESEND, missing[0], missing[-1])
    assert status == p.Status.OK and struct.unpack("<II", payload) == (missing[0], missing[-1])
    await asyncio.sleep(0.3)
    await client.disconnect()
    have = {pkt.seq for pkt in s.packets}
    assert set(range(next_seq)) <= have
    backfilled = [pkt.seq for pkt in s.packets if pkt.flags & p.Flags.RESENT]
    assert backfilled == list(range(missing[0], missing[-1] + 1))
    stats = vbz.device_stats()
    assert stats["link"]["connects"] == 2 and stats["link"]["connect_failures"] == 1


async def test_scheduled_link_drops_from_the_fault_plan(virtual_bluez):
    per = open_peripheral(faults=FaultPlan(drop_every_s=60.0, drop_for_s=10.0, drop_first_at_s=30.0))
    await virtual_bluez([per], speed=60.0)
    lost = asyncio.Event()
    client = BleakClient(await find(), disconnected_callback=lambda _c: lost.set())
    await client.connect()
    await asyncio.wait_for(lost.wait(), 2.0)  # the first drop is 30 s (0.5 s wall) after power-on
    await client.disconnect()
    await asyncio.sleep(0.3)
    await client.connect()
    assert client.is_connected
    await client.disconnect()


async def test_bluez_restart_leaves_bleak_silent(virtual_bluez):
    per = open_peripheral()
    vbz = await virtual_bluez([per], speed=60.0)
    lost = asyncio.Event()
    client = BleakClient(await find(), disconnected_callback=lambda _c: lost.set())
    await client.connect()
    s = Sensor(client)
    await s.subscribe()
    await s.command(p.Opcode.START)
    await s.wait_packets(5)
    restart = asyncio.create_task(vbz.restart_bluez(60.0))  # one simulated minute away
    await asyncio.sleep(0.3)
    n_during = len(s.packets)
    await restart
    await asyncio.sleep(0.3)
    # bleak was told nothing: no callback, still "connected", but no data since the restart
    assert not lost.is_set() and client.is_connected
    assert len(s.packets) == n_during
    last_seq = s.packets[-1].seq
    # a watchdog's recovery: a fresh scan finds the device again and a new client connects
    again = BleakClient(await find())
    await again.connect()
    s2 = Sensor(again)
    await s2.subscribe()
    assert (await s2.command(p.Opcode.START))[1] == p.Status.OK  # still streaming: no reset
    await s2.wait_packets(3)
    assert s2.packets[0].seq > last_seq + 60  # a simulated minute (2 packets/s) went by meanwhile
    await again.disconnect()
    await asyncio.wait_for(client.disconnect(), 3.0)  # the stale client: closes its D-Bus connection
    assert vbz.stats["bluez_restarts"] == 1


async def test_a_device_that_stopped_advertising_cannot_be_connected(virtual_bluez):
    vbz = await virtual_bluez([open_peripheral()])
    dev = await find()
    vbz.set_advertising(False)
    with pytest.raises(BleakDBusError, match="connection abort"):
        await BleakClient(dev, timeout=3.0).connect()


async def test_powered_off_adapter(virtual_bluez):
    await virtual_bluez([open_peripheral()], powered=False)
    with pytest.raises(BleakBluetoothNotAvailableError):
        await BleakScanner.discover(timeout=0.2)


async def test_polar_like_device_start_then_frames(virtual_bluez):
    source = FunctionSource(lambda t: np.stack([0.2 * np.sin(t), 0.0 * t, np.full_like(t, 1.0)], 1))
    pmd = PolarPmdFirmware(source, model="verity")
    await virtual_bluez([PolarPeripheral(pmd, "Polar Sense 0A1B2C3D", "C0:FF:EE:00:00:02")], speed=20.0)
    async with BleakClient(await find("Polar Sense 0A1B2C3D")) as client:
        assert client.services.get_service(PMD_SERVICE_UUID) is not None
        features = await client.read_gatt_char(PMD_CONTROL_UUID)
        assert features[0] == 0x0F and features[1] & 0x04
        replies: asyncio.Queue[bytes] = asyncio.Queue()
        frames: list[bytes] = []
        await client.start_notify(PMD_CONTROL_UUID, lambda _c, d: replies.put_nowait(bytes(d)))
        await client.start_notify(PMD_DATA_UUID, lambda _c, d: frames.append(bytes(d)))
        start = bytes([0x02, 0x02, 0x00, 0x01, 0x34, 0x00, 0x01, 0x01, 0x10, 0x00, 0x02, 0x01, 0x08, 0x00])
        await client.write_gatt_char(PMD_CONTROL_UUID, start, response=True)
        # the Verity Sense's documented reply: the factor (polar-ble-sdk online_measurement.pdf, 2024)
        assert await asyncio.wait_for(replies.get(), 2.0) == bytes.fromhex("F0 02 02 00 00 05 01 40 DA 7F 39")
        await asyncio.sleep(0.6)
    assert len(frames) >= 18  # 12 s of simulated time, 26 samples (0.5 s) per frame
    headers = [struct.unpack_from("<BQB", f) for f in frames]
    assert {h[0] for h in headers} == {2} and {h[2] for h in headers} == {0x80}
    ts = np.array([h[1] for h in headers], dtype=np.int64)
    np.testing.assert_allclose(np.diff(ts), 26 / 52 * 1e9, atol=1)


async def test_objects_introspect_for_dbus_tools(virtual_bluez):
    from dbus_fast import Message
    from dbus_fast.aio import MessageBus

    vbz = await virtual_bluez([open_peripheral()])
    bus = await MessageBus(bus_address=vbz.bus_address).connect()
    try:
        reply = await bus.call(
            Message(
                destination="org.bluez",
                path="/org/bluez",
                interface="org.freedesktop.DBus.Introspectable",
                member="Introspect",
            )
        )
        assert '<node name="hci0"/>' in reply.body[0]
        reply = await bus.call(
            Message(
                destination="org.bluez",
                path="/org/bluez/hci0",
                interface="org.freedesktop.DBus.Introspectable",
                member="Introspect",
            )
        )
        xml = reply.body[0]
        assert '<interface name="org.bluez.Adapter1">' in xml and '<method name="StartDiscovery">' in xml
        assert '<property name="Roles" type="as" access="read"/>' in xml
    finally:
        bus.disconnect()
