"""A private ``dbus-daemon`` configured like a system bus, for the virtual BlueZ.

bleak (through dbus-fast) connects to the *system* bus, whose address it takes from
``DBUS_SYSTEM_BUS_ADDRESS``. :class:`PrivateBus` starts a throw-away ``dbus-daemon`` with a
generated configuration (system bus type, EXTERNAL authentication, a policy that allows everything,
generous queue limits) in a temporary folder; no root and no real system bus are needed.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lmdetect.errors import LmdetectError

__all__ = ["PrivateBus", "dbus_daemon_path", "shared_private_bus"]

log = logging.getLogger(__name__)

ENV_VAR = "DBUS_SYSTEM_BUS_ADDRESS"

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow send_destination="*"/>
    <allow eavesdrop="true"/>
  </policy>
  <!-- a fast notification stream must not hit the daemon's per-connection limits -->
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">33554432</limit>
  <limit name="max_incoming_unix_fds">256</limit>
  <limit name="max_outgoing_unix_fds">256</limit>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
"""


def dbus_daemon_path() -> str | None:
    """Path of the ``dbus-daemon`` executable, or None when it is not installed."""
    return shutil.which("dbus-daemon")


class PrivateBus:
    """A private system-type D-Bus daemon; use as a context manager.

    Parameters
    ----------
    set_env : bool
        Point ``DBUS_SYSTEM_BUS_ADDRESS`` at this bus while it runs (restored on stop). This must
        happen before bleak first connects to the bus in this process.
    workdir : path or None
        Folder for the socket and configuration; a new temporary folder when None (removed on stop).

    Attributes
    ----------
    address : str
        The bus address, ``unix:path=...``.
    """

    def __init__(self, *, set_env: bool = True, workdir: str | os.PathLike[str] | None = None):
        self.set_env = set_env
        self._own_dir = workdir is None
        self.dir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="lmd-dbus-"))
        self.socket = self.dir / "system_bus_socket"
        self.address = f"unix:path={self.socket}"
        self.proc: subprocess.Popen[str] | None = None
        self._old_env: str | None = None

    def start(self) -> PrivateBus:
        daemon = dbus_daemon_path()
        if daemon is None:
            raise LmdetectError("dbus-daemon is not installed (Debian/Ubuntu: apt-get install dbus-daemon)")
        conf = self.dir / "bus.conf"
        conf.write_text(_CONFIG.format(socket=self.socket), encoding="utf-8")
        self.proc = subprocess.Popen(
            [daemon, f"--config-file={conf}", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()  # printed once the socket is listening
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait(5)
            raise LmdetectError(f"dbus-daemon did not start: {err.strip() or 'no output'}")
        log.info("private D-Bus at %s (pid %d)", self.address, self.proc.pid)
        if self.set_env:
            self._old_env = os.environ.get(ENV_VAR)
            os.environ[ENV_VAR] = self.address
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        if proc is not None:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        if self.set_env:
            if self._old_env is None:
                os.environ.pop(ENV_VAR, None)
            else:
                os.environ[ENV_VAR] = self._old_env
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_SHARED: PrivateBus | None = None


def shared_private_bus() -> PrivateBus:
    """One private bus per process, started on first use, with ``DBUS_SYSTEM_BUS_ADDRESS`` set.

    For test suites: bleak reads the address whenever it opens a connection, so every test in the
    process must see the same bus, however many fixture modules ask for it. Stopped at exit.
    """
    global _SHARED
    if _SHARED is None or not _SHARED.running:
        _SHARED = PrivateBus(set_env=True).start()
        atexit.register(_SHARED.stop)
    return _SHARED
