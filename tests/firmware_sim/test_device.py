"""The reference firmware as a pure state machine: packets, clock, commands, ring buffer, faults."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from firmware_sim.device import FirmwareConfig, SensorFirmware, TickClock, samples_per_packet
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import ConstantSource, FunctionSource
from lmdetect.errors import ConfigError
from lmdetect.protocol import (
    TICK_HZ,
    Flags,
    Opcode,
    Status,
    decode_data_packet,
    decode_info,
    decode_reply,
    encode_command,
)


def wave(t):
    """A signal whose value at every instant is known: slow rotations around gravity."""
    t = np.asarray(t, dtype=np.float64)
    return np.stack([0.5 * np.sin(0.7 * t), 0.25 * np.cos(1.3 * t), 1.0 + 0.01 * t % 0.5], axis=1)


def make(source=None, *, faults=None, **cfg) -> SensorFirmware:
    fw = SensorFirmware(source or FunctionSource(wave), FirmwareConfig(**cfg), faults)
    fw.on_connect()
    fw.set_notifying(True)
    return fw


def cmd(fw, op, *args):
    return decode_reply(fw.handle_command(encode_command(op, *args)))


def seqs(packets):
    return [decode_data_packet(p).seq for p in packets]


@pytest.mark.parametrize(("rate", "spp"), [(25, 12), (50, 25), (100, 38), (200, 38)])
def test_packet_size_per_rate(rate, spp):
    assert samples_per_packet(rate, 0.5) == spp
    fw = make(rate_hz=rate)
    cmd(fw, Opcode.START)
    pkts = fw.advance(10.0)
    assert {decode_data_packet(p).n for p in pkts} == {spp}
    assert len(pkts) == (int(10.0 * rate) + 1) // spp


def test_samples_are_the_source_quantised_at_the_sample_ticks():
    fw = make(range_g=4, tick0=12345)
    fw.advance(3.0)
    assert cmd(fw, Opcode.START)[:2] == (Opcode.START, Status.OK)
    pkts = [decode_data_packet(p) for p in fw.advance(60.0)]
    tick_start = 12345 + 3.0 * TICK_HZ
    for pkt in pkts[:5] + pkts[-3:]:
        k = pkt.seq * 25 + np.arange(pkt.n)
        t_true = k / 50.0  # no drift: sample k at k / rate after START; the night began at START
        expected = np.clip(np.rint(wave(t_true) * 32768 / 4), -32768, 32767)
        np.testing.assert_array_equal(pkt.samples, expected)
        assert pkt.tick == round(tick_start + k[0] * TICK_HZ / 50)
        assert pkt.range_g == 4 and pkt.flags == Flags.NONE
        truth = fw.packet_truth(pkt.seq)
        np.testing.assert_allclose(truth.true_time_s, 3.0 + t_true, atol=1e-9)
    assert seqs(fw.advance(60.0)) == []  # nothing new without time passing


def test_packets_fall_due_with_their_last_sample():
    fw = make()
    fw.advance(1.0)
    cmd(fw, Opcode.START)
    last_sample_s = 1.0 + 24 / 50  # sample 24 closes packet 0
    assert fw.advance(last_sample_s - 1e-6) == []
    assert seqs(fw.advance(last_sample_s + 1e-6)) == [0]


def test_clock_drift_and_truth():
    ppm = 120.0
    fw = make(faults=FaultPlan(drift_ppm=ppm))
    cmd(fw, Opcode.START)
    pkts = [decode_data_packet(p) for p in fw.advance(3600.0)]
    assert seqs_contiguous([p.seq for p in pkts])
    # the fast clock packs more samples into an hour of true time
    assert len(pkts) == math.floor((3600 * 50 * (1 + ppm * 1e-6) + 1) / 25)
    last = fw.packet_truth(pkts[-1].seq)
    np.testing.assert_allclose(np.diff(last.true_time_s), 1 / (50 * (1 + ppm * 1e-6)), rtol=1e-9)
    # the truth maps a packet's tick to the true time of its first sample
    assert float(fw.true_time_s(pkts[-1].tick)) == pytest.approx(last.true_time_s[0], abs=1 / TICK_HZ)
    _, status, payload = cmd(fw, Opcode.TIME_SYNC)
    tick, next_seq = struct.unpack("<II", payload)
    assert status == Status.OK and next_seq == len(pkts)
    assert tick == math.floor(3600 * TICK_HZ * (1 + ppm * 1e-6)) & 0xFFFFFFFF


def seqs_contiguous(s):
    return s == list(range(s[0], s[0] + len(s)))


def test_clock_drift_can_change_mid_night():
    clock = TickClock(TICK_HZ, ppm=0.0)
    clock.set_ppm(100.0, 50.0)
    assert float(clock.tick_at(100.0)) == pytest.approx(100 * TICK_HZ)
    assert float(clock.tick_at(200.0)) == pytest.approx(100 * TICK_HZ + 100 * TICK_HZ * (1 + 50e-6))
    ticks = np.array([0.0, 50 * TICK_HZ, 150 * TICK_HZ])
    np.testing.assert_allclose(clock.time_at(clock.tick_at(clock.time_at(ticks))), clock.time_at(ticks))
    with pytest.raises(ConfigError):
        clock.set_ppm(10.0, 0.0)


def test_tick_field_wraps_at_32_bits():
    fw = make(tick0=2**32 - 3 * TICK_HZ)
    cmd(fw, Opcode.START)
    pkts = [decode_data_packet(p) for p in fw.advance(10.0)]
    ticks = np.array([p.tick for p in pkts], dtype=np.int64)
    wrapped = np.flatnonzero(np.diff(ticks) < 0)
    assert wrapped.size == 1  # once, about 3 s in
    step = np.diff(np.unwrap(ticks, period=2**32))
    np.testing.assert_allclose(step, 25 * TICK_HZ / 50, atol=1)


def test_start_while_streaming_keeps_place_and_restart_resets():
    fw = make()
    cmd(fw, Opcode.START)
    first = seqs(fw.advance(30.0))
    assert cmd(fw, Opcode.START)[1] == Status.OK
    assert seqs(fw.advance(60.0))[0] == first[-1] + 1  # no reset
    assert cmd(fw, Opcode.STOP)[1] == Status.OK
    assert fw.advance(90.0) == [] and not fw.streaming
    assert cmd(fw, Opcode.RESEND, 0, 3)[1] == Status.OK  # the ring survives STOP
    assert len(fw.advance(90.0)) == 4
    cmd(fw, Opcode.START)
    assert cmd(fw, Opcode.RESEND, 0, 3)[1] == Status.NOT_AVAILABLE  # emptied by the new START
    assert seqs(fw.advance(100.0))[0] == 0


def test_rate_and_range_change_only_while_stopped():
    fw = make()
    assert cmd(fw, Opcode.SET_RATE, 33)[1] == Status.BAD_REQUEST
    assert cmd(fw, Opcode.SET_RANGE, 3)[1] == Status.BAD_REQUEST
    assert cmd(fw, Opcode.SET_RATE, 100)[1] == Status.OK
    assert cmd(fw, Opcode.SET_RANGE, 16)[1] == Status.OK
    cmd(fw, Opcode.START)
    assert cmd(fw, Opcode.SET_RATE, 25)[1] == Status.BUSY
    assert cmd(fw, Opcode.SET_RANGE, 2)[1] == Status.BUSY
    pkt = decode_data_packet(fw.advance(2.0)[0])
    assert pkt.n == 38 and pkt.range_g == 16
    info = decode_info(cmd(fw, Opcode.GET_STATUS)[2])
    assert (info.rate_hz, info.range_g, info.streaming, info.tick_hz) == (100, 16, True, TICK_HZ)
    assert info.ring_capacity_packets == math.ceil(180 * 100 / 38)


@pytest.mark.parametrize(
    ("data", "reply"),
    [
        (b"", bytes([0x80, Status.UNSUPPORTED])),
        (b"\x42", bytes([0xC2, Status.UNSUPPORTED])),
        (b"\x03\x32", bytes([0x83, Status.BAD_REQUEST])),  # SET_RATE needs a u16
        (b"\x06\x00\x00\x00\x00", bytes([0x86, Status.BAD_REQUEST])),  # RESEND needs two u32
        (b"\x01\x00", bytes([0x81, Status.BAD_REQUEST])),
    ],
)
def test_malformed_commands_get_an_error_reply(data, reply):
    fw = make()
    assert fw.handle_command(data) == reply
    assert fw.last_reply == reply


def test_ring_buffer_resend_partial_and_gone():
    fw = make(ring_s=120.0)
    cmd(fw, Opcode.START)
    fw.advance(600.0)
    cap = fw.ring_capacity_packets
    assert cap == 240  # 120 s at 2 packets/s
    oldest, nxt = fw.oldest_seq, fw.next_seq
    assert nxt - oldest == cap
    op, status, payload = cmd(fw, Opcode.RESEND, oldest - 10, oldest + 4)
    assert status == Status.OK and struct.unpack("<II", payload) == (oldest, oldest + 4)
    resent = [decode_data_packet(p) for p in fw.advance(600.0)]
    assert [p.seq for p in resent] == list(range(oldest, oldest + 5))
    assert all(p.flags & Flags.RESENT for p in resent)
    assert cmd(fw, Opcode.RESEND, 0, oldest - 1)[1] == Status.NOT_AVAILABLE
    assert cmd(fw, Opcode.RESEND, 9, 3)[1] == Status.BAD_REQUEST
    # a range reaching into the future is clipped to what exists
    assert struct.unpack("<II", cmd(fw, Opcode.RESEND, nxt - 2, nxt + 100)[2]) == (nxt - 2, nxt - 1)


def test_resent_packet_equals_original_but_for_the_flag():
    fw = make()
    cmd(fw, Opcode.START)
    live = fw.advance(20.0)
    cmd(fw, Opcode.RESEND, 3, 3)
    (again,) = fw.advance(20.0)
    assert again[1] == live[3][1] | Flags.RESENT and again[2:] == live[3][2:]


def test_sampling_goes_on_while_disconnected_and_backfill_completes():
    fw = make()
    cmd(fw, Opcode.START)
    before = seqs(fw.advance(100.0))
    fw.on_disconnect()
    assert fw.advance(130.0) == []  # 30 s link drop: into the ring only
    fw.on_connect()
    assert fw.advance(131.0) == []  # notifications not yet re-enabled
    fw.set_notifying(True)
    after = seqs(fw.advance(160.0))
    gap = (before[-1] + 1, after[0] - 1)
    assert cmd(fw, Opcode.RESEND, *gap)[1] == Status.OK
    backfill = seqs(fw.advance(160.0))
    assert sorted(before + backfill + after) == list(range(after[-1] + 1))
    assert fw.stats["undelivered"] == len(backfill)


def test_resends_pending_at_a_disconnect_are_dropped():
    fw = make()
    cmd(fw, Opcode.START)
    fw.advance(30.0)
    cmd(fw, Opcode.RESEND, 0, 9)
    fw.on_disconnect()
    fw.on_connect()
    fw.set_notifying(True)
    assert all(not decode_data_packet(p).flags & Flags.RESENT for p in fw.advance(31.0))
    assert fw.stats["resend_dropped"] == 10


def test_packet_loss_is_seeded_and_recoverable():
    plan = FaultPlan(loss_prob=0.05, seed=7)
    fw = make(faults=plan)
    cmd(fw, Opcode.START)
    got = seqs(fw.advance(170.0))  # within the ring's 180 s
    expected_lost = [s for s in range(fw.next_seq) if plan.lost(s)]
    assert sorted(set(range(fw.next_seq)) - set(got)) == expected_lost
    assert 0.02 < len(expected_lost) / fw.next_seq < 0.09
    for s in expected_lost:
        assert cmd(fw, Opcode.RESEND, s, s)[1] == Status.OK
    assert seqs(fw.advance(170.0)) == expected_lost  # resends are never lost
    other = FaultPlan(loss_prob=0.05, seed=8)
    assert [s for s in range(fw.next_seq) if other.lost(s)] != expected_lost


def test_outage_longer_than_the_ring_loses_exactly_what_was_overwritten():
    fw = make(ring_s=120.0)
    cmd(fw, Opcode.START)
    before = seqs(fw.advance(60.0))
    fw.on_disconnect()
    fw.advance(360.0)  # a 5-minute outage; the ring holds 2 minutes
    fw.on_connect()
    fw.set_notifying(True)
    live = seqs(fw.advance(361.0))
    _, status, payload = cmd(fw, Opcode.RESEND, before[-1] + 1, live[0] - 1)
    first, last = struct.unpack("<II", payload)
    assert status == Status.OK and last == live[0] - 1
    backfill = seqs(fw.advance(361.0))
    lost = set(range(live[-1] + 1)) - set(before) - set(backfill) - set(live)
    assert lost == set(range(before[-1] + 1, first))
    assert len(backfill) == fw.ring_capacity_packets - len(live)


def test_finite_source_ends_streaming_after_a_partial_packet():
    fw = make(ConstantSource(duration_s=10.1))
    cmd(fw, Opcode.START)
    pkts = [decode_data_packet(p) for p in fw.advance(20.0)]
    # samples k / 50 s < 10.1 s: k = 0..504, i.e. 20 full packets and one of 5
    assert [p.n for p in pkts] == [25] * 20 + [5]
    assert not fw.streaming and fw.source_ended
    assert cmd(fw, Opcode.START)[1] == Status.BUSY
    held = make(ConstantSource(duration_s=10.0), end_of_source="hold")
    cmd(held, Opcode.START)
    assert len(held.advance(20.0)) == 40 and held.streaming


def test_clipping_is_flagged():
    fw = make(FunctionSource(lambda t: np.tile([3.0, 0.0, -2.5], (len(t), 1))), range_g=2)
    cmd(fw, Opcode.START)
    pkt = decode_data_packet(fw.advance(1.0)[0])
    assert pkt.flags & Flags.CLIPPED
    assert pkt.samples[0].tolist() == [32767, 0, -32768]


def test_battery_drains_and_the_device_switches_off():
    fw = make(battery_pct=100.0, battery_drain_pct_per_h=3.0)
    cmd(fw, Opcode.START)
    fw.advance(8 * 3600.0)
    assert fw.battery_pct == 76
    low = make(battery_pct=1.0, battery_drain_pct_per_h=3.0)
    cmd(low, Opcode.START)
    pkts = low.advance(3600.0)
    assert not low.powered and not low.streaming and low.battery_pct == 0
    assert len(pkts) == pytest.approx(1200 * 2, abs=2)  # 20 minutes at 2 packets/s
    assert low.advance(7200.0) == []


def test_config_validation():
    with pytest.raises(ConfigError, match="rate_hz"):
        FirmwareConfig(rate_hz=60)
    with pytest.raises(ConfigError, match="ring_s"):
        FirmwareConfig(ring_s=60.0)
    with pytest.raises(ConfigError, match="end_of_source"):
        FirmwareConfig(end_of_source="loop")
    cfg = FirmwareConfig(rate_hz=100, ring_s=300.0)
    assert FirmwareConfig.from_dict(cfg.to_dict()) == cfg
