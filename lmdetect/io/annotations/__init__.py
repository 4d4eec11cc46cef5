"""Readers of scored-event files: leg movements, sleep stages and respiratory events scored by
a person or another program, to be (re)scored without any signal.

One module per format, each returning a :class:`ScoredEvents`:

========================  =============  ============================================
format                    name           module
========================  =============  ============================================
EDF+ annotations          ``edf+``       :mod:`~lmdetect.io.annotations.edfplus`
NSRR XML                  ``nsrr-xml``   :mod:`~lmdetect.io.annotations.nsrr_xml`
our events.csv            ``events-csv`` :mod:`~lmdetect.io.annotations.events_csv`
RemLogic event export     ``remlogic``   :mod:`~lmdetect.io.annotations.remlogic`
========================  =============  ============================================

:func:`read_scored_events` picks the format from the file's content (EDF header, a
``<PSGAnnotation>`` root, a CSV header with ``onset_s,duration_s``, a RemLogic table header).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ...errors import FormatError
from .._guard import guarded
from ._base import ScoredEvents
from .edfplus import looks_like_edf, read_edf_annotations
from .events_csv import looks_like_events_csv, read_events_csv, read_hypnogram_csv
from .nsrr_xml import looks_like_nsrr_xml, read_nsrr_xml
from .remlogic import decode_text, looks_like_remlogic, read_remlogic

__all__ = [
    "ScoredEvents",
    "SCORED_EVENT_FORMATS",
    "read_scored_events",
    "detect_format",
    "read_edf_annotations",
    "read_nsrr_xml",
    "read_events_csv",
    "read_remlogic",
    "read_hypnogram_csv",
]

#: Format name -> reader.
SCORED_EVENT_FORMATS: dict[str, Callable[[str | os.PathLike[str]], ScoredEvents]] = {
    "edf+": read_edf_annotations,
    "nsrr-xml": read_nsrr_xml,
    "events-csv": read_events_csv,
    "remlogic": read_remlogic,
}

_ALIASES = {"edf": "edf+", "xml": "nsrr-xml", "nsrr": "nsrr-xml", "csv": "events-csv"}
_SNIFF_BYTES = 65536


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format name of a scored-event file, from its first bytes.

    Raises
    ------
    FormatError
        The file does not exist or matches no supported format.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from exc
    if looks_like_edf(head):
        return "edf+"
    if looks_like_nsrr_xml(head):
        return "nsrr-xml"
    text = decode_text(head)
    if looks_like_events_csv(text):
        return "events-csv"
    if looks_like_remlogic(text):
        return "remlogic"
    raise FormatError(
        path,
        "not a recognised scored-event file; supported: EDF+ annotations, NSRR XML (<PSGAnnotation>), "
        "events CSV (header with onset_s,duration_s), RemLogic event export (a tab-separated table "
        "with 'Time [hh:mm:ss]', 'Event', 'Duration[s]')",
    )


@guarded("scored-event")
def read_scored_events(path: str | os.PathLike[str], format: str | None = None) -> ScoredEvents:
    """Read a scored-event file.

    Parameters
    ----------
    path
        The file.
    format
        One of :data:`SCORED_EVENT_FORMATS` (also ``edf``, ``xml``, ``csv``); default: detected
        from the content.

    Raises
    ------
    FormatError
        Unknown or unreadable file, malformed rows (naming file and line).
    """
    if format is None or format == "auto":
        name = detect_format(path)
    else:
        name = _ALIASES.get(format.lower(), format.lower())
        if name not in SCORED_EVENT_FORMATS:
            raise FormatError(
                path, f"unknown scored-event format {format!r}; choose from {', '.join(SCORED_EVENT_FORMATS)}"
            )
        if not Path(path).exists():
            raise FormatError(path, "file not found")
    return SCORED_EVENT_FORMATS[name](path)
