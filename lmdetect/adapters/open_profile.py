"""Adapter for the open ankle-sensor profile (:mod:`lmdetect.protocol`, docs/profile.md).

Start-up on a connected link: subscribe to the control characteristic (replies are indications),
read the sensor state with GET_STATUS, then either continue a running stream (reconnect or
restarted collector: the sequence numbers go on and the sensor's ring buffer can resend the
outage) or STOP / SET_RATE / SET_RANGE / START a new one, and finally TIME_SYNC to learn the
sequence number of the next live packet.
"""

from __future__ import annotations

import logging
import struct
from typing import TYPE_CHECKING

from .. import protocol
from ..errors import ProtocolError
from .base import (
    DecodedPacket,
    ReplyChannel,
    SensorAdapter,
    StreamInfo,
    read_battery_level,
    read_text,
    register_adapter,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..collector.link import Link

__all__ = ["OpenProfileAdapter"]

log = logging.getLogger(__name__)

_U32 = 0xFFFFFFFF


def _nearest(value: float, choices: tuple[int, ...]) -> int:
    return min(choices, key=lambda c: (abs(c - value), -c))


@register_adapter
class OpenProfileAdapter(SensorAdapter):
    """The lmdetect open profile (version 1): 32-bit sequence numbers and ticks, resend support."""

    name = "open"
    service_uuid = protocol.SERVICE_UUID
    data_uuid = protocol.DATA_UUID
    seq_bits = 32
    tick_bits = 32
    supports_resend = True
    max_samples_per_packet = protocol.MAX_SAMPLES_PER_PACKET

    def __init__(self, *, rate_hz: float = 50.0, range_g: float = 8.0, command_timeout_s: float = 5.0) -> None:
        super().__init__(rate_hz=rate_hz, range_g=range_g, command_timeout_s=command_timeout_s)
        self._control = ReplyChannel(protocol.CONTROL_UUID, timeout_s=command_timeout_s)
        self._range_g: int | None = None

    # ------------------------------------------------------------------ control requests
    async def exchange(self, link: Link, opcode: protocol.Opcode, *args: int) -> tuple[protocol.Status, bytes]:
        """Send one control request; return the reply's status and payload."""
        want = 0x80 | int(opcode)
        reply = await self._control.request(
            link,
            protocol.encode_command(opcode, *args),
            lambda r: len(r) >= 2 and r[0] == want,
        )
        _op, status, payload = protocol.decode_reply(reply)
        return status, payload

    async def command(self, link: Link, opcode: protocol.Opcode, *args: int) -> bytes:
        """Send one control request and return the reply payload; raise on a non-OK status."""
        status, payload = await self.exchange(link, opcode, *args)
        if status != protocol.Status.OK:
            raise ProtocolError(f"{opcode.name} refused by the sensor: {status.name}")
        return payload

    async def status(self, link: Link) -> protocol.SensorInfo:
        return protocol.decode_info(await self.command(link, protocol.Opcode.GET_STATUS))

    # ------------------------------------------------------------------ SensorAdapter
    async def start(self, link: Link, *, fresh: bool, required: StreamInfo | None = None) -> StreamInfo:
        for uuid in (protocol.DATA_UUID, protocol.CONTROL_UUID):
            if not link.has_characteristic(uuid):
                raise ProtocolError(f"{link.address} does not offer the open profile (no characteristic {uuid})")
        await self._control.subscribe(link)
        info = await self.status(link)
        if info.profile_version != protocol.PROFILE_VERSION:
            raise ProtocolError(
                f"sensor speaks profile version {info.profile_version}, this collector version "
                f"{protocol.PROFILE_VERSION}"
            )
        if required is not None:
            rate, rng = int(round(required.fs_hz)), int(round(required.range_g))
            if info.tick_hz != required.tick_hz:
                raise ProtocolError(
                    f"sensor clock runs at {info.tick_hz} Hz, the file being continued at {required.tick_hz} Hz"
                )
        else:
            rate, rng = _nearest(self.rate_hz, protocol.RATES_HZ), _nearest(self.range_g, protocol.RANGES_G)
            if rate != self.rate_hz or rng != self.range_g:
                log.warning("using %d Hz, +-%d g (nearest the sensor supports)", rate, rng)
        resume = info.streaming and not fresh and info.rate_hz == rate and info.range_g == rng
        if resume:
            log.info("sensor already streaming (next seq %d): continuing", info.next_seq)
        else:
            if info.streaming:
                await self.command(link, protocol.Opcode.STOP)
            await self.command(link, protocol.Opcode.SET_RATE, rate)
            await self.command(link, protocol.Opcode.SET_RANGE, rng)
            await self.command(link, protocol.Opcode.START)
            info = await self.status(link)  # the ring buffer is sized when streaming starts
            log.info("stream started at %d Hz, +-%d g", rate, rng)
        self._range_g = rng
        payload = await self.command(link, protocol.Opcode.TIME_SYNC)
        if len(payload) != 8:
            raise ProtocolError(f"TIME_SYNC reply of {len(payload)} bytes, expected 8")
        tick_now, next_seq = struct.unpack("<II", payload)
        model = await read_text(link, protocol.MODEL_NUMBER_UUID)
        firmware = await read_text(link, protocol.FIRMWARE_REVISION_UUID)
        return StreamInfo(
            fs_hz=float(rate),
            tick_hz=int(info.tick_hz),
            scale_g=rng / 32768.0,
            range_g=float(rng),
            sensor=model or f"open profile v{protocol.PROFILE_VERSION}",
            firmware=firmware,
            resumed=resume,
            next_seq=int(next_seq),
            first_seq=None if resume else 0,
            tick_now=int(tick_now),
            ring_capacity_packets=int(info.ring_capacity_packets),
            meta={"profile_version": str(info.profile_version)},
        )

    async def stop(self, link: Link) -> None:
        await self.command(link, protocol.Opcode.STOP)

    def decode(self, data: bytes) -> list[DecodedPacket]:
        p = protocol.decode_data_packet(data)
        if self._range_g is not None and p.range_g != self._range_g:
            raise ProtocolError(f"packet at +-{p.range_g} g in a stream configured for +-{self._range_g} g")
        return [DecodedPacket(seq=p.seq, tick=p.tick, counts=p.samples, flags=int(p.flags))]

    async def request_resend(self, link: Link, first_seq: int, last_seq: int) -> tuple[int, int] | None:
        status, payload = await self.exchange(link, protocol.Opcode.RESEND, first_seq & _U32, last_seq & _U32)
        if status == protocol.Status.NOT_AVAILABLE:
            return None
        if status != protocol.Status.OK:
            raise ProtocolError(f"RESEND refused by the sensor: {status.name}")
        if len(payload) != 8:
            raise ProtocolError(f"RESEND reply of {len(payload)} bytes, expected 8")
        first, last = struct.unpack("<II", payload)
        if (last - first) & _U32 >= 1 << 31:  # last before first: nothing left in the ring
            return None
        return first, last

    async def read_clock(self, link: Link) -> int | None:
        payload = await self.command(link, protocol.Opcode.TIME_SYNC)
        if len(payload) != 8:
            raise ProtocolError(f"TIME_SYNC reply of {len(payload)} bytes, expected 8")
        return int(struct.unpack("<II", payload)[0])

    async def battery_pct(self, link: Link) -> int | None:
        level = await read_battery_level(link)
        if level is not None:
            return level
        return int((await self.status(link)).battery_pct)
