"""UESTC (40 actions) in ACTOR's preparation of the VIBE estimates.

Layout of the folder ``path``::

    vibe_cache_refined.pkl   dict of per-video lists: 'pose' (T, 72), 'joints3d' (T, 49, 3), ...
    globtrans_usez.pkl       list of per-video global translations (T, 3)
    info/names.txt           video names a{action}_d{view}_p{subject:03}_c{side}_color.avi
    info/num_frames_min.txt  usable frame count per video

Entry ``i`` of every list belongs to line ``i`` of ``names.txt``. As ACTOR does:

- a video is trimmed to ``min(num_frames_min, len(joints3d))`` frames;
- the 18 joints of :data:`motioninr.skeleton.VIBE18_SELECTION` are kept;
- videos of the moving camera (side ``c2``) are rotated to the front view by
  ``-view * 45`` degrees about the y axis (joints and global translation),
  and view ``d8`` of side ``c2`` is skipped;
- the rotated global translation is added to the joints;
- cross-subject split: the 51 subjects of :data:`TRAIN_SUBJECTS` train, the
  other 67 test.

ACTOR also drops training videos shorter than 3/4 of its fixed crop length;
that filter belongs to training (``data.min_length`` is the equivalent here).
Videos left with no frame are skipped and counted in ``notes``.

Rotations: when ``vibe_cache_refined.pkl`` has VIBE's ``pose`` list (SMPL axis-angle), each of
the 18 joints gets the rotation of the SMPL joint that carries its bones (``_smpl.py``; the torso
is approximate, its size is the FK residual in ``meta.json``); side c2 turns the root rotation too.

Coordinates stay in VIBE's camera frame (x right, **y down**), as ACTOR and
its evaluator used them, so ``up`` is ``"-y"``. VIBE gives one pose per video
frame: 30 fps.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from motioninr.data.dataset import RawDataset
from motioninr.data.loaders._smpl import smpl_local_rotations, vibe18_rotations
from motioninr.data.loaders._validate import (
    check_motion, read_lines, read_pickle, require_dir, require_keys, require_sequence,
)
from motioninr.errors import DataError
from motioninr.skeleton import VIBE18_JOINTS, VIBE18_PARENTS, VIBE18_SELECTION

FPS = 30.0
VIBE_JOINTS = 49
NUM_SUBJECTS = 118
TRAIN_SUBJECTS: tuple[int, ...] = (
    1, 2, 6, 12, 13, 16, 21, 24, 28, 29, 30, 31, 33, 35, 39, 41, 42, 45, 47, 50, 52, 54, 55, 57, 59, 61,
    63, 64, 67, 69, 70, 71, 73, 77, 81, 84, 86, 87, 88, 90, 91, 93, 96, 99, 102, 103, 104, 107, 108, 112, 113,
)
CLASS_NAMES: tuple[str, ...] = (
    "punching_and_knee_lifting", "marking_time_and_knee_lifting", "jumping_jack", "squatting",
    "forward_lunging", "left_lunging", "left_stretching", "raising_hand_and_jumping", "left_kicking",
    "rotation_clapping", "front_raising", "pulling_chest_expanders", "punching", "wrist_circling",
    "single_dumbbell_raising", "shoulder_raising", "elbow_circling", "dumbbell_one_arm_shoulder_pressing",
    "arm_circling", "dumbbell_shrugging", "pinching_back", "head_anticlockwise_circling",
    "shoulder_abduction", "deltoid_muscle_stretching", "straight_forward_flexion", "spinal_stretching",
    "dumbbell_side_bend", "standing_opposite_elbow_to_knee_crunch", "standing_rotation",
    "overhead_stretching", "upper_back_stretching", "knee_to_chest", "knee_circling",
    "alternate_knee_lifting", "bent_over_twist", "rope_skipping", "standing_toe_touches",
    "standing_gastrocnemius_calf", "single_leg_lateral_hopping", "high_knees_running",
)
SKIPPED_VIEW = 8  # of the moving camera (side 2)
NAME_PATTERN = "a{action}_d{view}_p{subject:03}_c{side}_color.avi"
_NAME = re.compile(r"a(\d+)_d(\d+)_p(\d+)_c(\d+)")
_VIBE = "ACTOR's vibe_cache_refined.pkl: a dict with a 'joints3d' list of (frames, 49, 3) arrays"
_GLOB = "ACTOR's globtrans_usez.pkl: a list of (frames, 3) global translations, one per video"


def parse_name(name: str, where: str) -> tuple[int, int, int, int]:
    """``(action, view, subject, side)`` of a video name."""
    match = _NAME.match(Path(name).name)
    if match is None:
        raise DataError(f"{where}: video name {name!r} does not match {NAME_PATTERN}")
    action, view, subject, side = map(int, match.groups())
    if not 0 <= action < len(CLASS_NAMES):
        raise DataError(f"{where}: action a{action} in {name!r}; expected an action in 0..{len(CLASS_NAMES) - 1}")
    if not 1 <= subject <= NUM_SUBJECTS:
        raise DataError(f"{where}: subject p{subject:03d} in {name!r}; expected a subject in 1..{NUM_SUBJECTS}")
    if side not in (1, 2) or not 1 <= view <= 8:
        raise DataError(f"{where}: view d{view} / side c{side} in {name!r}; expected views d1..d8 and sides c1, c2")
    return action, view, subject, side


def front_rotation(view: int) -> np.ndarray:
    """``(3, 3)`` rotation by ``-view * 45`` degrees about y, turning side-2 view ``view`` to the front."""
    theta = -view * np.pi / 4
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=np.float32)


def _read_counts(path: Path, n: int) -> np.ndarray:
    lines = read_lines(path, "one integer frame count per video")
    if len(lines) != n:
        raise DataError(f"{path}: {len(lines)} frame counts; expected {n}, one per line of info/names.txt")
    counts = np.zeros(n, dtype=np.int64)
    for k, line in enumerate(lines):
        try:
            counts[k] = int(line)
        except ValueError:
            raise DataError(f"{path}: count {k + 1} is {line!r}; expected an integer frame count >= 0") from None
        if counts[k] < 0:
            raise DataError(f"{path}: count {k + 1} is {line!r}; expected an integer frame count >= 0")
    return counts


def _translation(entry, where: str, frames: int) -> np.ndarray:
    """The first ``frames`` rows of a ``(T, 3)`` global translation, validated."""
    try:
        trans = np.asarray(entry, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{where}: not a numeric array; expected ({frames} or more, 3) translations") from None
    if trans.ndim != 2 or trans.shape[1] != 3 or len(trans) < frames:
        raise DataError(f"{where}: array of shape {trans.shape}; expected ({frames} or more, 3) translations")
    trans = trans[:frames]
    if not np.isfinite(trans).all():
        raise DataError(f"{where}: contains NaN or Inf values; expected finite translations")
    return trans


def load(path: Path, settings) -> RawDataset:
    """Read the UESTC videos into ``(frames, 18, 3)`` sequences with the cross-subject split."""
    require_dir(path, "ACTOR's UESTC folder (vibe_cache_refined.pkl, globtrans_usez.pkl, info/)")
    names_path = path / "info" / "names.txt"
    names = read_lines(names_path, f"one video name per line, {NAME_PATTERN}")
    if not names:
        raise DataError(f"{names_path}: empty; expected one video name per line, {NAME_PATTERN}")
    n = len(names)
    counts = _read_counts(path / "info" / "num_frames_min.txt", n)
    vibe_path, glob_path = path / "vibe_cache_refined.pkl", path / "globtrans_usez.pkl"
    vibe = require_keys(read_pickle(vibe_path, _VIBE), ("joints3d",), str(vibe_path), _VIBE)
    joints_all = require_sequence(vibe["joints3d"], f"{vibe_path}: joints3d", n, "one entry per line of info/names.txt")
    globtrans = require_sequence(read_pickle(glob_path, _GLOB), str(glob_path), n, "one entry per line of info/names.txt")

    poses = None
    if "pose" in vibe:
        poses = require_sequence(vibe["pose"], f"{vibe_path}: pose", n, "one entry per line of info/names.txt")

    selection = list(VIBE18_SELECTION)
    train = set(TRAIN_SUBJECTS)
    sequences, labels, ids, split, rotations = [], [], [], [], []
    skipped_view, skipped_empty = 0, 0
    for i, name in enumerate(names):
        action, view, subject, side = parse_name(name, f"{names_path}: line {i + 1}")
        if side == 2 and view == SKIPPED_VIEW:
            skipped_view += 1
            continue
        entry = joints_all[i]
        if counts[i] == 0 or (hasattr(entry, "__len__") and len(entry) == 0):
            skipped_empty += 1
            continue
        joints = check_motion(entry, f"{vibe_path}: joints3d[{i}] ({name})", VIBE_JOINTS)
        frames = min(int(counts[i]), len(joints))
        joints = joints[:frames, selection]
        trans = _translation(globtrans[i], f"{glob_path}: entry {i} ({name})", frames)
        mats = None
        if poses is not None:
            mats = vibe18_rotations(smpl_local_rotations(poses[i], f"{vibe_path}: pose[{i}] ({name})", frames))
        if side == 2:
            rot = front_rotation(view)
            joints, trans = joints @ rot.T, trans @ rot.T
            if mats is not None:
                mats[:, 0] = rot.astype(np.float64) @ mats[:, 0]
        sequences.append(joints + trans[:, None])
        rotations.append(mats)
        labels.append(action)
        ids.append(Path(name).name.removesuffix("_color.avi"))
        split.append("train" if subject in train else "test")
    if not sequences:
        raise DataError(f"{names_path}: no usable video (all skipped); expected UESTC videos with frames")
    rotation_notes = {}
    if poses is not None:
        rotation_notes = {"origin": "VIBE SMPL axis-angle pose, mapped to the 18 joints (torso approximate)",
                          "exact": False,
                          "root_frame": "VIBE's camera frame, the frame of joints3d (no alignment needed)"}

    return RawDataset(
        sequences=sequences, labels=np.asarray(labels), ids=ids, class_names=list(CLASS_NAMES),
        joint_names=list(VIBE18_JOINTS), parents=list(VIBE18_PARENTS), fps=FPS, source="uestc", up="-y",
        split=split, rotations=rotations if poses is not None else None, rotation_notes=rotation_notes,
        split_rule=(
            f"cross-subject (ACTOR): subjects {', '.join(map(str, TRAIN_SUBJECTS))} train, "
            f"the other {NUM_SUBJECTS - len(TRAIN_SUBJECTS)} of 1..{NUM_SUBJECTS} test"
        ),
        notes={
            "coordinates": "VIBE camera frame (x right, y down); side c2 rotated to the front view",
            "skipped_side2_view8": skipped_view,
            "skipped_empty": skipped_empty,
        },
    )
