"""Dataset pickles: numpy arrays, dicts, lists and scalars load; anything that would run code is refused by name."""

from __future__ import annotations

import os
import pickle

import joblib
import numpy as np
import pytest

from motioninr.data.loaders import SourceSettings, load_raw
from motioninr.data.loaders._validate import read_pickle
from motioninr.data.loaders.safe_pickle import UnsafePickleError, load_pickle
from motioninr.errors import DataError


class RunsACommand:
    """Unpickling this calls os.system: what a crafted dataset file could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _dataset(rng):
    return {"joints3D": [rng.normal(size=(5, 24, 3)).astype(np.float32) for _ in range(3)], "y": [0, 3, 11],
            "poses": [rng.normal(size=(5, 72)) for _ in range(3)], "meta": {"fps": 20.0, "names": ("a", "b")},
            "scalar": np.float64(1.5), "count": np.int64(3)}


def _same(a, b):
    assert a.keys() == b.keys()
    for x, y in zip(a["joints3D"], b["joints3D"]):
        np.testing.assert_array_equal(x, y)
    assert a["y"] == b["y"] and a["meta"] == b["meta"] and a["scalar"] == b["scalar"] and a["count"] == b["count"]


@pytest.mark.parametrize("writer", ["pickle", "pickle-protocol-2", "joblib", "joblib-zlib", "joblib-gzip", "joblib-xz"])
def test_dataset_pickles_load_as_before(tmp_path, writer):
    data = _dataset(np.random.default_rng(0))
    path = tmp_path / "data.pkl"
    if writer.startswith("pickle"):
        with open(path, "wb") as fh:
            pickle.dump(data, fh, protocol=2 if writer.endswith("2") else pickle.HIGHEST_PROTOCOL)
    else:
        compress = {"joblib": 0, "joblib-zlib": ("zlib", 3), "joblib-gzip": ("gzip", 3), "joblib-xz": ("xz", 3)}[writer]
        joblib.dump(data, path, compress=compress)
    _same(load_pickle(path), joblib.load(path))


@pytest.mark.parametrize("writer", ["pickle", "joblib"])
def test_a_pickle_that_runs_a_command_is_refused_by_name(tmp_path, writer):
    marker = tmp_path / "ran"
    payload = {"joints3D": [np.zeros((2, 24, 3))], "y": [RunsACommand(marker)]}
    path = tmp_path / "humanact12poses.pkl"
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        joblib.dump(payload, path)
    with pytest.raises(DataError) as exc:
        load_raw(SourceSettings(source="humanact12poses", path=str(path)))
    message = str(exc.value)
    assert message.startswith(f"{path}: refused to unpickle: it asks for {os.system.__module__}.system, which "
                              "dataset pickles never need"), message
    assert "\n" not in message
    assert not marker.exists()  # nothing ran


def test_other_globals_and_object_arrays_are_refused(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"f": eval}))
    with pytest.raises(UnsafePickleError, match="it asks for builtins.eval"):
        load_pickle(path)
    joblib.dump({"a": np.array([1, "x", None], dtype=object)}, path)
    with pytest.raises(UnsafePickleError, match="array of dtype object"):
        load_pickle(path)
    path.write_text("joints3D,y\n")
    with pytest.raises(DataError, match=r"x\.pkl: unreadable pickle \(not a pickle"):
        read_pickle(path)
