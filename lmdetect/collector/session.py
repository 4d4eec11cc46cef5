"""One night of recording: scan, connect, stream, account, backfill, reconnect, write.

Data path::

    notification ──► callback: (bytes, host receive time) ──► asyncio.Queue ──► writer task
                                                                                 ├─ adapter.decode
                                                                                 ├─ StreamTracker (gaps, duplicates, garbage)
                                                                                 ├─ OnlineClockFit (drift)
                                                                                 └─ LmrWriter (crash-safe .lmr)

The notify callback does nothing but stamp and enqueue, so a slow disk or a burst of resent
packets never stalls the Bluetooth stack's event handling. Next to the writer task run a
backfill task (RESEND requests for holes, with retries) and a supervisor that watches the link:
a lost connection or a watchdog timeout ("no data for ``watchdog_s``": bleak is not told when
bluetoothd restarts, the link just goes silent) leads to a forced disconnect, a new scan for the
same device and a reconnect after an exponential, capped backoff.

Timing comes from :class:`~lmdetect.collector.params.CollectorParams`, mostly in *host* seconds
of the session's :class:`~lmdetect.collector.hostclock.HostClock` (the wall clock, or a faster one
for accelerated simulations).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..adapters.base import SensorAdapter, StreamInfo
from ..errors import ConfigError, DeviceNotFoundError, LmdetectError, ProtocolError
from .gaps import Accepted, StreamTracker, Verdict
from .hostclock import HostClock
from .link import Connector, Link, LinkError, normalize_address
from .outcome import SessionStatus, SessionSummary
from .params import CollectorParams, NightPlan
from .resume import ExistingNight, read_existing_night
from .timesync import OnlineClockFit

try:  # the recording's advisory lock (POSIX only; LmrWriter takes the same)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:  # pragma: no cover - pyarrow is imported only when a file is opened
    from ..io.native import LmrWriter

__all__ = ["RecordSession", "CollectorParams", "NightPlan", "SessionStatus", "SessionSummary"]

log = logging.getLogger(__name__)

_RESENT = 0x01
#: Header keys of a new file: the file sequence number and tick of the night's first packet.
_FIRST_SEQ = "collector.first_seq"
_FIRST_TICK = "collector.first_tick"
_NS = 1_000_000_000
#: Host seconds the session keeps listening after the night's nominal end, so that the packets
#: holding its last samples (sent up to a packet's length later) still arrive.
_END_GRACE_S = 3.0


class RecordSession:
    """Record one night from one sensor into one ``.lmr`` file.

    Parameters
    ----------
    plan : NightPlan
        Device, output file, duration, side.
    adapter : SensorAdapter
        The sensor protocol.
    connector : Connector
        Finds the device (bleak, or an in-memory radio in tests).
    params : CollectorParams
        Timing.
    clock : HostClock or None
        Host clock (default: real time).
    on_status : callable or None
        Called with a :class:`SessionStatus` every ``status_interval_s`` wall seconds.
    """

    def __init__(
        self,
        plan: NightPlan,
        adapter: SensorAdapter,
        connector: Connector,
        *,
        params: CollectorParams | None = None,
        clock: HostClock | None = None,
        on_status: Callable[[SessionStatus], None] | None = None,
    ) -> None:
        self.plan = plan
        self.adapter = adapter
        self.connector = connector
        self.params = params or CollectorParams()
        self.clock = clock or HostClock()
        self.on_status = on_status
        self.state = "starting"
        self.out = Path(plan.out)
        self._stop = asyncio.Event()
        self._force = False
        self._stopped_by = ""
        self._queue: asyncio.Queue[tuple[bytes, int] | None] = asyncio.Queue(self.params.queue_packets)
        self._gate = asyncio.Event()
        self._holes_changed = asyncio.Event()
        self._link: Link | None = None
        self._lost_link = asyncio.Event()
        self._pinned: str | None = None
        self._tracker: StreamTracker | None = None
        self._fit: OnlineClockFit | None = None
        self._writer: LmrWriter | None = None  # imported lazily (pyarrow)
        self._fatal: BaseException | None = None
        self._info: StreamInfo | None = None
        self._resume: ExistingNight | None = None
        self._start_ns = self.clock.now_ns()
        self._night_start_ns = self._start_ns
        self._last_data_ns = self._start_ns
        self._battery: int | None = None
        self._rssi: int | None = None
        self._streams = 0
        self.reconnects = 0
        self.watchdog_trips = 0
        self.garbage = 0
        self.queue_overflows = 0
        self.notifications = 0
        self.max_queue_depth = 0
        self.after_end = 0
        self.samples_written = 0
        self.backfilled_written = 0
        self._end_tick: int | None = None
        self._rate_window: list[tuple[int, int]] = []
        self._claim: int | None = None  # the file's lock, held from before connecting to the writer's start
        self._holding = False  # writes fail and memory is full: packets stay in the sensor's buffer
        self.left_in_sensor = 0

    # ------------------------------------------------------------------ control
    def request_stop(self, *, force: bool = False, reason: str = "stop requested") -> None:
        """Stop the night (from a signal handler in the event loop's thread).

        A second request, or ``force``, skips the final backfill.
        """
        if self._stop.is_set():
            force = True
        self._force = self._force or force
        if not self._stopped_by:
            self._stopped_by = reason
        self._stop.set()

    @property
    def tracker(self) -> StreamTracker | None:
        return self._tracker

    def deadline_ns(self) -> int | None:
        """Host time at which the night is over (its last packet had time to arrive).

        The night starts with the file's first sample: None before it exists.
        """
        if self.plan.duration_s is None or (self._writer is None and self._resume is None):
            return None
        return self._night_start_ns + int((self.plan.duration_s + _END_GRACE_S) * _NS)

    def _time_left_s(self) -> float:
        d = self.deadline_ns()
        return math.inf if d is None else (d - self.clock.now_ns()) / _NS

    def _finished(self) -> bool:
        return self._stop.is_set() or self._time_left_s() <= 0

    # ------------------------------------------------------------------ run
    async def run(self) -> SessionSummary:
        """Record until the duration is over or :meth:`request_stop`; return the summary.

        Raises the first fatal error (device not found at the start, a file that cannot be
        written, ...) after the file has been closed.
        """
        try:
            self._prepare_file()
        except BaseException:
            self._release_claim()
            raise
        writer = asyncio.create_task(self._writer_loop(), name="collector-writer")
        writer.add_done_callback(self._writer_done)
        others = [asyncio.create_task(self._backfill_loop(), name="collector-backfill")]
        if self.on_status is not None:
            others.append(asyncio.create_task(self._status_loop(), name="collector-status"))
        try:
            await self._connection_loop()
        finally:
            if not self._stopped_by:
                self._stopped_by = "duration reached" if self._time_left_s() <= 0 else "error"
            self._gate.set()
            if not writer.done():
                await self._queue.put(None)  # after everything already queued
                try:
                    await asyncio.wait_for(asyncio.shield(writer), timeout=60.0)
                except TimeoutError:  # pragma: no cover - the writer never blocks this long
                    log.error("the writer task did not finish; closing the file anyway")
                    writer.cancel()
            for t in others:
                t.cancel()
            await asyncio.gather(writer, *others, return_exceptions=True)
            try:
                self._close_file()
            except LmdetectError as exc:
                if self._fatal is None:
                    self._fatal = exc
            self.state = "finished"
            if self.on_status is not None:
                self.on_status(self.status())
        if self._fatal is not None:
            raise self._fatal
        summary = self._summary()
        log.info("session ended (%s): %s", summary.stopped_by, summary.describe())
        return summary

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self._fatal = task.exception()
        log.error("recording to %s failed: %s", self.out, self._fatal)
        self.request_stop(force=True, reason="error")

    # ------------------------------------------------------------------ file
    def _prepare_file(self) -> None:
        out = self.out
        if out.suffix.lower() != ".lmr":
            raise ConfigError(f"{out}: the collector writes .lmr files")
        if self.plan.side is not None and self.plan.side not in ("left", "right", "both", "unknown"):
            raise ConfigError(f"side must be left, right, both or unknown, got {self.plan.side!r}")
        self._claim_file()
        night = read_existing_night(out)
        if night is None:
            return
        header = night.header
        if self.plan.side is not None and self.plan.side != header.side:
            raise LmdetectError(f"{out} was recorded on the {header.side} side, not {self.plan.side}")
        self._resume = night
        if night.samples and self.plan.duration_s is not None:
            self._end_tick = night.first_tick + int(round(self.plan.duration_s * header.tick_hz))
        elif _FIRST_TICK in header.meta and self.plan.duration_s is not None:  # killed before its first batch
            self._end_tick = int(header.meta[_FIRST_TICK]) + int(round(self.plan.duration_s * header.tick_hz))
        self._night_start_ns = int(header.start.timestamp() * 1e9)
        if _looks_like_address(header.device_id):
            self._pinned = normalize_address(header.device_id)
        log.info("%s exists (%d samples from %s): continuing that night", out, night.samples, header.device_id)

    def _claim_file(self) -> None:
        """Take the lock of an existing file before connecting: a second collector on the same
        file must fail here, not take the sensor away from the one that is recording."""
        if fcntl is None or not self.out.exists():  # pragma: no cover - Windows
            return
        try:
            fd = os.open(self.out, os.O_RDONLY)
        except OSError as exc:
            raise LmdetectError(f"{self.out}: cannot open the recording: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LmdetectError(f"{self.out}: file in use: another collector is recording into it") from None
        self._claim = fd

    def _release_claim(self) -> None:
        if self._claim is not None:
            os.close(self._claim)
            self._claim = None

    def _open_writer(self, info: StreamInfo, first: Accepted) -> None:
        from ..io.native import LmrHeader, LmrWriter

        link = self._link
        address = link.address if link is not None else (self._pinned or "unknown")
        if self._resume is not None and self._resume.samples == 0:
            # a header and no sample: its start must become the time of the first row written
            # (the reader anchors the header's start there); the night still began at the old one
            header = dataclasses.replace(self._resume.header, start=_first_sample_time(first, info))
        elif self._resume is not None:
            header = self._resume.header
        else:
            start = _first_sample_time(first, info)
            start_ns = int(start.timestamp() * _NS)
            meta = {str(k): str(v) for k, v in info.meta.items()}
            meta.update(
                {
                    "collector": f"lmdetect collect ({self.adapter.name})",
                    "device_name": (link.name if link is not None and link.name else self.plan.device),
                    # where the night begins in the sensor's numbering: a restart that finds no
                    # sample in the file (killed in its first second) backfills from here
                    _FIRST_SEQ: str(first.seq),
                    _FIRST_TICK: str(first.tick),
                }
            )
            header = LmrHeader(
                fs=info.fs_hz,
                start=start,
                tick_hz=float(info.tick_hz),
                scale_g=info.scale_g,
                range_g=info.range_g,
                device_id=address,
                side=self.plan.side or "unknown",
                sensor=info.sensor,
                firmware=info.firmware,
                meta=meta,
            )
            self._night_start_ns = start_ns
        self._release_claim()  # the writer takes the lock itself
        try:
            self._writer = LmrWriter(
                self.out,
                header,
                flush_interval_s=self.params.flush_interval_s,
                fsync_interval_s=self.params.fsync_interval_s,
                append=self._resume is not None,
            )
        except OSError as exc:
            raise LmdetectError(f"{self.out}: cannot write the recording: {exc}") from exc

    def _close_file(self) -> None:
        self._release_claim()
        w = self._writer
        if w is None:
            return
        try:
            w.close()
        except LmdetectError as exc:
            log.error("closing %s failed: %s", self.out, exc)
            raise

    # ------------------------------------------------------------------ connections
    async def _connection_loop(self) -> None:
        attempt = 0
        first_failures = 0
        while not self._finished():
            link: Link | None = None
            try:
                self.state = "scanning"
                link = await self.connector.find(
                    self.plan.device, timeout_s=self.params.scan_timeout_s, address=self._pinned
                )
                self.state = "connecting"
                self._lost_link = asyncio.Event()
                lost = self._lost_link
                await link.connect(lost.set)
                if self._pinned is None:
                    self._pinned = link.address
                elif link.address != self._pinned:  # a connector that ignored the pin
                    raise LmdetectError(f"refusing {link.address}: this night is recorded from {self._pinned}")
                self._rssi = link.rssi_dbm()
                await self._start_stream(link)
                attempt = 0
                reason = await self._supervise(link)
                if reason in ("stop", "deadline"):
                    await self._finish_stream(link)
                    break
            except DeviceNotFoundError as exc:
                if self._streams == 0:
                    if self._resume is not None and self._pinned is not None:
                        raise DeviceNotFoundError(
                            f"{exc}; {self.out} was recorded from {self._pinned}, and only that sensor "
                            "can continue it (use another --out for a new night)"
                        ) from None
                    raise
                log.info("%s not found; retrying", self.plan.device)
            except (LinkError, ProtocolError) as exc:
                if self._streams == 0:
                    first_failures += 1
                    if isinstance(exc, ProtocolError) or first_failures >= self.params.first_connect_attempts:
                        raise
                log.warning("link to %s failed: %s", self.plan.device, exc)
            finally:
                self._link = None
                self._gate.set()  # what the old connection delivered is still written
                if link is not None:
                    await link.disconnect()
            if self._finished():
                break
            self.state = "waiting"
            delay = min(self.params.backoff_max_s, self.params.backoff_initial_s * 2.0**attempt)
            attempt += 1
            log.info("reconnecting in %.1f s", delay)
            await self._sleep_unless_stopped(delay)
            self.reconnects += 1

    async def _start_stream(self, link: Link) -> None:
        """Subscribe, start or continue the stream, and open the gate to the writer task."""
        # Notifications of the previous connection are judged before the stream is restarted or
        # continued, so that they count as live, not as backfill.
        while not self._queue.empty() and self._fatal is None:
            await asyncio.sleep(0.001)
        self._gate.clear()
        self.adapter.on_connection()
        await link.start_notify(self.adapter.data_uuid, self._on_notify)
        required = self._required()
        fresh = self._streams == 0 and self._resume is None
        try:
            info = await self.adapter.start(link, fresh=fresh, required=required)
            if self._info is not None and (info.fs_hz != self._info.fs_hz or info.tick_hz != self._info.tick_hz):
                raise ProtocolError("the sensor came back with other settings")
        except (LmdetectError, TimeoutError):
            # The start may have got as far as starting the stream: stop it before disconnecting,
            # unless it is being continued on a sensor whose ring buffer can fill the outage.
            if fresh or not self.adapter.supports_resend:
                await self._stop_quietly(link)
            raise
        now = self.clock.now_ns()
        if self._tracker is None:
            window = max(8192, 2 * (info.ring_capacity_packets or 0))
            self._tracker = StreamTracker(
                seq_bits=self.adapter.seq_bits,
                tick_bits=self.adapter.tick_bits,
                tick_hz=info.tick_hz,
                fs_hz=info.fs_hz,
                max_samples_per_packet=self.adapter.max_samples_per_packet,
                window_packets=window,
            )
            self._fit = OnlineClockFit(info.tick_hz)
            if self._resume is not None:
                self._tracker.resume_from(
                    self._resume.packets, self._resume.last_host_ns, ring_packets=info.ring_capacity_packets or 0
                )
                meta = self._resume.header.meta
                if not self._resume.packets and _FIRST_SEQ in meta and _FIRST_TICK in meta:
                    # a header and no sample: the night's packets from its first one on are
                    # requested from the sensor's buffer; what it no longer holds is a lost range
                    self._tracker.resume_before(int(meta[_FIRST_SEQ]), int(meta[_FIRST_TICK]))
        self._tracker.begin_epoch(
            resumed=info.resumed, next_seq=info.next_seq, first_seq=info.first_seq, tick_now=info.tick_now, host_ns=now
        )
        self._info = info
        self._link = link
        self._streams += 1
        self._last_data_ns = now
        self.state = "streaming"
        self._gate.set()
        self._holes_changed.set()
        try:
            self._battery = await self.adapter.battery_pct(link)
        except (LinkError, ProtocolError) as exc:
            log.debug("battery read failed: %s", exc)
        log.info(
            "streaming from %s (%s, %g Hz, %s)",
            link.address,
            info.sensor,
            info.fs_hz,
            "continued" if info.resumed else "started",
        )

    def _required(self) -> StreamInfo | None:
        if self._info is not None:
            return self._info
        if self._resume is not None:
            h = self._resume.header
            return StreamInfo(fs_hz=h.fs, tick_hz=int(h.tick_hz), scale_g=h.scale_g, range_g=h.range_g or 0.0, sensor=h.sensor)
        return None

    async def _supervise(self, link: Link) -> str:
        """Wait until the link is lost, goes silent, or the night is over; say which."""
        p = self.params
        next_battery = self.clock.now_ns() + int(p.battery_interval_s * _NS)
        next_sync = self.clock.now_ns() + int(min(2.0, p.time_sync_interval_s) * _NS)
        stop_wait = asyncio.ensure_future(self._stop.wait())
        lost_wait = asyncio.ensure_future(self._lost_link.wait())
        try:
            while True:
                if self._stop.is_set():
                    return "stop"
                left = self._time_left_s()
                if left <= 0:
                    return "deadline"
                if self._lost_link.is_set() or not link.is_connected:
                    log.warning("connection to %s lost", link.address)
                    return "lost"
                now = self.clock.now_ns()
                silent_s = (now - self._last_data_ns) / _NS
                if silent_s > p.watchdog_s:
                    self.watchdog_trips += 1
                    log.warning("no data for %.0f s: forcing a reconnect", silent_s)
                    return "watchdog"
                if now >= next_battery:
                    next_battery = now + int(p.battery_interval_s * _NS)
                    try:
                        self._battery = await asyncio.wait_for(self.adapter.battery_pct(link), 5.0)
                    except (LinkError, ProtocolError, TimeoutError) as exc:
                        log.debug("battery read failed: %s", exc)
                if now >= next_sync:
                    next_sync = now + int(p.time_sync_interval_s * _NS)
                    await self._time_exchange(link)
                step = min(
                    p.watchdog_s - silent_s + 0.01 * p.watchdog_s,
                    left,
                    (min(next_battery, next_sync) - now) / _NS,
                )
                await asyncio.wait(
                    [stop_wait, lost_wait], timeout=max(0.001, self.clock.wall_s(step)), return_when="FIRST_COMPLETED"
                )
        finally:
            stop_wait.cancel()
            lost_wait.cancel()

    async def _time_exchange(self, link: Link) -> None:
        """Read the sensor clock between two host stamps (a two-way constraint for the fit)."""
        t = self._tracker
        if t is None or self._fit is None or not t.anchored:
            return
        sent = self.clock.now_ns()
        try:
            wire = await asyncio.wait_for(self.adapter.read_clock(link), 5.0)
        except (LinkError, ProtocolError, TimeoutError) as exc:
            log.debug("clock exchange failed: %s", exc)
            return
        received = self.clock.now_ns()
        if wire is None:
            return
        tick = t.file_tick(wire)
        if tick is not None:
            self._fit.add_exchange(tick, sent, received)

    async def _finish_stream(self, link: Link) -> None:
        """End of the night on a live link: last backfill, then stop the sensor's stream."""
        t = self._tracker
        if t is not None and not self._force and self.adapter.supports_resend and t.missing_packets():
            self.state = "backfilling"
            log.info("waiting up to %.0f s for %d missing packets", self.params.final_backfill_s, t.missing_packets())
            end = self.clock.now_ns() + int(self.params.final_backfill_s * _NS)
            while t.missing_packets() and self.clock.now_ns() < end and link.is_connected and not self._force:
                self._holes_changed.set()
                await self.clock.sleep(min(0.1 * self.params.resend_retry_s, 1.0))
        self.state = "stopping"
        try:
            await asyncio.wait_for(self.adapter.stop(link), 5.0)
        except (LinkError, ProtocolError, TimeoutError) as exc:
            log.warning("could not stop the sensor's stream: %s", exc)
        # let notifications already in flight reach the queue
        await asyncio.sleep(0)

    async def _stop_quietly(self, link: Link) -> None:
        """Best-effort stop after a failed start; the start's own error is what gets reported."""
        if not link.is_connected:
            return
        try:
            await asyncio.wait_for(self.adapter.stop(link), 5.0)
        except (LmdetectError, TimeoutError) as exc:
            log.debug("stopping after a failed start failed: %s", exc)

    async def _sleep_unless_stopped(self, host_s: float) -> None:
        left = self._time_left_s()
        try:
            await asyncio.wait_for(self._stop.wait(), self.clock.wall_s(max(0.0, min(host_s, left))))
        except TimeoutError:
            pass

    # ------------------------------------------------------------------ data path
    def _on_notify(self, data: bytes | bytearray) -> None:
        """The notify callback: stamp and enqueue, nothing else."""
        now = self.clock.now_ns()
        self._last_data_ns = now
        try:
            self._queue.put_nowait((bytes(data), now))
        except asyncio.QueueFull:
            self.queue_overflows += 1

    async def _writer_loop(self) -> None:
        q = self._queue
        while True:
            item = await q.get()
            if item is None:
                return
            if not self._gate.is_set():
                await self._gate.wait()
            self.max_queue_depth = max(self.max_queue_depth, q.qsize() + 1)
            self._process(*item)
            while not q.empty():  # drain what is there without going back to the loop
                item = q.get_nowait()
                if item is None:
                    return
                self._process(*item)

    def _writer_full(self) -> bool:
        """Writes fail (a full disk) and memory holds ``memory_buffer_samples``: new packets are
        left in the sensor's ring buffer, whence the backfill requests them once writing works."""
        w = self._writer
        pending = w.pending_samples if w is not None and w.write_error is not None else 0
        full = pending >= self.params.memory_buffer_samples
        if full and not self._holding:
            log.warning("%s: writes still fail and %d samples wait in memory: further packets are left in "
                        "the sensor's buffer and requested when writing works again", self.out, pending)
        elif self._holding and not full:
            log.warning("%s: writing works again: requesting the packets left in the sensor's buffer", self.out)
        self._holding = full
        return full

    def _process(self, data: bytes, host_ns: int) -> None:
        self.notifications += 1
        if self._writer_full():
            self.left_in_sensor += 1  # not offered to the tracker: a hole once packets are taken again
            return
        t = self._tracker
        if t is None:  # a stray notification before any stream was started
            self._garbage("notification before the stream was started")
            return
        try:
            packets = self.adapter.decode(data)
        except ProtocolError as exc:
            self._garbage(str(exc))
            return
        except Exception as exc:  # a decoder bug must not end the night
            log.exception("decoder failed on %s", data[:32].hex())
            self._garbage(f"decoder error: {exc}")
            return
        holes_before = t.missing_packets()
        for pkt in packets:
            for verdict, acc in t.offer(pkt, host_ns):
                if acc is not None:
                    self._write(acc)
                if verdict is Verdict.NEW and acc is not None and not acc.backfill:
                    self._note_live(acc)
        if t.missing_packets() > holes_before:
            self._holes_changed.set()

    def _garbage(self, why: str) -> None:
        self.garbage += 1
        if self.garbage <= 20 or self.garbage % 1000 == 0:
            log.warning("malformed notification (%d so far): %s", self.garbage, why)

    def _write(self, acc: Accepted) -> None:
        if self._end_tick is None and self.plan.duration_s is not None and self._info is not None:
            self._end_tick = acc.tick + int(round(self.plan.duration_s * self._info.tick_hz))
        if self._end_tick is not None and acc.tick >= self._end_tick:
            self.after_end += 1  # the night is measured on the sensor clock from its first sample
            if not acc.backfill and not self._stop.is_set():
                # the sensor is past the end of the night: stop now (with the final backfill)
                # rather than at the host-clock deadline, which an accelerated replay reaches late
                self.request_stop(reason="duration reached")
            return
        if self._writer is None:
            assert self._info is not None
            self._open_writer(self._info, acc)
        self.samples_written += acc.packet.n
        if acc.backfill:
            self.backfilled_written += acc.packet.n
        flags = acc.packet.flags | (_RESENT if acc.backfill else 0)
        assert self._writer is not None
        self._writer.write_packet(
            acc.seq,
            acc.tick,
            acc.packet.counts,
            host_ns=None if acc.backfill else acc.host_ns,
            flags=flags & 0xFF,
            sample_ticks=acc.sample_ticks,
        )

    def _note_live(self, acc: Accepted) -> None:
        info = self._info
        assert info is not None and self._fit is not None
        if acc.sample_ticks is not None:
            last = int(acc.sample_ticks[-1])
        else:
            last = acc.tick + int(round((acc.packet.n - 1) * info.ticks_per_sample))
        self._fit.add(last, acc.host_ns)
        w = self._rate_window
        w.append((acc.host_ns, acc.packet.n))
        if len(w) > 4096:
            del w[:2048]

    # ------------------------------------------------------------------ backfill
    async def _backfill_loop(self) -> None:
        p = self.params
        while True:
            try:
                await asyncio.wait_for(self._holes_changed.wait(), self.clock.wall_s(p.resend_retry_s / 2))
            except TimeoutError:
                pass
            self._holes_changed.clear()
            t, link = self._tracker, self._link
            if t is None or link is None or not self._gate.is_set() or not self.adapter.supports_resend:
                continue
            if self._writer_full():  # replies could not be kept: do not spend the retries now
                continue
            now = self.clock.now_ns()
            for first, last in t.due_requests(now, int(p.resend_retry_s * _NS), p.resend_max_attempts):
                try:
                    avail = await self.adapter.request_resend(link, t.wire_seq(first), t.wire_seq(last))
                except (LinkError, ProtocolError) as exc:
                    log.debug("resend request %d..%d failed: %s", first, last, exc)
                    t.retry_later(first, last)
                    break
                log.debug("requested %d..%d, sensor has %s", first, last, avail)
                t.apply_resend_reply(first, last, avail)

    # ------------------------------------------------------------------ status
    def status(self) -> SessionStatus:
        t = self._tracker
        st = t.stats if t is not None else None
        fit = self._fit.fit() if self._fit is not None else None
        now = self.clock.now_ns()
        rate = 0.0
        w = self._rate_window
        if len(w) >= 2:
            horizon = now - 10 * _NS
            recent = [x for x in w if x[0] >= horizon]
            if len(recent) >= 2:
                span = (recent[-1][0] - recent[0][0]) / _NS
                rate = sum(n for _, n in recent[1:]) / span if span > 0 else 0.0
        prev = self._resume.samples if self._resume is not None else 0
        return SessionStatus(
            state=self.state,
            elapsed_s=(now - self._night_start_ns) / _NS,
            duration_s=self.plan.duration_s,
            samples=prev + self.samples_written,
            rate_hz=rate,
            missing_packets=t.missing_packets() if t is not None else 0,
            lost_packets=st.lost_packets if st else 0,
            lost_samples=st.lost_samples if st else 0,
            backfilled_samples=self.backfilled_written,
            rejected=self.garbage + (st.implausible if st else 0),
            battery_pct=self._battery,
            rssi_dbm=self._rssi,
            drift_ppm=fit.drift_ppm if fit is not None and fit.span_s >= 60 else None,
            reconnects=self.reconnects,
        )

    async def _status_loop(self) -> None:
        assert self.on_status is not None
        while True:
            try:
                self.on_status(self.status())
            except Exception:  # a display problem must not end the night
                log.exception("status display failed")
            await asyncio.sleep(self.params.status_interval_s)

    def _summary(self) -> SessionSummary:
        t = self._tracker
        if t is not None and t.missing_packets():
            t.give_up_all("still missing when the night ended")
        st = t.stats if t is not None else None
        return SessionSummary(
            out=self.out,
            appended=self._resume is not None,
            samples=self.samples_written,
            backfilled_samples=self.backfilled_written,
            lost_packets=st.lost_packets if st else 0,
            lost_samples=st.lost_samples if st else 0,
            lost=tuple(t.lost) if t is not None else (),
            duplicates=st.duplicates if st else 0,
            implausible=st.implausible if st else 0,
            garbage=self.garbage,
            queue_overflows=self.queue_overflows,
            reconnects=self.reconnects,
            watchdog_trips=self.watchdog_trips,
            clock=self._fit.fit() if self._fit is not None else None,
            stopped_by=self._stopped_by,
        )


def _first_sample_time(first: Accepted, info: StreamInfo) -> dt.datetime:
    """Host time of the first sample of a packet (its receive time, less its length)."""
    start_ns = first.host_ns - int((first.packet.n - 1) / info.fs_hz * _NS)
    return dt.datetime.fromtimestamp(start_ns / _NS, tz=dt.UTC).astimezone()


def _looks_like_address(text: str) -> bool:
    parts = normalize_address(text).split(":")
    return len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789ABCDEF" for c in p) for p in parts)

