"""Sequence accounting: which packets arrived, which are missing, which are lost for good.

:class:`StreamTracker` sits between the adapter's decoder and the file writer. For every decoded
packet it decides whether it is the next live packet, a backfill of a hole, a duplicate or an
implausible packet (garbage that happened to parse), and maps the wire sequence number and tick
(32-bit, wrapping) to the file's unwrapped values.

Plausibility rests on two facts of a sample stream: the sensor clock advances by
``n * tick_hz / fs`` ticks per packet of ``n`` samples, and it cannot run ahead of the host clock
by more than the link latency. A packet whose tick disagrees with its sequence number, or that
claims to come from the future, is rejected and counted, never written.

A *hole* is a range of sequence numbers known to be missing (seen as a jump in the live stream,
or reported by the sensor after a reconnect). Holes are requested from the sensor's ring buffer
(:meth:`StreamTracker.due_requests`) until they are filled, the sensor says the packets are no
longer in its buffer, or the retries are used up; then they become *lost* ranges, logged with
their exact extent.

Sensors without sequence numbers (Polar PMD) get consecutive synthetic numbers; their gaps are
found from the timestamps and can only be recorded, not filled.

An *epoch* starts whenever the sensor (re)starts its stream (sequence numbers back to 0): the new
numbers are shifted to continue after the last one in the file, and if the sensor clock jumped
(a reboot), the ticks are shifted to continue the time line from the host clock.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import logging

import numpy as np
from numpy.typing import NDArray

from ..adapters.base import DecodedPacket

__all__ = ["Verdict", "Accepted", "LostRange", "TrackerStats", "StreamTracker", "unwrap"]

log = logging.getLogger(__name__)

_FIFO_OVERFLOW = 0x02
_PROBATION_MAX = 32
#: Live packets held on probation before the start-up report is no longer required to match.
_EXPECT_PATIENCE = 8
#: Packets around the reported next sequence number within which the report is checked.
_EXPECT_MAX_STEP = 64


def unwrap(wire: int, ref: int | None, bits: int | None) -> int:
    """The integer congruent to ``wire`` modulo ``2**bits`` nearest to ``ref``."""
    if bits is None or ref is None:
        return int(wire)
    m = 1 << bits
    d = (int(wire) - ref) % m
    if d >= m >> 1:
        d -= m
    return ref + d


class Verdict(enum.Enum):
    NEW = "new"
    BACKFILL = "backfill"
    DUPLICATE = "duplicate"
    IMPLAUSIBLE = "implausible"


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """A packet to write, with file sequence number and ticks."""

    packet: DecodedPacket
    seq: int
    tick: int
    sample_ticks: NDArray[np.int64] | None
    backfill: bool
    host_ns: int


@dataclasses.dataclass(frozen=True)
class LostRange:
    """Packets (or, for sensors without sequence numbers, samples) that will never arrive.

    ``first_seq``/``last_seq`` are file sequence numbers (inclusive; for time gaps of sensors
    without sequence numbers both are the number of the packet after the gap). ``start_tick`` and
    ``end_tick`` bound the missing time on the file's tick scale when known.
    """

    first_seq: int
    last_seq: int
    n_packets: int
    n_samples: int | None
    start_tick: int | None
    end_tick: int | None
    reason: str


@dataclasses.dataclass
class TrackerStats:
    packets: int = 0
    samples: int = 0
    backfilled_packets: int = 0
    backfilled_samples: int = 0
    duplicates: int = 0
    implausible: int = 0
    lost_packets: int = 0
    lost_samples: int = 0
    fifo_overflows: int = 0
    epochs: int = 0


@dataclasses.dataclass
class _Hole:
    first: int
    last: int
    found_ns: int
    attempts: int = 0
    requested_ns: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Expect:
    """What the sensor reported when the stream was (re)started: the wire number of the next
    packet at the moment its clock read ``tick_now``, and the first number of a new stream."""

    next_seq: int | None
    tick_now: int | None
    first_seq: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Seen:
    seq: int
    tick: int
    n: int
    last_tick: int
    overflow: bool = False


class StreamTracker:
    """Accounts the packets of one sensor stream (see the module docstring).

    Parameters
    ----------
    seq_bits, tick_bits : int or None
        Wire widths (``None`` seq_bits: the sensor has no sequence numbers).
    tick_hz, fs_hz : float
        Sensor tick rate and nominal sampling rate, Hz.
    max_samples_per_packet : int
        Upper bound on samples in one packet.
    window_packets : int
        Recently accepted packets remembered for duplicate and consistency checks; should exceed
        the sensor's ring buffer.
    future_slack_s : float
        How far (host seconds) a packet's tick may run ahead of the host clock since the last
        live packet, beyond the elapsed time (link latency, scheduling).
    clock_jump_s : float
        A new stream whose clock disagrees with the host clock by more than this has had its
        clock reset; its ticks are shifted to continue the time line.
    """

    def __init__(
        self,
        *,
        seq_bits: int | None,
        tick_bits: int,
        tick_hz: float,
        fs_hz: float,
        max_samples_per_packet: int,
        window_packets: int = 8192,
        future_slack_s: float = 5.0,
        clock_jump_s: float = 120.0,
    ) -> None:
        self.seq_bits = seq_bits
        self.tick_bits = tick_bits
        self.tick_hz = float(tick_hz)
        self.tps = float(tick_hz) / float(fs_hz)  # ticks per sample
        self.max_n = int(max_samples_per_packet)
        self.window = int(window_packets)
        self.future_slack_ticks = future_slack_s * self.tick_hz + self.max_n * self.tps
        self.clock_jump_ticks = clock_jump_s * self.tick_hz
        self.stats = TrackerStats()
        self.lost: list[LostRange] = []
        self.highest: int | None = None
        self._seen: list[_Seen] = []
        self._seen_seqs: list[int] = []
        self._seen_ticks: dict[int, int] = {}
        self._holes: list[_Hole] = []
        self._lost_ranges: list[tuple[int, int]] = []
        self._seq_off = 0
        self._tick_off = 0
        self._ref_seq_u: int | None = None
        self._ref_tick_u: int | None = None
        self._live_ref: tuple[int, int] | None = None  # (file tick, host ns) of the last live packet
        self._anchored = False
        self._expect: _Expect | None = None
        self._expect_host_ns = 0
        self._new_epoch = False
        self._probation: list[tuple[DecodedPacket, int]] = []

    # ------------------------------------------------------------------ queries
    @property
    def has_seq(self) -> bool:
        return self.seq_bits is not None

    @property
    def anchored(self) -> bool:
        return self._anchored

    def holes(self) -> list[tuple[int, int]]:
        """Outstanding holes as (first, last) file sequence numbers."""
        return [(h.first, h.last) for h in self._holes]

    def missing_packets(self) -> int:
        return sum(h.last - h.first + 1 for h in self._holes)

    def file_tick(self, wire_tick: int) -> int | None:
        """File tick of a wire tick read from the sensor clock now (None before the stream is anchored)."""
        if not self._anchored:
            return None
        return unwrap(wire_tick, self._ref_tick_u, self.tick_bits) + self._tick_off

    def wire_seq(self, file_seq: int) -> int:
        """Wire sequence number of a file sequence number in the current epoch."""
        assert self.seq_bits is not None
        return (file_seq - self._seq_off) & ((1 << self.seq_bits) - 1)

    # ------------------------------------------------------------------ set-up
    def resume_from(self, packets: list[tuple[int, int, int]], host_ns: int | None, *, ring_packets: int = 0) -> None:
        """Continue a file: ``packets`` are its last (seq, tick, n) in seq order; ``host_ns`` the
        host receive time of the last one (None if unknown).

        Missing sequence numbers among the last ``ring_packets`` become holes, to be requested.
        """
        if not packets:
            return
        for seq, tick, n in packets[-self.window :]:
            self._remember(seq, tick, n, tick + (n - 1) * self.tps)
        last_seq, last_tick, last_n = packets[-1]
        self.highest = last_seq
        self._ref_seq_u = last_seq if self.has_seq else None
        self._ref_tick_u = last_tick
        self._live_ref = (int(round(last_tick + (last_n - 1) * self.tps)), host_ns) if host_ns is not None else None
        self._anchored = True
        if self.has_seq and ring_packets > 0:
            seqs = [p[0] for p in packets if p[0] > last_seq - ring_packets]
            for a, b in zip(seqs, seqs[1:], strict=False):
                if b > a + 1:
                    self._add_hole(a + 1, b - 1, 0)

    def resume_before(self, first_seq: int, first_tick: int) -> None:
        """Continue a file that has a header and no sample: the night began with packet
        ``first_seq`` (file numbering) at sensor tick ``first_tick``, so every packet from it on
        is expected (requested from the sensor's buffer when the continued stream starts later)."""
        self.highest = first_seq - 1
        self._ref_seq_u = first_seq - 1 if self.has_seq else None
        self._ref_tick_u = first_tick
        self._live_ref = None
        self._anchored = True

    def begin_epoch(
        self,
        *,
        resumed: bool,
        next_seq: int | None,
        tick_now: int | None,
        host_ns: int,
        first_seq: int | None = None,
    ) -> None:
        """A stream was started (``resumed`` False) or continued on a new connection.

        ``next_seq``: wire number of the next live packet (sensor's report); ``first_seq``: wire
        number of the first packet of a stream that was just started; ``tick_now``: the sensor
        clock at (re)start.
        """
        if resumed and self._anchored and self.has_seq and next_seq is not None:
            n_u = unwrap(next_seq, self._ref_seq_u, self.seq_bits)
            n_f = n_u + self._seq_off
            ok = n_f >= (self.highest or 0) - self.window
            if ok and tick_now is not None and self._live_ref is not None:
                t_f = unwrap(tick_now, self._ref_tick_u, self.tick_bits) + self._tick_off
                ref_tick, ref_host = self._live_ref
                elapsed = (host_ns - ref_host) * self.tick_hz / 1e9
                ok = abs(t_f - ref_tick - elapsed) <= self.clock_jump_ticks
                if ok:
                    self._live_ref = (t_f, host_ns)
            if ok:
                if self.highest is not None and n_f > self.highest + 1:
                    self._add_hole(self.highest + 1, n_f - 1, host_ns)
                    log.info("sensor reports packets %d..%d sent during the outage", self.highest + 1, n_f - 1)
                return
            log.warning("the running stream does not continue the recorded one: treating it as a new stream")
        # A (re)started stream: its ring buffer no longer holds our holes.
        for h in list(self._holes):
            self._give_up(h.first, h.last, "the sensor restarted its stream before they were resent")
        self._holes.clear()
        self._anchored = False
        self._new_epoch = self.highest is not None
        if next_seq is None and first_seq is None:
            self._expect = None
        else:
            self._expect = _Expect(next_seq, tick_now, first_seq if first_seq is not None else next_seq)
        self._expect_host_ns = host_ns
        self._probation.clear()
        self.stats.epochs += 1

    # ------------------------------------------------------------------ packets
    def offer(self, pkt: DecodedPacket, host_ns: int) -> list[tuple[Verdict, Accepted | None]]:
        """Judge one decoded packet; returns the verdicts of it and of any packets it released."""
        if self._anchored:
            return [self._judge(pkt, host_ns)]
        return self._offer_probation(pkt, host_ns)

    def _map(self, pkt: DecodedPacket, ref_seq: int | None, ref_tick: int | None) -> tuple[int | None, int, int]:
        seq_u = unwrap(pkt.seq, ref_seq, self.seq_bits) if (self.has_seq and pkt.seq is not None) else None
        tick_u = unwrap(pkt.tick, ref_tick, self.tick_bits)
        return seq_u, tick_u, tick_u + self._tick_off

    def _sample_ticks(self, pkt: DecodedPacket, tick_u: int) -> NDArray[np.int64] | None:
        if pkt.sample_ticks is None:
            return None
        return pkt.sample_ticks.astype(np.int64) - int(pkt.tick) + (tick_u + self._tick_off)

    def _last_tick(self, pkt: DecodedPacket, tick_f: int, st: NDArray[np.int64] | None) -> float:
        return float(st[-1]) if st is not None else tick_f + (pkt.n - 1) * self.tps

    def _future_ok(self, tick_f: float, host_ns: int) -> bool:
        if self._live_ref is None:
            return True
        ref_tick, ref_host = self._live_ref
        elapsed = max(0.0, (host_ns - ref_host) * self.tick_hz / 1e9)
        return tick_f - ref_tick <= elapsed * 1.001 + self.future_slack_ticks

    def _judge(self, pkt: DecodedPacket, host_ns: int) -> tuple[Verdict, Accepted | None]:
        if pkt.n < 1:
            return self._reject(pkt, "empty packet")
        seq_u, tick_u, tick_f = self._map(pkt, self._ref_seq_u, self._ref_tick_u)
        st = self._sample_ticks(pkt, tick_u)
        if not self.has_seq:
            return self._judge_unsequenced(pkt, host_ns, tick_u, tick_f, st)
        if seq_u is None:
            return self._reject(pkt, "no sequence number")
        seq_f = seq_u + self._seq_off
        hole = self._hole_index(seq_f)
        if hole is not None or self._in_lost(seq_f):
            if not self._consistent_with_neighbours(seq_f, tick_f, pkt):
                return self._reject(pkt, f"seq {seq_f} tick {tick_f} inconsistent with its neighbours")
            if hole is not None:
                self._fill_hole(hole, seq_f)
            else:
                self._unlose(seq_f)
            return self._accept(pkt, seq_f, seq_u, tick_u, tick_f, st, host_ns, backfill=True)
        if self.highest is None:  # only the anchor of the first stream gets here
            return self._accept(pkt, seq_f, seq_u, tick_u, tick_f, st, host_ns, backfill=False)
        if seq_f <= self.highest:
            i = bisect.bisect_left(self._seen_seqs, seq_f)
            if i < len(self._seen_seqs) and self._seen_seqs[i] == seq_f:
                return self._dup(pkt)
            if self._seen_seqs and seq_f > self._seen_seqs[0]:
                # inside the remembered window, yet neither seen nor missing: not a real packet
                return self._reject(pkt, f"seq {seq_f} was never missing")
            return self._dup(pkt)
        if pkt.resent:
            return self._reject(pkt, f"resent packet {seq_f} beyond the newest one ({self.highest})")
        if not self._consistent_with_neighbours(seq_f, tick_f, pkt):
            return self._reject(pkt, f"seq {seq_f} does not match tick {tick_f}")
        if not self._future_ok(tick_f, host_ns):
            return self._reject(pkt, f"tick {tick_f} is ahead of the host clock")
        if seq_f > self.highest + 1:
            self._add_hole(self.highest + 1, seq_f - 1, host_ns)
        return self._accept(pkt, seq_f, seq_u, tick_u, tick_f, st, host_ns, backfill=False)

    def _judge_unsequenced(
        self, pkt: DecodedPacket, host_ns: int, tick_u: int, tick_f: int, st: NDArray[np.int64] | None
    ) -> tuple[Verdict, Accepted | None]:
        if tick_f in self._seen_ticks:
            return self._dup(pkt)
        prev = self._seen[-1] if self._seen else None
        if prev is not None and tick_f <= prev.last_tick:
            return self._reject(pkt, f"timestamp {tick_f} not after the previous packet's")
        if not self._future_ok(tick_f, host_ns):
            return self._reject(pkt, f"timestamp {tick_f} is ahead of the host clock")
        seq_f = (self.highest + 1) if self.highest is not None else 0
        if prev is not None:
            missing = (tick_f - (prev.last_tick + self.tps)) / self.tps
            if missing >= 0.5:
                n = int(round(missing))
                self._record_lost(
                    LostRange(seq_f, seq_f, 0, n, int(prev.last_tick + self.tps), tick_f, "no data from the sensor")
                )
        return self._accept(pkt, seq_f, None, tick_u, tick_f, st, host_ns, backfill=False)

    def _tol(self, n: int) -> float:
        """Allowed disagreement (ticks) between one packet's length and its nominal length.

        Half a sample covers tick rounding; 5 % covers an accelerometer whose own oscillator
        (which sets its output data rate) runs off the tick clock.
        """
        return max(0.5 * self.tps + 2, 0.05 * n * self.tps)

    def _consistent_with_neighbours(self, seq_f: int, tick_f: int, pkt: DecodedPacket) -> bool:
        """Does ``tick_f`` fit between the nearest accepted packets below and above ``seq_f``?

        Every packet holds at least one sample, so ``k`` packets later the clock has advanced by at
        least ``k`` sample periods; consecutive packets differ by exactly the earlier one's sample
        count unless the later one reports a FIFO overflow. Further apart, intermediate packets may
        have had overflows, so only a wildly wrong tick is rejected.
        """
        i = bisect.bisect_left(self._seen_seqs, seq_f)
        overflow = bool(pkt.flags & _FIFO_OVERFLOW)
        if i > 0:
            b = self._seen[i - 1]
            k = seq_f - b.seq
            dt = tick_f - b.tick
            tol = self._tol(b.n) + 0.05 * abs(dt)
            if dt < (b.n + k - 1) * self.tps - tol:
                return False
            if k == 1 and not overflow and dt > b.n * self.tps + tol:
                return False
            if dt > 4 * (b.n + (k - 1) * self.max_n) * self.tps + self.future_slack_ticks:
                return False
        j = i + 1 if (i < len(self._seen) and self._seen[i].seq == seq_f) else i
        if j < len(self._seen):
            a = self._seen[j]
            k = a.seq - seq_f
            dt = a.tick - tick_f
            tol = self._tol(pkt.n) + 0.05 * abs(dt)
            if dt < (pkt.n + k - 1) * self.tps - tol:
                return False
            if k == 1 and not a.overflow and dt > pkt.n * self.tps + tol:
                return False
            if dt > 4 * (pkt.n + (k - 1) * self.max_n) * self.tps + self.future_slack_ticks:
                return False
        return True

    def _accept(
        self,
        pkt: DecodedPacket,
        seq_f: int,
        seq_u: int | None,
        tick_u: int,
        tick_f: int,
        st: NDArray[np.int64] | None,
        host_ns: int,
        *,
        backfill: bool,
    ) -> tuple[Verdict, Accepted]:
        last_tick = self._last_tick(pkt, tick_f, st)
        self._remember(seq_f, tick_f, pkt.n, last_tick, bool(pkt.flags & _FIFO_OVERFLOW))
        if self.highest is None or seq_f > self.highest:
            self.highest = seq_f
        if not backfill:
            if seq_u is not None:
                self._ref_seq_u = seq_u
            self._ref_tick_u = tick_u
            self._live_ref = (int(round(last_tick)), host_ns)  # sent when its last sample was taken
        if pkt.flags & _FIFO_OVERFLOW:
            self.stats.fifo_overflows += 1
            log.warning("sensor FIFO overflow before packet %d: samples were lost inside the sensor", seq_f)
        self.stats.packets += 1
        self.stats.samples += pkt.n
        if backfill:
            self.stats.backfilled_packets += 1
            self.stats.backfilled_samples += pkt.n
        acc = Accepted(pkt, seq_f, tick_f, st, backfill, host_ns)
        return (Verdict.BACKFILL if backfill else Verdict.NEW), acc

    def _dup(self, pkt: DecodedPacket) -> tuple[Verdict, None]:
        self.stats.duplicates += 1
        return Verdict.DUPLICATE, None

    def _reject(self, pkt: DecodedPacket, why: str) -> tuple[Verdict, None]:
        self.stats.implausible += 1
        if self.stats.implausible <= 20 or self.stats.implausible % 1000 == 0:
            log.warning("rejected packet (%d so far): %s", self.stats.implausible, why)
        return Verdict.IMPLAUSIBLE, None

    def _remember(self, seq: int, tick: int, n: int, last_tick: float, overflow: bool = False) -> None:
        i = bisect.bisect_left(self._seen_seqs, seq)
        self._seen.insert(i, _Seen(seq, int(tick), int(n), int(round(last_tick)), overflow))
        self._seen_seqs.insert(i, seq)
        self._seen_ticks[int(tick)] = seq
        if len(self._seen) > self.window:
            old = self._seen.pop(0)
            self._seen_seqs.pop(0)
            self._seen_ticks.pop(old.tick, None)

    # ------------------------------------------------------------------ probation
    def _offer_probation(self, pkt: DecodedPacket, host_ns: int) -> list[tuple[Verdict, Accepted | None]]:
        if pkt.n < 1:
            return [self._reject(pkt, "empty packet")]
        if pkt.resent:
            self._probation.append((pkt, host_ns))
            return self._trim_probation()
        # Anchor on packets that agree with each other: two consecutive ones that also fit what
        # the sensor reported at start-up, else a run of three. One stray packet that happens to
        # parse can never set the scale; two consistent strays would also have to fit the report.
        cands = [(c, h) for c, h in self._probation if not c.resent] + [(pkt, host_ns)]
        use_expect = self._expect is not None and self.has_seq and len(cands) <= _EXPECT_PATIENCE
        if self._expect is not None and self.has_seq and len(cands) == _EXPECT_PATIENCE + 1:
            log.warning("no packet matches what the sensor reported at start-up; following the stream itself")
        follows = [[j for j, (b, _) in enumerate(cands) if self._pair_consistent(a, b)] for a, _ in cands]
        anchor: tuple[DecodedPacket, int] | None = None
        for i, (a, h) in enumerate(cands):
            if use_expect:
                ok = bool(follows[i]) and self._matches_expectation(a)
            else:
                ok = any(follows[j] for j in follows[i])
            if ok:
                anchor = (a, h)
                break
        self._probation.append((pkt, host_ns))
        if anchor is None:
            return self._trim_probation()
        self._anchor(*anchor)
        held, self._probation = self._probation, []
        out: list[tuple[Verdict, Accepted | None]] = [self._judge(*anchor)]
        for p, h in held:
            if p is not anchor[0]:
                out.append(self._judge(p, h))
        return out

    def _trim_probation(self) -> list[tuple[Verdict, Accepted | None]]:
        out: list[tuple[Verdict, Accepted | None]] = []
        while len(self._probation) > _PROBATION_MAX:
            p, _h = self._probation.pop(0)
            out.append(self._reject(p, "no consistent stream to attach to"))
        return out

    def _matches_expectation(self, pkt: DecodedPacket) -> bool:
        """Does ``pkt`` fit the sensor's start-up report?

        At ``tick_now`` the packets before ``next_seq`` had been sent and packet ``next_seq`` was
        being filled, so (packets holding ``n`` samples) packet ``next_seq + k`` begins within
        ``((k - 1) n, k n]`` sample periods after ``tick_now``.
        """
        e = self._expect
        assert e is not None and self.seq_bits is not None and pkt.seq is not None
        if e.next_seq is None:
            return True
        k = unwrap(pkt.seq, e.next_seq, self.seq_bits) - e.next_seq
        if abs(k) > _EXPECT_MAX_STEP:
            return False
        if e.tick_now is None:
            return True
        dt = unwrap(pkt.tick, e.tick_now, self.tick_bits) - e.tick_now
        tol = self._tol(pkt.n) * max(1, abs(k))
        return (k - 1) * pkt.n * self.tps - tol < dt <= k * pkt.n * self.tps + tol

    def _pair_consistent(self, a: DecodedPacket, b: DecodedPacket) -> bool:
        """Is ``b`` the packet right after ``a`` (next sequence number, next samples)?"""
        dt = unwrap(b.tick, a.tick, self.tick_bits) - a.tick
        if self.has_seq:
            assert self.seq_bits is not None and a.seq is not None and b.seq is not None
            if (b.seq - a.seq) & ((1 << self.seq_bits) - 1) != 1:
                return False
            tol = self._tol(a.n)
            if b.flags & _FIFO_OVERFLOW:
                return a.n * self.tps - tol <= dt <= a.n * self.tps + self.future_slack_ticks
            return abs(dt - a.n * self.tps) <= tol
        # no sequence numbers: the next frame starts about one frame later (timestamps jitter)
        return 0.8 * a.n * self.tps <= dt <= 1.2 * a.n * self.tps

    def _anchor(self, pkt: DecodedPacket, host_ns: int) -> None:
        """Fix the wire-to-file mapping of a new stream on its first trustworthy packet."""
        ref_seq, ref_tick = self._ref_seq_u, self._ref_tick_u
        e = self._expect
        if e is not None and self._ref_tick_u is None:  # the first stream: unwrap near the report
            ref_seq = e.next_seq if e.next_seq is not None else ref_seq
            ref_tick = e.tick_now if e.tick_now is not None else ref_tick
        seq_u = unwrap(pkt.seq, ref_seq, self.seq_bits) if (self.has_seq and pkt.seq is not None) else None
        tick_u = unwrap(pkt.tick, ref_tick, self.tick_bits)
        if self.highest is not None and self._new_epoch:
            prev_last = self._seen[-1].last_tick if self._seen else None
            if self._live_ref is not None:
                ref_tick, ref_host = self._live_ref
                expected = ref_tick + (host_ns - ref_host) * self.tick_hz / 1e9
                if abs(tick_u + self._tick_off - expected) > self.clock_jump_ticks:
                    new_off = int(round(expected - tick_u))
                    log.warning(
                        "sensor clock jumped by %.1f s (reset?): continuing the time line from the host clock",
                        (tick_u + self._tick_off - expected) / self.tick_hz,
                    )
                    self._tick_off = new_off
            if seq_u is not None:
                first_u = seq_u
                if self._expect is not None and self._expect.first_seq is not None:
                    first_u = min(seq_u, unwrap(self._expect.first_seq, seq_u, self.seq_bits))
                self._seq_off = self.highest + 1 - first_u
            tick_f = tick_u + self._tick_off
            if prev_last is not None:
                missing = (tick_f - (prev_last + self.tps)) / self.tps
                if missing >= 0.5:
                    seq_next = self.highest + 1
                    self._record_lost(
                        LostRange(
                            seq_next, seq_next, 0, int(round(missing)), int(prev_last + self.tps), tick_f,
                            "the sensor restarted its stream",
                        )
                    )
            # the neighbour checks must not compare the new stream with the old one
            self._seen.clear()
            self._seen_seqs.clear()
            self._seen_ticks.clear()
        self._ref_seq_u = seq_u
        self._ref_tick_u = tick_u
        self._live_ref = (tick_u + self._tick_off, host_ns)
        self._anchored = True
        self._new_epoch = False
        if self.has_seq and seq_u is not None and self._expect is not None and self._expect.first_seq is not None:
            # packets of the new stream sent before the anchor are still in the sensor's ring
            exp_u = unwrap(self._expect.first_seq, seq_u, self.seq_bits)
            if exp_u < seq_u:
                self.highest = (self.highest if self.highest is not None else exp_u + self._seq_off - 1)
                self._add_hole(exp_u + self._seq_off, seq_u + self._seq_off - 1, host_ns)
        self._expect = None

    # ------------------------------------------------------------------ holes
    def _hole_index(self, seq: int) -> int | None:
        i = bisect.bisect_right([h.first for h in self._holes], seq) - 1
        if i >= 0 and self._holes[i].first <= seq <= self._holes[i].last:
            return i
        return None

    def _add_hole(self, first: int, last: int, host_ns: int) -> None:
        if last < first:
            return
        # only the parts not already a hole or given up (the sensor reported them gone)
        pieces = [(first, last)]
        covered = [(h.first, h.last) for h in self._holes] + self._lost_ranges
        for lo, hi in covered:
            nxt = []
            for a, b in pieces:
                if b < lo or a > hi:
                    nxt.append((a, b))
                    continue
                if a < lo:
                    nxt.append((a, lo - 1))
                if b > hi:
                    nxt.append((hi + 1, b))
            pieces = nxt
        for a, b in pieces:
            bisect.insort(self._holes, _Hole(a, b, host_ns), key=lambda h: h.first)

    def _fill_hole(self, i: int, seq: int) -> None:
        h = self._holes[i]
        if h.first == h.last:
            del self._holes[i]
        elif seq == h.first:
            h.first += 1
        elif seq == h.last:
            h.last -= 1
        else:
            right = dataclasses.replace(h, first=seq + 1)
            h.last = seq - 1
            self._holes.insert(i + 1, right)

    def due_requests(self, now_ns: int, retry_after_ns: int, max_attempts: int) -> list[tuple[int, int]]:
        """Holes to request now (file sequence numbers); holes past ``max_attempts`` become lost."""
        out: list[tuple[int, int]] = []
        for h in list(self._holes):
            if h.requested_ns is not None and now_ns - h.requested_ns < retry_after_ns:
                continue
            if h.attempts >= max_attempts:
                self._holes.remove(h)
                self._give_up(h.first, h.last, f"not resent after {h.attempts} requests")
                continue
            h.attempts += 1
            h.requested_ns = now_ns
            out.append((h.first, h.last))
        return out

    def apply_resend_reply(self, first: int, last: int, available: tuple[int, int] | None) -> None:
        """The sensor answered a request for file seqs ``first..last``: it has wire ``available``."""
        if available is None:
            self._give_up_in(first, last, "no longer in the sensor's ring buffer")
            return
        a = unwrap(available[0], first - self._seq_off, self.seq_bits) + self._seq_off
        b = unwrap(available[1], last - self._seq_off, self.seq_bits) + self._seq_off
        if a > first:
            self._give_up_in(first, min(last, a - 1), "no longer in the sensor's ring buffer")
        if b < last:
            self._give_up_in(max(first, b + 1), last, "not in the sensor's ring buffer")

    def retry_later(self, first: int, last: int) -> None:
        """A request for ``first..last`` could not be sent: do not count it as an attempt."""
        for h in self._holes:
            if h.first <= last and first <= h.last and h.attempts > 0:
                h.attempts -= 1
                h.requested_ns = None

    def give_up_all(self, reason: str) -> None:
        """Declare every outstanding hole lost (end of the night)."""
        for h in list(self._holes):
            self._give_up(h.first, h.last, reason)
        self._holes.clear()

    def _give_up_in(self, first: int, last: int, reason: str) -> None:
        for h in list(self._holes):
            a, b = max(first, h.first), min(last, h.last)
            if a > b:
                continue
            self._holes.remove(h)
            if h.first < a:
                bisect.insort(self._holes, dataclasses.replace(h, last=a - 1), key=lambda x: x.first)
            if b < h.last:
                bisect.insort(self._holes, dataclasses.replace(h, first=b + 1), key=lambda x: x.first)
            self._give_up(a, b, reason)

    def _give_up(self, first: int, last: int, reason: str) -> None:
        """Record ``first..last`` as lost; its time extent is interpolated between the nearest
        packets received around it (exact when packets hold the same number of samples)."""
        i = bisect.bisect_left(self._seen_seqs, first)
        before = self._seen[i - 1] if i > 0 else None
        after = self._seen[i] if i < len(self._seen) else None
        start = end = n_samples = None
        if before is not None:
            if after is not None and after.seq > before.seq + 1:
                span = after.tick - (before.last_tick + self.tps)  # ticks of all packets in between
                per_packet = span / (after.seq - before.seq - 1)
            else:  # nothing received after it yet: packets as long as the one before
                per_packet = before.n * self.tps
            start = int(round(before.last_tick + self.tps + (first - before.seq - 1) * per_packet))
            end = int(round(start + (last - first + 1) * per_packet))
            n_samples = int(round((end - start) / self.tps))
        bisect.insort(self._lost_ranges, (first, last))
        self._record_lost(LostRange(first, last, last - first + 1, n_samples, start, end, reason))

    def _record_lost(self, lr: LostRange) -> None:
        self.lost.append(lr)
        self.stats.lost_packets += lr.n_packets
        if lr.n_samples:
            self.stats.lost_samples += lr.n_samples
        span = f", {lr.n_samples * self.tps / self.tick_hz:.2f} s" if lr.n_samples else ""
        if lr.n_packets:
            log.warning("packets %d..%d lost (%s)%s", lr.first_seq, lr.last_seq, lr.reason, span)
        else:
            log.warning("%s samples missing before packet %d (%s)%s", lr.n_samples, lr.first_seq, lr.reason, span)

    def _in_lost(self, seq: int) -> bool:
        i = bisect.bisect_right(self._lost_ranges, (seq, float("inf"))) - 1
        return i >= 0 and self._lost_ranges[i][0] <= seq <= self._lost_ranges[i][1]

    def _unlose(self, seq: int) -> None:
        i = bisect.bisect_right(self._lost_ranges, (seq, float("inf"))) - 1
        a, b = self._lost_ranges.pop(i)
        if a < seq:
            bisect.insort(self._lost_ranges, (a, seq - 1))
        if seq < b:
            bisect.insort(self._lost_ranges, (seq + 1, b))
        self.stats.lost_packets -= 1
        log.info("packet %d arrived after it had been given up", seq)
