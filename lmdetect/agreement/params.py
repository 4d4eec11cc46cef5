"""Constants of ``lmdetect agree`` that its command line needs, kept free of numpy, pandas and
scipy so that building the parser imports none of them.

:data:`DEFAULT_TOLERANCE_S` is explained in :mod:`lmdetect.agreement.match`.
"""

from __future__ import annotations

__all__ = ["DEFAULT_TOLERANCE_S", "MANIFEST_COLUMNS"]

#: Default onset tolerance (s) of event matching.
DEFAULT_TOLERANCE_S = 1.0

#: Columns an ``agree --cohort`` manifest may have; the first two are required.
MANIFEST_COLUMNS = ("sensor_night", "reference", "reference_hypnogram", "offset_s", "participant", "child")
