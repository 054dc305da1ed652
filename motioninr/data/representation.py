"""The model's per-frame representation: root position plus root-relative joint positions.

``to_representation(frames)[..., 0, :]`` is the root position and
``[..., j, :]`` for ``j >= 1`` is joint ``j`` minus the root, both in metres.
Normalisation statistics (per joint and axis) live in the processed ``meta.json``.

The root is scaled like the body, not by its own spread: its std is the mean over joints of the
root-relative stds (per axis). A root that travels metres would otherwise get a std of metres, and
the model's per-coordinate loss would weigh a 10 cm root error, which moves every joint, like a
1 cm error of one joint.
"""

from __future__ import annotations

import numpy as np

STD_FLOOR = 1e-3  # metres; keeps near-constant coordinates from blowing up


def to_representation(frames: np.ndarray) -> np.ndarray:
    """``(..., joints, 3)`` positions -> ``(..., joints, 3)`` [root, joints - root]."""
    rep = frames.copy()
    rep[..., 1:, :] -= frames[..., :1, :]
    return rep


def from_representation(rep: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_representation`."""
    frames = rep.copy()
    frames[..., 1:, :] += rep[..., :1, :]
    return frames


def normalization_stats(frames: np.ndarray) -> dict:
    """Mean and std ``(joints, 3)`` of the representation over all frames ``(frames, joints, 3)``.

    Joints ``1..`` get their own std per axis; the root gets their mean per axis (see the module doc).
    """
    rep = to_representation(np.asarray(frames, dtype=np.float64))
    mean = rep.mean(axis=0)
    std = rep.std(axis=0)
    if len(std) > 1:
        std[0] = std[1:].mean(axis=0)
    std = np.maximum(std, STD_FLOOR)
    return {
        "representation": "root_plus_relative",
        "mean": np.round(mean, 6).tolist(),
        "std": np.round(std, 6).tolist(),
    }


def normalize(frames: np.ndarray, stats: dict) -> np.ndarray:
    """Positions in metres -> normalised representation."""
    mean = np.asarray(stats["mean"], dtype=np.float32)
    std = np.asarray(stats["std"], dtype=np.float32)
    return (to_representation(frames) - mean) / std


def denormalize(x: np.ndarray, stats: dict) -> np.ndarray:
    """Normalised representation -> positions in metres."""
    mean = np.asarray(stats["mean"], dtype=np.float32)
    std = np.asarray(stats["std"], dtype=np.float32)
    return from_representation(x * std + mean)
