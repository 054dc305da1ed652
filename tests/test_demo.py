import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from motioninr.data.dataset import load_meta, load_split
from motioninr.data.loaders import SourceSettings, load_raw
from motioninr.data.loaders.demo import CLASS_NAMES, DemoSettings, euler_matrices, forward_kinematics, generate
from motioninr.errors import SettingsError
from motioninr.settings import from_mapping
from motioninr.skeleton import SMPL_JOINTS, SMPL_PARENTS, bone_lengths

ROOT = Path(__file__).resolve().parents[1]
FOOT_JOINTS = [7, 8, 10, 11]  # ankles and toes


@pytest.fixture(scope="module")
def demo():
    """The default demo dataset (40 sequences per class) and its generating parameters."""
    return generate(DemoSettings())


def velocity_std_features(sequences) -> np.ndarray:
    """Per-joint standard deviation of the speed: a trivial, facing-independent feature ``(N, 24)``."""
    return np.stack([np.linalg.norm(np.diff(s, axis=0), axis=-1).std(axis=0) for s in sequences])


def test_deterministic_under_the_seed():
    a, pa = generate(DemoSettings(samples_per_class=3, seed=5))
    b, pb = generate(DemoSettings(samples_per_class=3, seed=5))
    c, _ = generate(DemoSettings(samples_per_class=3, seed=6))
    assert all(np.array_equal(x, y) for x, y in zip(a.sequences, b.sequences))
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)
    assert a.ids == b.ids and np.array_equal(a.labels, b.labels)
    assert not all(np.array_equal(x, y) for x, y in zip(a.sequences, c.sequences))


def test_classes_skeleton_and_metadata(demo):
    raw, params = demo
    assert len(raw.class_names) >= 8
    assert set(CLASS_NAMES) >= {"walk", "run", "jump", "squat", "wave", "punch", "kick", "bow"}
    assert raw.class_names == list(CLASS_NAMES)
    assert raw.joint_names == list(SMPL_JOINTS) and raw.parents == list(SMPL_PARENTS)
    assert raw.fps == 20.0 and raw.up == "y" and raw.source == "demo" and raw.split is None
    assert raw.notes["generator"].startswith("demo-")
    assert np.bincount(raw.labels).tolist() == [40] * len(CLASS_NAMES)
    assert raw.ids[0] == "walk_000" and raw.ids[-1] == "bow_039" and len(set(raw.ids)) == len(raw.ids)
    for seq in raw.sequences:
        assert seq.dtype == np.float32 and seq.ndim == 3 and seq.shape[1:] == (24, 3)
        assert np.isfinite(seq).all()
    assert [len(s) for s in raw.sequences] == params["length"].tolist()


def test_bone_lengths_constant_and_body_sizes_vary(demo):
    raw, _ = demo
    sizes = []
    for seq in raw.sequences:
        bones = bone_lengths(seq.astype(np.float64), SMPL_PARENTS)  # (frames, 23)
        rel = np.abs(bones - bones.mean(axis=0)) / bones.mean(axis=0)
        assert rel.max() < 2e-5  # float32 positions up to ~15 m from the origin
        sizes.append(bones[0].sum())
    sizes = np.array(sizes)
    assert sizes.max() / sizes.min() > 1.2 and sizes.std() / sizes.mean() > 0.05
    # a realistic adult: pelvis around 0.95 m high standing at the start of a bow
    bow = raw.sequences[raw.class_names.index("bow") * 40]
    assert 0.75 < bow[0, 0, 1] < 1.15
    assert 0.30 < bow[0, 15, 1] - bow[0, 0, 1] < 0.80  # head above the pelvis


def test_forward_kinematics_convention_and_rigidity():
    from scipy.spatial.transform import Rotation

    angles = np.random.default_rng(0).normal(size=(7, 24, 3))
    ref = Rotation.from_euler("XYZ", angles.reshape(-1, 3)).as_matrix().reshape(7, 24, 3, 3)
    assert np.allclose(np.moveaxis(euler_matrices(angles), -1, 0), ref)
    offsets = np.random.default_rng(1).normal(size=(24, 3))
    pos = forward_kinematics(angles, offsets, SMPL_PARENTS)
    assert np.allclose(pos[:, 0], 0.0)
    assert np.allclose(bone_lengths(pos, SMPL_PARENTS), np.linalg.norm(offsets[1:], axis=1))


def test_lengths_range_and_differ_by_class(demo):
    raw, params = demo
    lengths = params["length"]
    assert lengths.min() >= 30 and lengths.max() <= 150
    medians = {name: np.median(lengths[raw.labels == c]) for c, name in enumerate(raw.class_names)}
    assert medians["punch"] < medians["walk"]
    assert max(medians.values()) / min(medians.values()) > 1.4


def test_slow_performances_are_longer(demo):
    _, params = demo
    for c in range(len(CLASS_NAMES)):
        m = params["label"] == c
        assert np.corrcoef(params["tempo"][m], params["length"][m])[0, 1] < 0
        for reps in np.unique(params["reps"][m]):  # at a fixed number of repetitions, length ~ 1 / tempo
            k = m & (params["reps"] == reps)
            if k.sum() >= 4:
                assert np.corrcoef(params["tempo"][k], params["length"][k])[0, 1] < -0.9


def test_feet_on_the_floor_and_actions_move_as_expected(demo):
    raw, params = demo
    by_class = {name: [i for i in range(len(raw.ids)) if raw.labels[i] == c] for c, name in enumerate(raw.class_names)}
    for i in range(len(raw.ids)):
        lowest = raw.sequences[i][:, FOOT_JOINTS, 1].min(axis=1)
        assert lowest.min() > -0.01  # never through the floor
    for i in by_class["walk"]:
        seq = raw.sequences[i]
        lowest = seq[:, FOOT_JOINTS, 1].min(axis=1)
        assert (lowest < 0.05).mean() > 0.9  # always a foot on the ground
        facing = np.array([np.sin(params["facing"][i]), np.cos(params["facing"][i])])
        travel = (seq[-1, 0] - seq[0, 0])[[0, 2]]
        sideways = np.array([facing[1], -facing[0]])
        assert travel @ facing > 1.0 and travel @ facing > 3 * abs(travel @ sideways)  # forward, where it faces
        left, right = seq[:, 10, [0, 2]] @ facing, seq[:, 11, [0, 2]] @ facing
        ahead = np.sign(left - right)
        assert (np.diff(ahead[ahead != 0]) != 0).sum() >= 2  # the feet take turns in front
    for i in by_class["jump"]:
        seq = raw.sequences[i]
        assert seq[:, FOOT_JOINTS, 1].min(axis=1).max() > 0.1  # both feet leave the ground
        assert seq[0, FOOT_JOINTS, 1].min() < 0.05 and seq[-1, FOOT_JOINTS, 1].min() < 0.05  # and land
    for name, pelvis_drop, head_drop in (("squat", 0.25, 0.25), ("bow", 0.015, 0.15)):
        for i in by_class[name]:
            seq = raw.sequences[i]
            assert seq[0, 0, 1] - seq[:, 0, 1].min() > pelvis_drop
            assert seq[0, 15, 1] - seq[:, 15, 1].min() > head_drop
    for i in by_class["wave"]:
        seq = raw.sequences[i]
        hands = seq[:, [22, 23], 1].max(axis=1)
        assert (hands > seq[:, 15, 1]).mean() > 0.3  # a hand above the head for much of the wave


def test_classes_distinguishable_by_a_trivial_feature(demo):
    raw, _ = demo
    x = velocity_std_features(raw.sequences)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = raw.labels
    train = np.arange(len(y)) % 2 == 0
    centroids = np.stack([x[train & (y == c)].mean(axis=0) for c in range(len(raw.class_names))])
    pred = np.argmin(((x[~train, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (pred == y[~train]).mean() > 0.9


def test_class_subset_and_settings_from_mapping():
    source = from_mapping(SourceSettings, {"demo": {"samples_per_class": 2, "classes": ["bow", "walk"]}}, "data")
    raw = load_raw(source)
    assert raw.class_names == ["bow", "walk"]
    assert raw.ids == ["bow_000", "bow_001", "walk_000", "walk_001"] and raw.labels.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("values, match", [
    ({"samples_per_class": 0}, r"data\.demo\.samples_per_class: got 0"),
    ({"classes": []}, r"data\.demo\.classes"),
    ({"classes": ["walk", "fly"]}, r"data\.demo\.classes: got 'fly'"),
    ({"classes": ["walk", "walk"]}, r"no repeated class"),
    ({"angle_noise": -0.1}, r"data\.demo\.angle_noise"),
    ({"facing_spread": 270}, r"data\.demo\.facing_spread"),
    ({"scale_spread": 0.9}, r"data\.demo\.scale_spread"),
    ({"samples_per_class": "many"}, r"expected an integer"),
    ({"speed": 2}, r"data\.demo\.speed: unknown setting"),
])
def test_bad_settings_are_one_line_errors(values, match):
    with pytest.raises(SettingsError, match=match) as info:
        from_mapping(SourceSettings, {"demo": values}, "data")
    assert "\n" not in str(info.value)


def test_prepare_stage_on_the_demo_source(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    data = params["data"]
    data["source"] = "demo"
    data["test_fraction"] = 0.25
    data["demo"] = {**data.get("demo", {}), "samples_per_class": 4}
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump({"data": data}))
    out = tmp_path / "processed"
    result = subprocess.run(
        [sys.executable, "-m", "stages.prepare", "--params", str(params_file), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    meta = load_meta(out)
    assert meta["source"] == "demo" and meta["class_names"] == list(CLASS_NAMES)
    assert meta["fps"] == 20.0 and meta["num_joints"] == 24 and meta["parents"] == list(SMPL_PARENTS)
    train, test = load_split(out, "train"), load_split(out, "test")
    assert len(train) + len(test) == 4 * len(CLASS_NAMES) and np.bincount(test.labels).tolist() == [1] * 8
    assert np.allclose(train.sequence(0)[0, 0], 0.0)  # root moved to the origin
    assert json.loads((out / "meta.json").read_text())["notes"]["generator"].startswith("demo-")
