"""``python -m firmware_sim serve``: run the reference firmware as a BLE peripheral.

With ``--virtual-bluez`` (the default) a private dbus-daemon is started (unless ``--bus`` names
one), the virtual BlueZ serves the device on it, and the process prints the bus address to use::

    DBUS_SYSTEM_BUS_ADDRESS=unix:path=/tmp/lmd-dbus-.../system_bus_socket
    device LMD-ANKLE-01 C0:FF:EE:00:00:01 open profile v1 50 Hz +-8 g
    control org.lmdetect.FirmwareSim /org/lmdetect/FirmwareSim
    ready speed x60 (unix time of simulated 0 s: 1773520200.123)

Export that variable in the shell of the collector (``lmdetect collect --device LMD-ANKLE-01``)
and bleak talks to the virtual device. ``--bless`` serves the same firmware on a real radio
instead (docs/virtual-bluez.md). The process runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from lmdetect.errors import ConfigError, LmdetectError
from lmdetect.protocol import RANGES_G, RATES_HZ

__all__ = ["NAME", "HELP", "add_arguments", "run", "build_peripherals"]

NAME = "serve"
HELP = "serve the reference firmware over a virtual BlueZ (or a real radio with --bless)"

log = logging.getLogger(__name__)


def _window(text: str) -> tuple[float, float]:
    try:
        a, b = text.split(":")
        return float(a), float(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START_S:DURATION_S, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--virtual-bluez", action="store_true", help="serve on a virtual BlueZ on a private D-Bus (default)"
    )
    where.add_argument("--bless", action="store_true", help="serve on a real Bluetooth adapter with bless")
    parser.add_argument("--bus", metavar="ADDRESS", help="use this D-Bus instead of starting a private one")
    parser.add_argument("--adapter", default="hci0", help="adapter name (default hci0)")
    what = parser.add_argument_group("what the sensor measures")
    what.add_argument("--profile", default="rls", help="simulated night profile (rls, control, pad, noisy)")
    what.add_argument("--hours", type=float, default=8.0, help="length of the simulated night (h)")
    what.add_argument("--seed", type=int, default=1, help="seed of the simulated night and of the faults")
    what.add_argument("--replay", metavar="FILE", help="replay a recording (.lmr or any readable format)")
    what.add_argument("--loop", action="store_true", help="start the night again at its end")
    dev = parser.add_argument_group("the device")
    dev.add_argument("--name", default="LMD-ANKLE-01", help="advertised name")
    dev.add_argument("--address", default="C0:FF:EE:00:00:01", help="device address")
    dev.add_argument("--rate", type=int, default=50, choices=RATES_HZ, help="sampling rate (Hz)")
    dev.add_argument("--range", dest="range_g", type=int, default=8, choices=RANGES_G, help="range (+- g)")
    dev.add_argument("--ring-s", type=float, default=180.0, help="ring buffer length (s, >= 120)")
    dev.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second (e.g. 60)")
    dev.add_argument("--polar", action="store_true", help="also present a Polar-like PMD device")
    dev.add_argument("--polar-name", default="Polar H10 0A1B2C3D", help="its advertised name")
    dev.add_argument("--polar-address", default="C0:FF:EE:00:00:02", help="its address")
    dev.add_argument(
        "--polar-model", default="h10", choices=("h10", "verity"), help="which Polar sensor to imitate"
    )
    dev.add_argument(
        "--polar-frames",
        choices=("raw", "delta", "delta-counts"),
        help="ACC frame format (default: the model's)",
    )
    dev.add_argument("--movesense", action="store_true", help="also present a Movesense-like GSP device")
    dev.add_argument("--movesense-name", default="Movesense 220330000122", help="its advertised name")
    dev.add_argument("--movesense-address", default="C0:FF:EE:00:00:03", help="its address")
    dev.add_argument(
        "--movesense-range", type=int, default=8, choices=(2, 4, 8, 16), help="its accelerometer range (+- g)"
    )
    faults = parser.add_argument_group("faults (times in simulated seconds)")
    faults.add_argument("--loss", type=float, default=0.0, help="probability of losing a live packet")
    faults.add_argument("--drop-every", type=float, help="drop the link every N s ...")
    faults.add_argument("--drop-for", type=float, default=0.0, help="... for M s")
    faults.add_argument(
        "--outage", type=_window, action="append", default=[], metavar="AT:FOR", help="link outage"
    )
    faults.add_argument("--drift-ppm", type=float, default=0.0, help="sensor clock error (ppm)")
    faults.add_argument(
        "--bluez-restart",
        type=_window,
        action="append",
        default=[],
        metavar="AT:FOR",
        help="restart bluetoothd",
    )


def _source(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from .sources import night_source, replay_source

    if args.replay:
        return replay_source(args.replay, loop=args.loop)
    src = night_source(args.profile, args.hours, args.rate, args.seed, range_g=args.range_g)
    if args.loop:
        from .sources import RecordingSource

        src = RecordingSource(src.recording, loop=True)
    return src


def build_peripherals(args: argparse.Namespace) -> list:  # type: ignore[type-arg]
    """The peripherals ``args`` ask for (the open-profile device, the Polar-like and Movesense-like ones)."""
    from .bluez.gsp import MovesenseGspFirmware
    from .bluez.movesense import MovesensePeripheral
    from .bluez.open_profile import OpenProfilePeripheral
    from .bluez.pmd import PolarPmdFirmware
    from .bluez.polar import PolarPeripheral
    from .device import FirmwareConfig, SensorFirmware
    from .faults import FaultPlan

    plan = FaultPlan(
        loss_prob=args.loss,
        drop_every_s=args.drop_every,
        drop_for_s=args.drop_for,
        outages=tuple(args.outage),
        drift_ppm=args.drift_ppm,
        bluez_restarts=tuple(args.bluez_restart),
        seed=args.seed,
    )
    config = FirmwareConfig(rate_hz=args.rate, range_g=args.range_g, ring_s=args.ring_s)
    source = _source(args)  # last: simulating a night takes a few seconds, so check settings first
    out = [OpenProfilePeripheral(SensorFirmware(source, config, plan), args.name, args.address)]
    if args.polar:
        pmd = PolarPmdFirmware(
            source,
            model=args.polar_model,
            frame_format=args.polar_frames,
            faults=FaultPlan(drift_ppm=args.drift_ppm),
        )
        out.append(PolarPeripheral(pmd, args.polar_name, args.polar_address))
    if args.movesense:
        gsp = MovesenseGspFirmware(source, range_g=args.movesense_range, faults=FaultPlan(drift_ppm=args.drift_ppm))
        out.append(MovesensePeripheral(gsp, args.movesense_name, args.movesense_address))
    return out


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 on a user error."""
    try:
        if args.speed <= 0:
            raise ConfigError(f"--speed must be > 0, got {args.speed}")
        peripherals = build_peripherals(args)
        if args.bless:
            from .bless_peripheral import serve_bless

            asyncio.run(serve_bless(peripherals[0], adapter=args.adapter, speed=args.speed))
        else:
            asyncio.run(_serve_virtual(args, peripherals))
    except LmdetectError as exc:
        print(f"firmware_sim serve: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


async def _serve_virtual(args: argparse.Namespace, peripherals: Sequence) -> None:  # type: ignore[type-arg]
    from .bluez.control import ControlService
    from .bluez.daemon import VirtualBlueZ
    from .bluez.names import CONTROL_NAME, CONTROL_PATH
    from .bluez.private_bus import PrivateBus

    restarts = peripherals[0].faults.bluez_restarts
    with contextlib.ExitStack() as stack:
        address = args.bus
        if address is None:
            address = stack.enter_context(PrivateBus(set_env=False)).address
        vbz = VirtualBlueZ(
            peripherals, speed=args.speed, bus_address=address, adapter=args.adapter, restarts=restarts
        )
        await vbz.start()
        control = await ControlService(vbz, address).start()
        print(f"DBUS_SYSTEM_BUS_ADDRESS={address}", flush=True)
        for p in peripherals:
            fw = p.firmware
            print(f"device {p.name} {p.address} {p.kind} {fw.rate_hz} Hz +-{fw.range_g} g", flush=True)
        print(f"control {CONTROL_NAME} {CONTROL_PATH}", flush=True)
        print(f"ready speed x{args.speed:g} (unix time of simulated 0 s: {vbz.clock.unix0:.3f})", flush=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, control.stop_requested.set)
        try:
            await control.stop_requested.wait()
        finally:
            await control.stop()
            await vbz.stop()
