import numpy as np
import pytest

from motioninr.data.dataset import MotionSet
from motioninr.evaluation.physics import (
    PhysicsSettings, Skeleton, bone_error, estimate_floor, floating, foot_skating, jitter, penetration,
    physics_metrics, up_axis,
)
from motioninr.settings import from_mapping
from motioninr.errors import SettingsError
from motioninr.skeleton import SMPL_JOINTS, VIBE18_JOINTS, guess_foot_joints

PARENTS = (-1, 0)  # pelvis -> foot: one bone


def _walk(speed, fps=20.0, frames=21, foot_height=0.02, pelvis_height=1.0):
    """Pelvis above a foot that slides along x at ``speed`` m/s; y up."""
    t = np.arange(frames) / fps
    seq = np.zeros((frames, 2, 3), np.float32)
    seq[:, 0, 1] = pelvis_height
    seq[:, 1, 0] = speed * t
    seq[:, 1, 1] = foot_height
    return seq


def _set(*seqs):
    return MotionSet.from_sequences(list(seqs), np.zeros(len(seqs), int), [f"m{i}" for i in range(len(seqs))])


def test_foot_sliding_at_a_known_speed():
    fast = _set(_walk(1.0))                                 # 5 cm per frame at 20 fps: over 2.5 cm
    share, distance = foot_skating(fast, [1], 20.0, 0.0)
    assert share == 1.0 and distance == pytest.approx(0.05, rel=1e-6)
    slow = _set(_walk(0.2))                                 # 1 cm per frame: in contact but not sliding
    share, distance = foot_skating(slow, [1], 20.0, 0.0)
    assert share == 0.0 and distance == pytest.approx(0.01, rel=1e-5)
    lifted = _set(_walk(1.0, foot_height=0.2))              # never within 5 cm of the floor: no contact
    share, distance = foot_skating(lifted, [1], 20.0, 0.0)
    assert share == 0.0 and np.isnan(distance)
    # half the motions slide: the share is over all frame steps of the set
    share, _ = foot_skating(_set(_walk(1.0), _walk(0.2)), [1], 20.0, 0.0)
    assert share == pytest.approx(0.5)


def test_sliding_threshold_scales_with_fps():
    # 0.75 m/s is 1.5 cm per frame at 50 fps: under 2.5 cm, yet over the 0.5 m/s threshold scaled to 1 cm
    share, distance = foot_skating(_set(_walk(0.75, fps=50.0, frames=51)), [1], 50.0, 0.0)
    assert share == 1.0 and distance == pytest.approx(0.015, rel=1e-5)
    share, _ = foot_skating(_set(_walk(0.4, fps=50.0, frames=51)), [1], 50.0, 0.0)
    assert share == 0.0


def test_steps_never_cross_from_one_motion_into_the_next():
    a = _walk(0.0)
    b = _walk(0.0)
    b[:, :, 0] += 3.0  # a jump of 3 m between the motions, still in contact
    share, distance = foot_skating(_set(a, b), [1], 20.0, 0.0)
    assert share == 0.0 and distance == 0.0


def test_penetration_and_floating():
    seq = _walk(0.0, foot_height=0.0)
    seq[:10, 1, 1] = -0.1                                   # 10 of 20 frames 10 cm under the floor
    motions = _set(seq)
    assert penetration(motions, 0.0) == pytest.approx(0.1 * 10 / 21, rel=1e-6)
    hover = _set(_walk(0.0, foot_height=0.2))               # standing still 20 cm above the floor
    assert floating(hover, 20.0, 0.0) == pytest.approx(0.2, rel=1e-6)
    assert penetration(hover, 0.0) == 0.0
    # a jump's flight, apex included, is not floating: only the frames standing before and after count
    t = np.arange(-5, 26) / 20.0
    jump = _walk(0.0, foot_height=0.0, frames=31)
    jump[:, :, 1] += (3.0 * t - 0.5 * 9.81 * t ** 2).clip(0)[:, None]
    assert floating(_set(jump), 20.0, 0.0) == pytest.approx(0.0, abs=1e-6)
    jump[:, :, 1] += 0.1                                    # the same jump from a 10 cm high invisible step
    assert floating(_set(jump), 20.0, 0.0) == pytest.approx(0.1, abs=1e-6)


def test_floor_is_the_median_lowest_point_and_respects_the_up_axis():
    seqs = [_walk(0.0, foot_height=h) for h in (-0.1, 0.0, 0.3)]
    assert estimate_floor(_set(*seqs)) == pytest.approx(0.0)
    flipped = [s * np.array([1, -1, 1], np.float32) for s in seqs]  # y down, as VIBE's camera frames
    assert estimate_floor(_set(*flipped), up="-y") == pytest.approx(0.0)
    assert up_axis("-y") == (1, -1.0) and up_axis("z") == (2, 1.0)
    with pytest.raises(ValueError, match="up axis 'w'"):
        up_axis("w")


def test_jitter_of_a_cubic_path_is_its_constant_jerk():
    fps = 20.0
    t = np.arange(30) / fps
    seq = np.zeros((30, 2, 3), np.float32)
    seq[:, :, 0] = (t ** 3)[:, None]                        # x = t^3: jerk 6 m/s^3 everywhere
    assert jitter(_set(seq), fps) == pytest.approx(6.0, rel=1e-3)
    assert jitter(_set(_walk(1.0)), 20.0) == pytest.approx(0.0, abs=1e-3)  # constant velocity: no jerk
    assert np.isnan(jitter(_set(seq[:3]), fps))


def test_stretched_bone():
    seq = _walk(0.0)                                        # bone length 0.98
    seq[-1, 1, 1] -= 0.1                                    # stretched by 10 cm in one of 21 frames
    assert bone_error(_set(seq), PARENTS) == pytest.approx(0.1 / 21, rel=1e-4)
    assert bone_error(_set(_walk(1.0)), PARENTS) > 0          # a sliding foot stretches the leg
    assert bone_error(_set(_walk(0.0)), PARENTS) == 0.0


def test_foot_joints_from_names_and_meta():
    assert guess_foot_joints(SMPL_JOINTS) == ["left_ankle", "right_ankle", "left_foot", "right_foot"]
    assert guess_foot_joints(VIBE18_JOINTS) == ["right_ankle", "left_ankle", "right_heel", "left_big_toe"]
    assert guess_foot_joints(["Hips", "LeftToeBase", "RightFoot"]) == ["LeftToeBase", "RightFoot"]
    assert guess_foot_joints(["j0", "j1"]) == []
    meta = {"joint_names": ["pelvis", "j1"], "parents": [-1, 0], "fps": 20, "up": "-y", "foot_joints": ["j1"]}
    skeleton = Skeleton.from_meta(meta, floor=0.5)
    assert skeleton.feet == (1,) and skeleton.up == "-y" and skeleton.floor == 0.5
    del meta["foot_joints"]                                 # a processed folder from before foot_joints
    assert Skeleton.from_meta(meta, None).feet == ()


def test_all_metrics_of_a_set_and_settings():
    values = physics_metrics(_set(_walk(1.0)), Skeleton(PARENTS, (1,), 20.0, "y", 0.0), PhysicsSettings())
    assert values["skating"] == 1.0 and values["penetration"] == 0.0
    no_feet = physics_metrics(_set(_walk(1.0)), Skeleton(PARENTS, (), 20.0, "y", None), PhysicsSettings())
    assert np.isnan(no_feet["skating"]) and no_feet["floating"] == pytest.approx(0.0)
    with pytest.raises(SettingsError, match="evaluate.physics.contact_height: got -1"):
        from_mapping(PhysicsSettings, {"contact_height": -1}, "evaluate.physics")
    with pytest.raises(SettingsError, match="evaluate.physics.floor"):
        from_mapping(PhysicsSettings, {"floor": "ground"}, "evaluate.physics")
