"""Reader of NSRR XML scorings (``PSGAnnotation`` files of the National Sleep Research Resource).

Structure (nsrr/edf-editor-translator, ``AllVendorAnnotationTranslator.java``; Luna
documentation, "NSRR annotations")::

    <PSGAnnotation>
      <EpochLength>30</EpochLength>
      <ScoredEvents>
        <ScoredEvent>
          <EventType/> <EventConcept>Recording Start Time</EventConcept>
          <Start>0</Start> <ClockTime>00.00.00 22.30.00</ClockTime>
        </ScoredEvent>
        <ScoredEvent>
          <EventType>Limb Movement|Limb Movement</EventType>
          <EventConcept>Limb movement - left|Limb Movement (Left)</EventConcept>
          <Start>1234.5</Start> <Duration>2.1</Duration>
        </ScoredEvent>
        ...

``Start`` and ``Duration`` are seconds. Stage events (``Stages|Stages``: ``Wake|0``,
``Stage 1 sleep|1`` ... ``Stage 4 sleep|4`` (N3), ``REM sleep|5``) often cover runs of epochs;
they are split into ``EpochLength`` epochs. Both ``Limb movement - left|Limb Movement (Left)`` and
``Periodic leg movement - left|PLM (Left)`` are single leg movements (cohorts differ in which
they use). In MESA, ``Unsure|Unsure`` is a hypopnea with > 50 % airflow reduction; it is read as a
hypopnea. The ``ClockTime`` of the start event gives ``start`` when its date part is real (not
``00.00.00``, nor the EDF placeholder ``01.01.85``).

The file is parsed with expat so errors can name the line; DOCTYPE declarations are refused.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from typing import Any
from xml.parsers import expat

from ...errors import FormatError
from .._guard import guarded
from ._base import DEFAULT_EPOCH_S, EventCollector, ScoredEvents
from ._labels import Label, classify

__all__ = ["read_nsrr_xml", "looks_like_nsrr_xml"]

_CLOCK = re.compile(r"^(\d{2})\.(\d{2})\.(\d{2,4})\s+(\d{1,2})[.:](\d{2})[.:](\d{2})$")
_PLACEHOLDER_DATES = {("00", "00", "00"), ("01", "01", "85")}


def looks_like_nsrr_xml(head: bytes) -> bool:
    return b"<PSGAnnotation" in head


class _Refused(Exception):
    pass


def _parse(path: str, data: bytes) -> tuple[list[dict[str, Any]], float]:
    """The ScoredEvent elements as dicts of child text (plus ``_line``), and the epoch length."""
    parser = expat.ParserCreate()
    events: list[dict[str, Any]] = []
    epoch_text: str | None = None
    epoch_line = 0
    stack: list[str] = []
    current: dict[str, Any] | None = None
    text: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal current
        if not stack and name != "PSGAnnotation":
            raise FormatError(
                path,
                f"not an NSRR annotation file: root element is <{name}>, expected <PSGAnnotation>",
                line=parser.CurrentLineNumber,
            )
        stack.append(name)
        text.clear()
        if name == "ScoredEvent":
            current = {"_line": parser.CurrentLineNumber}

    def end(name: str) -> None:
        nonlocal current, epoch_text, epoch_line
        value = "".join(text).strip()
        if current is not None and len(stack) >= 2 and stack[-2] == "ScoredEvent":
            current[name] = value
        elif name == "EpochLength" and len(stack) == 2:
            epoch_text, epoch_line = value, parser.CurrentLineNumber
        if name == "ScoredEvent" and current is not None:
            events.append(current)
            current = None
        stack.pop()
        text.clear()

    def chars(data: str) -> None:
        text.append(data)

    def doctype(*_: object) -> None:
        raise _Refused

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise FormatError(
            path, f"malformed XML: {expat.errors.messages[exc.code]}", line=exc.lineno
        ) from None
    except _Refused:
        raise FormatError(
            path, "DOCTYPE declarations are not accepted", line=parser.CurrentLineNumber
        ) from None
    if epoch_text is None:
        return events, DEFAULT_EPOCH_S
    try:
        epoch_s = float(epoch_text)
    except ValueError:
        epoch_s = math.nan
    if not (math.isfinite(epoch_s) and epoch_s > 0):
        raise FormatError(path, f"invalid EpochLength {epoch_text!r}", line=epoch_line)
    return events, epoch_s


def _start_time(path: str, clock: str, line: int) -> dt.datetime | None:
    m = _CLOCK.match(clock.strip())
    if not m:
        raise FormatError(path, f"unreadable ClockTime {clock!r} (expected 'dd.mm.yy hh.mm.ss')", line=line)
    d, mo, y, hh, mm, ss = m.groups()
    if (d, mo, y[-2:]) in _PLACEHOLDER_DATES:
        return None
    year = int(y) if len(y) == 4 else (1900 + int(y) if int(y) >= 85 else 2000 + int(y))
    try:
        return dt.datetime(year, int(mo), int(d), int(hh), int(mm), int(ss))
    except ValueError:
        raise FormatError(path, f"invalid ClockTime {clock!r}", line=line) from None


@guarded("NSRR XML")
def read_nsrr_xml(path: str | os.PathLike[str]) -> ScoredEvents:
    """Read an NSRR XML scoring.

    Raises
    ------
    FormatError
        Malformed XML, a root element other than ``PSGAnnotation``, an event without a readable
        ``Start``/``Duration`` (the message names the line of its ``<ScoredEvent>``).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise FormatError(path, f"cannot read: {exc.strerror or exc}") from exc
    events, epoch_s = _parse(path, data)
    col = EventCollector(path, "nsrr-xml", epoch_s=epoch_s)
    start: dt.datetime | None = None
    for ev in events:
        line = ev["_line"]
        concept = ev.get("EventConcept", "")
        if concept.strip().lower() == "recording start time":
            if ev.get("ClockTime"):
                start = _start_time(path, ev["ClockTime"], line)
            continue
        if not concept:
            raise FormatError(path, "ScoredEvent without EventConcept", line=line)
        try:
            onset = float(ev.get("Start", ""))
        except ValueError:
            raise FormatError(
                path, f"event {concept!r}: unreadable Start {ev.get('Start')!r}", line=line
            ) from None
        try:
            duration = float(ev["Duration"]) if ev.get("Duration") else 0.0
        except ValueError:
            raise FormatError(
                path, f"event {concept!r}: unreadable Duration {ev.get('Duration')!r}", line=line
            ) from None
        if concept.strip().lower().startswith("unsure"):
            label: Label | None = Label("respiratory", "hypopnea")
        else:
            label = classify(concept, ev.get("SignalLocation", ""))
        col.add(label, concept, onset, duration, line)
    return col.finish(start)
