"""Artifact files: atomic, byte-reproducible writing and one-line errors on reading.

Writing: every artifact goes to a temporary name beside its target (``.<name>.<random>.tmp``)
and is renamed into place, so an interrupted stage never leaves a half-written file. Temporaries
left by a killed process are removed the next time the same target is written. A folder is
replaced by renaming the old one aside, renaming the new one in and only then deleting the old
one, so at every moment one complete version exists (a run killed in between finds the old
folder again on its next write).

Reading: :func:`load_npz` and :func:`load_json` turn every way a file can be
damaged (missing, truncated, bit-flipped, another format posing under the name) into one
:class:`~motioninr.errors.DataError` line naming the file and what was expected.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from motioninr.errors import DataError

_UMASK = os.umask(0)
os.umask(_UMASK)
TMP_SUFFIX = ".tmp"


def _aside(target: Path) -> Path:
    """Where the previous version of a folder waits while the new one is renamed in."""
    return target.parent / f".{target.name}.old{TMP_SUFFIX}"


def clean_stale(target: str | os.PathLike) -> list[Path]:
    """Remove temporaries of ``target`` left by an interrupted write (``.<name>.*.tmp``); returns them.

    If a folder replacement was interrupted after the old folder was moved aside but before the new
    one was renamed in, the old folder is put back first, so the last complete version is kept.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    aside = _aside(target)
    if aside.is_dir() and not os.path.lexists(target):
        os.replace(aside, target)
    removed = []
    for tmp in target.parent.glob(f".{_glob_escape(target.name)}.*{TMP_SUFFIX}"):
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file or folder is removed and ``target`` is
    left untouched, so an interrupted stage never leaves a half-written artifact.
    Stale temporaries of ``target`` from a killed earlier run are removed first.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    # mkstemp/mkdtemp create private (0600/0700) paths; artifacts get the usual permissions.
    os.chmod(tmp, (0o777 if directory else 0o666) & ~_UMASK)
    try:
        yield tmp
        if directory and target.is_dir() and not target.is_symlink():
            aside = _aside(target)
            os.replace(target, aside)  # the old folder stays complete until the new one is in place
            os.replace(tmp, target)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            if directory and os.path.lexists(target):
                target.unlink()  # a file (or link) where the folder goes
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write an uncompressed ``.npz`` atomically (no pickled objects allowed)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def save_json(path: str | os.PathLike, obj: Any) -> None:
    """Write pretty JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` made byte-reproducible, written atomically.

    Saving to a file name records that name inside the zip archive (``<name>/data.pkl``), so the
    random temporary name would make every save differ; the object is serialised in memory
    (archive name ``archive``) and the bytes are written atomically.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())


# ------------------------------------------------------------------------------------- reading

def _short(exc: BaseException, limit: int = 160) -> str:
    """An exception's message on one line, cut at a word boundary when longer than ``limit``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return one_line(text, limit)


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line; beyond ``limit`` characters it ends at the last whole word with ' ...'."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut} ..."


def _require_file(path: Path, expected: str) -> None:
    if not path.exists():
        raise DataError(f"{path}: not found; expected {expected}")
    if not path.is_file():
        raise DataError(f"{path}: not a file; expected {expected}")


def load_npz(path: str | os.PathLike, expected: str = "an .npz archive of numeric arrays",
             required: tuple[str, ...] | list[str] = (), only: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` (or those of ``only`` it holds) into memory, refusing pickled objects.

    A missing, truncated or corrupt file, another format under the name, pickled object arrays
    or a missing array from ``required`` give one :class:`DataError` line naming the file and
    ``expected``.
    """
    path = Path(path)
    _require_file(path, expected)
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not an .npz archive (truncated, or another format); expected {expected}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if only is None or k in only}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"{path}: holds pickled objects, which are refused; expected {expected}") from None
        raise DataError(f"{path}: damaged .npz archive ({_short(exc)}); expected {expected}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: damaged .npz archive ({_short(exc)}); expected {expected}") from None
    missing = [k for k in required if k not in arrays and (only is None or k in only)]
    if missing:
        raise DataError(f"{path}: lacks the array{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                        f"expected {expected}")
    return arrays


def load_json(path: str | os.PathLike, expected: str = "a JSON object") -> dict:
    """Read a JSON object; a missing, truncated or non-JSON file gives one :class:`DataError` line."""
    path = Path(path)
    _require_file(path, expected)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not readable JSON ({_short(exc)}); expected {expected}") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}: holds a JSON {type(value).__name__}; expected {expected}")
    return value

