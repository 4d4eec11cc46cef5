"""Versions of Python, lmdetect and the libraries that shaped a result, for output provenance."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version

__all__ = ["package_versions"]


def package_versions(
    names: Iterable[str], *, with_lmdetect: bool = False, missing: str | None = "not installed"
) -> dict[str, str]:
    """``{"python": ..., name: version, ...}`` in the order given (``lmdetect`` first if asked).

    Parameters
    ----------
    names
        Distribution names, e.g. ``("numpy", "scipy")``.
    with_lmdetect
        Start with this package's own version.
    missing
        Shown for a distribution that is not installed; None leaves it out.
    """
    out: dict[str, str] = {}
    if with_lmdetect:
        from . import __version__

        out["lmdetect"] = __version__
    out["python"] = platform.python_version()
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            if missing is not None:
                out[name] = missing
    return out
