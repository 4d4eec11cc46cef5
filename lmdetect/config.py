"""The processing configuration: every stage's parameters in one frozen, hashable object.

``Config().hash()`` (16 hex digits of the SHA-256 of the canonical JSON) is recorded in every
output, so a result can always be tied to the exact settings that produced it. Configs round-trip
through TOML files (``lmdetect process --config FILE``)::

    rules = "aasm"
    [detect]
    on_min_mg = 10.0
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from typing import Any

from ._params import Params, check_option
from .detect.params import DetectParams
from .detect.vibration import VibrationParams
from .errors import ConfigError
from .preprocessing.nonwear import NonwearParams
from .sleepwake.params import SleepWakeParams

__all__ = ["Config", "RULE_SET_NAMES", "load_config", "dump_config_toml"]

RULE_SET_NAMES: tuple[str, ...] = ("wasm2016", "aasm")


@dataclasses.dataclass(frozen=True)
class Config(Params):
    """All parameters of :func:`lmdetect.process_night`.

    Attributes
    ----------
    rules
        PLM scoring rule set: ``"wasm2016"`` (WASM/IRLSSG 2016, default) or ``"aasm"``.
    detect, vibration, sleepwake, nonwear
        Stage parameters (see their classes).
    detect_vibration
        Detect vibration-pad sessions in the signal and mask them from LM detection.
    mask_logged_pads
        Also mask every logged pad session (plus ``pad_log_margin_s``). Off by default: only
        vibration actually seen in the signal is masked, so PLMs during pad use stay measurable
        when the sensor filters the vibration out (many MEMS parts low-pass near ODR/2).
    pad_log_margin_s
        Time masked after a logged pad session's end (the ramp-down may be logged short).
    min_observed_fraction
        An epoch counts towards TST and wake time only if at least this fraction of it has
        usable signal (not a gap, not masked vibration): PLMs cannot be seen elsewhere.
    """

    rules: str = "wasm2016"
    detect: DetectParams = DetectParams()
    vibration: VibrationParams = VibrationParams()
    sleepwake: SleepWakeParams = SleepWakeParams()
    nonwear: NonwearParams = NonwearParams()
    detect_vibration: bool = True
    mask_logged_pads: bool = False
    pad_log_margin_s: float = 60.0
    min_observed_fraction: float = 0.5

    def __post_init__(self) -> None:
        check_option("rules", self.rules, RULE_SET_NAMES)
        if not 0 <= self.min_observed_fraction <= 1:
            raise ConfigError("min_observed_fraction must be within [0, 1]")
        if self.pad_log_margin_s < 0:
            raise ConfigError("pad_log_margin_s must be >= 0")


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read a TOML config file; unknown keys and bad values raise ConfigError naming the file.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file: top-level keys are :class:`Config` fields (durations in s, amplitudes in
        mg, as in the field names), tables the nested parameter groups.

    Returns
    -------
    Config
        The configuration, validated.

    Raises
    ------
    ConfigError
        The file is missing, is not TOML, or has an unknown key or an invalid value.
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def dump_config_toml(config: Config) -> str:
    """TOML text of ``config`` (readable back with :func:`load_config`)."""
    d = config.to_dict()
    lines = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in v.items())
    return "\n".join(lines) + "\n"
