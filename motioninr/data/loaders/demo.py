"""Procedural demo dataset: action-labelled human motions generated from a seed (no files needed).

Every motion is built from per-joint angle trajectories on the 24-joint SMPL skeleton and turned
into joint positions by forward kinematics, so each bone keeps its length exactly. The local joint
rotations themselves are emitted too (root: facing times the root angles), with each sample's
skeleton (:data:`REST_OFFSETS` times its body size), so FK reproduces the positions exactly. Axes: y up,
the body faces +z before its facing rotation, +x is the body's left; metres; 20 frames per second.

Eight actions with clearly different kinematics (:data:`CLASS_NAMES`): walk, run, jump, squat,
wave, punch, kick, bow. Per sample the generator draws

- ``tempo`` (0.8..1.2): speed of the performance; the sequence lasts ``duration / tempo``,
- ``reps``: number of cycles (strides, jumps, waves, punches, ...) in a class-specific range,
- ``amplitude`` (0.8..1.2): stride, depth or swing size,
- ``scale``: body size (``1 +- scale_spread``), ``facing``: rotation about y,
- ``side``: which arm or leg leads (+1 left, -1 right), ``phase``: where a gait cycle starts,
- ``hop``: forward travel of each jump,
- smooth angle noise on every joint (positions are never perturbed directly).

So the length of a sequence is ``round((lead + reps * cycle) / tempo * fps)``, between 30 and 150
frames: slow performances are longer, a punch is short, a walk long.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from motioninr.data.dataset import RawDataset
from motioninr.settings import require
from motioninr.skeleton import SMPL_JOINTS, SMPL_PARENTS

if TYPE_CHECKING:  # pragma: no cover
    from motioninr.data.loaders import SourceSettings

GENERATOR_VERSION = "demo-v1"
FPS = 20.0
CLASS_NAMES: tuple[str, ...] = ("walk", "run", "jump", "squat", "wave", "punch", "kick", "bow")
TEMPO_RANGE = (0.8, 1.2)
AMPLITUDE_RANGE = (0.8, 1.2)
GRAVITY = 9.81

# Rest offsets (metres) of each joint from its parent in the T-pose, close to the SMPL neutral
# template: pelvis 0.945 m above the floor, shoulders at ~1.40 m, head joint at ~1.55 m.
REST_OFFSETS = np.array([
    [0.000, 0.000, 0.000],    # pelvis (root; placed by the generator)
    [0.060, -0.085, -0.015],  # left_hip
    [-0.060, -0.085, -0.015],  # right_hip
    [0.000, 0.110, -0.030],   # spine1
    [0.040, -0.375, 0.005],   # left_knee
    [-0.040, -0.375, 0.005],  # right_knee
    [0.000, 0.135, 0.025],    # spine2
    [-0.010, -0.410, -0.035],  # left_ankle
    [0.010, -0.410, -0.035],  # right_ankle
    [0.000, 0.055, 0.000],    # spine3
    [0.035, -0.055, 0.125],   # left_foot
    [-0.035, -0.055, 0.125],  # right_foot
    [0.000, 0.215, -0.035],   # neck
    [0.075, 0.115, -0.020],   # left_collar
    [-0.075, 0.115, -0.020],  # right_collar
    [0.000, 0.090, 0.050],    # head
    [0.120, 0.045, -0.015],   # left_shoulder
    [-0.120, 0.045, -0.015],  # right_shoulder
    [0.255, -0.015, -0.025],  # left_elbow
    [-0.255, -0.015, -0.025],  # right_elbow
    [0.265, 0.010, -0.007],   # left_wrist
    [-0.265, 0.010, -0.007],  # right_wrist
    [0.087, -0.010, -0.015],  # left_hand
    [-0.087, -0.010, -0.015],  # right_hand
])
ANKLE_HEIGHT = 0.075  # height of the ankle joint above the sole when the foot is flat (unit body)
FOOT_HEIGHT = 0.02    # height of the foot (toe-base) joint above the floor

# Joint indices (SMPL order).
ROOT, SPINE1, SPINE2, SPINE3, NECK, HEAD = 0, 3, 6, 9, 12, 15
HIP, KNEE, ANKLE, FOOT = (1, 2), (4, 5), (7, 8), (10, 11)
COLLAR, SHOULDER, ELBOW, WRIST, HAND = (13, 14), (16, 17), (18, 19), (20, 21), (22, 23)
MIRROR = np.array([1.0, -1.0, -1.0])  # left-side angles -> right side (reflection through x = 0)

# Rest pose on top of the T-pose: arms hanging 15 degrees out from vertical, elbows slightly bent.
# Angles are intrinsic x, y, z rotations (R = Rx @ Ry @ Rz) in radians, in each joint's parent frame.
# Left-side conventions: hip/shoulder flexion (limb forward) is -x, knee flexion +x, ankle
# plantar flexion +x, spine forward bend +x, elbow flexion -y, arm abduction (raising sideways) +z.
REST_ARM = np.array([0.0, 0.0, -1.30])
REST_ELBOW = np.array([0.0, -0.25, 0.0])


@dataclass(frozen=True)
class DemoSettings:
    """The procedural demo dataset (``params.yaml: data.demo``).

    samples_per_class: sequences generated per action class.
    seed:              the generator's seed (the whole dataset is a function of the settings).
    classes:           which of :data:`CLASS_NAMES` to generate, in label order.
    angle_noise:       size (radians) of the smooth per-joint angle noise.
    facing_spread:     facing direction uniform in ``[-spread, spread]`` degrees about +z.
    scale_spread:      body size uniform in ``[1 - spread, 1 + spread]``.
    """

    samples_per_class: int = 40
    seed: int = 0
    classes: tuple[str, ...] = CLASS_NAMES
    angle_noise: float = 0.03
    facing_spread: float = 60.0
    scale_spread: float = 0.15

    def validate(self, where: str = "data.demo") -> None:
        require(1 <= self.samples_per_class <= 100_000, f"{where}.samples_per_class", self.samples_per_class,
                "an integer in [1, 100000]")
        require(len(self.classes) > 0, f"{where}.classes", list(self.classes), f"a non-empty list of {', '.join(CLASS_NAMES)}")
        for name in self.classes:
            require(name in CLASS_NAMES, f"{where}.classes", name, f"one of {', '.join(CLASS_NAMES)}")
        require(len(set(self.classes)) == len(self.classes), f"{where}.classes", list(self.classes), "no repeated class")
        require(0.0 <= self.angle_noise <= 0.3, f"{where}.angle_noise", self.angle_noise, "radians in [0, 0.3]")
        require(0.0 <= self.facing_spread <= 180.0, f"{where}.facing_spread", self.facing_spread, "degrees in [0, 180]")
        require(0.0 <= self.scale_spread <= 0.5, f"{where}.scale_spread", self.scale_spread, "a number in [0, 0.5]")


def load(path: Path, settings: "SourceSettings") -> RawDataset:
    """Generate the demo dataset described by ``settings.demo`` (``path`` is not used)."""
    return generate(settings.demo)[0]


def generate(settings: DemoSettings = DemoSettings()) -> tuple[RawDataset, dict[str, np.ndarray]]:
    """The demo dataset and its per-sample generating parameters (see :func:`sample_parameters`)."""
    params = sample_parameters(settings)
    frames, lengths, mats = synthesize_with_rotations(params, settings)
    sequences = np.split(frames, np.cumsum(lengths)[:-1])
    rotations = np.split(mats, np.cumsum(lengths)[:-1])
    ids = [f"{settings.classes[c]}_{k:03d}" for c, k in zip(params["label"], params["index"])]
    raw = RawDataset(
        sequences=sequences, labels=params["label"], ids=ids, class_names=list(settings.classes),
        joint_names=list(SMPL_JOINTS), parents=list(SMPL_PARENTS), fps=FPS, source="demo", up="y",
        notes={
            "generator": GENERATOR_VERSION, "seed": settings.seed, "samples_per_class": settings.samples_per_class,
            "angle_noise": settings.angle_noise, "facing_spread": settings.facing_spread,
            "scale_spread": settings.scale_spread,
        },
        rotations=rotations,
        sequence_offsets=[REST_OFFSETS * scale for scale in params["scale"]],
        rotation_notes={"origin": "the generator's joint angles (intrinsic x-y-z Euler, R = Rx Ry Rz); "
                                  "root rotation = facing (about y) times the root angles",
                        "exact": True},
    )
    return raw, params


# --------------------------------------------------------------------------------------------
# Per-sample parameters


@dataclass(frozen=True)
class _Motion:
    """What an action contributes for its frames (``n`` of them)."""

    angles: np.ndarray               # (n, 24, 3) angle changes on top of the rest pose
    lift: np.ndarray | float = 0.0   # (n,) metres added to the grounded root height
    feet: np.ndarray | None = None   # (n, 2) weights of the (left, right) foot held in place; None: locomotion
    travel: np.ndarray | float = 0.0  # (n,) forward root travel (metres) on top of the held feet
    stance: np.ndarray | None = None  # (n,) locomotion: the foot carrying the body (0 left, 1 right); None: the lower
    steady: bool = False             # locomotion at the sample's mean speed instead of stride by stride


@dataclass(frozen=True)
class _Action:
    cycle: float            # seconds per repetition at tempo 1
    lead: float             # extra seconds (raising / lowering arms or guard) at tempo 1
    reps: tuple[int, int]   # inclusive range of repetitions
    pose: Callable[[np.ndarray, dict[str, np.ndarray]], _Motion]


def sample_parameters(settings: DemoSettings) -> dict[str, np.ndarray]:
    """Draw every sample's generating parameters; each value is ``(samples,)``, classes in order.

    Keys: label, index (within its class), tempo, amplitude, reps, duration (seconds at tempo 1),
    length (frames), scale, facing (radians about y), side (+1 left / -1 right), phase (cycles),
    hop (metres).
    """
    rng = np.random.default_rng([settings.seed, 0])
    n, k = settings.samples_per_class, len(settings.classes)
    actions = [ACTIONS[c] for c in settings.classes]
    size = n * k

    def per_class(values) -> np.ndarray:
        return np.repeat(np.asarray(values), n)

    tempo = rng.uniform(*TEMPO_RANGE, size)
    reps = rng.integers(per_class([a.reps[0] for a in actions]), per_class([a.reps[1] for a in actions]) + 1)
    duration = per_class([a.lead for a in actions]) + reps * per_class([a.cycle for a in actions])
    return {
        "label": per_class(np.arange(k)).astype(np.int64),
        "index": np.tile(np.arange(n), k),
        "tempo": tempo,
        "amplitude": rng.uniform(*AMPLITUDE_RANGE, size),
        "reps": reps,
        "duration": duration,
        "length": np.round(duration / tempo * FPS).astype(np.int64),
        "scale": 1.0 + rng.uniform(-settings.scale_spread, settings.scale_spread, size),
        "facing": np.radians(rng.uniform(-settings.facing_spread, settings.facing_spread, size)),
        "side": rng.choice([-1.0, 1.0], size),
        "phase": rng.uniform(0.0, 1.0, size),
        "hop": rng.uniform(0.0, 0.3, size),
    }


# --------------------------------------------------------------------------------------------
# Synthesis: angles -> forward kinematics -> grounding and root travel -> facing


def synthesize(params: dict[str, np.ndarray], settings: DemoSettings) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions ``(total_frames, 24, 3)`` float32 and lengths ``(samples,)`` from the parameters."""
    frames, lengths, _ = synthesize_with_rotations(params, settings)
    return frames, lengths


def synthesize_with_rotations(params: dict[str, np.ndarray],
                              settings: DemoSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`synthesize` plus the local joint rotations ``(total_frames, 24, 3, 3)`` float64 that pose them."""
    lengths = params["length"]
    seq = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    t = (np.arange(len(seq)) - starts[seq]) / FPS  # seconds
    s = t * params["tempo"][seq]                    # nominal seconds (at tempo 1)
    per_frame = {key: value[seq] for key, value in params.items()}
    total = len(seq)

    angles = np.zeros((total, len(SMPL_JOINTS), 3))
    _pair(angles, SHOULDER, REST_ARM, REST_ARM, np.ones(total))
    _pair(angles, ELBOW, REST_ELBOW, REST_ELBOW, np.ones(total))
    lift, travel, steady = np.zeros(total), np.zeros(total), np.zeros(total, dtype=bool)
    stance = np.full(total, -1)
    feet = np.full((total, 2), np.nan)
    for c, name in enumerate(settings.classes):
        m = per_frame["label"] == c
        motion = ACTIONS[name].pose(s[m], {key: v[m] for key, v in per_frame.items()})
        angles[m] += motion.angles
        lift[m], travel[m], steady[m] = motion.lift, motion.travel, motion.steady
        if motion.feet is not None:
            feet[m] = motion.feet
        if motion.stance is not None:
            stance[m] = motion.stance
    rng = np.random.default_rng([settings.seed, 1])
    angles += _angle_noise(rng, t, seq, len(lengths), settings.angle_noise)

    rel = forward_kinematics(angles, REST_OFFSETS, SMPL_PARENTS) * per_frame["scale"][:, None, None]
    pos = rel + _root_translation(rel, per_frame["scale"], lift, feet, stance, travel, steady, seq, starts)[:, None, :]
    cos, sin = np.cos(per_frame["facing"])[:, None], np.sin(per_frame["facing"])[:, None]
    x, z = pos[..., 0], pos[..., 2]
    pos = np.stack([cos * x + sin * z, pos[..., 1], cos * z - sin * x], axis=-1)  # rotation about y
    mats = np.moveaxis(euler_matrices(angles), -1, 0).copy()  # (frames, joints, 3, 3)
    c, s_ = np.cos(per_frame["facing"]), np.sin(per_frame["facing"])
    facing = np.zeros((total, 3, 3))
    facing[:, 0, 0], facing[:, 0, 2], facing[:, 1, 1], facing[:, 2, 0], facing[:, 2, 2] = c, s_, 1.0, -s_, c
    mats[:, 0] = facing @ mats[:, 0]
    return pos.astype(np.float32), lengths.astype(np.int64), mats


def forward_kinematics(angles: np.ndarray, offsets: np.ndarray, parents) -> np.ndarray:
    """Positions ``(frames, joints, 3)`` (root at the origin) of local joint rotations.

    angles:  ``(frames, joints, 3)`` intrinsic x-y-z Euler angles in radians (R = Rx @ Ry @ Rz),
             each joint's rotation in its parent's frame; joint ``j``'s rotation turns its children.
    offsets: ``(joints, 3)`` rest offsets from each joint's parent.
    """
    local = euler_matrices(angles)  # (joints, 3, 3, frames): frames last keeps every product vectorised
    glob = np.empty_like(local)
    pos = np.zeros((angles.shape[1], 3, angles.shape[0]))
    glob[0] = local[0]
    for k in range(1, len(parents)):
        g = glob[parents[k]]
        pos[k] = pos[parents[k]] + g[:, 0] * offsets[k, 0] + g[:, 1] * offsets[k, 1] + g[:, 2] * offsets[k, 2]
        glob[k] = g[:, 0:1] * local[k, 0] + g[:, 1:2] * local[k, 1] + g[:, 2:3] * local[k, 2]
    return np.moveaxis(pos, -1, 0)


def euler_matrices(angles: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(joints, 3, 3, frames)`` of intrinsic x-y-z angles ``(frames, joints, 3)``."""
    a = np.moveaxis(angles, 0, -1)  # (joints, 3, frames)
    cx, cy, cz = np.cos(a[:, 0]), np.cos(a[:, 1]), np.cos(a[:, 2])
    sx, sy, sz = np.sin(a[:, 0]), np.sin(a[:, 1]), np.sin(a[:, 2])
    r = np.empty(a.shape[:1] + (3, 3) + a.shape[2:])
    r[:, 0, 0], r[:, 0, 1], r[:, 0, 2] = cy * cz, -cy * sz, sy
    r[:, 1, 0], r[:, 1, 1], r[:, 1, 2] = cx * sz + sx * sy * cz, cx * cz - sx * sy * sz, -sx * cy
    r[:, 2, 0], r[:, 2, 1], r[:, 2, 2] = sx * sz - cx * sy * cz, sx * cz + cx * sy * sz, cx * cy
    return r


def _root_translation(rel, scale, lift, feet, stance, travel, steady, seq, starts) -> np.ndarray:
    """Root translation ``(frames, 3)`` of root-relative positions ``rel`` ``(frames, 24, 3)``.

    Height: the lowest sole touches the floor (y = 0), plus ``lift``. Ground plane: where ``feet``
    holds weights, their weighted foot position stays in place (plus ``travel`` forward); elsewhere
    (locomotion) the root moves so that the ``stance`` foot (-1: the lower one) does not slide, or at
    the sample's mean speed where ``steady``.
    """
    sole = np.minimum(rel[:, ANKLE, 1] - ANKLE_HEIGHT * scale[:, None], rel[:, FOOT, 1] - FOOT_HEIGHT * scale[:, None])
    trans = np.zeros((len(rel), 3))
    trans[:, 1] = lift - sole.min(axis=1)
    foot_xz = 0.5 * (rel[:, ANKLE][..., [0, 2]] + rel[:, FOOT][..., [0, 2]])  # (frames, 2 feet, 2)

    held = ~np.isnan(feet[:, 0])
    anchor = -(np.nan_to_num(feet)[:, :, None] * foot_xz).sum(axis=1)
    anchor[:, 1] += travel

    stance = np.where(stance >= 0, stance, np.where(sole[:, 0] <= sole[:, 1], 0, 1))
    rows = np.arange(len(rel))
    velocity = -(foot_xz[rows, stance] - foot_xz[np.maximum(rows - 1, 0), stance])
    velocity[starts] = 0.0
    counts = np.bincount(seq)
    mean_forward = np.bincount(seq, velocity[:, 1], minlength=len(counts)) / counts
    velocity[steady] = np.stack([np.zeros(steady.sum()), mean_forward[seq][steady]], axis=1)
    walked = np.cumsum(velocity, axis=0)
    walked -= walked[starts][seq]

    trans[:, [0, 2]] = np.where(held[:, None], anchor, walked)
    return trans


def _angle_noise(rng: np.random.Generator, t: np.ndarray, seq: np.ndarray, samples: int, size: float) -> np.ndarray:
    """Smooth noise ``(frames, 24, 3)`` radians: per sample a constant offset plus two slow sinusoids per angle."""
    j = len(SMPL_JOINTS)
    offset = rng.normal(0.0, 0.5 * size, (samples, j, 3))
    amp = rng.normal(0.0, size / np.sqrt(2), (2, samples, j, 3))
    freq = rng.uniform(0.2, 1.2, (2, samples, j, 3))  # Hz
    phase = rng.uniform(0.0, 2 * np.pi, (2, samples, j, 3))
    out = offset[seq]
    for k in range(2):
        out = out + amp[k, seq] * np.sin(2 * np.pi * freq[k, seq] * t[:, None, None] + phase[k, seq])
    return out


# --------------------------------------------------------------------------------------------
# Pose helpers (angles in the left-side convention; see REST_ARM)


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _keys(u: np.ndarray, knots, values) -> np.ndarray:
    """Ease-in-out interpolation of keyframe ``values`` at times ``knots`` (held outside them)."""
    knots, values = np.asarray(knots, float), np.asarray(values, float)
    u = np.clip(u, knots[0], knots[-1])
    i = np.clip(np.searchsorted(knots, u, side="right") - 1, 0, len(knots) - 2)
    w = _smooth((u - knots[i]) / (knots[i + 1] - knots[i]))
    return values[i] + w * (values[i + 1] - values[i])


def _envelope(s: np.ndarray, duration: np.ndarray, ramp: float) -> np.ndarray:
    """1 inside the performance, easing from 0 over ``ramp`` nominal seconds at both ends."""
    return _smooth(s / ramp) * _smooth((duration - s) / ramp)


def _vec(n: int, x=0.0, y=0.0, z=0.0) -> np.ndarray:
    """``(n, 3)`` angles from scalars or ``(n,)`` arrays."""
    return np.stack([np.broadcast_to(np.asarray(v, float), (n,)) for v in (x, y, z)], axis=-1)


def _pair(angles: np.ndarray, joints: tuple[int, int], lead, other, side: np.ndarray) -> None:
    """Add left-convention angles to a (left, right) joint pair: ``lead`` on the ``side`` limb (+1 left)."""
    left_leads = (np.asarray(side) > 0)[:, None]
    shape = (len(left_leads), 3)
    lead, other = np.broadcast_to(lead, shape), np.broadcast_to(other, shape)
    angles[:, joints[0]] += np.where(left_leads, lead, other)
    angles[:, joints[1]] += np.where(left_leads, other, lead) * MIRROR


def _legs(angles, side, hip, knee, hip_other, knee_other, flat=1.0) -> None:
    """Hip and knee flexion (radians) of the ``side`` leg and the other; the ankles keep a
    fraction ``flat`` of the feet's tilt out (1: feet parallel to the pelvis's floor)."""
    n = len(side)
    _pair(angles, HIP, _vec(n, -hip), _vec(n, -hip_other), side)
    _pair(angles, KNEE, _vec(n, knee), _vec(n, knee_other), side)
    _pair(angles, ANKLE, _vec(n, flat * (hip - knee)), _vec(n, flat * (hip_other - knee_other)), side)


def _both(angles, joints, value) -> None:
    """The same left-convention angles ``(n, 3)`` on both limbs (mirrored on the right)."""
    _pair(angles, joints, value, value, np.ones(len(value)))


def _held(n: int, left: float | np.ndarray = 0.5) -> np.ndarray:
    left = np.broadcast_to(np.asarray(left, float), (n,))
    return np.stack([left, 1.0 - left], axis=1)


# --------------------------------------------------------------------------------------------
# Actions: s (n,) nominal seconds since the start, p per-frame parameters -> _Motion


def _bump(x: np.ndarray, width: float) -> np.ndarray:
    """Raised cosine: 1 at ``x = 0`` (angles, wrapped), 0 beyond ``|x| >= width``."""
    x = np.angle(np.exp(1j * x))
    return np.where(np.abs(x) < width, np.cos(0.5 * np.pi * x / width) ** 2, 0.0)


def _gait(s, p, *, cycle, hip_amp, hip_bias, knee_amp, knee_base, knee_center, knee_width, arm_amp, elbow, lean,
          bounce) -> _Motion:
    """Walking and running. Phase 0 is the left leg's mid-swing; a leg is in stance while its hip extends."""
    n, a = len(s), p["amplitude"]
    phi = 2 * np.pi * (s / cycle + p["phase"])
    angles = np.zeros((n, 24, 3))
    hips, knees, lift_toes = [], [], []
    for ph in (phi, phi + np.pi):  # left leg, then the right half a cycle later
        hips.append(np.radians(hip_amp) * a * np.sin(ph) + np.radians(hip_bias))
        swing = _bump(ph - knee_center, knee_width)
        knees.append(np.radians(knee_base) + np.radians(knee_amp) * a * swing)
        lift_toes.append(-np.radians(10) * _bump(ph, 1.2))  # toes up through the swing
    _legs(angles, np.ones(n), hips[0], knees[0], hips[1], knees[1], flat=0.7)
    _pair(angles, ANKLE, _vec(n, lift_toes[0]), _vec(n, lift_toes[1]), np.ones(n))
    arm = np.radians(arm_amp) * a * np.sin(phi)  # each arm swings with the opposite leg
    _pair(angles, SHOULDER, _vec(n, arm), _vec(n, -arm), np.ones(n))
    _both(angles, ELBOW, _vec(n, y=-np.radians(elbow) - REST_ELBOW[1]))
    angles[:, ROOT, 1] = np.radians(6) * a * np.sin(phi)
    angles[:, ROOT, 2] = np.radians(3) * np.sin(2 * phi)
    angles[:, SPINE1, 0] = np.radians(lean)
    angles[:, SPINE2, 1] = -np.radians(8) * a * np.sin(phi)
    angles[:, HEAD, 0] = -np.radians(lean) * 0.5
    stance = np.where(np.cos(phi) < 0, 0, 1)
    flight = np.maximum(0.0, np.sin(phi) ** 2 - 0.7) / 0.3  # legs apart: both feet off the ground
    return _Motion(angles, lift=bounce * a * flight, stance=stance, steady=bounce > 0)


def _walk(s, p) -> _Motion:
    return _gait(s, p, cycle=ACTIONS["walk"].cycle, hip_amp=22, hip_bias=6, knee_amp=55, knee_base=5,
                 knee_center=0.25, knee_width=1.35, arm_amp=18, elbow=20, lean=3, bounce=0.0)


def _run(s, p) -> _Motion:
    return _gait(s, p, cycle=ACTIONS["run"].cycle, hip_amp=38, hip_bias=12, knee_amp=85, knee_base=20,
                 knee_center=0.0, knee_width=1.6, arm_amp=40, elbow=90, lean=10, bounce=0.07)


def _jump(s, p) -> _Motion:
    n, a = len(s), p["amplitude"]
    cycle = ACTIONS["jump"].cycle
    k = np.floor(s / cycle)
    u = s / cycle - k
    crouch = _keys(u, [0, 0.1, 0.35, 0.45, 0.7, 0.78, 0.95, 1], [0, 0, 1, 0, 0, 0.6, 0, 0]) * a
    angles = np.zeros((n, 24, 3))
    hip, knee = np.radians(70) * crouch, np.radians(110) * crouch
    point = 0.5 * _keys(u, [0, 0.42, 0.48, 0.64, 0.7, 1], [0, 0, 1, 1, 0, 0])  # toes pointed in flight
    _legs(angles, np.ones(n), hip, knee, hip, knee, flat=0.9)
    _both(angles, ANKLE, _vec(n, point))
    angles[:, SPINE1, 0] = np.radians(20) * crouch
    angles[:, SPINE2, 0] = np.radians(15) * crouch
    angles[:, HEAD, 0] = -np.radians(15) * crouch
    arm = np.radians(_keys(u, [0, 0.1, 0.35, 0.47, 0.6, 0.72, 0.85, 1], [0, 0, 40, -150, -150, -60, -10, 0])) * a
    _both(angles, SHOULDER, _vec(n, arm))
    flight = np.clip((u - 0.45) / 0.25, 0.0, 1.0)
    airtime = 0.25 * cycle / p["tempo"]  # seconds in the air; the height follows from gravity
    lift = GRAVITY * airtime**2 / 2 * flight * (1 - flight)
    travel = p["hop"] * a * (k + _smooth((u - 0.42) / 0.33))
    return _Motion(angles, lift=lift, feet=_held(n), travel=travel)


def _squat(s, p) -> _Motion:
    n, a = len(s), p["amplitude"]
    u = s / ACTIONS["squat"].cycle
    d = _keys(u - np.floor(u), [0, 0.1, 0.45, 0.55, 0.9, 1], [0, 0, 1, 1, 0, 0]) * a
    angles = np.zeros((n, 24, 3))
    hip, knee = np.radians(85) * d, np.radians(105) * d
    _legs(angles, np.ones(n), hip, knee, hip, knee)
    lean = np.radians(25) * d
    angles[:, SPINE1, 0] = 0.6 * lean
    angles[:, SPINE2, 0] = 0.4 * lean
    angles[:, HEAD, 0] = -0.8 * lean
    _both(angles, SHOULDER, _vec(n, -(np.radians(80) * np.minimum(d, 1.0) + lean)))  # arms level, forward
    _both(angles, ELBOW, _vec(n, y=0.2 * np.minimum(d, 1.0)))
    return _Motion(angles, feet=_held(n))


def _wave(s, p) -> _Motion:
    n, a, side = len(s), p["amplitude"], p["side"]
    act = ACTIONS["wave"]
    e = _envelope(s, p["duration"], act.lead / 2)
    osc = np.sin(2 * np.pi * (s - act.lead / 2) / act.cycle) * e
    angles = np.zeros((n, 24, 3))
    zero = np.zeros((n, 3))
    arm = e[:, None] * (np.array([0.15, 0.0, 0.40]) - REST_ARM)        # upper arm out, a little above the shoulder
    elbow = e[:, None] * (np.array([0.0, 0.0, 1.25]) - REST_ELBOW)    # forearm up
    _pair(angles, SHOULDER, arm, zero, side)
    _pair(angles, ELBOW, elbow + _vec(n, z=0.4 * a * osc), zero, side)  # forearm swings side to side
    _pair(angles, WRIST, _vec(n, z=0.3 * a * osc), zero, side)
    angles[:, SPINE2, 2] = -np.radians(4) * e * side  # lean away from the raised arm
    angles[:, HEAD, 2] = np.radians(4) * osc * side
    return _Motion(angles, feet=_held(n))


GUARD_ARM = np.array([-0.65, 0.0, -1.30])  # upper arm forward and down, elbow bent: fists at the chin
GUARD_ELBOW = np.array([0.0, -2.2, 0.0])


def _guard(angles: np.ndarray, level: np.ndarray, knees: bool = True) -> None:
    """Fighting guard with both arms (``level`` 0..1 per frame) and slightly bent knees."""
    _both(angles, SHOULDER, level[:, None] * (GUARD_ARM - REST_ARM))
    _both(angles, ELBOW, level[:, None] * (GUARD_ELBOW - REST_ELBOW))
    if knees:
        bend = np.radians(12) * level
        _legs(angles, np.ones(len(level)), bend, 2 * bend, bend, 2 * bend)


def _punch(s, p) -> _Motion:
    n, a, side = len(s), p["amplitude"], p["side"]
    act = ACTIONS["punch"]
    e = _envelope(s, p["duration"], act.lead / 2)
    u = (s - act.lead / 2) / act.cycle
    k = np.clip(np.floor(u), 0, p["reps"] - 1)
    u = np.where((u >= 0) & (u < p["reps"]), u - k, 0.0)
    ext = _keys(u, [0, 0.25, 0.4, 0.8, 1], [0, 1, 1, 0, 0]) * np.minimum(a, 1.0)
    hand = np.where(k % 2 == 0, side, -side)  # punches alternate, starting with ``side``
    angles = np.zeros((n, 24, 3))
    _guard(angles, e)
    zero = np.zeros((n, 3))
    _pair(angles, SHOULDER, ext[:, None] * (np.array([-1.55, 0.0, -1.55]) - GUARD_ARM), zero, hand)
    _pair(angles, ELBOW, ext[:, None] * (np.array([0.0, -0.1, 0.0]) - GUARD_ELBOW), zero, hand)
    twist = np.radians(22) * ext * a  # the punching shoulder goes forward
    angles[:, SPINE1, 1] -= 0.5 * twist * hand
    angles[:, SPINE2, 1] -= 0.5 * twist * hand
    angles[:, HEAD, 1] += 0.8 * twist * hand
    return _Motion(angles, feet=_held(n))


def _kick(s, p) -> _Motion:
    n, a, side = len(s), p["amplitude"], p["side"]
    act = ACTIONS["kick"]
    e = _envelope(s, p["duration"], act.lead / 2)
    u = (s - act.lead / 2) / act.cycle
    u = np.where((u >= 0) & (u < p["reps"]), u - np.floor(u), 0.0)
    knots = [0, 0.1, 0.35, 0.5, 0.6, 0.75, 0.95, 1]
    hip = np.radians(_keys(u, knots, [0, 0, 75, 85, 85, 70, 0, 0])) * a
    knee = np.radians(_keys(u, knots, [0, 0, 105, 8, 8, 105, 0, 0]))
    ext = _keys(u, knots, [0, 0, 0, 1, 1, 0, 0, 0])
    angles = np.zeros((n, 24, 3))
    _guard(angles, 0.6 * e, knees=False)
    support = np.radians(12) * e
    _legs(angles, side, hip, knee, support, 2 * support)
    _pair(angles, ANKLE, _vec(n, -(hip - knee) + 0.5 * ext), np.zeros((n, 3)), side)  # kicking foot follows the shin, toes pointed
    angles[:, SPINE1, 0] -= np.radians(12) * ext * a  # lean back as the leg extends
    angles[:, SPINE2, 0] -= np.radians(6) * ext * a
    return _Motion(angles, feet=_held(n, left=(side < 0).astype(float)))  # the support foot stays put


def _bow(s, p) -> _Motion:
    n, a = len(s), p["amplitude"]
    u = s / ACTIONS["bow"].cycle
    b = _keys(u - np.floor(u), [0, 0.1, 0.4, 0.6, 0.9, 1], [0, 0, 1, 1, 0, 0]) * a
    angles = np.zeros((n, 24, 3))
    pitch, knee, spine = np.radians(25) * b, np.radians(15) * b, np.radians(10) * b
    angles[:, ROOT, 0] = pitch  # the pelvis tilts forward; soft knees and the hips go back, feet flat
    _legs(angles, np.ones(n), pitch + 0.8 * knee, knee, pitch + 0.8 * knee, knee)
    _both(angles, ANKLE, _vec(n, -pitch))
    for j in (SPINE1, SPINE2, SPINE3):
        angles[:, j, 0] = spine
    angles[:, NECK, 0] = np.radians(8) * b
    _both(angles, SHOULDER, _vec(n, -0.85 * (pitch + 3 * spine)))  # arms keep hanging
    return _Motion(angles, feet=_held(n))


ACTIONS: dict[str, _Action] = {
    "walk": _Action(cycle=1.1, lead=0.0, reps=(3, 5), pose=_walk),
    "run": _Action(cycle=0.7, lead=0.0, reps=(3, 6), pose=_run),
    "jump": _Action(cycle=1.8, lead=0.0, reps=(1, 3), pose=_jump),
    "squat": _Action(cycle=2.0, lead=0.0, reps=(1, 3), pose=_squat),
    "wave": _Action(cycle=0.5, lead=1.0, reps=(3, 8), pose=_wave),
    "punch": _Action(cycle=0.6, lead=0.6, reps=(2, 4), pose=_punch),
    "kick": _Action(cycle=1.3, lead=0.6, reps=(1, 3), pose=_kick),
    "bow": _Action(cycle=2.6, lead=0.0, reps=(1, 2), pose=_bow),
}
