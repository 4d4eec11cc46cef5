"""The Movesense-like GSP device: commands, results, data notifications, parts, the millisecond clock.

The notifications are read back here with a plain decoder written in the test from GD-77 and the
sample client (join ``part1 + part2[2:] + part3[2:]``, then ``u32`` ms and float32 x, y, z in m/s²),
independently of both the encoder and the collector's adapter.
"""

from __future__ import annotations

import argparse
import math
import struct

import numpy as np
import pytest

from firmware_sim import serve
from firmware_sim.bluez import MovesensePeripheral
from firmware_sim.bluez.gsp import GSP_NOTIFY_UUID, GSP_SERVICE_UUID, GSP_WRITE_UUID, MovesenseGspFirmware
from firmware_sim.faults import FaultPlan
from firmware_sim.sources import FunctionSource
from lmdetect import protocol as p
from lmdetect.errors import ConfigError

G = 9.80665
NAME, ADDRESS = "Movesense 220330000122", "C0:FF:EE:00:00:03"


def accel(t: np.ndarray) -> np.ndarray:
    return np.stack([0.3 * np.sin(t), 0.1 * np.cos(2 * t), np.full_like(t, 0.98)], 1)


def device(**kw) -> MovesenseGspFirmware:
    fw = MovesenseGspFirmware(FunctionSource(accel), **kw)
    fw.on_connect()
    fw.set_notifying(True)
    return fw


def sub(rate: int, ref: int = 99) -> bytes:
    return bytes([1, ref]) + f"/Meas/Acc/{rate}".encode()


def spec_join(notes: list[bytes]) -> list[tuple[int, int, np.ndarray]]:
    """(reference, timestamp, samples in m/s²) of every data packet, parts joined."""
    out: list[bytearray] = []
    for n in notes:
        if n[0] == 2:
            out.append(bytearray(n))
        elif n[0] in (3, 4):
            out[-1] += n[2:]
    result = []
    for b in out:
        (ts,) = struct.unpack_from("<I", b, 2)
        vals = np.frombuffer(bytes(b[6:]), "<f4").astype(np.float64)
        assert vals.size % 3 == 0
        result.append((b[1], ts, vals.reshape(-1, 3)))
    return result


def result(ref: int, status: int) -> bytes:
    return bytes([1, ref]) + struct.pack("<H", status)


# --------------------------------------------------------------------------- commands
def test_commands_and_their_results():
    fw = device()
    assert fw.handle_command(bytes([0, 7])) == [bytes([1, 7]) + b"Hello"]
    assert fw.handle_command(sub(52)) == [result(99, 200)]
    assert fw.streaming and fw.rate_hz == 52
    assert fw.handle_command(sub(104)) == [result(99, 409)]  # reference already in use
    assert fw.handle_command(sub(50, ref=5)) == [result(5, 404)]  # not a Movesense rate
    assert fw.handle_command(bytes([1, 6]) + b"/Meas/Gyro/52") == [result(6, 404)]  # not offered
    assert fw.handle_command(bytes([1, 0]) + b"/Meas/Acc/52") == [result(0, 400)]  # reference 0
    assert fw.handle_command(bytes([9, 8])) == [result(8, 400)]  # unknown command
    assert fw.handle_command(bytes([2, 42])) == [result(42, 404)]  # nothing subscribed as 42
    assert fw.handle_command(bytes([2, 99])) == [result(99, 200)] and not fw.streaming
    assert fw.handle_command(b"\x01") == []  # no reference to answer to


def test_the_path_may_omit_the_leading_slash_and_slots_run_out():
    fw = device(max_subscriptions=2)
    assert fw.handle_command(bytes([1, 1]) + b"Meas/Acc/13") == [result(1, 200)]
    assert fw.handle_command(sub(26, ref=2)) == [result(2, 200)]
    assert fw.handle_command(sub(52, ref=3)) == [result(3, 507)]


def test_quiet_firmware_answers_only_failures_and_nothing_reaches_a_deaf_central():
    fw = device(ack_commands=False)
    assert fw.handle_command(sub(52)) == [] and fw.streaming
    assert fw.handle_command(sub(52)) == [result(99, 409)]
    fw.set_notifying(False)
    assert fw.handle_command(bytes([0, 7])) == []
    assert fw.advance(5.0) == [] and fw.stats["undelivered"] > 0


# --------------------------------------------------------------------------- data
def test_data_carry_the_source_with_millisecond_timestamps_of_the_drifting_clock():
    fw = device(faults=FaultPlan(drift_ppm=40.0), clock_ms0=1_000_000)
    fw.advance(3.0)
    fw.handle_command(sub(52))
    packets = spec_join(fw.advance(63.0))
    assert {ref for ref, _, _ in packets} == {99}
    assert {s.shape[0] for _, _, s in packets} == {4}  # round(52 / 13) samples a notification
    s = fw.subscriptions[0]
    assert sum(x.shape[0] for _, _, x in packets) == s.samples == pytest.approx(60 * 52, abs=8)
    ts = np.array([t for _, t, _ in packets], dtype=np.float64)
    # the first sample's device time, truncated to whole ms, on a clock that runs 40 ppm fast
    first_ms = s.sample_ms(np.arange(len(packets)) * 4)
    np.testing.assert_array_equal(ts, 1_000_000 + np.floor(first_ms))
    dev_s = (ts[-1] - ts[0]) / 1000
    true_s = fw.true_time_s(ts[-1]) - fw.true_time_s(ts[0])
    assert dev_s / true_s == pytest.approx(1 + 40e-6, abs=2e-6)
    # float32 m/s² of the source at each sample's true time
    k = np.arange(len(packets) * 4)
    t_true = fw.clock.time_at(s.sample_ms(k)) - fw.source_origin_s
    samples = np.concatenate([x for _, _, x in packets])
    np.testing.assert_allclose(samples / G, accel(t_true), atol=1e-6)
    assert t_true[0] == pytest.approx(0.0, abs=1e-9)


def test_long_data_go_out_in_two_or_three_parts():
    fw = device()
    fw.handle_command(sub(208))
    notes = fw.advance(2.0)
    assert {len(n) for n in notes if n[0] == 2} == {158}  # MTU 161: 158 bytes a notification
    assert [n[0] for n in notes[:4]] == [2, 3, 2, 3]
    packets = spec_join(notes)
    assert {x.shape[0] for _, _, x in packets} == {16}
    # a small MTU needs part 3 too (type 4)
    small = device(mtu=60, samples_per_packet=12)
    small.handle_command(sub(104))
    notes = small.advance(1.0)
    assert [n[0] for n in notes[:4]] == [2, 3, 4, 2] and max(len(n) for n in notes) <= 57
    assert {x.shape[0] for _, _, x in spec_join(notes)} == {12}
    with pytest.raises(ConfigError, match="three parts at MTU 60"):
        MovesenseGspFirmware(FunctionSource(accel), mtu=60, samples_per_packet=20)


def test_rate_error_and_clipping_at_the_range():
    fw = device(rate_error=0.02, range_g=2)
    fw.handle_command(sub(26))
    packets = spec_join(fw.advance(11.0))
    n = sum(x.shape[0] for _, _, x in packets)
    assert n == pytest.approx(11 * 26 * 1.02, abs=3)  # 2 % more samples than at 26 Hz
    hot = MovesenseGspFirmware(FunctionSource(lambda t: np.tile([3.0, -5.0, 0.5], (t.size, 1))), range_g=2)
    hot.on_connect()
    hot.set_notifying(True)
    hot.handle_command(sub(13))
    x = np.concatenate([v for _, _, v in spec_join(hot.advance(3.0))])
    np.testing.assert_allclose(x[0] / G, [2.0, -2.0, 0.5], atol=1e-6)


def test_the_millisecond_counter_wraps_and_true_time_follows():
    fw = device(clock_ms0=2**32 - 1_500)
    fw.handle_command(sub(13))
    ts = [t for _, t, _ in spec_join(fw.advance(4.0))]
    steps = np.diff(np.array(ts, dtype=np.int64)) % 2**32
    assert ts[0] > 2**32 - 1_500 and ts[-1] < 3_000 and np.all((steps >= 76) & (steps <= 77))
    # wire values and unwrapped ones give the same true time
    assert fw.true_time_s(ts[-1]) == pytest.approx(fw.true_time_s(ts[-1] + 2**32))
    assert fw.true_time_s(ts[-1]) > fw.true_time_s(ts[0])


def test_a_dropped_connection_ends_the_subscription():
    fw = device()
    fw.handle_command(sub(52))
    assert fw.advance(5.0)
    fw.on_disconnect(6.0)
    assert not fw.streaming and fw.stats["undelivered"] > 0
    fw.on_connect()
    fw.set_notifying(True)
    assert fw.advance(10.0) == []  # until the central subscribes again
    fw.handle_command(sub(52))
    assert spec_join(fw.advance(12.0))
    first, second = fw.subscriptions
    assert not first.active and second.active and second.first_ms > 10_000


def test_loss_on_the_air_is_per_notification():
    fw = device(faults=FaultPlan(loss_prob=0.1, seed=5))
    fw.handle_command(sub(208))
    notes = fw.advance(20.0)
    assert fw.stats["lost"] > 0 and fw.stats["sent"] == len(notes)
    assert fw.stats["sent"] + fw.stats["lost"] == fw.stats["notifications"]


def test_bad_settings_are_refused():
    for kw, msg in [
        (dict(range_g=3), "range_g"),
        (dict(mtu=20), "mtu"),
        (dict(clock_ms0=2**32), "clock_ms0"),
        (dict(rate_error=0.5), "rate_error"),
        (dict(rates_hz=(50,)), "rates_hz"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            MovesenseGspFirmware(FunctionSource(accel), **kw)


# --------------------------------------------------------------------------- peripheral
def test_peripheral_gatt_table_name_and_results_on_the_notify_characteristic():
    fw = MovesenseGspFirmware(FunctionSource(accel))
    per = MovesensePeripheral(fw, NAME, ADDRESS)
    assert per.advertised_uuids == [GSP_SERVICE_UUID]
    assert per.manufacturer_data == {0x009F: b"\x00"}  # Suunto Oy
    assert b"firmware_sim" in per.characteristic(p.MANUFACTURER_NAME_UUID).read()
    assert per.characteristic(p.SERIAL_NUMBER_UUID).read() == b"220330000122"
    assert per.characteristic(GSP_WRITE_UUID).flags == ("write",)
    per.on_connect(0.0)
    per.characteristic(GSP_NOTIFY_UUID).on_subscribe(True)
    per.attach_clock(lambda: 1.0)
    assert per.characteristic(GSP_WRITE_UUID).write(sub(52)) is None  # no reply on the write itself
    notes = per.poll(2.0)
    assert notes[0] == (per.data_char, result(99, 200)) and len(notes) > 1
    with pytest.raises(ConfigError, match="12-digit serial"):
        MovesensePeripheral(fw, "Movesense 42", ADDRESS)


def test_serve_offers_the_movesense_device():
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--profile", "control", "--hours", "0.25", "--movesense", "--movesense-range", "16"])
    peripherals = serve.build_peripherals(args)
    [ms] = [x for x in peripherals if isinstance(x, MovesensePeripheral)]
    assert (ms.name, ms.address, ms.firmware.range_g) == ("Movesense 220330000122", "C0:FF:EE:00:00:03", 16)
    assert math.isclose(ms.firmware.rate_hz, 52)
