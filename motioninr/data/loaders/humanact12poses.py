"""HumanAct12Poses: ACTOR's ``humanact12poses.pkl``.

A pickle of a dict with ``poses`` (list of ``(T, 72)`` SMPL axis-angle),
``joints3D`` (list of ``(T, 24, 3)`` joint positions in metres, y up, the same
arrays as the Action2Motion ``.npy`` clips, in sorted file-name order) and
``y`` (list of coarse labels 0..11). ``joints3D`` and ``y`` are required; ``poses``,
when present, gives each joint's local rotation (see ``_smpl.py``; the root is turned into the
frame of ``joints3D``). The whole set is the training set (no test split); 20 fps as HumanAct12.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motioninr.data.dataset import RawDataset
from motioninr.data.loaders._smpl import align_to_positions, smpl_local_rotations
from motioninr.data.loaders._validate import check_motion, read_pickle, require_keys, require_sequence
from motioninr.data.loaders.humanact12 import COARSE_CLASSES, FPS, NUM_JOINTS
from motioninr.errors import DataError
from motioninr.skeleton import SMPL_JOINTS, SMPL_PARENTS

FILE_NAME = "humanact12poses.pkl"
_EXPECTED = "ACTOR's humanact12poses.pkl: a dict with lists 'joints3D' of (frames, 24, 3) and 'y' of labels 0..11"


def load(path: Path, settings) -> RawDataset:
    """Read ``path`` (the ``.pkl`` file, or a folder holding ``humanact12poses.pkl``)."""
    file = path / FILE_NAME if path.is_dir() else path
    data = require_keys(read_pickle(file, _EXPECTED), ("joints3D", "y"), str(file), _EXPECTED)
    joints = require_sequence(data["joints3D"], f"{file}: joints3D", expected="a list of (frames, 24, 3) arrays")
    if not joints:
        raise DataError(f"{file}: joints3D is empty; expected {_EXPECTED}")
    ys = require_sequence(data["y"], f"{file}: y", len(joints), "one coarse label per joints3D entry")

    labels = np.empty(len(ys), dtype=np.int64)
    for i, y in enumerate(ys):
        if isinstance(y, (bool, np.bool_)) or not isinstance(y, (int, np.integer)) or not 0 <= y < len(COARSE_CLASSES):
            raise DataError(f"{file}: y[{i}] is {y!r}; expected an integer label in 0..{len(COARSE_CLASSES) - 1}")
        labels[i] = y
    sequences = [check_motion(j, f"{file}: joints3D[{i}]", NUM_JOINTS) for i, j in enumerate(joints)]
    rotations, rotation_notes = None, {}
    if "poses" in data:
        poses = require_sequence(data["poses"], f"{file}: poses", len(joints), "one (frames, 72) array per joints3D entry")
        rotations = [smpl_local_rotations(p, f"{file}: poses[{i}]", len(s)) for i, (p, s) in enumerate(zip(poses, sequences))]
        rotations, rotation_notes = align_to_positions(sequences, rotations, SMPL_PARENTS)
        rotation_notes = {"origin": "SMPL axis-angle poses of the pickle", "exact": False, **rotation_notes}
    return RawDataset(
        sequences=sequences, labels=labels, ids=[f"humanact12poses_{i:04d}" for i in range(len(sequences))],
        class_names=list(COARSE_CLASSES), joint_names=list(SMPL_JOINTS), parents=list(SMPL_PARENTS),
        fps=FPS, source="humanact12poses", up="y", rotations=rotations, rotation_notes=rotation_notes,
    )
