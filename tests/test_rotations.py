"""Rotations in the processed data: 6D conversions, batched FK, fitted rest offsets, IK, per source."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from motioninr import rotations as rot
from motioninr.data.dataset import MotionSet, load_split, save_processed
from motioninr.data.loaders import SourceSettings, generic, humanact12poses, ntu13, uestc
from motioninr.data.loaders.demo import REST_OFFSETS, DemoSettings, generate
from motioninr.data.prepare import PrepareSettings, prepare
from motioninr.errors import DataError
from motioninr.skeleton import SMPL_PARENTS, VIBE18_PARENTS, VIBE18_SELECTION, children_of
from tests.test_loaders_generic import write_bvh_layout, write_labels

RNG = np.random.default_rng(0)


def random_rotations(shape, scale=0.6, seed=0) -> np.ndarray:
    rv = np.random.default_rng(seed).normal(scale=scale, size=tuple(shape) + (3,))
    return rot.axis_angle_to_matrix(rv)


def fk_of(ms: MotionSet, parents) -> np.ndarray:
    """Positions of a processed split rebuilt from its rotations and each sequence's own offsets."""
    skel = ms.sequence_skeletons()[ms.sequence_index()]
    return rot.forward_kinematics_np(rot.rot6d_to_matrix_np(ms.rotations), skel, ms.frames[:, 0], parents)


# ---------------------------------------------------------------- conversions and FK


def test_children_of_lists_every_joint_once_under_its_parent_in_joint_order():
    children = children_of(SMPL_PARENTS)
    assert children[0] == [1, 2, 3] and children[9] == [12, 13, 14] and children[22] == []
    assert sorted(c for kids in children for c in kids) == list(range(1, len(SMPL_PARENTS)))
    assert all(SMPL_PARENTS[c] == j for j, kids in enumerate(children) for c in kids)
    assert children_of(np.array(VIBE18_PARENTS))[1] == [2, 5, 8]


def test_rot6d_round_trip_and_gram_schmidt_gives_rotations():
    m = random_rotations((50,))
    assert np.allclose(rot.rot6d_to_matrix_np(rot.matrix_to_rot6d(m)), m, atol=1e-12)
    x = torch.randn(200, 6, dtype=torch.float64)  # any 6 numbers decode to a rotation
    r = rot.rot6d_to_matrix(x)
    assert torch.allclose(r.transpose(-1, -2) @ r, torch.eye(3, dtype=torch.float64).expand(200, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(r), torch.ones(200, dtype=torch.float64))


def test_fk_matches_a_per_frame_reference_and_takes_6d():
    parents = list(SMPL_PARENTS)
    mats = random_rotations((7, 24), seed=1)
    root = RNG.normal(size=(7, 3))
    got = rot.forward_kinematics_np(mats, REST_OFFSETS, root, parents)
    for f in range(7):  # one frame at a time, with global matrices built by hand
        g = [mats[f, 0]]
        p = [root[f]]
        for j in range(1, 24):
            p.append(p[parents[j]] + g[parents[j]] @ REST_OFFSETS[j])
            g.append(g[parents[j]] @ mats[f, j])
        assert np.allclose(got[f], np.array(p), atol=1e-12)
    six = torch.from_numpy(rot.matrix_to_rot6d(mats))
    via6 = rot.forward_kinematics(six, torch.from_numpy(REST_OFFSETS), torch.from_numpy(root), parents)
    assert np.allclose(via6.numpy(), got, atol=1e-10)


def test_fit_offsets_recovers_a_skeleton_and_reports_its_residual():
    mats = random_rotations((40, 24), seed=2)
    pos = rot.forward_kinematics_np(mats, REST_OFFSETS, RNG.normal(size=(40, 3)), SMPL_PARENTS)
    offsets, per_seq, report = rot.fit_offsets(pos, mats, SMPL_PARENTS, np.array([15, 25]))
    assert np.allclose(offsets[1:], REST_OFFSETS[1:], atol=1e-12) and np.allclose(per_seq[:, 1:], REST_OFFSETS[1:])
    assert report["dataset_rms_m"] < 1e-12
    noisy = pos + RNG.normal(scale=0.01, size=pos.shape)
    _, _, report = rot.fit_offsets(noisy, mats, SMPL_PARENTS)
    fk = rot.forward_kinematics_np(mats, rot.fit_offsets(noisy, mats, SMPL_PARENTS)[0], noisy[:, 0], SMPL_PARENTS)
    assert report["dataset_rms_m"] == pytest.approx(np.sqrt(np.mean(np.sum((fk - noisy) ** 2, -1))))
    assert 0.005 < report["dataset_rms_m"] < 0.05


def test_ik_is_exact_on_rigid_motion_up_to_twist():
    mats = random_rotations((30, 24), scale=0.4, seed=3)
    pos = rot.forward_kinematics_np(mats, REST_OFFSETS, RNG.normal(size=(30, 3)), SMPL_PARENTS)
    solved = rot.inverse_kinematics(pos, REST_OFFSETS, SMPL_PARENTS)
    err = rot.ik_error(pos, solved, REST_OFFSETS, SMPL_PARENTS)
    assert err["max_m"] < 1e-9  # positions of a rigid skeleton are reached exactly; only twist differs
    stretched = pos.copy()
    stretched[:, 20] += 0.05  # a wrist 5 cm off its bone length
    assert rot.ik_error(stretched, rot.inverse_kinematics(stretched, REST_OFFSETS, SMPL_PARENTS),
                        REST_OFFSETS, SMPL_PARENTS)["max_m"] > 0.01


# ---------------------------------------------------------------- sources


def test_demo_rotations_reproduce_positions_exactly(tmp_path):
    raw, _ = generate(DemoSettings(samples_per_class=3))
    splits, meta = prepare(raw, PrepareSettings(test_fraction=0.3))
    save_processed(tmp_path / "p", splits, meta)
    train, test = load_split(tmp_path / "p", "train"), load_split(tmp_path / "p", "test")
    for ms in (train, test):
        assert ms.rotations.shape == ms.frames.shape[:2] + (6,) and ms.skeleton.shape == (24, 3)
        assert np.abs(fk_of(ms, SMPL_PARENTS) - ms.frames).max() < 1e-5
    info = json.loads((tmp_path / "p" / "meta.json").read_text())["rotations"]
    assert info["residual_m"]["train"]["sequence_max_m"] < 1e-5 and info["exact"] is True
    # one skeleton for all: body sizes differ by up to 15 %, which the reported residual says
    one = rot.forward_kinematics_np(rot.rot6d_to_matrix_np(train.rotations), train.skeleton, train.frames[:, 0], SMPL_PARENTS)
    rms = float(np.sqrt(np.mean(np.sum((one - train.frames) ** 2, -1))))
    assert rms == pytest.approx(info["residual_m"]["train"]["dataset_rms_m"], abs=2e-6) and rms > 0.005


def test_demo_without_body_size_spread_has_one_exact_skeleton():
    raw, _ = generate(DemoSettings(samples_per_class=2, scale_spread=0.0))
    splits, meta = prepare(raw, PrepareSettings())
    assert meta["rotations"]["residual_m"]["train"]["dataset_max_m"] < 1e-5
    assert np.allclose(splits["train"].skeleton[1:], REST_OFFSETS[1:], atol=1e-6)


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "YZX"])
def test_bvh_folder_rotations_in_any_channel_order(tmp_path, order):
    motions = write_bvh_layout(tmp_path / "raw")
    if order != "ZXY":  # rewrite the channel order of every file; the angles mean other rotations now
        for f in (tmp_path / "raw").glob("*.bvh"):
            names = " ".join(f"{a}rotation" for a in order)
            f.write_text(f.read_text().replace("Zrotation Xrotation Yrotation", names))
    raw = generic.load(tmp_path / "raw")
    splits, meta = prepare(raw, PrepareSettings(root_to_origin="none"))
    ms = splits["train"]
    assert np.abs(fk_of(ms, raw.parents) - ms.frames).max() < 1e-6
    first = motions["clip0"]
    expected = Rotation.from_euler(order, first[:, 6:9], degrees=True).as_matrix()  # joint 1's channels
    assert np.allclose(rot.rot6d_to_matrix_np(ms.rotations[:len(first), 1]), expected, atol=1e-5)
    assert meta["rotations"]["exact"] is True


def test_generic_npz_with_user_rotations_and_offsets(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    parents = [-1, 0, 1, 1, 0]
    offsets = np.array([[0, 0, 0], [0, 0.3, 0], [0, 0.2, 0.1], [0.1, 0.1, 0], [0, -0.4, 0]])
    mats = {f"m{k}": random_rotations((6 + k, 5), seed=k) for k in range(3)}
    pos = {k: rot.forward_kinematics_np(m, offsets, np.zeros((len(m), 3)), parents).astype(np.float32) for k, m in mats.items()}
    np.savez(folder / "motions.npz", **pos)
    np.savez(folder / "rotations.npz", **{k: rot.matrix_to_rot6d(m) for k, m in mats.items()})
    (folder / "skeleton.json").write_text(json.dumps({"joints": list("abcde"), "parents": parents, "fps": 30,
                                                      "offsets": offsets.tolist()}))
    write_labels(folder, [(k, "x") for k in mats])
    splits, meta = prepare(generic.load(folder), PrepareSettings())
    assert np.abs(fk_of(splits["train"], parents) - splits["train"].frames).max() < 1e-6
    (folder / "rotations.npz").unlink()  # offsets without rotations: refused, one line
    with pytest.raises(DataError, match="come together") as err:
        generic.load(folder)
    assert "\n" not in str(err.value)


def test_positions_only_sources_stay_positions_only(tmp_path):
    from tests.test_loaders_generic import write_npz_layout
    write_npz_layout(tmp_path / "raw")
    splits, meta = prepare(generic.load(tmp_path / "raw"), PrepareSettings())
    assert splits["train"].rotations is None and "rotations" not in meta
    save_processed(tmp_path / "p", splits, meta)
    assert "rotations" not in np.load(tmp_path / "p" / "train.npz").files


def smpl_fixture(lengths=(20, 30, 25), seed=0, frame=np.diag([1.0, -1.0, -1.0])):
    """SMPL-like clips: random poses on the demo skeleton with per-clip body sizes; positions in another
    world frame than the poses (``frame``, here a half-turn about x)."""
    rng = np.random.default_rng(seed)
    poses, joints = [], []
    for k, t in enumerate(lengths):
        rv = rng.normal(scale=0.3, size=(t, 24, 3))
        mats = rot.axis_angle_to_matrix(rv)
        p = rot.forward_kinematics_np(mats, REST_OFFSETS * (0.9 + 0.1 * k), rng.normal(size=(t, 3)), SMPL_PARENTS)
        poses.append(rv.reshape(t, 72))
        joints.append((p @ frame.T).astype(np.float32))
    return poses, joints


def test_humanact12poses_rotations_within_the_reported_residual(tmp_path):
    poses, joints = smpl_fixture()
    joblib.dump({"poses": poses, "joints3D": joints, "y": [0, 1, 2]}, tmp_path / "humanact12poses.pkl")
    raw = humanact12poses.load(tmp_path, SourceSettings(source="humanact12poses"))
    assert np.allclose(raw.rotation_notes["root_alignment"], np.diag([1.0, -1.0, -1.0]), atol=1e-5)
    splits, meta = prepare(raw, PrepareSettings())
    ms, res = splits["train"], meta["rotations"]["residual_m"]["train"]
    err = np.linalg.norm(fk_of(ms, SMPL_PARENTS) - ms.frames, axis=-1)
    assert err.max() <= res["sequence_max_m"] + 1e-6 and res["sequence_max_m"] < 1e-5
    one = rot.forward_kinematics_np(rot.rot6d_to_matrix_np(ms.rotations), ms.skeleton, ms.frames[:, 0], SMPL_PARENTS)
    assert np.linalg.norm(one - ms.frames, axis=-1).max() <= res["dataset_max_m"] + 1e-6
    assert res["dataset_rms_m"] > 0.001  # three body sizes, one skeleton


def vibe_fixture(lengths=(20, 26)):
    """VIBE-like tracks: 'pose' and 49 joints whose 18 selected ones sit on SMPL joints."""
    corresponding = (0, 12, 17, 19, 21, 16, 18, 20, 15, 2, 5, 8, 1, 4, 7, 11, 10, 15)
    poses, joints = smpl_fixture(lengths, frame=np.eye(3))
    out = []
    for p, j in zip(poses, joints):
        j49 = np.zeros((len(j), 49, 3), np.float32)
        j49[:, list(VIBE18_SELECTION)] = j[:, list(corresponding)]
        out.append(j49)
    return poses, out


def test_vibe_rotations_follow_the_limbs_exactly_and_report_the_torso(tmp_path):
    poses, joints = vibe_fixture()
    folder = tmp_path / "ntu13"
    folder.mkdir()
    names = ["S001C001P001R001A006.pkl", "S001C001P001R001A007.pkl"]
    for name, p, j in zip(names, poses, joints):
        joblib.dump({1: {"pose": p, "joints3d": j}}, folder / name)
    (folder / "list.txt").write_text("\n".join(names) + "\n")
    raw = ntu13.load(folder, SourceSettings(source="ntu13"))
    splits, meta = prepare(raw, PrepareSettings())
    ms, res = splits["train"], meta["rotations"]["residual_m"]["train"]
    assert np.linalg.norm(fk_of(ms, VIBE18_PARENTS) - ms.frames, axis=-1).max() <= res["sequence_max_m"] + 1e-6
    # limb bones are constant in their parent's frame within a clip (the torso's are not)
    mats = rot.rot6d_to_matrix_np(ms.rotations[:20])
    local = rot.bone_vectors_in_parent(ms.frames[:20].astype(np.float64), mats, VIBE18_PARENTS)
    limbs = [3, 4, 6, 7, 10, 11, 13, 14, 15, 16]  # elbows, wrists, knees, ankles, heel, toe
    assert local[:, limbs].std(axis=0).max() < 1e-5
    assert local[:, 1].std(axis=0).max() > 1e-3  # mid hip -> neck spans the spine
    # a track without 'pose' keeps the dataset positions-only
    joblib.dump({1: {"joints3d": joints[0]}}, folder / names[0])
    raw = ntu13.load(folder, SourceSettings(source="ntu13"))
    assert raw.rotations is None and "pose" in raw.notes["rotations"]


def test_uestc_side_two_turns_the_root_rotation_too(tmp_path):
    from tests.test_loaders_published import write_uestc
    poses, joints = vibe_fixture((12, 12))
    videos = [("a0_d1_p001_c1_color.avi", 12, 12), ("a0_d2_p001_c2_color.avi", 12, 12)]
    folder = tmp_path / "uestc"
    write_uestc(folder, videos=videos, joints=joints)
    import pickle
    with open(folder / "vibe_cache_refined.pkl", "rb") as fh:
        vibe = pickle.load(fh)
    vibe["pose"] = poses
    with open(folder / "vibe_cache_refined.pkl", "wb") as fh:
        pickle.dump(vibe, fh)
    splits, meta = prepare(uestc.load(folder, SourceSettings(source="uestc")), PrepareSettings())
    ms = splits["train"]
    mats = rot.rot6d_to_matrix_np(ms.rotations)
    local = rot.bone_vectors_in_parent(ms.frames.astype(np.float64), mats, VIBE18_PARENTS)
    # the same limb directions in both videos (body sizes differ) although the second one was turned to the front
    a, b = local[:12, 3:5], local[12:, 3:5]
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    assert a.std(0).max() < 1e-5 and b.std(0).max() < 1e-5
    assert np.allclose(unit(a.mean(0)), unit(b.mean(0)), atol=1e-5)
