"""The label vocabulary shared by the scored-event readers.

Every reader turns one event label (and the channel or location it is linked to, if any) into a
:class:`Label` with :func:`classify`, or ``None`` for labels the scoring does not use. Matching
is case-insensitive and ignores punctuation, so ``LM/left``, ``lm:left`` and ``LM left`` are the
same label. The labels recognised (see docs/scoring.md, "Scored-event files"):

* leg movements: ``LM``, ``CLM``, ``PLM`` with an optional side (``LM/left``, ``PLM/right``,
  ``LM/both``; Luna/NSRR harmonised vocabulary), ``Limb movement``, ``Leg movement`` and the NSRR
  concepts ``Limb movement - left|Limb Movement (Left)``, ``Periodic leg movement - right|PLM
  (Right)``; RemLogic ``PLM-LM``. The side comes from the label, else from the channel or location
  (see :func:`side_from_text`: ``@@EMG LAT``, ``LAntib1-LAntib2``, ``EMG.Tibialis-Leg.Left``),
  else ``unknown``. An LM whose channel names no leg keeps that channel in
  ``Label.unmapped_channel``, so the reader can warn instead of silently scoring one leg.
* sleep stages: ``Sleep stage W|N1|N2|N3|R`` and R&K ``1|2|3|4`` (3 and 4 are N3), NSRR
  ``Wake|0`` ... ``REM sleep|5``, RemLogic ``SLEEP-S0`` ... ``SLEEP-S4``, ``SLEEP-REM``, bare
  ``W``/``N1``/``N2``/``N3``/``R``.
* arousals named by their cause, first word "arousal" (RemLogic ``AROUSAL-SPONT``,
  ``AROUSAL-APNEA``, ``AROUSAL-HYPOPNEA``, ``AROUSAL-LM``; NSRR ``Arousal resulting from
  respiratory effort|Arousal (RESP)``): arousals, never respiratory events: the apnea or
  hypopnea is an event of its own in the file. ``AROUSAL-RERA`` is the arousal that ends a RERA:
  an arousal (``value = "rera"``) that also stands for the RERA, see :class:`Label`.
* respiratory events: other labels naming an apnea, a hypopnea or a RERA (``Obstructive apnea``,
  ``APNEA-CENTRAL``, ``Hypopnea``, ``RERA``, ``Respiratory effort related arousal|RERA``).
* arousals: any other label naming an arousal (``Arousal``, ``ASDA arousal|Arousal (ASDA)``,
  ``Arousal resulting from periodic leg movement|Arousal (PLM)``); an arousal label is never
  read as a leg movement.
* ``movement/posture`` and ``movement/gross`` (our own EDF+ export): movements that are never
  candidate LMs, read with kind ``posture`` / ``gross`` so they break series again.
* ``Lights off`` / ``Lights on`` (also ``LIGHTS-OFF``, ``lights_out``).
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["Label", "classify", "side_from_text", "stage_from_text"]

_SEP = re.compile(r"[\s_\-:/|()\[\].,;]+")

_LEFT = frozenset({"left", "l", "lat", "lleg", "legl", "ltib", "tibl", "lt", "links"})
_RIGHT = frozenset({"right", "r", "rat", "rleg", "legr", "rtib", "tibr", "rt", "rechts"})
_BOTH = frozenset({"both", "bilateral", "bil"})
# what leg-EMG channel names are made of once the side letter and the electrode numbers are
# taken off: "LAntib1-LAntib2", "LAT1-LAT2", "RTIB", "Tib-R", "LLeg", "LM-L", "TA-R"
_LEG_STEMS = frozenset({"antib", "tibant", "tibialis", "tib", "at", "ta", "leg", "lm", "emg"})
_SIDE_AFFIXES = (("left", "left"), ("right", "right"), ("l", "left"), ("r", "right"))
_LM_WORDS = frozenset({"lm", "clm", "plm", "isolated", "periodic"})

_STAGE_WORDS = {
    "w": "W",
    "wake": "W",
    "s0": "W",
    "n1": "N1",
    "s1": "N1",
    "nrem1": "N1",
    "n2": "N2",
    "s2": "N2",
    "nrem2": "N2",
    "n3": "N3",
    "s3": "N3",
    "nrem3": "N3",
    "n4": "N3",
    "s4": "N3",
    "nrem4": "N3",
    "r": "R",
    "rem": "R",
}
_STAGE_DIGITS = {"0": "W", "1": "N1", "2": "N2", "3": "N3", "4": "N3", "5": "R"}
_STAGE_PREFIXES = ("sleep stage ", "sleepstage ", "sleep ", "stage ")


@dataclasses.dataclass(frozen=True)
class Label:
    """What an event label means: ``category`` is ``lm`` (``value`` = side, ``kind`` = movement
    kind of lmdetect.model.LM_KINDS), ``stage`` (``value`` = W/N1/N2/N3/R), ``respiratory``
    (``value`` = apnea/hypopnea/rera), ``arousal`` (``value`` = ``"rera"`` for the arousal that
    ends a RERA, ``""`` otherwise), ``lights_off`` or ``lights_on``.

    ``unmapped_channel``: for an LM of side ``unknown``, the channel or location it was linked to
    when that names no leg (``""`` when there was none).

    An ``AROUSAL-RERA`` stands for two events: the arousal, and the RERA that it terminates. WASM
    2016 (Ferri et al., Sleep Med 2016;21:1-11) relates CLMs to the end of apneas, hypopneas and
    RERAs, and a RERA ends in its arousal (AASM manual: a sequence of breaths "leading to an
    arousal"), so the readers add a RERA that ends at the arousal's onset."""

    category: str
    value: str = ""
    kind: str = ""
    unmapped_channel: str = ""


def _norm(text: str) -> str:
    return _SEP.sub(" ", text.lower()).strip()


def _token_side(token: str) -> str | None:
    word = re.sub(r"\d+", "", token)  # electrode numbers: "lantib1" -> "lantib"
    for side, words in (("left", _LEFT), ("right", _RIGHT), ("both", _BOTH)):
        if word in words:
            return side
    for affix, side in _SIDE_AFFIXES:
        if word.startswith(affix) and word[len(affix) :] in _LEG_STEMS:
            return side  # "lantib", "rat", "ltib", "leftleg"
        if word.endswith(affix) and word[: -len(affix)] in _LEG_STEMS:
            return side  # "tibl", "legr", "tibialisleft"
    return None


def side_from_text(text: str) -> str:
    """``left``, ``right``, ``both`` or ``unknown`` from a label, channel or location text.

    Leg channels as PSG systems and scorers name them: a side word (``left``, ``L``, ``links``,
    ...), alone or joined to a leg-EMG stem with or without electrode numbers: ``LAntib1-LAntib2``
    and ``RAntib1-RAntib2`` (RemLogic), ``EMG LAT`` / ``RAT`` (left / right anterior tibialis),
    ``LTIB``, ``Tib-R``, ``EMG.Tibialis-Leg.Left``, ``Leg/L``, ``LLeg1-LLeg2``. Text naming both
    legs (``Left and right``, ``bilateral``) gives ``both``; anything else ``unknown``.
    """
    found = {s for s in map(_token_side, _norm(text).split()) if s is not None}
    if len(found) == 1:
        return found.pop()
    if found == {"left", "right"}:
        return "both"
    return "unknown"


def stage_from_text(text: str) -> str | None:
    """The AASM stage (W, N1, N2, N3, R) a stage label names, or None."""
    norm = _norm(text)
    body = norm
    prefixed = False
    for p in _STAGE_PREFIXES:
        if body.startswith(p):
            body = body[len(p) :]
            prefixed = True
            break
    tokens = body.split()
    if not tokens:
        return None
    head, rest = tokens[0], tokens[1:]
    # NSRR adds " sleep" and/or the numeric code: "Stage 2 sleep|2", "REM sleep|5", "Wake|0"
    if rest and rest[0] == "sleep":
        rest = rest[1:]
    if len(rest) > 1 or (rest and not rest[0].isdigit()):
        return None
    if head in _STAGE_WORDS:
        return _STAGE_WORDS[head]
    if head.isdigit() and prefixed:
        return _STAGE_DIGITS.get(head)
    return None


def _respiratory_kind(norm: str) -> str | None:
    tokens = norm.split()
    if any(t.startswith(("hypopnea", "hypopnoea")) for t in tokens):
        return "hypopnea"
    if any(t.startswith(("apnea", "apnoea")) or t.endswith(("apnea", "apnoea")) for t in tokens):
        return "apnea"
    if "rera" in tokens or "respiratory effort related arousal" in norm:
        return "rera"
    return None


def _is_lm(norm: str) -> bool:
    tokens = norm.split()
    if not tokens or "arousal" in tokens:
        return False
    if tokens[0] in ("lm", "clm", "plm"):
        others = set(tokens[1:])
        return others <= (_LM_WORDS | _LEFT | _RIGHT | _BOTH | {"emg", "leg", "limb"})
    return bool(re.search(r"\b(limb|leg) movements?\b", norm))


def classify(label: str, channel: str = "") -> Label | None:
    """Classify one event label; ``channel`` (EDF+ ``@@`` link, RemLogic location, NSRR signal
    location) supplies the side of an LM whose label has none. None: not used for scoring."""
    norm = _norm(label)
    if not norm:
        return None
    m = re.fullmatch(r"lights? ?(off|out|on)", norm)
    if m:
        return Label("lights_on" if m.group(1) == "on" else "lights_off")
    stage = stage_from_text(label)
    if stage is not None:
        return Label("stage", stage)
    tokens = norm.split()
    if tokens[0].startswith("arousal"):  # "AROUSAL-APNEA": an arousal, named by its cause
        return Label("arousal", "rera" if _respiratory_kind(norm) == "rera" else "")
    resp = _respiratory_kind(norm)
    if resp is not None:
        return Label("respiratory", resp)
    if any(t.startswith("arousal") for t in tokens):  # EEG arousals of any cause (not RERA: above)
        return Label("arousal")
    kind = "lm"
    if len(tokens) == 2 and tokens[0] == "movement" and tokens[1] in ("posture", "gross"):
        kind = tokens[1]
    elif not _is_lm(norm):
        return None
    side = side_from_text(label) if kind == "lm" else "unknown"
    unmapped = ""
    if side == "unknown" and channel.strip():
        side = side_from_text(channel)
        if side == "unknown" and kind == "lm":
            unmapped = channel.strip()
    return Label("lm", side, kind, unmapped)
