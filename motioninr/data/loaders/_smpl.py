"""Rotations of the SMPL-based sources: SMPL axis-angle ``poses`` (72 numbers a frame) to local rotations.

- ``humanact12poses``: the 24 SMPL joints are the dataset's joints, so the rotations are the
  poses' own (with the root turned into the frame of the joint positions, see
  :func:`motioninr.rotations.align_root_frame`).
- ``uestc`` / ``ntu13``: the 18 joints are VIBE's selection of its 49 regressed joints, not SMPL
  joints. Each of the 18 gets the world rotation of the SMPL joint that carries its bones
  (:data:`motioninr.skeleton.VIBE18_SMPL_DRIVERS`), made local to its parent in the 18-joint tree.
  Limb bones follow exactly; the torso bones do not (they span several SMPL joints), so these
  rotations are an approximation whose size is the FK residual written into ``meta.json``.

The SMPL body model itself cannot ship, so the rest offsets are fitted to the dataset's positions
by :func:`motioninr.rotations.fit_offsets` during ``prepare``.
"""

from __future__ import annotations

import numpy as np

from motioninr import rotations as rot
from motioninr.errors import DataError
from motioninr.skeleton import SMPL_PARENTS, VIBE18_PARENTS, VIBE18_SMPL_DRIVERS

SMPL_POSE_SIZE = 72


def smpl_local_rotations(pose, where: str, frames: int) -> np.ndarray:
    """Validate one ``(>= frames, 72)`` axis-angle array; its first ``frames`` rows as ``(frames, 24, 3, 3)``."""
    try:
        pose = np.asarray(pose, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: not a numeric array; expected ({frames}, {SMPL_POSE_SIZE}) SMPL axis-angle") from None
    if pose.ndim != 2 or pose.shape[1] != SMPL_POSE_SIZE or len(pose) < frames:
        raise DataError(f"{where}: array of shape {pose.shape}; expected ({frames}, {SMPL_POSE_SIZE}) SMPL axis-angle, "
                        "one row per frame of the joint positions")
    pose = pose[:frames]
    if not np.isfinite(pose).all():
        raise DataError(f"{where}: contains NaN or Inf values; expected finite axis-angle")
    return rot.axis_angle_to_matrix(pose.reshape(frames, 24, 3))


def vibe18_rotations(smpl_local: np.ndarray) -> np.ndarray:
    """SMPL local rotations ``(frames, 24, 3, 3)`` -> local rotations of the 18-joint VIBE tree ``(frames, 18, 3, 3)``."""
    world = rot.world_rotations(smpl_local, SMPL_PARENTS)[:, list(VIBE18_SMPL_DRIVERS)]
    return rot.local_rotations(world, VIBE18_PARENTS)


def align_to_positions(sequences: list[np.ndarray], rotations: list[np.ndarray], parents) -> tuple[list[np.ndarray], dict]:
    """Turn every root rotation into the positions' world frame (one rotation for the dataset); returns notes."""
    c = rot.align_root_frame(np.concatenate(sequences).astype(np.float64), np.concatenate(rotations), parents)
    out = []
    for r in rotations:
        r = r.copy()
        r[:, 0] = c @ r[:, 0]
        out.append(r)
    return out, {"root_alignment": np.round(c, 6).tolist()}
