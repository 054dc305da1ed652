"""Typed settings: frozen dataclasses built once from a mapping (a ``params.yaml`` section).

The library never reads ``params.yaml`` itself; stages pass the relevant section
to :func:`from_mapping`, which rejects unknown keys, values of the wrong type and
non-finite numbers (``.inf``, ``.nan``, ``"inf"``, ``1e400``) with a one-line
:class:`~motioninr.errors.SettingsError` naming the setting.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Mapping, TypeVar

from motioninr.errors import SettingsError

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if origin is not None:
        return getattr(origin, "__name__", str(tp))
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is typing.Literal:
        if value in args:
            return value
        raise SettingsError(f"{where}: got {value!r}, expected one of {', '.join(map(repr, args))}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(value, a, where)
            except SettingsError as exc:
                errors.append(exc)
        finite = [e for e in errors if str(e).endswith("expected a finite number")]
        if finite:  # a number, but not a finite one: say so rather than list the types
            raise finite[0]
        raise SettingsError(f"{where}: got {value!r}, expected {_type_name(tp)}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where}: got {value!r}, expected a mapping of {tp.__name__} settings")
        return from_mapping(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise SettingsError(f"{where}: got {value!r}, expected a list")
        item = args[0] if args else Any
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where}: got {value!r}, expected a mapping")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise SettingsError(f"{where}: got {value!r}, expected true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise SettingsError(f"{where}: got {value!r}, expected an integer")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)  # YAML reads "1e-3" as a string
            except ValueError:
                pass
        if number is None:
            raise SettingsError(f"{where}: got {value!r}, expected a number")
        if not math.isfinite(number):  # .inf, .nan, "inf", "nan", 1e400 (overflows to inf)
            raise SettingsError(f"{where}: got {value!r}, expected a finite number")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise SettingsError(f"{where}: got {value!r}, expected a string")
    return value


def from_mapping(cls: type[T], values: Mapping[str, Any] | None, where: str = "") -> T:
    """Build the frozen dataclass ``cls`` from ``values``.

    Missing keys take the dataclass default; unknown keys and badly typed values
    raise :class:`SettingsError` with the dotted setting name (``where.key``).
    After construction, a ``validate()`` method on ``cls`` (if any) is called.
    """
    values = dict(values or {})
    prefix = f"{where}." if where else ""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SettingsError(
            f"{prefix}{unknown[0]}: unknown setting; expected one of {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, field in fields.items():
        if name in values:
            kwargs[name] = _convert(values[name], hints[name], f"{prefix}{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise SettingsError(f"{prefix}{name}: missing required setting")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(where or cls.__name__)
    return obj


def require(cond: bool, where: str, value: Any, expected: str) -> None:
    """Raise a one-line :class:`SettingsError` unless ``cond`` holds."""
    if not cond:
        raise SettingsError(f"{where}: got {value!r}, expected {expected}")
