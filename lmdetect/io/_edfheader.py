"""EDF+ header subfields: fixed-width printable ASCII (EDF+ specification, Kemp & Olivan,
Clin Neurophysiol 2003, section 2.1.3)."""

from __future__ import annotations

import logging
import os
import re
import unicodedata

__all__ = ["subfield", "equipment_code"]

log = logging.getLogger(__name__)


def subfield(text: str, width: int = 80) -> str:
    """An EDF+ header subfield: printable ASCII without spaces, at most ``width`` characters,
    'X' when empty. Accents are dropped (NFKD), other characters become ``_``: EDF header
    fields are fixed-width ASCII (EDF+ specification, Kemp & Olivan 2003, section 2.1.3)."""
    ascii_text = unicodedata.normalize("NFKD", text.strip()).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^\x21-\x7e]", "_", ascii_text)[:width]
    return s or "X"


def equipment_code(path: str | os.PathLike[str], device_id: str, width: int) -> str:
    """``device_id`` as the EDF+ equipment subfield of at most ``width`` characters; a changed
    or shortened id is logged (the header has no room for more)."""
    code = subfield(device_id, width)
    if code != device_id and device_id not in ("unknown", "X", ""):
        log.warning(
            "%s: device id %r written to the EDF header as %r (ASCII, at most %d characters)",
            os.fspath(path),
            device_id,
            code,
            width,
        )
    return code
