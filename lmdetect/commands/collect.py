"""``lmdetect collect``: record a night from a BLE ankle sensor into a crash-safe ``.lmr`` file."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path

NAME = "collect"
HELP = "record a night from a BLE ankle sensor (open profile, Polar or Movesense) into a .lmr file"

_EPILOG = """\
Connects only to the device given by --device (exact advertised name or address); a name shared
by two devices is refused. Notifications go to a crash-safe .lmr file; link drops are reconnected
with backoff and the gap is backfilled from the sensor's ring buffer (open profile; Polar and
Movesense cannot resend: their gaps are recorded from the timestamps). If --out already exists,
the night is continued (same device required), e.g. after a crash. Ctrl-C or SIGTERM stops
cleanly (a second Ctrl-C skips the final backfill). The status line goes to stderr.
"""

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(text: str) -> float:
    """``"8h"``, ``"7h30m"``, ``"90m"``, ``"45s"`` or plain seconds -> seconds."""
    m = _DURATION.match(text)
    if not text.strip() or m is None or not any(m.groups()):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}; use e.g. 8h, 7h30m, 90m or 3600")
    h, mins, secs = (float(g) if g else 0.0 for g in m.groups())
    total = h * 3600 + mins * 60 + secs
    if total <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive, got {text!r}")
    return total


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..adapters import adapter_names  # the registry: the one list of sensors

    p.epilog = _EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--device", required=True, metavar="NAME_OR_ADDRESS", help="exact advertised name or Bluetooth address")
    p.add_argument("--out", required=True, metavar="FILE.lmr", help="recording to write (continued if it exists)")
    p.add_argument("--sensor", choices=adapter_names(), default="open",
                   help="sensor protocol (default: open)")
    p.add_argument("--duration", type=parse_duration, metavar="DURATION",
                   help="length of the night from the start of the file, e.g. 8h (default: until stopped)")
    p.add_argument("--side", choices=["left", "right", "both", "unknown"], help="ankle the sensor is worn on")
    p.add_argument("--rate", type=_positive_float, metavar="HZ",
                   help="sampling rate; the nearest the sensor supports is used (default 50); "
                   "Movesense: exactly one of 13, 26, 52, 104, 208, 416, 833, 1666 (default 52)")
    p.add_argument("--range", type=_positive_float, metavar="G", dest="range_g",
                   help="full scale in g; the nearest the sensor supports is used (default 8); "
                   "not for Movesense, whose range stays at the sensor's own setting")
    p.add_argument("--adapter", metavar="HCI", help="Bluetooth adapter, e.g. hci0 (default: the system's)")
    p.add_argument("--scan-timeout", type=_positive_float, default=20.0, metavar="S",
                   help="seconds one scan looks for the device (default 20)")
    p.add_argument("--watchdog", type=_positive_float, default=10.0, metavar="S",
                   help="seconds without data before the link is reset (default 10)")
    p.add_argument("--quiet", action="store_true", help="no status line")


def adapter_options(sensor: str, rate_hz: float | None, range_g: float | None) -> dict[str, float]:
    """Adapter options from ``--rate`` and ``--range`` (None: not given); ConfigError if unusable.

    Each adapter knows its own defaults and limits (:meth:`SensorAdapter.cli_options`).
    """
    from ..adapters import adapter_class

    return adapter_class(sensor).cli_options(rate_hz, range_g)


def run(args: argparse.Namespace) -> int:
    import asyncio  # here, not at the top: it alone takes longer than `lmdetect --help` may

    from ..adapters import make_adapter
    from ..collector.ble import BleakConnector
    from ..collector.session import CollectorParams, NightPlan, RecordSession, SessionSummary
    from ..collector.status import StatusDisplay
    from ..errors import ConfigError

    out = Path(args.out)
    if out.suffix.lower() != ".lmr":
        raise ConfigError(f"{out}: --out must be a .lmr file")
    adapter = make_adapter(args.sensor, **adapter_options(args.sensor, args.rate, args.range_g))
    plan = NightPlan(device=args.device, out=out, duration_s=args.duration, side=args.side)
    params = CollectorParams(scan_timeout_s=args.scan_timeout, watchdog_s=args.watchdog)
    display = None if args.quiet else StatusDisplay(sys.stderr)

    async def main() -> SessionSummary:
        session = RecordSession(
            plan,
            adapter,
            BleakConnector(adapter=args.adapter, service_uuid=adapter.service_uuid),
            params=params,
            on_status=None if display is None else display.update,
        )
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            session.request_stop(reason=f"signal {sig.name}")

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            return await session.run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        summary = asyncio.run(main())
    finally:
        if display is not None:
            display.close()
    d = summary.describe()
    print(
        f"{out}: {d['samples']:,} samples written ({d['backfilled_samples']:,} backfilled), "
        f"{d['lost_packets']} packets / {d['lost_samples']} samples lost, {d['reconnects']} reconnects, "
        f"drift {d['drift_ppm'] if d['drift_ppm'] is not None else '?'} ppm; stopped: {d['stopped_by']}",
        file=sys.stderr,
    )
    return 0
