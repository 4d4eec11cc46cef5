"""Per-night reports: a self-contained HTML file and an optional PDF, with figures and a methods
paragraph generated from the configuration.

Needs the ``report`` extra (matplotlib, jinja2). Importing this package checks that they are
installed (so ``import lmdetect.report`` fails early with a clear message) but loads them only
when a function is first used.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

__all__ = [
    "write_night_report",
    "render_night_report",
    "write_night_report_pdf",
    "methods_paragraphs",
    "methods_text",
    "references",
    "plot_timeline",
    "plot_imi_histogram",
    "plot_plm_per_hour",
]

_missing = [m for m in ("matplotlib", "jinja2") if importlib.util.find_spec(m) is None]
if _missing:
    raise ImportError(
        f"lmdetect.report needs {' and '.join(_missing)}; "
        "install the report extra: pip install 'lmdetect[report]'"
    )

_WHERE = {
    "write_night_report": "html",
    "render_night_report": "html",
    "write_night_report_pdf": "pdf",
    "methods_paragraphs": "methods",
    "methods_text": "methods",
    "references": "methods",
    "plot_timeline": "figures",
    "plot_imi_histogram": "figures",
    "plot_plm_per_hour": "figures",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
