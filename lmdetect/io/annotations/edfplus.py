"""Reader of EDF+ annotations (the ``EDF Annotations`` signal; an annotation-only file is legal).

Each annotation has an onset (s since the recording start), a duration (may be absent) and a
text. A text ``label@@channel`` links the event to a signal (EDF+ specification, edfplus.info,
"EDF+ texts" section 3.3); the channel gives the side of an LM whose label has none
(``Limb movement@@EMG LAT``). Labels are classified by the shared vocabulary
(``lmdetect.io.annotations._labels``). A stage annotation without duration stands for one
30-s epoch.

Needs the optional dependency ``edfio`` (``pip install lmdetect[edf]``), imported on first use.
"""

from __future__ import annotations

import datetime as dt
import os

from ...errors import FormatError, LmdetectError
from .._guard import guarded
from ._base import EventCollector, ScoredEvents
from ._labels import classify

__all__ = ["read_edf_annotations", "looks_like_edf"]


def looks_like_edf(head: bytes) -> bool:
    """EDF files start with the version field: ``0`` followed by seven spaces."""
    return head[:8] == b"0       "


@guarded("EDF+ annotation")
def read_edf_annotations(path: str | os.PathLike[str]) -> ScoredEvents:
    """Read the annotations of an EDF+ file.

    Raises
    ------
    FormatError
        The file is not a readable EDF/EDF+ file.
    LmdetectError
        ``edfio`` is not installed.
    """
    path = os.fspath(path)
    try:
        import edfio
    except ModuleNotFoundError as exc:  # pragma: no cover - edfio is in the test environment
        raise LmdetectError("reading EDF+ annotations needs edfio: pip install 'lmdetect[edf]'") from exc
    try:
        edf = edfio.read_edf(path, lazy_load_data=True)
        annotations = edf.annotations
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except Exception as exc:  # edfio raises ValueError/IndexError/UnicodeDecodeError on bad files
        raise FormatError(path, f"not a readable EDF+ file: {exc}") from exc

    start: dt.datetime | None
    try:
        start = dt.datetime.combine(edf.startdate, edf.starttime)
    except (edfio.AnonymizedDateError, ValueError):
        start = None  # anonymised date ("X"): the clock time alone is no absolute time

    col = EventCollector(path, "edf+")
    for n, ann in enumerate(annotations, start=1):
        text = ann.text
        label, _, channel = text.partition("@@")
        duration = 0.0 if ann.duration is None else float(ann.duration)
        # EDF+ has no line numbers; report the annotation's position instead
        try:
            col.add(classify(label, channel), label, float(ann.onset), duration, None)
        except FormatError as exc:
            raise FormatError(path, f"annotation #{n} ({text!r}): {exc.problem}") from None
    return col.finish(start)
