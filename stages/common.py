"""Helpers shared by the stage commands: reading ``params.yaml`` sections into typed settings."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml

from motioninr.errors import DataError, SettingsError
from motioninr.io import load_json
from motioninr.settings import from_mapping

T = TypeVar("T")


def read_params(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SettingsError(f"{path}: parameters file not found")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(params, dict):
        raise SettingsError(f"{path}: expected a mapping of sections at the top level")
    return params


def section(params: dict[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name, {}) or {}
    if not isinstance(value, dict):
        raise SettingsError(f"{name}: got {value!r}, expected a mapping of settings")
    return value


def settings_from(values: dict[str, Any], where: str, *classes: type) -> tuple:
    """Split one section's keys among several settings dataclasses; unknown keys are an error."""
    known = {f.name for cls in classes for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(f"{where}.{unknown[0]}: unknown setting; expected one of {', '.join(sorted(known))}")
    out = []
    for cls in classes:
        names = {f.name for f in dataclasses.fields(cls)}
        out.append(from_mapping(cls, {k: v for k, v in values.items() if k in names}, where))
    return tuple(out)


def generated_file(folder: Path, name: str, where: str) -> Path:
    """``<folder>/<name>.npz``, as listed in ``<folder>/meta.json`` when there is one; ``where`` names the setting."""
    listing = folder / "meta.json"
    files = load_json(listing, "the listing of generated sets").get("files", {}) if listing.is_file() else {}
    path = folder / files.get(name, {}).get("path", f"{name}.npz")
    if not path.is_file():
        known = ", ".join(sorted(files)) or "none listed"
        raise DataError(f"{where}: got {name!r}, but {path} does not exist; generated files: {known}")
    return path
