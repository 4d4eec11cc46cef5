"""Sequence accounting: holes, backfill, duplicates, garbage, wrap-around and stream restarts."""

from __future__ import annotations

import numpy as np
import pytest

from lmdetect.adapters.base import DecodedPacket
from lmdetect.collector.gaps import StreamTracker, Verdict, unwrap

TICK_HZ = 32768
FS = 50
N = 25  # samples per packet
TPS = TICK_HZ / FS
TPP = N * TPS  # ticks per packet: 16384
U32 = 0xFFFFFFFF
H0 = 1_780_000_000 * 10**9


def tracker(**kw) -> StreamTracker:
    opts = dict(seq_bits=32, tick_bits=32, tick_hz=TICK_HZ, fs_hz=FS, max_samples_per_packet=38)
    opts.update(kw)
    return StreamTracker(**opts)


def pkt(seq: int, *, tick0: int = 0, n: int = N, flags: int = 0, tick: int | None = None) -> DecodedPacket:
    t = tick0 + round(seq * TPP) if tick is None else tick
    return DecodedPacket(seq=seq & U32, tick=t & U32, counts=np.full((n, 3), seq % 100, np.int16), flags=flags)


def host(seq: int, delay_s: float = 0.05) -> int:
    """Host receive time of live packet ``seq`` (sent when its last sample was taken)."""
    return H0 + int(((seq + 1) * N / FS + delay_s) * 1e9)


def started(t: StreamTracker, *, tick_now: int = 0, first_seq: int = 0) -> StreamTracker:
    t.begin_epoch(resumed=False, next_seq=first_seq, first_seq=first_seq, tick_now=tick_now, host_ns=H0)
    return t


def feed(t: StreamTracker, p: DecodedPacket, h: int):
    """Offer one packet; the verdict on it (None while a new stream is still on probation)."""
    out = t.offer(p, h)
    if not t.anchored or not out:
        return None, None
    return out[-1]


def live(t: StreamTracker, seqs) -> list:
    """Offer live packets ``seqs``; all verdicts released, in order."""
    out = []
    for s in seqs:
        out += t.offer(pkt(s), host(s))
    return out


def test_unwrap_picks_the_nearest_value():
    assert unwrap(5, 2**32 - 3, 32) == 2**32 + 5
    assert unwrap(2**32 - 3, 2**32 + 5, 32) == 2**32 - 3
    assert unwrap(7, None, 32) == 7 and unwrap(10**15, 3, None) == 10**15


def test_in_order_stream_has_no_holes_and_counts_samples():
    t = started(tracker())
    assert t.offer(pkt(0), host(0)) == []  # a new stream is anchored on two agreeing packets
    out = live(t, range(1, 100))
    assert [v for v, _ in out] == [Verdict.NEW] * 100
    for s, (_v, acc) in enumerate(out):
        assert acc.seq == s and acc.tick == round(s * TPP) and not acc.backfill
    assert t.holes() == [] and t.stats.packets == 100 and t.stats.samples == 100 * N


def test_a_lost_packet_becomes_a_hole_is_requested_and_filled_by_its_resend():
    t = started(tracker())
    live(t, [0, 1, 2, 4, 5])
    assert t.holes() == [(3, 3)]
    now = host(5)
    assert t.due_requests(now, retry_after_ns=3 * 10**9, max_attempts=5) == [(3, 3)]
    assert t.due_requests(now + 10**9, 3 * 10**9, 5) == []  # not again before the retry time
    v, acc = feed(t, pkt(3, flags=0x01), now + 10**8)
    assert v is Verdict.BACKFILL and acc.backfill and acc.seq == 3
    assert t.holes() == [] and t.stats.backfilled_packets == 1 and t.stats.lost_packets == 0


def test_duplicates_are_dropped_and_counted():
    t = started(tracker())
    live(t, range(5))
    v, acc = feed(t, pkt(2, flags=0x01), host(5))
    assert v is Verdict.DUPLICATE and acc is None
    v, _ = feed(t, pkt(4), host(5))
    assert v is Verdict.DUPLICATE and t.stats.duplicates == 2 and t.stats.packets == 5


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda: pkt(5000, tick=round(10 * TPP)), id="sequence jump, tick of the next packet"),
        pytest.param(lambda: pkt(10, tick=123456789), id="right sequence, random tick"),
        pytest.param(lambda: pkt(7, tick=round(9 * TPP)), id="backfill with a wrong tick"),
        pytest.param(lambda: pkt(200), id="consistent but ahead of the host clock"),
    ],
)
def test_implausible_packets_are_rejected_and_do_not_disturb_the_stream(bad):
    t = started(tracker())
    live(t, [*range(7), 8, 9])
    v, acc = feed(t, bad(), host(9) + 10**8)
    assert v is Verdict.IMPLAUSIBLE and acc is None and t.stats.implausible == 1
    assert t.holes() == [(7, 7)]
    for s in range(10, 13):
        assert feed(t, pkt(s), host(s))[0] is Verdict.NEW
    assert feed(t, pkt(7, flags=0x01), host(13))[0] is Verdict.BACKFILL


def test_sequence_numbers_and_ticks_unwrap_across_the_32_bit_boundary():
    s0 = 2**32 - 3
    tick0 = 2**32 - 40000
    t = tracker()
    t.begin_epoch(resumed=False, next_seq=s0, first_seq=s0, tick_now=tick0, host_ns=H0)
    out = []
    for k in range(6):
        out += t.offer(pkt(s0 + k, tick=tick0 + round(k * TPP)), host(k))
    assert [v for v, _ in out] == [Verdict.NEW] * 6
    assert [a.seq for _, a in out] == [s0 + k for k in range(6)]
    assert [a.tick for _, a in out] == [tick0 + round(k * TPP) for k in range(6)]  # past 2**32
    assert t.wire_seq(2**32 + 1) == 1


def test_resend_reply_declares_evicted_packets_lost_with_their_exact_extent():
    t = started(tracker())
    live(t, [*range(10), *range(100, 103)])  # 90 packets missed during an outage
    assert t.holes() == [(10, 99)]
    [(a, b)] = t.due_requests(host(103), 3 * 10**9, 5)
    t.apply_resend_reply(a, b, (50, 99))  # the ring buffer starts at packet 50
    assert t.holes() == [(50, 99)]
    [lost] = t.lost
    assert (lost.first_seq, lost.last_seq, lost.n_packets) == (10, 49, 40)
    assert lost.n_samples == 40 * N
    assert lost.start_tick == round(10 * TPP) and lost.end_tick == round(50 * TPP)
    for s in range(50, 100):
        assert feed(t, pkt(s, flags=0x01), host(103))[0] is Verdict.BACKFILL
    assert t.holes() == [] and t.stats.lost_packets == 40


def test_nothing_left_in_the_ring_and_exhausted_retries_both_end_as_lost():
    t = started(tracker())
    live(t, [0, 1, 5, 6, 10])
    reqs = t.due_requests(host(10), 10**9, 2)
    assert reqs == [(2, 4), (7, 9)]
    t.apply_resend_reply(2, 4, None)
    assert t.holes() == [(7, 9)]
    assert t.due_requests(host(10) + 2 * 10**9, 10**9, 2) == [(7, 9)]
    assert t.due_requests(host(10) + 4 * 10**9, 10**9, 2) == []  # third time: given up
    assert [(lr.first_seq, lr.last_seq) for lr in t.lost] == [(2, 4), (7, 9)]
    assert t.stats.lost_packets == 6 and t.holes() == []
    # a packet that turns up after all is still welcome
    assert feed(t, pkt(8, flags=0x01), host(11))[0] is Verdict.BACKFILL
    assert t.stats.lost_packets == 5


def test_resumed_stream_reserves_the_outage_as_a_hole():
    t = started(tracker())
    live(t, range(20))
    # 30 s outage: 60 packets were sent meanwhile; the sensor reports its next seq 80
    t.begin_epoch(resumed=True, next_seq=80, tick_now=round(80 * TPP), host_ns=host(79))
    assert t.holes() == [(20, 79)]
    assert feed(t, pkt(80), host(80))[0] is Verdict.NEW
    for s in range(20, 80):
        assert feed(t, pkt(s, flags=0x01), host(81))[0] is Verdict.BACKFILL
    assert t.holes() == [] and t.stats.backfilled_packets == 60


def test_restarted_stream_continues_the_numbering_and_records_the_time_gap():
    t = started(tracker())
    live(t, range(10))
    assert t.due_requests(host(10), 10**9, 5) == []
    # the sensor was stopped and started again 60 s later: seq from 0, clock continued
    restart_tick = round(10 * TPP) + 60 * TICK_HZ
    t.begin_epoch(resumed=False, next_seq=0, first_seq=0, tick_now=restart_tick, host_ns=host(9) + 60 * 10**9)
    assert t.offer(pkt(0, tick=restart_tick), host(9) + 61 * 10**9) == []
    out = t.offer(pkt(1, tick=restart_tick + round(TPP)), host(9) + 62 * 10**9)
    assert [v for v, _ in out] == [Verdict.NEW, Verdict.NEW]
    assert [(a.seq, a.tick) for _, a in out] == [(10, restart_tick), (11, restart_tick + round(TPP))]
    [gap] = t.lost
    assert gap.n_packets == 0 and gap.n_samples == 60 * FS and gap.reason.startswith("the sensor restarted")


def test_a_reset_sensor_clock_is_continued_from_the_host_clock():
    t = started(tracker(), tick_now=5_000_000)
    for s in range(10):
        t.offer(pkt(s, tick0=5_000_000), host(s))
    assert t.stats.packets == 10
    # sensor rebooted: its clock restarts near 0, 100 s of host time later
    t.begin_epoch(resumed=False, next_seq=0, first_seq=0, tick_now=100, host_ns=host(9) + 100 * 10**9)
    t.offer(pkt(0, tick=100), host(9) + 100 * 10**9 + 10**7)
    (v, acc), _ = t.offer(pkt(1, tick=100 + round(TPP)), host(9) + 100 * 10**9 + 6 * 10**8)
    assert v is Verdict.NEW
    last_before = 5_000_000 + round(9 * TPP) + (N - 1) * TPS
    assert acc.tick - last_before == pytest.approx(100 * TICK_HZ, abs=0.1 * TICK_HZ)


def test_without_an_expectation_garbage_cannot_become_the_anchor():
    t = tracker()
    t.begin_epoch(resumed=False, next_seq=None, tick_now=None, host_ns=H0)
    assert t.offer(pkt(77777, tick=999_999_999), H0) == []  # held on probation
    assert t.offer(pkt(0), host(0)) == []
    assert t.offer(pkt(1), host(1)) == []  # without a report from the sensor, three in a row
    out = t.offer(pkt(2), host(2))
    verdicts = [v for v, _ in out]
    assert verdicts.count(Verdict.NEW) == 3 and verdicts.count(Verdict.IMPLAUSIBLE) == 1
    assert [a.seq for v, a in out if a is not None] == [0, 1, 2]


def test_fifo_overflow_allows_a_larger_tick_step_and_is_counted():
    t = started(tracker())
    live(t, [0, 1])
    v, _ = feed(t, pkt(2, tick=round(2 * TPP) + 10 * round(TPS)), host(2))
    assert v is Verdict.IMPLAUSIBLE  # ten samples missing without the flag: not this stream
    v, acc = feed(t, pkt(2, tick=round(2 * TPP) + 10 * round(TPS), flags=0x02), host(2))
    assert v is Verdict.NEW and t.stats.fifo_overflows == 1


def test_unsequenced_stream_finds_gaps_in_the_timestamps():
    tps = 1e9 / 52  # Polar-like: ns ticks at 52 Hz
    t = tracker(seq_bits=None, tick_bits=64, tick_hz=10**9, fs_hz=52, max_samples_per_packet=512)
    t.begin_epoch(resumed=False, next_seq=None, tick_now=None, host_ns=H0)
    t0 = 800_000_000 * 10**9

    def frame(k: int, n: int = 36) -> DecodedPacket:
        ticks = t0 + np.rint((k * 36 + np.arange(n)) * tps).astype(np.int64)
        return DecodedPacket(seq=None, tick=int(ticks[0]), counts=np.zeros((n, 3), np.int16), sample_ticks=ticks)

    h = lambda k: H0 + int((k + 1) * 36 / 52 * 1e9) + 10**7  # noqa: E731
    assert t.offer(frame(0), h(0)) == [] and t.offer(frame(1), h(1)) == []
    out = t.offer(frame(2), h(2))
    assert [(v, a.seq) for v, a in out] == [(Verdict.NEW, 0), (Verdict.NEW, 1), (Verdict.NEW, 2)]
    assert feed(t, frame(1), h(3))[0] is Verdict.DUPLICATE
    v, acc = feed(t, frame(5), h(5))  # frames 3 and 4 never came
    assert v is Verdict.NEW and acc.seq == 3
    [gap] = t.lost
    assert gap.n_samples == 72 and gap.n_packets == 0
    assert feed(t, frame(4), h(6))[0] is Verdict.IMPLAUSIBLE  # too late: PMD cannot resend
    assert t.stats.lost_samples == 72


def test_resume_from_a_file_tail_requests_its_holes():
    t = tracker()
    tail = [(s, round(s * TPP), N) for s in range(100) if s not in (40, 41, 97)]
    t.resume_from(tail, host(99), ring_packets=50)
    assert t.holes() == [(97, 97)]  # 40-41 are older than the ring: not worth asking
    t.begin_epoch(resumed=True, next_seq=103, tick_now=round(103 * TPP), host_ns=host(102))
    assert t.holes() == [(97, 97), (100, 102)]
    assert feed(t, pkt(103), host(103))[0] is Verdict.NEW


# --------------------------------------------------------------------------- property test
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_events = st.lists(
    st.one_of(
        st.tuples(st.just("live"), st.integers(0, 3)),  # next packets, 0-3 of them lost
        st.tuples(st.just("resend"), st.integers(0, 400)),
        st.tuples(st.just("dup"), st.integers(0, 400)),
        st.tuples(st.just("seq"), st.integers(-(2**32), 2**32)),
        st.tuples(st.just("tick"), st.integers(0, 2**32 - 1)),
        st.tuples(st.just("reply"), st.integers(0, 400)),
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(events=_events)
def test_no_packet_sequence_breaks_the_accounting(events):
    t = started(tracker())
    nxt, h = 0, H0
    written: list[int] = []
    for kind, arg in events:
        h += 5 * 10**8
        if kind == "live":
            nxt += arg
            p, nxt = pkt(nxt), nxt + 1
        elif kind in ("resend", "dup"):
            p = pkt(arg % max(nxt, 1), flags=0x01 if kind == "resend" else 0)
        elif kind == "seq":
            p = pkt(nxt, tick=round(nxt * TPP))
            p = DecodedPacket(seq=(nxt + arg) & U32, tick=p.tick, counts=p.counts)
        elif kind == "tick":
            p = pkt(nxt, tick=arg)
        else:
            for a, b in t.due_requests(h, 10**9, 3):
                t.apply_resend_reply(a, b, None if arg % 3 == 0 else (a + arg % 7, b))
            continue
        h = max(h, host(nxt - 1))
        for _verdict, acc in t.offer(p, h):
            if acc is not None:
                written.append((acc.seq, acc.tick))
    seqs = [q for q, _ in written]
    assert len(seqs) == len(set(seqs))  # nothing written twice
    ticks = [tk for _, tk in sorted(written)]
    assert all(b > a for a, b in zip(ticks, ticks[1:], strict=False))  # time runs with the sequence
    # the brief's fuzz (jumps of a real packet's sequence number) never gets through
    assert all(abs(tk - round(q * TPP)) < 40 * TPP for q, tk in written)
    written = seqs
    holes = t.holes()
    assert all(a <= b for a, b in holes)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(holes, holes[1:], strict=False))  # disjoint, sorted
    assert not set(written) & {s for a, b in holes for s in range(a, b + 1)}
    st_ = t.stats
    assert st_.packets == len(written) and st_.lost_packets >= 0
