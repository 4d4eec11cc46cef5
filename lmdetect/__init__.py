"""lmdetect: periodic limb movements during sleep from an ankle-worn accelerometer.

The public API is listed in ``__all__``. Heavy optional dependencies (matplotlib, bleak, dask) are
imported only by the functions that need them.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from .errors import ConfigError, DeviceNotFoundError, FormatError, LmdetectError, ProtocolError
from .model import Recording

try:
    __version__ = version("lmdetect")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "Recording",
    "LmdetectError",
    "FormatError",
    "ConfigError",
    "ProtocolError",
    "DeviceNotFoundError",
]
