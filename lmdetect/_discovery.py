"""Find the modules of a package that register something (readers, rule sets, sensor adapters).

A registry must not keep a second, hand-written list of its modules: one that is forgotten there
is silently never registered. Instead each registry imports, on first use, every public module of
its package whose source calls its registration function. Only the module's text is read before
that, so unrelated modules (and their imports) are left alone and ``import lmdetect`` stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import pkgutil
import re
from collections.abc import Iterable

__all__ = ["import_registering_modules", "install_hint"]

log = logging.getLogger(__name__)


def import_registering_modules(package: str, markers: Iterable[str]) -> dict[str, str]:
    """Import every public module of ``package`` whose source contains one of ``markers``.

    Parameters
    ----------
    package
        Dotted package name, e.g. ``"lmdetect.io"``; modules found on its ``__path__`` (one level,
        names not starting with ``_``) are considered.
    markers
        Source snippets that mark a registering module, e.g. ``("register_reader(",)``.

    Returns
    -------
    dict
        ``{module name: reason}`` for the modules that cannot be imported because a third-party
        package they need is not installed; the reason names that package and the extra that
        installs it. Any other import error is raised: a broken module must not look absent.
    """
    markers = tuple(markers)
    pkg = importlib.import_module(package)
    unavailable: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__, package + "."), key=lambda m: m.name):
        if info.ispkg or info.name.rsplit(".", 1)[1].startswith("_"):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, encoding="utf-8") as fh:
            source = fh.read()
        if not any(m in source for m in markers):
            continue
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if not missing or missing == package.split(".")[0]:
                raise  # a module of lmdetect itself is missing: a bug, not an optional dependency
            unavailable[info.name] = f"{info.name} needs {missing!r}: {install_hint(missing)}"
            log.debug("%s not available: %s", info.name, exc)
    return unavailable


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def install_hint(module: str) -> str:
    """How to install the third-party package that provides ``module``: the lmdetect extra that
    requires it (read from the installed package's metadata), else the package itself."""
    wanted = _normalise(module)
    try:
        requirements = importlib.metadata.requires("lmdetect") or []
    except importlib.metadata.PackageNotFoundError:
        requirements = []
    for req in requirements:
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)[^;]*;\s*extra\s*==\s*[\"']([^\"']+)[\"']", req)
        if m and _normalise(m.group(1)) == wanted and m.group(2) not in ("all", "test"):
            return f"pip install 'lmdetect[{m.group(2)}]'"
    return f"pip install {module}"
