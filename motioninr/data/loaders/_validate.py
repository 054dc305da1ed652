"""Validation helpers shared by the loaders: every failure is a one-line DataError naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from motioninr.data.dataset import MAX_POSITION_M, implausible_frame
from motioninr.errors import DataError
from motioninr.io import one_line


def require_dir(path: Path, expected: str) -> Path:
    """``path``, if it is an existing folder; otherwise a one-line error saying what was ``expected``."""
    return _require(path, expected, path.is_dir, "a folder")


def require_file(path: Path, expected: str) -> Path:
    """``path``, if it is an existing file; otherwise a one-line error saying what was ``expected``."""
    return _require(path, expected, path.is_file, "a file")


def _require(path: Path, expected: str, is_kind, kind: str) -> Path:
    if not path.exists():
        raise DataError(f"{path}: not found; expected {expected}")
    if not is_kind():
        raise DataError(f"{path}: not {kind}; expected {expected}")
    return path


def read_npy(path: Path) -> np.ndarray:
    """Read one ``.npy`` (no pickles), turning any failure into a DataError naming the file."""
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated, corrupt, pickled object arrays, ...
        raise DataError(f"{path}: unreadable .npy ({_short(exc)}); expected a numeric array") from None


def read_pickle(path: Path, expected: str = "a pickle from the dataset release") -> Any:
    """Read a (joblib or plain) pickle from a dataset release, turning any failure into a DataError.

    Only numpy arrays, dicts, lists, strings and numbers are admitted (see :mod:`.safe_pickle`):
    a pickle asking for anything else is refused by name before any of it runs.
    """
    from motioninr.data.loaders.safe_pickle import UnsafePickleError, load_pickle

    require_file(path, expected)
    try:
        return load_pickle(path)
    except UnsafePickleError as exc:
        raise DataError(f"{path}: refused to unpickle: {exc}, which dataset pickles never need (only numpy "
                        f"arrays, dicts, lists, strings and numbers are admitted); expected {expected}") from None
    except Exception as exc:  # truncated, corrupt, not a pickle, ...
        raise DataError(f"{path}: unreadable pickle ({_short(exc)}); expected {expected}") from None


def read_lines(path: Path, expected: str) -> list[str]:
    """The non-empty lines of a text file, stripped; a DataError names the file if it is missing or unreadable."""
    require_file(path, expected)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: unreadable text file ({_short(exc)}); expected {expected}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def require_keys(obj: Any, keys: tuple[str, ...] | list[Any], where: str, expected: str) -> Mapping:
    """``obj`` must be a mapping holding every key in ``keys``."""
    if not isinstance(obj, Mapping):
        raise DataError(f"{where}: holds a {type(obj).__name__}; expected {expected}")
    for key in keys:
        if key not in obj:
            raise DataError(f"{where}: no {key!r} entry; expected {expected}")
    return obj


def require_sequence(obj: Any, where: str, length: int | None = None, expected: str = "a list") -> list:
    """``obj`` must be a list/tuple (or 1-d object array), of ``length`` items when given."""
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.ndim == 1:
        obj = list(obj)
    if not isinstance(obj, (list, tuple)):
        raise DataError(f"{where}: holds a {type(obj).__name__}; expected {expected}")
    if length is not None and len(obj) != length:
        raise DataError(f"{where}: {len(obj)} entries; expected {length} ({expected})")
    return list(obj)


def check_motion(arr: Any, where: str, joints: int | None = None, *, dims: int = 3) -> np.ndarray:
    """Validate one motion ``(frames, joints, dims)``: rank, joint count, length and finiteness.

    Returns it as float32. ``where`` names the file (and entry) in the error.
    """
    try:
        arr = np.asarray(arr, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{where}: not a numeric array; expected (frames, joints, {dims}) positions") from None
    exp = f"(frames, {joints if joints is not None else 'joints'}, {dims})"
    if arr.ndim != 3 or arr.shape[-1] != dims:
        raise DataError(f"{where}: array of shape {arr.shape}; expected {exp}")
    if joints is not None and arr.shape[1] != joints:
        raise DataError(f"{where}: {arr.shape[1]} joints; expected {joints} joints, shape {exp}")
    if arr.shape[0] == 0:
        raise DataError(f"{where}: zero-length sequence; expected at least one frame")
    if not np.isfinite(arr).all():
        raise DataError(f"{where}: contains NaN or Inf values; expected finite positions")
    found = implausible_frame(arr) if dims == 3 else None
    if found is not None:
        raise DataError(f"{where}: frame {found[0]}: coordinate {found[1]:g}; expected positions within "
                        f"{MAX_POSITION_M:g} m of the origin (metres after scaling; check the unit)")
    return arr


def check_same_joints(sequences: list[np.ndarray], ids: list[str], where: str) -> None:
    """All sequences must share one joint count."""
    if not sequences:
        return
    j0 = sequences[0].shape[1]
    for s, i in zip(sequences, ids):
        if s.shape[1] != j0:
            raise DataError(f"{where}: sample {i!r} has {s.shape[1]} joints but {ids[0]!r} has {j0}; expected one joint count")


def _short(exc: Exception) -> str:
    return one_line(str(exc) or type(exc).__name__, 160)
