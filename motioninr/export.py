"""Motions as BVH files (Biovision Hierarchy) that animation tools such as Blender import.

One file per motion: the dataset's joint names and hierarchy, each joint's OFFSET from the rest
skeleton, the root's position channels and every joint's rotation channels (``Zrotation
Xrotation Yrotation``: the local rotation is ``Rz @ Rx @ Ry``), ``Frame Time`` = 1 / fps.

- Motions with rotations (a ``rot6d`` model's output, or a processed dataset that has them) are
  written as they are: reading the file back gives the same joint positions.
- Positions-only motions are turned into rotations by inverse kinematics on the rest skeleton with
  the motion's own (median) bone lengths (:func:`motioninr.rotations.inverse_kinematics`): per-bone
  swing, so the twist about a bone is lost, and each bone keeps one length, so a motion whose bones
  stretch cannot be matched exactly. The position error this leaves is returned (:class:`Exported`) so callers can show it.

Leaf joints get an ``End Site`` half as long as their own bone, so every bone has a length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motioninr import rotations as rot
from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError
from motioninr.io import atomic_path
from motioninr.skeleton import children_of

UNITS = {"m": 1.0, "cm": 100.0}
ORDER = "ZXY"
ROTATION_CHANNELS = "Zrotation Xrotation Yrotation"


@dataclass(frozen=True)
class Skeleton:
    """What a BVH hierarchy needs: joint names, parents (parents first) and rest ``offsets (joints, 3)`` in metres."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray


@dataclass(frozen=True)
class Exported:
    """One motion ready to write: its BVH text and how it was made.

    ``ik``: True when the rotations came from inverse kinematics; ``error_mean_m`` / ``error_max_m``:
    joint-position error of the file's motion against the motion given (metres; ~0 without IK)
    over its ``frames`` frames.
    """

    id: str
    text: str
    ik: bool
    error_mean_m: float
    error_max_m: float
    frames: int


def rest_offsets_from_positions(frames: np.ndarray, parents) -> np.ndarray:
    """A rest skeleton ``(joints, 3)`` for positions-only data: each bone's median length along its mean direction.

    ``frames (frames, joints, 3)`` in metres (e.g. the training split). The rest pose is the data's
    average pose, which is what IK rotations of positions-only motions are expressed against.
    """
    parents = np.asarray(parents)
    offsets = np.zeros(frames.shape[1:], dtype=np.float64)
    child = np.arange(1, len(parents))
    bones = frames[:, child].astype(np.float64) - frames[:, parents[child]]
    direction = bones.mean(axis=0)
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
    offsets[child] = direction * np.median(np.linalg.norm(bones, axis=-1), axis=0)[:, None]
    return offsets


def fit_bone_lengths(offsets: np.ndarray, frames: np.ndarray, parents) -> np.ndarray:
    """The rest skeleton ``offsets (joints, 3)`` with each bone at its median length in ``frames (frames, joints, 3)``.

    So IK matches the motion's body size (a dataset's bodies differ) and only stretching bones and
    lost twist remain as error; the directions (the rest pose) stay the skeleton's.
    """
    parents = np.asarray(parents)
    out = np.asarray(offsets, dtype=np.float64).copy()
    child = np.arange(1, len(parents))
    length = np.median(np.linalg.norm(frames[:, child] - frames[:, parents[child]], axis=-1), axis=0)
    norm = np.linalg.norm(out[child], axis=-1)
    ok = norm > 1e-9
    out[child[ok]] *= (length[ok] / norm[ok])[:, None]
    return out


def _name(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "joint"


def bvh_text(skeleton: Skeleton, rotations: np.ndarray, root: np.ndarray, fps: float, unit: str = "m") -> str:
    """BVH text of local rotations ``(frames, joints, 3, 3)`` and root positions ``(frames, 3)`` (metres)."""
    scale = UNITS[unit]
    parents = list(skeleton.parents)
    children = children_of(parents)
    lines = ["HIERARCHY"]

    def block(j: int, depth: int) -> None:
        pad = "  " * depth
        off = np.zeros(3) if j == 0 else skeleton.offsets[j] * scale
        lines.append(f"{pad}{'ROOT' if j == 0 else 'JOINT'} {_name(skeleton.names[j])}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}")
        chans = f"6 Xposition Yposition Zposition {ROTATION_CHANNELS}" if j == 0 else f"3 {ROTATION_CHANNELS}"
        lines.append(f"{pad}  CHANNELS {chans}")
        for c in children[j]:
            block(c, depth + 1)
        if not children[j]:
            tip = 0.5 * off
            if np.linalg.norm(tip) < 1e-6:
                tip = np.array([0.0, 0.05 * scale, 0.0])
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {tip[0]:.6f} {tip[1]:.6f} {tip[2]:.6f}",
                          f"{pad}  }}"])
        lines.append(f"{pad}}}")

    block(0, 0)
    euler = rot.matrix_to_euler(rotations[:, file_order(parents)], ORDER)  # (frames, joints, 3) as Z, X, Y
    values = np.concatenate([root[:, None, :] * scale, euler], axis=1).reshape(len(root), -1)
    lines += ["MOTION", f"Frames: {len(root)}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in values]
    return "\n".join(lines) + "\n"


def file_order(parents) -> list[int]:
    """Joint indices in the depth-first order a BVH file lists them."""
    children = children_of(parents)
    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children[j]))
    return order


def dataset_skeleton(meta: dict, train: MotionSet) -> Skeleton:
    """The rest skeleton of a processed dataset: its fitted offsets, or (positions only) the average pose's bones."""
    offsets = train.skeleton if train.has_rotations else rest_offsets_from_positions(train.frames, meta["parents"])
    return Skeleton(tuple(meta["joint_names"]), tuple(int(p) for p in meta["parents"]), np.asarray(offsets, np.float64))


def export_motion(motions: MotionSet, i: int, skeleton: Skeleton, fps: float, unit: str = "m") -> Exported:
    """Motion ``i`` of ``motions`` as BVH text: its own rotations if it has them, else IK on ``skeleton``."""
    frames = motions.sequence(i).astype(np.float64)
    if motions.has_rotations:
        o = motions.offsets
        mats = rot.rot6d_to_matrix_np(motions.rotations[o[i]:o[i + 1]])
        offsets = motions.sequence_skeletons()[i].astype(np.float64)
        ik = False
    else:
        offsets = fit_bone_lengths(skeleton.offsets, frames, skeleton.parents)
        mats = rot.inverse_kinematics(frames, offsets, skeleton.parents)
        ik = True
    err = rot.ik_error(frames, mats, offsets, skeleton.parents)
    own = Skeleton(skeleton.names, skeleton.parents, offsets)
    return Exported(str(motions.ids[i]), bvh_text(own, mats, frames[:, 0], fps, unit), ik, err["mean_m"], err["max_m"],
                    len(frames))


def select(motions: MotionSet, ids: list[str] | None, where: str) -> np.ndarray:
    """Indices of ``ids`` in ``motions`` (all when None); one-line errors for an empty set or unknown ids."""
    if len(motions) == 0:
        raise DataError(f"{where}: holds no motions; expected a motion set with at least one motion")
    if not ids:
        return np.arange(len(motions))
    index = {str(k): n for n, k in enumerate(motions.ids)}
    unknown = [k for k in ids if k not in index]
    if unknown:
        known = ", ".join(list(index)[:5]) + (", ..." if len(index) > 5 else "")
        raise DataError(f"--ids: {unknown[0]!r} is not a motion of {where}"
                        f"{f' ({len(unknown)} unknown ids)' if len(unknown) > 1 else ''}; ids there: {known}")
    return np.array([index[k] for k in ids])


def check_writable(folder: Path) -> None:
    """Create ``folder`` and make sure files can be written in it, before anything is written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".motioninr-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise DataError(f"--out {folder}: cannot write there ({exc.strerror or exc}); expected a writable folder") from None


def write_all(exported: list[Exported], folder: Path) -> list[Path]:
    """Write every motion as ``<folder>/<id>.bvh`` (each atomically); returns the paths."""
    check_writable(folder)
    paths = []
    for e in exported:
        path = folder / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', e.id)}.bvh"
        with atomic_path(path) as tmp:
            tmp.write_text(e.text)
        paths.append(path)
    return paths


def write_named(folder: Path, named: dict[str, int], motions: MotionSet, skeleton: Skeleton, fps: float,
                unit: str = "m") -> list[Path]:
    """Write motion ``named[stem]`` of ``motions`` as ``<folder>/<stem>.bvh`` for every stem (e.g. beside gallery images)."""
    paths = []
    for stem, i in named.items():
        paths.append(Path(folder) / f"{stem}.bvh")
        paths[-1].write_text(export_motion(motions, int(i), skeleton, fps, unit).text)
    return paths
