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
    """Base class of all lmdetect errors.

    Parameters
    ----------
    message : str
        One line saying what went wrong, naming the file or the parameter concerned.
    """


class FormatError(LmdetectError, ValueError):
    """A file is malformed or unsupported.

    The message is one line; it always names the file and, where known, the line (1-based,
    counting the header) or byte offset of the problem.

    Parameters
    ----------
    path : str or os.PathLike or None
        The file concerned (None: an in-memory input, shown as ``<input>``).
    problem : str
        What is wrong; folded onto one line.
    line : int, optional
        1-based line number (counting the header) of the problem.
    offset : int, optional
        Byte offset (bytes from the start of the file) of the problem; shown only without ``line``.

    Attributes
    ----------
    path : str or None
        The file, as given.
    problem : str
        The one-line problem text, without the location.
    line, offset : int or None
        The location, as given.
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
    """A parameter or configuration value is invalid.

    Parameters
    ----------
    message : str
        One line naming the parameter or file and the problem.
    """


class ProtocolError(LmdetectError, ValueError):
    """A BLE packet or control message does not follow the sensor profile.

    Parameters
    ----------
    message : str
        One line saying which packet or message is wrong and how.
    """


class DeviceNotFoundError(LmdetectError):
    """The requested BLE device was not found while scanning.

    Parameters
    ----------
    message : str
        One line naming the device and the problem.
    """


class LinkError(LmdetectError):
    """The BLE link failed: connect refused, connection lost, a GATT operation failed or timed out.

    Raised by the links of :mod:`lmdetect.collector.link` and by the sensor adapters' control
    channels (so the adapters need not import the collector).

    Parameters
    ----------
    message : str
        One line naming the link operation and the problem.
    """
