"""Exception hierarchy: every error lmdetect raises on purpose derives from :class:`LmdetectError`."""

from __future__ import annotations

import os

__all__ = [
    "LmdetectError",
    "FormatError",
    "ConfigError",
    "ProtocolError",
    "DeviceNotFoundError",
    "LinkError",
]


class LmdetectError(Exception):
    """Base class of all lmdetect errors."""


class FormatError(LmdetectError, ValueError):
    """A file is malformed or unsupported.

    The message is one line; it always names the file and, where known, the line (1-based,
    counting the header) or byte offset of the problem.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        problem: str,
        *,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        # one line, whatever a library put into the text
        problem = " ".join(str(problem).split())
        self.problem = problem
        self.line = line
        self.offset = offset
        where = self.path or "<input>"
        if line is not None:
            where += f", line {line}"
        elif offset is not None:
            where += f", byte {offset}"
        super().__init__(f"{where}: {problem}")


class ConfigError(LmdetectError, ValueError):
    """A parameter or configuration value is invalid."""


class ProtocolError(LmdetectError, ValueError):
    """A BLE packet or control message does not follow the sensor profile."""


class DeviceNotFoundError(LmdetectError):
    """The requested BLE device was not found while scanning."""


class LinkError(LmdetectError):
    """The BLE link failed: connect refused, connection lost, a GATT operation failed or timed out.

    Raised by the links of :mod:`lmdetect.collector.link` and by the sensor adapters' control
    channels (so the adapters need not import the collector).
    """
