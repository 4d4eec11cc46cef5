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
from .detect.params import DetectParams, VibrationParams
from .errors import ConfigError
from .preprocessing.params import LineRemovalParams, NonwearParams
from .sleepwake.params import SleepWakeParams

__all__ = ["Config", "load_config", "dump_config_toml"]


def __getattr__(name: str) -> Any:
    # RULE_SET_NAMES used to be a fixed tuple here; the rule-set registry is now the one list
    if name == "RULE_SET_NAMES":
        from .scoring.rules import rule_set_names

        return rule_set_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclasses.dataclass(frozen=True)
class Config(Params):
    """All parameters of :func:`lmdetect.process_night`.

    Attributes
    ----------
    rules
        PLM scoring rule set: a name of :func:`lmdetect.scoring.rule_set_names`, e.g.
        ``"wasm2016"`` (WASM/IRLSSG 2016, default) or ``"aasm"``.
    detect, vibration, sleepwake, nonwear, lines
        Stage parameters (see their classes).
    detect_vibration
        Detect vibration-pad sessions in the signal.
    remove_vibration
        Track and subtract the vibration line in the detected pad sessions
        (:func:`lmdetect.preprocessing.remove_lines`, settings ``lines``), so leg movements are
        measured through the vibration.
    max_residual_mg
        Stretches where the vibration left after removal, as it reaches the movement signal
        (RMS, mg), is above this are masked from LM detection (plus ``residual_guard_s`` either
        side). 1 mg is below the smallest onset threshold of any sensor (about 2 mg for a quiet
        IMU), so what is left cannot by itself make an LM.
    residual_guard_s
        Time masked either side of a residual stretch.
    mask_logged_pads
        Also mask every logged pad session (plus ``pad_log_margin_s``). Off by default: movements
        are measured through the vibration (only residual stretches are masked).
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
    lines: LineRemovalParams = LineRemovalParams()
    detect_vibration: bool = True
    remove_vibration: bool = True
    max_residual_mg: float = 1.0
    residual_guard_s: float = 2.0
    mask_logged_pads: bool = False
    pad_log_margin_s: float = 60.0
    min_observed_fraction: float = 0.5

    def __post_init__(self) -> None:
        from .scoring.rules import rule_set_names

        check_option("rules", self.rules, rule_set_names())
        if not 0 <= self.min_observed_fraction <= 1:
            raise ConfigError("min_observed_fraction must be within [0, 1]")
        if self.max_residual_mg <= 0:
            raise ConfigError("max_residual_mg must be > 0")
        if self.residual_guard_s < 0:
            raise ConfigError("residual_guard_s must be >= 0")
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
