"""The open-profile adapter against the reference firmware, through the in-memory link."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from firmware_sim.bluez import OpenProfilePeripheral, PolarPeripheral, PolarPmdFirmware
from firmware_sim.device import FirmwareConfig, SensorFirmware
from firmware_sim.sources import ConstantSource
from lmdetect import protocol as p
from lmdetect.adapters.open_profile import OpenProfileAdapter
from lmdetect.collector.hostclock import HostClock
from lmdetect.collector.link import MemoryConnector, MemoryRadio
from lmdetect.errors import ProtocolError

NAME, ADDRESS = "LMD-ANKLE-01", "C0:FF:EE:00:00:01"


def device(**config) -> OpenProfilePeripheral:
    return OpenProfilePeripheral(SensorFirmware(ConstantSource(), FirmwareConfig(**config)), NAME, ADDRESS)


async def connected(radio: MemoryRadio, name: str = NAME):
    link = await MemoryConnector(radio).find(name, timeout_s=1)
    await link.connect(lambda: None)
    return link


def run(per, body, speed: float = 10.0):
    async def go():
        async with MemoryRadio([per], HostClock(speed=speed)) as radio:
            return await body(radio)

    return asyncio.run(go())


def test_fresh_start_configures_and_starts_the_stream():
    per = device()

    async def body(radio):
        link = await connected(radio)
        return await OpenProfileAdapter(rate_hz=100, range_g=4).start(link, fresh=True)

    info = run(per, body)
    fw = per.firmware
    assert fw.streaming and (fw.rate_hz, fw.range_g) == (100, 4)
    assert (info.fs_hz, info.tick_hz, info.range_g) == (100.0, p.TICK_HZ, 4.0)
    assert info.scale_g == 4 / 32768 and info.first_seq == 0 and not info.resumed
    assert info.sensor == "LMD-1 (firmware_sim)" and info.firmware.endswith("-sim")
    assert info.ring_capacity_packets == fw.ring_capacity_packets


def test_reconnect_continues_a_running_stream_without_resetting_it():
    per = device()

    async def body(radio):
        link = await connected(radio)
        await OpenProfileAdapter().start(link, fresh=True)
        await asyncio.sleep(0.3)  # 3 s of sensor time
        await link.disconnect()
        seq_before = per.firmware.next_seq
        link = await connected(radio)
        info = await OpenProfileAdapter().start(link, fresh=False)
        return seq_before, info

    seq_before, info = run(per, body)
    assert info.resumed and info.first_seq is None
    assert info.next_seq >= seq_before > 0  # not reset to 0


def test_a_new_night_restarts_a_stream_left_running():
    per = device()

    async def body(radio):
        link = await connected(radio)
        await OpenProfileAdapter().start(link, fresh=True)
        await asyncio.sleep(0.3)
        info = await OpenProfileAdapter(rate_hz=25).start(link, fresh=True)
        return info

    info = run(per, body)
    assert not info.resumed and info.first_seq == 0 and info.fs_hz == 25
    assert per.firmware.rate_hz == 25


def test_decode_rejects_a_packet_of_another_range():
    a = OpenProfileAdapter()
    a._range_g = 8
    good = p.encode_data_packet(p.DataPacket(seq=1, tick=2, range_g=8, samples=np.zeros((3, 3), np.int16)))
    [d] = a.decode(good)
    assert (d.seq, d.tick, d.n) == (1, 2, 3)
    bad = p.encode_data_packet(p.DataPacket(seq=1, tick=2, range_g=2, samples=np.zeros((3, 3), np.int16)))
    with pytest.raises(ProtocolError, match="configured for"):
        a.decode(bad)


def test_resend_reports_what_the_ring_still_holds():
    per = device(ring_s=120.0)

    async def body(radio):
        link = await connected(radio)
        a = OpenProfileAdapter()
        await a.start(link, fresh=True)
        await asyncio.sleep(0.5)
        have = await a.request_resend(link, 2, 5)
        gone = await a.request_resend(link, 2**32 - 10, 2**32 - 5)  # wire numbers "before" 0
        return have, gone

    have, gone = run(per, body)
    assert have == (2, 5) and gone is None


def test_a_device_without_the_profile_is_refused():
    per = PolarPeripheral(PolarPmdFirmware(ConstantSource()), NAME, ADDRESS)

    async def body(radio):
        link = await connected(radio)
        await OpenProfileAdapter().start(link, fresh=True)

    with pytest.raises(ProtocolError, match=f"{ADDRESS} does not offer the open profile"):
        run(per, body)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=260), head=st.booleans())
def test_any_bytes_decode_or_raise_a_protocol_error(data, head):
    a = OpenProfileAdapter()
    a._range_g = 8
    payload = (bytes([1, 0]) + data) if head else data  # half of them look like sample packets
    try:
        [d] = a.decode(payload)
    except ProtocolError:
        return
    assert d.counts.shape == (d.n, 3) and 1 <= d.n <= 38
