"""Local joint rotations: the 6D representation, forward kinematics, rest offsets and inverse kinematics.

Convention (also written into the processed ``meta.json`` as ``rotations.convention``):

- ``R_j`` is joint ``j``'s rotation in its parent's frame (the root's: in the world frame); it turns
  the bones to ``j``'s children. World rotations compose from the root: ``G_j = G_parent(j) @ R_j``.
- ``offsets[j]`` is the rest-pose vector from ``j``'s parent to ``j`` (metres, parent frame), so
  ``p_j = p_parent(j) + G_parent(j) @ offsets[j]``; the root is placed by its own position.
- Matrices act on column vectors. The 6D representation of ``R`` is its first two columns,
  ``[R[:, 0], R[:, 1]]`` (6 numbers); :func:`rot6d_to_matrix` recovers ``R`` by Gram-Schmidt, so
  any 6 numbers whose halves are not parallel decode to a rotation.

Everything here is batched over frames; the only Python loops run over joints (parents first).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import Tensor

from motioninr.skeleton import children_of

CONVENTION = {
    "representation": "rot6d: the first two columns of each local rotation matrix, [R[:, 0], R[:, 1]]",
    "local": "R_j rotates joint j's children in the frame of j's parent (root: world frame)",
    "composition": "G_j = G_parent @ R_j; p_j = p_parent + G_parent @ offsets[j] (column vectors)",
    "offsets": "rest-pose vector from the parent to each joint, metres, in the parent's frame",
}


# ----------------------------------------------------------------------------- representations

def matrix_to_rot6d(m):
    """Rotation matrices ``(..., 3, 3)`` -> 6D ``(..., 6)`` (first two columns). numpy or torch."""
    if isinstance(m, Tensor):
        return torch.cat([m[..., :, 0], m[..., :, 1]], dim=-1)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def rot6d_to_matrix(x: Tensor, eps: float = 1e-8) -> Tensor:
    """6D ``(..., 6)`` -> rotation matrices ``(..., 3, 3)`` by Gram-Schmidt (torch, differentiable)."""
    a, b = x[..., :3], x[..., 3:]
    c0 = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    b = b - (c0 * b).sum(-1, keepdim=True) * c0
    c1 = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    c2 = torch.cross(c0, c1, dim=-1)
    return torch.stack([c0, c1, c2], dim=-1)


def rot6d_to_matrix_np(x: np.ndarray) -> np.ndarray:
    """:func:`rot6d_to_matrix` for numpy arrays (float64 result)."""
    return rot6d_to_matrix(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()


def axis_angle_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Axis-angle ``(..., 3)`` (radians, e.g. SMPL ``poses``) -> matrices ``(..., 3, 3)``."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    return Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(rotvec.shape[:-1] + (3, 3))


def euler_to_matrix(angles: np.ndarray, order: str, degrees: bool = True) -> np.ndarray:
    """Intrinsic Euler angles ``(..., len(order))`` about the axes ``order`` (e.g. ``"ZXY"``: R = Rz @ Rx @ Ry)."""
    angles = np.asarray(angles, dtype=np.float64)
    flat = angles.reshape(-1, len(order))
    return Rotation.from_euler(order.upper(), flat, degrees=degrees).as_matrix().reshape(angles.shape[:-1] + (3, 3))


def matrix_to_euler(m: np.ndarray, order: str, degrees: bool = True) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` -> intrinsic Euler angles ``(..., 3)`` in ``order`` (e.g. ``"ZXY"``)."""
    m = np.asarray(m, dtype=np.float64)
    flat = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_euler(order.upper(), degrees=degrees)
    return flat.reshape(m.shape[:-2] + (3,))


# ----------------------------------------------------------------------------- forward kinematics

def forward_kinematics(rotations: Tensor, offsets: Tensor, root: Tensor, parents) -> Tensor:
    """Joint positions ``(frames, joints, 3)`` from local rotations and rest offsets.

    rotations: ``(frames, joints, 3, 3)`` matrices or ``(frames, joints, 6)`` 6D (torch).
    offsets:   ``(joints, 3)`` one skeleton, or ``(frames, joints, 3)`` a skeleton per frame.
    root:      ``(frames, 3)`` root positions.
    """
    if rotations.shape[-1] == 6:
        rotations = rot6d_to_matrix(rotations)
    offsets = offsets.to(rotations.dtype)
    if offsets.ndim == 2:
        offsets = offsets.expand(rotations.shape[0], -1, -1)
    world = [rotations[:, 0]]
    pos = [root.to(rotations.dtype)]
    for j in range(1, len(parents)):
        p = int(parents[j])
        g = world[p]
        pos.append(pos[p] + (g @ offsets[:, j, :, None])[..., 0])
        world.append(g @ rotations[:, j])
    return torch.stack(pos, dim=1)


def forward_kinematics_np(rotations: np.ndarray, offsets: np.ndarray, root: np.ndarray, parents) -> np.ndarray:
    """:func:`forward_kinematics` on numpy arrays (float64 in, float64 out)."""
    t = lambda a: torch.from_numpy(np.array(a, dtype=np.float64))  # noqa: E731 - a writable copy
    return forward_kinematics(t(rotations), t(offsets), t(root), parents).numpy()


def world_rotations(rotations: np.ndarray, parents) -> np.ndarray:
    """Local rotations ``(frames, joints, 3, 3)`` -> world rotations ``G`` of the same shape."""
    world = np.empty_like(rotations)
    world[:, 0] = rotations[:, 0]
    for j in range(1, len(parents)):
        world[:, j] = world[:, parents[j]] @ rotations[:, j]
    return world


def local_rotations(world: np.ndarray, parents) -> np.ndarray:
    """World rotations ``(frames, joints, 3, 3)`` -> local ``R_j = G_parent^T G_j``."""
    local = np.empty_like(world)
    local[:, 0] = world[:, 0]
    for j in range(1, len(parents)):
        local[:, j] = np.swapaxes(world[:, parents[j]], -1, -2) @ world[:, j]
    return local


# ----------------------------------------------------------------------------- rest offsets from data

def bone_vectors_in_parent(positions: np.ndarray, rotations: np.ndarray, parents) -> np.ndarray:
    """``G_parent(j)^T (p_j - p_parent(j))`` ``(frames, joints, 3)`` (row 0 zero): each bone in its parent's frame."""
    world = world_rotations(rotations, parents)
    parents = np.asarray(parents)
    out = np.zeros(positions.shape, dtype=np.float64)
    child = np.arange(1, len(parents))
    bone = positions[:, child] - positions[:, parents[child]]
    out[:, child] = np.einsum("fjki,fjk->fji", world[:, parents[child]], bone)
    return out


def fit_offsets(positions: np.ndarray, rotations: np.ndarray, parents,
                lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Least-squares rest offsets that best explain ``positions`` given ``rotations``.

    positions ``(frames, joints, 3)``, rotations ``(frames, joints, 3, 3)``. With rotations fixed, the
    FK residual ``p_j - p_parent - G_parent o_j`` is linear in ``o_j`` and ``G_parent`` is orthogonal,
    so the least-squares ``o_j`` is the mean over frames of the bone seen in its parent's frame.

    Returns the dataset's offsets ``(joints, 3)``, per-sequence offsets ``(sequences, joints, 3)`` when
    ``lengths`` is given (else None), and residuals in metres: ``dataset_rms_m`` / ``dataset_max_m``
    (FK with the dataset offsets vs ``positions``, root placed exactly), and ``sequence_rms_m`` /
    ``sequence_max_m`` with each sequence's own offsets.
    """
    positions = np.asarray(positions, dtype=np.float64)
    local = bone_vectors_in_parent(positions, rotations, parents)
    offsets = local.mean(axis=0)
    report = fk_residual(positions, rotations, offsets[None], parents, "dataset")
    per_sequence = None
    if lengths is not None:
        seq = np.repeat(np.arange(len(lengths)), lengths)
        sums = np.zeros((len(lengths),) + local.shape[1:])
        np.add.at(sums, seq, local)
        per_sequence = sums / np.asarray(lengths, dtype=np.float64)[:, None, None]
        report.update(fk_residual(positions, rotations, per_sequence[seq], parents, "sequence"))
    return offsets, per_sequence, report


def fk_residual(positions, rotations, offsets, parents, name: str) -> dict:
    """``{name}_rms_m`` and ``{name}_max_m``: FK of ``rotations`` with ``offsets`` (root placed at ``positions[:, 0]``) vs ``positions``."""
    fk = forward_kinematics_np(rotations, np.broadcast_to(offsets, positions.shape), positions[:, 0], parents)
    err = np.linalg.norm(fk - positions, axis=-1)
    return {f"{name}_rms_m": float(np.sqrt(np.mean(err ** 2))), f"{name}_max_m": float(err.max())}


def align_root_frame(positions: np.ndarray, rotations: np.ndarray, parents, iterations: int = 8) -> np.ndarray:
    """A constant rotation ``C`` ``(3, 3)`` such that ``C @ R_root`` puts the skeleton in the frame of ``positions``.

    Pose parameters (e.g. SMPL ``poses``) may be expressed in another world frame than the joint
    positions they came with. ``C`` and the offsets are fitted in turn (offsets by
    :func:`fit_offsets`, ``C`` by orthogonal Procrustes of the posed rest bones onto the observed
    ones), from a few starting frames (identity and half-turns about x, y, z); the lowest residual wins.
    """
    positions = np.asarray(positions, dtype=np.float64)
    parents_arr = np.asarray(parents)
    child = np.arange(1, len(parents_arr))
    bones = positions[:, child] - positions[:, parents_arr[child]]  # (frames, joints - 1, 3)
    world = world_rotations(np.asarray(rotations, dtype=np.float64), parents)
    best, best_err = np.eye(3), np.inf
    for start in (np.eye(3), np.diag([1.0, -1.0, -1.0]), np.diag([-1.0, 1.0, -1.0]), np.diag([-1.0, -1.0, 1.0])):
        c = start
        for _ in range(iterations):
            g = np.einsum("ab,fjbc->fjac", c, world[:, parents_arr[child]])
            offsets = np.einsum("fjba,fjb->fja", g, bones).mean(axis=0)  # least squares given C
            posed = np.einsum("fjab,jb->fja", world[:, parents_arr[child]], offsets)  # G o, before C
            c = procrustes(posed.reshape(-1, 3), bones.reshape(-1, 3))
        g = np.einsum("ab,fjbc->fjac", c, world[:, parents_arr[child]])
        offsets = np.einsum("fjba,fjb->fja", g, bones).mean(axis=0)
        err = np.mean(np.sum((np.einsum("fjab,jb->fja", g, offsets) - bones) ** 2, axis=-1))
        if err < best_err - 1e-12:
            best, best_err = c, err
    return best


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation ``(..., 3, 3)`` minimising ``sum |R s_k - t_k|^2`` over points ``(..., points, 3)`` (Kabsch)."""
    h = np.swapaxes(target, -1, -2) @ source  # (..., 3, 3) = sum t s^T
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones(h.shape[:-2] + (3,))
    fix[..., 2] = d
    return (u * fix[..., None, :]) @ vt


# ----------------------------------------------------------------------------- inverse kinematics

def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotations ``(..., 3, 3)`` turning directions ``a`` onto ``b`` ``(..., 3)`` (no twist)."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1, keepdims=True)
    cos = np.sum(a * b, axis=-1, keepdims=True)
    angle = np.arctan2(sin, cos)
    unit = axis / np.maximum(sin, 1e-12)
    # opposite directions: any axis perpendicular to a
    opposite = (sin[..., 0] < 1e-9) & (cos[..., 0] < 0)
    if opposite.any():
        helper = np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        perp = np.cross(a, helper)
        perp /= np.linalg.norm(perp, axis=-1, keepdims=True)
        unit = np.where(opposite[..., None], perp, unit)
    rotvec = unit * angle
    return Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(a.shape[:-1] + (3, 3))


def inverse_kinematics(positions: np.ndarray, offsets: np.ndarray, parents) -> np.ndarray:
    """Local rotations ``(frames, joints, 3, 3)`` that pose the skeleton ``offsets`` like ``positions``.

    Per bone swing, as is common practice: a joint with one child gets the smallest rotation (in
    its parent's frame) turning the rest bone onto the observed one, so the twist about the bone
    is not recovered (it is inherited from the parent); a joint with several children, among them
    the root, gets the rotation that best fits all its rest bones to the observed ones (Procrustes),
    which does fix the twist. Leaves get the identity. Bone lengths come from ``offsets``, so
    positions whose bones stretch cannot be matched exactly: see :func:`ik_error`.
    """
    positions = np.asarray(positions, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.float64)
    frames, joints = positions.shape[:2]
    children = children_of(parents)
    world = np.zeros((frames, joints, 3, 3))
    local = np.zeros((frames, joints, 3, 3))
    eye = np.broadcast_to(np.eye(3), (frames, 3, 3))
    for j in range(joints):
        parent_world = world[:, parents[j]] if j else eye
        kids = children[j]
        if not kids:
            local[:, j] = eye
        else:
            observed = positions[:, kids] - positions[:, j:j + 1]            # (frames, kids, 3) world frame
            seen = np.einsum("fba,fkb->fka", parent_world, observed)       # in the parent's frame
            rest = offsets[kids]                                           # (kids, 3)
            if len(kids) == 1:
                local[:, j] = swing(np.broadcast_to(rest[0], seen[:, 0].shape), seen[:, 0])
            else:
                local[:, j] = procrustes(np.broadcast_to(rest, seen.shape), seen)
        world[:, j] = parent_world @ local[:, j]
    return local


def ik_error(positions: np.ndarray, rotations: np.ndarray, offsets: np.ndarray, parents) -> dict:
    """Position error (metres) of re-posing ``offsets`` with ``rotations`` vs ``positions`` ``(frames, joints, 3)``."""
    fk = forward_kinematics_np(rotations, np.broadcast_to(offsets, positions.shape), positions[:, 0], parents)
    err = np.linalg.norm(fk - positions, axis=-1)
    return {"mean_m": float(err.mean()), "max_m": float(err.max())}
