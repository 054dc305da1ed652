"""Reading dataset pickles without running code from them.

The HumanAct12Poses, NTU13 (VIBE) and UESTC releases are pickles: plain ``pickle`` files or
``joblib.dump`` files (uncompressed, or gzip/bz2/xz/zlib-compressed). Unpickling may call any
function a file names, so a crafted ``.pkl`` could run a shell command. :func:`load_pickle`
admits only what these releases hold: dicts, lists, tuples, strings, numbers, numpy arrays,
numpy scalars and dtypes, and joblib's array wrapper. Any other global the file asks for
(``os.system``, ``builtins.eval``, ``subprocess.Popen``, a class of some package ...) stops the
load before it is called, with its name in the error.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

# (module, name) pairs a dataset pickle may refer to; numpy 1 and 2 pickle under different modules.
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
ALLOWED_GLOBALS = frozenset(
    [(m, n) for m in _NUMPY_MODULES for n in ("_reconstruct", "scalar", "_frombuffer")]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
       ("joblib.numpy_pickle", "NumpyArrayWrapper")]
)


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for something outside :data:`ALLOWED_GLOBALS`."""


def _numpy_attr(module: str, name: str) -> Any:
    try:
        import numpy._core.multiarray as multiarray
        import numpy._core.numeric as numeric
    except ImportError:  # numpy < 2
        import numpy.core.multiarray as multiarray
        import numpy.core.numeric as numeric
    return getattr(numeric if module.endswith("numeric") else multiarray, name)


def _resolve(module: str, name: str) -> Any:
    if (module, name) not in ALLOWED_GLOBALS:
        raise UnsafePickleError(f"it asks for {module}.{name}")
    if module in _NUMPY_MODULES:
        return _numpy_attr(module, name)
    if module == "numpy":
        return getattr(np, name)
    if module == "_codecs":
        import _codecs

        return _codecs.encode
    from joblib.numpy_pickle import NumpyArrayWrapper

    return NumpyArrayWrapper


def _joblib_unpickler(file: BinaryIO, filename: str) -> pickle._Unpickler:
    """A joblib ``NumpyUnpickler`` (it reads the raw array bytes joblib writes after each wrapper)
    restricted to :data:`ALLOWED_GLOBALS`; arrays of Python objects are refused before joblib
    would read them with an unrestricted ``pickle.load``."""
    from joblib.numpy_pickle import NDArrayWrapper, NumpyArrayWrapper, NumpyUnpickler

    class Restricted(NumpyUnpickler):
        dispatch = NumpyUnpickler.dispatch.copy()

        def find_class(self, module: str, name: str) -> Any:
            return _resolve(module, name)

        def load_build(self) -> None:
            state, target = self.stack[-1], self.stack[-2]
            if isinstance(target, NDArrayWrapper):
                raise UnsafePickleError("it refers to companion array files (joblib < 0.10)")
            if isinstance(target, NumpyArrayWrapper):
                dtype = state.get("dtype") if isinstance(state, dict) else None
                if not isinstance(dtype, np.dtype) or dtype.hasobject:
                    raise UnsafePickleError(f"it holds an array of dtype {dtype}, expected numbers")
                if state.get("subclass") is not np.ndarray:
                    raise UnsafePickleError(f"it holds an array of class {state.get('subclass')!r}")
            NumpyUnpickler.load_build(self)

        dispatch[pickle.BUILD[0]] = load_build

    try:
        return Restricted(filename, file, ensure_native_byte_order=True)
    except TypeError:  # joblib < 1.4 has no ensure_native_byte_order
        return Restricted(filename, file)


def _open(path: Path) -> BinaryIO:
    """The file's pickle stream, decompressed when joblib compressed it."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if head.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if head.startswith(b"\xfd7zXZ") or head.startswith(b"\x5d\x00\x00"):
        return lzma.open(path, "rb")
    if head[:1] == b"\x78":  # joblib's zlib: one raw zlib stream
        return io.BytesIO(zlib.decompress(path.read_bytes()))
    if head[:1] != b"\x80":
        raise pickle.UnpicklingError("not a pickle (no pickle protocol header)")
    return open(path, "rb")


def load_pickle(path: str | Path) -> Any:
    """Unpickle a dataset file admitting only :data:`ALLOWED_GLOBALS`.

    Raises :class:`UnsafePickleError` naming the refused global, or another exception for a
    damaged file (the loaders turn both into one-line errors naming the file).
    """
    path = Path(path)
    with _open(path) as fh:
        return _joblib_unpickler(fh, str(path)).load()
