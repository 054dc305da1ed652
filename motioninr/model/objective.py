"""What the decoder outputs per frame and the reconstruction loss on it (``model.output``).

- ``positions``: the normalised representation of ``motioninr/data/representation.py`` (root position
  plus root-relative joints, ``joints * 3`` numbers); loss = MSE over those numbers.
- ``rot6d``: the normalised root position (3 numbers, the same normalisation) followed by every joint's
  local rotation in the 6D representation (``joints * 6``), as the official HumanAct12 and UESTC models
  do. Positions come from forward kinematics on the dataset's rest skeleton (``offsets`` of the processed
  data), so everything downstream still sees joint positions in metres. Loss (official ``combined``,
  with FK joints where the official code uses SMPL vertices; see docs/fidelity.md):

      loss_rotation  * MSE(6D rotations)
    + loss_positions * MSE(root-relative FK joints, normalised like the positions output)
    + loss_root      * MSE(normalised root position)

Per-frame targets are packed in one array per frame so the trainer indexes them like positions:
``positions``: ``(frames, joints * 3)``; ``rot6d``: ``(frames, joints * 3 + joints * 6)`` = the
normalised representation, then the 6D rotations.

The ``rot6d`` decoder outputs each rotation as its difference from the identity's 6D
``[1, 0, 0, 0, 1, 0]``: a fresh decoder's outputs near 0 then mean rotations near the identity, not
6D vectors near 0, where Gram-Schmidt divides by almost nothing and its gradients explode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from motioninr.data.dataset import MotionSet
from motioninr.data.representation import normalize
from motioninr.rotations import forward_kinematics
from motioninr.settings import require

OUTPUTS = ("positions", "rot6d")


@dataclass(frozen=True)
class LossSettings:
    """Weights of the ``rot6d`` reconstruction loss (``params.yaml: train``); ``positions`` ignores them."""

    loss_rotation: float = 1.0
    loss_positions: float = 1.0
    loss_root: float = 1.0

    def validate(self, where: str = "train") -> None:
        for name in ("loss_rotation", "loss_positions", "loss_root"):
            require(getattr(self, name) >= 0, f"{where}.{name}", getattr(self, name), "a weight >= 0")
        require(self.loss_rotation + self.loss_positions + self.loss_root > 0, f"{where}.loss_rotation",
                self.loss_rotation, "weights that are not all 0")


def output_size(output: str, joints: int) -> int:
    """Numbers the decoder outputs per frame."""
    return joints * 3 if output == "positions" else 3 + joints * 6


IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def decoded_rot6d(x: Tensor) -> Tensor:
    """The 6D rotations ``(frames, joints, 6)`` of a ``rot6d`` output ``(frames, 3 + joints * 6)``."""
    six = x[:, 3:].reshape(len(x), (x.shape[1] - 3) // 6, 6)  # explicit: a rank may decode no frame
    return six + six.new_tensor(IDENTITY_6D)


def rot6d_to_metres(x: Tensor, mean: Tensor, std: Tensor, skeleton: Tensor, parents) -> tuple[Tensor, Tensor]:
    """``rot6d`` output ``(frames, 3 + joints * 6)`` -> positions ``(frames, joints, 3)`` in metres and 6D ``(frames, joints, 6)``."""
    root = x[:, :3] * std[0] + mean[0]
    six = decoded_rot6d(x)
    return forward_kinematics(six, skeleton, root, parents), six


class Objective:
    """Targets, per-frame loss and position error of one ``model.output``."""

    def __init__(self, model, settings: LossSettings | None = None):
        self.model, self.settings = model, settings or LossSettings()
        self.output = model.settings.output

    def targets(self, motions: MotionSet, first: int, last: int) -> np.ndarray:
        """Packed per-frame targets of frames ``[first, last)`` of ``motions`` (see the module doc)."""
        stats = {"mean": self.model.mean.cpu().numpy(), "std": self.model.std.cpu().numpy()}
        rep = normalize(motions.frames[first:last], stats).reshape(last - first, -1)
        if self.output == "positions":
            return rep
        return np.concatenate([rep, motions.rotations[first:last].reshape(last - first, -1)], axis=1)

    def per_frame(self, pred: Tensor, target: Tensor) -> Tensor:
        """Reconstruction loss of every decoded frame ``(frames,)``."""
        if self.output == "positions":
            return (pred - target).pow(2).mean(-1)
        m, s, joints = self.model, self.settings, self.model.num_joints
        rep = target[:, :joints * 3].reshape(len(target), joints, 3)
        metres, six = rot6d_to_metres(pred, m.mean, m.std, m.skeleton, m.parents)
        relative = (metres[:, 1:] - metres[:, :1] - m.mean[1:]) / m.std[1:]  # normalised like the positions output
        loss = s.loss_rotation * (six.reshape(len(pred), joints * 6) - target[:, joints * 3:]).pow(2).mean(-1)
        loss = loss + s.loss_positions * (relative - rep[:, 1:]).pow(2).mean((-1, -2))
        return loss + s.loss_root * (pred[:, :3] - rep[:, 0]).pow(2).mean(-1)

    def error(self, pred: Tensor, target: Tensor) -> Tensor:
        """Joint-position error ``(frames, joints)`` in metres of the decoded frames."""
        m, joints = self.model, self.model.num_joints
        truth = m.positions_to_metres(target[:, :joints * 3])
        return (m.to_metres(pred) - truth).norm(dim=-1)
