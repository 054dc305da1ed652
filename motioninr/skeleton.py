"""Skeleton topologies and helpers shared by loaders, the demo data and rendering."""

from __future__ import annotations

import numpy as np

SMPL_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
)
SMPL_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)

# The 18 joints kept from VIBE's 49 by Action2Motion (NTU13) and ACTOR (UESTC), root first.
VIBE18_SELECTION: tuple[int, ...] = (8, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 21, 24, 38)
VIBE18_JOINTS: tuple[str, ...] = (
    "mid_hip", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "nose", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "right_heel", "left_big_toe", "head_top",
)
# Kinematic tree over the 18 selected joints (for bone lengths and drawing).
VIBE18_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 3, 1, 5, 6, 1, 0, 9, 10, 0, 12, 13, 11, 14, 8)
# The SMPL joint whose world rotation carries the bones from each of the 18 joints to its children
# (leaves: the SMPL joint nearest to them). Limb bones (shoulder-elbow-wrist, hip-knee-ankle, ankle-heel/toe,
# nose-head top) are rigid in that joint's frame; the torso bones (mid hip -> neck spans three spine joints,
# neck -> shoulders the collars, neck -> nose the neck and head joints) are not, which the FK residual shows.
VIBE18_SMPL_DRIVERS: tuple[int, ...] = (0, 9, 17, 19, 21, 16, 18, 20, 15, 2, 5, 8, 1, 4, 7, 11, 10, 15)


FOOT_WORDS: tuple[str, ...] = ("ankle", "foot", "toe", "heel")  # joint-name parts that mark a foot joint


def guess_foot_joints(joint_names: list[str] | tuple[str, ...]) -> list[str]:
    """The joints that touch the floor when standing: names containing ankle, foot, toe or heel (any case).

    SMPL gives the ankles and feet, the VIBE selection the ankles, right heel and left big toe;
    BVH names such as ``LeftFoot`` or ``RightToeBase`` match too. An empty list means the
    names say nothing (set ``data.foot_joints``).
    """
    return [n for n in joint_names if any(w in n.lower() for w in FOOT_WORDS)]


def check_parents(parents: list[int] | tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless ``parents`` is a tree rooted at joint 0 with parents before children."""
    if len(parents) == 0 or parents[0] != -1:
        raise ValueError("the first joint must be the root (parent -1)")
    for j, p in enumerate(parents[1:], start=1):
        if j < p < len(parents) or p == j:
            raise ValueError(f"joint {j} has parent {p}, which is not listed before it; expected parents "
                             "before their children (reorder the joints so every parent comes first)")
        if not 0 <= p < j:
            raise ValueError(f"joint {j} has parent {p}; expected a joint index in [0, {j})")


def children_of(parents: list[int] | tuple[int, ...]) -> list[list[int]]:
    """The children of every joint, in joint order (``parents``: each joint's parent, -1 for the root)."""
    children: list[list[int]] = [[] for _ in parents]
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    return children


def bone_lengths(frames: np.ndarray, parents: list[int] | tuple[int, ...]) -> np.ndarray:
    """Bone lengths ``(..., joints - 1)`` of joint positions ``(..., joints, 3)`` (bone j links j to its parent)."""
    parents = np.asarray(parents)
    child = np.arange(1, len(parents))
    return np.linalg.norm(frames[..., child, :] - frames[..., parents[child], :], axis=-1)
