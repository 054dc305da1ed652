"""Physical plausibility of joint-position motions (metres, the dataset's up axis).

Every function takes a :class:`~motioninr.data.dataset.MotionSet` (frames
``(total_frames, joints, 3)`` with per-sequence ``lengths``) and pools its
values over all frames of the set, so longer motions weigh more.
Frame-to-frame quantities never cross from one sequence into the next.

- :func:`estimate_floor`     the floor height of a dataset: median over the real motions of each
                             motion's lowest point (lowest joint over all frames)
- :func:`foot_skating`       share of frame steps with a foot joint in contact (under ``contact_height``
                             above the floor in both frames) yet sliding faster than ``sliding_speed``
                             horizontally, and the mean horizontal step of foot joints in contact
                             (GMD / PhysDiff: 5 cm, 2.5 cm per frame at 20 fps = 0.5 m/s)
- :func:`penetration`        mean depth below the floor of the lowest joint, over all frames
- :func:`floating`           mean height above the floor of the lowest joint in supported frames
                             (vertical speed under ``sliding_speed`` and no free fall: a body that is
                             neither rising, falling nor in flight must stand on something)
- :func:`jitter`             mean jerk (third time derivative) magnitude of all joints, m/s^3
- :func:`bone_error`         mean absolute deviation of each bone's length from its rest length
                             (the bone's median length over the motion, since bodies differ in size)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from motioninr.data.dataset import MotionSet
from motioninr.settings import require
from motioninr.skeleton import guess_foot_joints

AXES = {"x": 0, "y": 1, "z": 2}
GRAVITY = 9.81  # m/s^2
PHYSICS_METRICS = ("skating", "skating_distance", "penetration", "floating", "jitter", "bone_error")


@dataclass(frozen=True)
class PhysicsSettings:
    """``evaluate.physics`` in params.yaml."""

    contact_height: float = 0.05   # metres above the floor under which a foot joint is in contact
    sliding_speed: float = 0.5     # m/s of horizontal foot motion that counts as sliding (2.5 cm/frame at 20 fps)
    floor: Literal["dataset", "sequence"] = "dataset"  # one floor from the real motions | each motion's own lowest point

    def validate(self, where: str = "evaluate.physics") -> None:
        require(self.contact_height > 0, f"{where}.contact_height", self.contact_height, "a positive number of metres")
        require(self.sliding_speed > 0, f"{where}.sliding_speed", self.sliding_speed, "a positive speed in m/s")


def up_axis(up: str) -> tuple[int, float]:
    """Axis index and sign of an up direction such as ``"y"`` or ``"-y"`` (meta.json ``up``)."""
    sign = -1.0 if up.startswith("-") else 1.0
    name = up.lstrip("+-").lower()
    if name not in AXES:
        raise ValueError(f"up axis {up!r} unknown; expected x, y or z with an optional sign")
    return AXES[name], sign


def split_axes(frames: np.ndarray, up: str) -> tuple[np.ndarray, np.ndarray]:
    """Heights ``(..., joints)`` along ``up`` and ground-plane coordinates ``(..., joints, 2)``."""
    axis, sign = up_axis(up)
    other = [a for a in range(3) if a != axis]
    return sign * frames[..., axis], frames[..., other]


def _steps(motions: MotionSet) -> np.ndarray:
    """Boolean ``(total_frames - 1,)``: frame ``t`` and ``t + 1`` belong to the same sequence."""
    seq = motions.sequence_index()
    return seq[1:] == seq[:-1]


def _lowest(motions: MotionSet, up: str) -> np.ndarray:
    """Height of the lowest joint in every frame, ``(total_frames,)`` float64."""
    axis, sign = up_axis(up)
    heights = motions.frames[:, :, axis]
    return (heights.min(axis=1) if sign > 0 else -heights.max(axis=1)).astype(np.float64)


def estimate_floor(motions: MotionSet, up: str = "y") -> float:
    """Floor height of a dataset: the median over motions of each motion's lowest joint height (metres).

    Robust to a few motions that start crouched or were recorded off the ground. After
    ``data.root_to_origin: xyz`` heights are relative to each motion's first-frame root,
    so bodies of different size scatter around this value (see ``evaluate.physics.floor``).
    """
    lowest = _lowest(motions, up)
    per_motion = np.minimum.reduceat(lowest, motions.offsets[:-1])
    return float(np.median(per_motion))


def floor_per_frame(motions: MotionSet, up: str, floor: float | None) -> np.ndarray:
    """Floor height under every frame ``(total_frames,)``: ``floor``, or each motion's own lowest point when None."""
    if floor is not None:
        return np.full(len(motions.frames), float(floor))
    lowest = _lowest(motions, up)
    return np.repeat(np.minimum.reduceat(lowest, motions.offsets[:-1]), motions.lengths)


def foot_skating(motions: MotionSet, feet: list[int], fps: float, floor: np.ndarray | float, up: str = "y",
                 contact_height: float = 0.05, sliding_speed: float = 0.5) -> tuple[float, float]:
    """Share of frame steps in which a foot joint skates, and the mean foot step in contact (metres per frame).

    A foot joint is in contact over the step ``t -> t + 1`` when it is lower than
    ``contact_height`` above the floor in both frames; it skates when its horizontal
    displacement over the step exceeds ``sliding_speed / fps``. NaN when no step exists
    (or, for the distance, no foot is ever in contact); NaN for both without foot joints.
    """
    steps = _steps(motions)
    if not feet or not steps.any():
        return float("nan"), float("nan")
    heights, plane = split_axes(motions.frames[:, feet].astype(np.float64), up)
    height = heights - np.broadcast_to(np.asarray(floor, np.float64), (len(heights),))[:, None]
    low = height < contact_height
    contact = (low[1:] & low[:-1])[steps]                                     # (steps, feet)
    slide = np.linalg.norm(plane[1:] - plane[:-1], axis=-1)[steps]            # (steps, feet) metres per frame
    skating = (contact & (slide > sliding_speed / fps)).any(axis=1)
    distance = float(slide[contact].mean()) if contact.any() else float("nan")
    return float(skating.mean()), distance


def penetration(motions: MotionSet, floor: np.ndarray | float, up: str = "y") -> float:
    """Mean depth below the floor of the lowest joint over all frames (metres; 0 when never below)."""
    depth = np.asarray(floor, np.float64) - _lowest(motions, up)
    return float(np.maximum(depth, 0.0).mean())


def floating(motions: MotionSet, fps: float, floor: np.ndarray | float, up: str = "y",
             still_speed: float = 0.5) -> float:
    """Mean height above the floor of the lowest joint in supported frames (metres).

    Frame ``t`` (with both neighbours in its motion) is supported when the lowest joint
    moves vertically slower than ``still_speed`` (central difference) and does not fall
    freely (vertical acceleration above ``-g / 2``): a body neither rising, falling nor in
    flight should stand on the floor, while a jump's flight, apex included, is left out.
    NaN without such frames.
    """
    seq = motions.sequence_index()
    inner = seq[2:] == seq[:-2]
    lowest = _lowest(motions, up)
    floor = np.broadcast_to(np.asarray(floor, np.float64), lowest.shape)
    speed = np.abs(lowest[2:] - lowest[:-2]) * fps / 2.0
    accel = (lowest[2:] - 2.0 * lowest[1:-1] + lowest[:-2]) * fps ** 2
    supported = inner & (speed < still_speed) & (accel > -GRAVITY / 2.0)
    if not supported.any():
        return float("nan")
    return float(np.maximum(lowest[1:-1] - floor[1:-1], 0.0)[supported].mean())


def jitter(motions: MotionSet, fps: float) -> float:
    """Mean jerk magnitude over all joints and frames, m/s^3 (third finite difference x fps^3).

    Only windows of four frames inside one sequence count; NaN when no sequence has four frames.
    """
    seq = motions.sequence_index()
    valid = seq[3:] == seq[:-3]
    if not valid.any():
        return float("nan")
    f = motions.frames  # float32: rounding stays far below the jerk of any motion
    jerk = (f[3:] - f[:-3]) + 3.0 * (f[1:-2] - f[2:-1])
    magnitude = np.sqrt(np.einsum("tjc,tjc->tj", jerk, jerk))
    return float(magnitude[valid].mean(dtype=np.float64) * fps ** 3)


def bone_error(motions: MotionSet, parents: list[int] | tuple[int, ...]) -> float:
    """Mean absolute deviation (metres) of each bone's length from its median length over the same motion."""
    if len(parents) < 2:
        return float("nan")
    f = motions.frames
    bones = f[:, 1:] - np.take(f, np.asarray(parents[1:]), axis=1)      # bone j + 1 links joint j + 1 to its parent
    lengths = np.sqrt(np.einsum("tjc,tjc->tj", bones, bones)).astype(np.float64)  # (total_frames, bones)
    # per-motion medians of every bone at once: sort each column by (motion, length)
    seq = motions.sequence_index()[:, None].astype(np.float64)
    span = float(lengths.max()) + 1.0
    ordered = np.sort(seq * span + lengths, axis=0) - seq * span
    lo = motions.offsets[:-1] + (motions.lengths - 1) // 2
    hi = motions.offsets[:-1] + motions.lengths // 2
    rest = (ordered[lo] + ordered[hi]) / 2.0                             # (motions, bones)
    return float(np.abs(lengths - np.repeat(rest, motions.lengths, axis=0)).mean())


@dataclass(frozen=True)
class Skeleton:
    """What the physical metrics need to know about the motions' skeleton (from ``meta.json``)."""

    parents: tuple[int, ...]
    feet: tuple[int, ...]          # foot joint indices (may be empty: no skating figures)
    fps: float
    up: str = "y"
    floor: float | None = None     # None: each motion's own lowest point

    @classmethod
    def from_meta(cls, meta: dict, floor: float | None) -> "Skeleton":
        """Parents, foot joints (``foot_joints`` names, else guessed from ``joint_names``), fps and up axis."""
        names = list(meta.get("joint_names", []))
        feet = meta.get("foot_joints")
        feet = guess_foot_joints(names) if feet is None else feet
        return cls(tuple(int(p) for p in meta["parents"]), tuple(names.index(n) for n in feet),
                   float(meta["fps"]), str(meta.get("up", "y")), floor)


def physics_metrics(motions: MotionSet, skeleton: Skeleton, settings: PhysicsSettings) -> dict[str, float]:
    """All of :data:`PHYSICS_METRICS` for one motion set."""
    floor = floor_per_frame(motions, skeleton.up, skeleton.floor)
    skating, distance = foot_skating(motions, list(skeleton.feet), skeleton.fps, floor, skeleton.up,
                                     settings.contact_height, settings.sliding_speed)
    return {
        "skating": skating,
        "skating_distance": distance,
        "penetration": penetration(motions, floor, skeleton.up),
        "floating": floating(motions, skeleton.fps, floor, skeleton.up, settings.sliding_speed),
        "jitter": jitter(motions, skeleton.fps),
        "bone_error": bone_error(motions, skeleton.parents),
    }
