"""Shared machinery for frozen, validated, serialisable parameter dataclasses.

Every stage keeps its parameters in a ``@dataclass(frozen=True)`` subclass of :class:`Params`.
Values are plain numbers, strings, booleans, tuples or nested :class:`Params`; units are in the
field names (``_s``, ``_hz``, ``_mg``, ``_g``). ``__post_init__`` validates with the helpers below
and raises :class:`~lmdetect.errors.ConfigError`, never ``assert``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from .errors import ConfigError

__all__ = ["Params", "check_option", "check_positive", "check_range", "check_nonnegative"]

P = TypeVar("P", bound="Params")


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``, listing the valid choices."""
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"invalid {name}={value!r}; valid choices are {choices}")


def check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value > 0):
        raise ConfigError(f"{name} must be > 0, got {value!r}")


def check_nonnegative(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value >= 0):
        raise ConfigError(f"{name} must be >= 0, got {value!r}")


def check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not (isinstance(value, (int, float)) and lo <= value <= hi):
        raise ConfigError(f"{name} must be within [{lo}, {hi}], got {value!r}")


class Params:
    """Mixin for frozen parameter dataclasses: dict/JSON round trip and a stable hash."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, Params):
                out[f.name] = v.to_dict()
            elif isinstance(v, tuple):
                out[f.name] = list(v)
            else:
                out[f.name] = v
        return out

    @classmethod
    def from_dict(cls: type[P], data: Mapping[str, Any]) -> P:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__}: expected a table, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown parameter(s) {', '.join(unknown)}; "
                f"valid names are {', '.join(fields)}"
            )
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            hint = hints.get(name)
            sub = _params_class(hint)
            if sub is not None and isinstance(value, Mapping):
                kwargs[name] = sub.from_dict(value)
            elif isinstance(value, list):
                kwargs[name] = tuple(value)
            else:
                kwargs[name] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:  # wrong field types surface as TypeError from validators
            raise ConfigError(f"{cls.__name__}: {exc}") from exc

    def replace(self: P, **changes: Any) -> P:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON form."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


def _params_class(hint: Any) -> type[Params] | None:
    if isinstance(hint, type) and issubclass(hint, Params):
        return hint
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if isinstance(arg, type) and issubclass(arg, Params):
                return arg
    return None
