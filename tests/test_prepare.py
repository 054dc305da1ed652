import json

import numpy as np
import pytest

from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.data.prepare import PrepareSettings, move_root_to_origin, prepare, resample_fps, stratified_split
from motioninr.data.representation import denormalize, normalize
from motioninr.errors import DataError, SettingsError
from motioninr.settings import from_mapping
from tests.conftest import synthetic_raw


def test_processed_layout_and_meta(processed_dir):
    meta = load_meta(processed_dir)
    train, test = load_split(processed_dir, "train"), load_split(processed_dir, "test")
    assert train.frames.dtype == np.float32 and train.frames.shape[1:] == (24, 3)
    assert train.lengths.sum() == len(train.frames)
    assert len(train) + len(test) == 18
    # stratified: 2 of 6 per class held out
    assert np.bincount(test.labels).tolist() == [2, 2, 2]
    assert set(train.ids).isdisjoint(test.ids)
    assert meta["splits"]["train"]["sequences"] == len(train)
    assert meta["splits"]["train"]["per_class"]["class0"]["count"] == 4
    assert np.array(meta["normalization"]["std"]).shape == (24, 3)
    assert meta["fps"] == 20.0 and meta["units"] == "m" and meta["up"] == "y"
    # the file holds no pickled objects
    with np.load(processed_dir / "train.npz", allow_pickle=False) as z:
        assert set(z.files) == {"frames", "lengths", "labels", "ids"}


def test_root_to_origin_modes():
    seq = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    assert np.allclose(move_root_to_origin(seq, "xyz")[0, 0], 0)
    h = move_root_to_origin(seq, "horizontal")
    assert np.allclose(h[0, 0, [0, 2]], 0) and np.isclose(h[0, 0, 1], seq[0, 0, 1])
    assert np.array_equal(move_root_to_origin(seq, "none"), seq)


def test_resample_fps_keeps_duration_and_endpoints():
    seq = np.linspace(0, 1, 41, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    out = resample_fps(seq, 40.0, 20.0)
    assert len(out) == 21
    assert np.allclose(out[[0, -1]], seq[[0, -1]]) and np.allclose(out[10], 0.5)


def test_length_filters_and_fps_recorded():
    raw = synthetic_raw(min_len=10, max_len=60)
    splits, meta = prepare(raw, PrepareSettings(min_length=25, max_length=45, target_fps=10.0))
    lengths = splits["train"].lengths
    assert lengths.min() >= 25 and lengths.max() <= 45
    assert meta["fps"] == 10.0 and meta["source_fps"] == 20.0
    assert meta["dropped_by_length"] == len(raw.sequences) - len(lengths)


def test_no_sequence_survives_filters_is_clear():
    with pytest.raises(DataError, match="min_length=1000"):
        prepare(synthetic_raw(), PrepareSettings(min_length=1000))


def test_dataset_split_used_when_defined():
    raw = synthetic_raw()
    raw.split = ["test" if i % 3 == 0 else "train" for i in range(len(raw.ids))]
    raw.split_rule = "every third"
    splits, meta = prepare(raw, PrepareSettings(test_fraction=0.5))
    assert len(splits["test"]) == 6 and meta["split_rule"] == "every third"
    with pytest.raises(DataError, match="defines no train/test split"):
        prepare(synthetic_raw(), PrepareSettings(split="dataset"))


def test_stratified_split_is_seeded():
    labels = np.repeat(np.arange(4), 10)
    a, b = stratified_split(labels, 0.3, 1), stratified_split(labels, 0.3, 1)
    assert np.array_equal(a, b) and a.sum() == 12
    assert not np.array_equal(a, stratified_split(labels, 0.3, 2))


def test_normalize_round_trip(processed_dir):
    meta = load_meta(processed_dir)
    train = load_split(processed_dir)
    x = normalize(train.frames, meta["normalization"])
    assert abs(x.mean()) < 0.1
    assert np.allclose(denormalize(x, meta["normalization"]), train.frames, atol=1e-5)


def test_motionset_subset_and_sequences(processed_dir):
    ms = load_split(processed_dir)
    sub = ms.subset(np.array([2, 0]))
    assert np.array_equal(sub.sequence(0), ms.sequence(2)) and list(sub.ids) == [ms.ids[2], ms.ids[0]]


def test_settings_errors_name_the_setting():
    with pytest.raises(SettingsError, match=r"data\.min_length: got 0, expected an integer >= 1"):
        from_mapping(PrepareSettings, {"min_length": 0}, "data")
    with pytest.raises(SettingsError, match=r"data\.root_to_origin: got 'up'"):
        from_mapping(PrepareSettings, {"root_to_origin": "up"}, "data")
    with pytest.raises(SettingsError, match=r"data\.bogus: unknown setting"):
        from_mapping(PrepareSettings, {"bogus": 1}, "data")


def test_atomic_artifacts_have_normal_permissions(tmp_path):
    import os
    import stat

    from motioninr.io import save_json

    save_json(tmp_path / "a.json", {"x": 1})
    mode = stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode)
    assert mode & 0o044 == 0o044 or os.umask(os.umask(0)) & 0o044, oct(mode)


def test_foot_joints_are_guessed_or_chosen_and_stated_in_meta():
    from motioninr.data.prepare import PrepareSettings, prepare
    from motioninr.errors import DataError
    from tests.conftest import synthetic_raw

    raw = synthetic_raw()
    _, meta = prepare(raw, PrepareSettings())
    assert meta["foot_joints"] == ["left_ankle", "right_ankle", "left_foot", "right_foot"]
    _, meta = prepare(raw, PrepareSettings(foot_joints=("left_foot",)))
    assert meta["foot_joints"] == ["left_foot"]
    with pytest.raises(DataError, match=r"data.foot_joints: 'toes' is not a joint of this skeleton"):
        prepare(raw, PrepareSettings(foot_joints=("toes",)))
    unnamed = synthetic_raw(joints=5)                      # joints j0..j4: nothing to guess from
    assert prepare(unnamed, PrepareSettings())[1]["foot_joints"] == []
