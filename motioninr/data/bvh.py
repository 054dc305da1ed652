"""A small BVH (Biovision Hierarchy) reader: skeleton, channels and forward kinematics to joint positions.

Conventions (those of the Biovision format):

- ``CHANNELS`` lists any of ``Xposition Yposition Zposition Xrotation Yrotation Zrotation`` in any
  order; the motion rows hold the channels of every joint in hierarchy (depth-first) order.
- Rotations are in degrees and compose in the listed order: ``Zrotation Xrotation Yrotation`` gives
  the local rotation ``Rz @ Rx @ Ry`` (applied to a vector, Y first, then X, then Z).
- A joint's local translation is its ``OFFSET`` plus its position channels (usually only the root has
  them); ``position[j] = position[parent] + R_world[parent] @ translation[j]`` and
  ``R_world[j] = R_world[parent] @ R_local[j]``.
- ``End Site`` blocks are skipped: they are not joints.
- Positions come out in the file's unit (often centimetres) times ``scale``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motioninr.errors import DataError

# channel name (lower case) -> (kind, axis)
CHANNELS: dict[str, tuple[str, int]] = {
    "xposition": ("position", 0), "yposition": ("position", 1), "zposition": ("position", 2),
    "xrotation": ("rotation", 0), "yrotation": ("rotation", 1), "zrotation": ("rotation", 2),
}


@dataclass(frozen=True)
class BvhSkeleton:
    """The HIERARCHY of a BVH file (End Sites dropped).

    names:    joint names in file order (parents before children)
    parents:  parent index per joint, ``-1`` for the root
    offsets:  ``(joints, 3)`` OFFSET of each joint from its parent, in the file's unit
    channels: per joint, its channel names in file order (lower case, e.g. ``("zrotation", "xrotation")``)
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)


@dataclass(frozen=True)
class BvhClip:
    """One BVH file: its skeleton, frame time (seconds) and channel values ``(frames, channels)``."""

    skeleton: BvhSkeleton
    frame_time: float
    motion: np.ndarray

    @property
    def fps(self) -> float:
        """``1 / frame_time``, snapped to a whole number within 0.1% (``0.0333333`` s -> 30 fps)."""
        fps = 1.0 / self.frame_time
        whole = round(fps)
        return float(whole) if whole > 0 and abs(fps - whole) <= 1e-3 * fps else fps

    @property
    def num_frames(self) -> int:
        return len(self.motion)

    def positions(self, scale: float = 1.0) -> np.ndarray:
        """Joint positions ``(frames, joints, 3)`` float64, in the file's unit times ``scale``."""
        return forward_kinematics(self.skeleton, self.motion) * scale


def axis_rotation(axis: int, degrees: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(frames, 3, 3)`` about axis 0 (x), 1 (y) or 2 (z) by ``degrees`` ``(frames,)``."""
    a = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]  # the plane rotated, right-handed
    m = np.zeros(a.shape + (3, 3))
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = -s
    m[..., j, i] = s
    return m


def local_rotations(skeleton: BvhSkeleton, motion: np.ndarray) -> np.ndarray:
    """Each joint's local rotation ``(frames, joints, 3, 3)`` from its rotation channels, in their listed order."""
    motion = np.asarray(motion, dtype=np.float64)
    out = np.broadcast_to(np.eye(3), (motion.shape[0], skeleton.num_joints, 3, 3)).copy()
    col = 0
    for j in range(skeleton.num_joints):
        for name in skeleton.channels[j]:
            kind, axis = CHANNELS[name]
            if kind == "rotation":
                out[:, j] = out[:, j] @ axis_rotation(axis, motion[:, col])
            col += 1
    return out


def has_joint_translation(skeleton: BvhSkeleton) -> bool:
    """Whether a joint other than the root has position channels (its bone then changes length)."""
    return any(CHANNELS[c][0] == "position" for chans in skeleton.channels[1:] for c in chans)


def forward_kinematics(skeleton: BvhSkeleton, motion: np.ndarray) -> np.ndarray:
    """Joint positions ``(frames, joints, 3)`` from channel values ``(frames, channels)``.

    Vectorised over frames; one pass over the joints (parents come before children).
    """
    motion = np.asarray(motion, dtype=np.float64)
    frames = motion.shape[0]
    joints = skeleton.num_joints
    pos = np.zeros((frames, joints, 3))
    rot = np.zeros((frames, joints, 3, 3))
    col = 0
    for j, parent in enumerate(skeleton.parents):
        trans = np.repeat(skeleton.offsets[j][None].astype(np.float64), frames, axis=0)
        local = np.broadcast_to(np.eye(3), (frames, 3, 3))
        for name in skeleton.channels[j]:
            kind, axis = CHANNELS[name]
            if kind == "position":
                trans[:, axis] += motion[:, col]
            else:
                local = local @ axis_rotation(axis, motion[:, col])
            col += 1
        if parent < 0:
            rot[:, j] = local
            pos[:, j] = trans
        else:
            rot[:, j] = rot[:, parent] @ local
            pos[:, j] = pos[:, parent] + np.einsum("fij,fj->fi", rot[:, parent], trans)
    return pos


def read_bvh(path: str | Path) -> BvhClip:
    """Read and parse one ``.bvh`` file; every failure is a one-line DataError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: unreadable ({exc.strerror or exc}); expected a BVH text file") from None
    return parse_bvh(text, str(path))


def parse_bvh(text: str, where: str = "<bvh>") -> BvhClip:
    """Parse BVH text (HIERARCHY then MOTION). ``where`` names the file in errors."""
    lines = text.splitlines()
    motion_at = next((i for i, ln in enumerate(lines) if ln.strip().upper() == "MOTION"), None)
    if motion_at is None:
        raise DataError(f"{where}: no MOTION section; expected a BVH file with HIERARCHY and MOTION sections")
    skeleton = _parse_hierarchy(lines[:motion_at], where)
    frame_time, motion = _parse_motion(lines[motion_at + 1:], motion_at + 2, skeleton.num_channels, where)
    return BvhClip(skeleton, frame_time, motion)


def _parse_hierarchy(lines: list[str], where: str) -> BvhSkeleton:
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float] | None] = []
    channels: list[tuple[str, ...] | None] = []
    stack: list[int] = []  # open blocks: joint index, or -1 for an End Site
    pending: int | None = None  # block declared, waiting for its "{"
    seen_header = False

    def fail(lineno: int, msg: str) -> DataError:
        return DataError(f"{where}: line {lineno}: {msg}")

    for lineno, raw in enumerate(lines, start=1):
        words = raw.split()
        if not words:
            continue
        kw = words[0].upper()
        if not seen_header:
            if kw != "HIERARCHY":
                raise fail(lineno, f"got {words[0]!r}; expected the BVH header 'HIERARCHY'")
            seen_header = True
            continue
        opens = words[-1] == "{" and len(words) > 1
        if opens:
            words = words[:-1]
        if kw in ("ROOT", "JOINT"):
            if pending is not None:
                raise fail(lineno, f"{words[0]} before the '{{' of the previous block")
            if kw == "ROOT" and (names or stack):
                raise fail(lineno, "a second ROOT; expected a single skeleton")
            if kw == "JOINT" and (not stack or stack[-1] < 0):
                raise fail(lineno, "JOINT outside a ROOT/JOINT block")
            if len(words) < 2:
                raise fail(lineno, f"{words[0]} without a name")
            names.append(raw.strip()[len(words[0]):].strip().removesuffix("{").strip())
            parents.append(stack[-1] if kw == "JOINT" else -1)
            offsets.append(None)
            channels.append(None)
            pending = len(names) - 1
        elif kw == "END":
            if not stack or stack[-1] < 0:
                raise fail(lineno, "End Site outside a joint block")
            pending = -1
        elif kw == "{":
            if pending is None:
                raise fail(lineno, "'{' without a ROOT, JOINT or End Site")
            stack.append(pending)
            pending = None
            continue
        elif kw == "}":
            for w in words:
                if w != "}" or not stack:
                    raise fail(lineno, "unbalanced '}'")
                stack.pop()
            continue
        elif kw == "OFFSET":
            if not stack or pending is not None:
                raise fail(lineno, "OFFSET outside a block")
            try:
                off = [float(v) for v in words[1:]]
            except ValueError:
                off = []
            if len(off) != 3 or not np.isfinite(off).all():
                raise fail(lineno, f"OFFSET {' '.join(words[1:])!r}; expected three numbers")
            if stack[-1] >= 0:
                offsets[stack[-1]] = off
            continue
        elif kw == "CHANNELS":
            if not stack or stack[-1] < 0 or pending is not None:
                raise fail(lineno, "CHANNELS outside a ROOT/JOINT block")
            try:
                n = int(words[1])
            except (IndexError, ValueError):
                n = -1
            chans = tuple(w.lower() for w in words[2:])
            if n < 0 or n != len(chans):
                raise fail(lineno, f"CHANNELS {' '.join(words[1:])!r}; expected a count followed by that many channel names")
            bad = [w for w in chans if w not in CHANNELS]
            if bad or len(set(chans)) != len(chans):
                raise fail(lineno, f"channels {' '.join(words[2:])!r}; expected distinct names among "
                           "Xposition Yposition Zposition Xrotation Yrotation Zrotation")
            channels[stack[-1]] = chans
            continue
        else:
            raise fail(lineno, f"unexpected {words[0]!r}; expected ROOT, JOINT, End Site, OFFSET, CHANNELS or braces")
        if opens:
            stack.append(pending)
            pending = None

    if not names:
        raise DataError(f"{where}: no ROOT in the HIERARCHY section; expected a skeleton")
    if stack or pending is not None:
        raise DataError(f"{where}: HIERARCHY ends inside an open block (truncated?); expected balanced braces")
    for j, name in enumerate(names):
        if offsets[j] is None:
            raise DataError(f"{where}: joint {name!r} has no OFFSET; expected OFFSET x y z")
        if channels[j] is None:
            raise DataError(f"{where}: joint {name!r} has no CHANNELS line; expected CHANNELS n ...")
    return BvhSkeleton(tuple(names), tuple(parents), np.asarray(offsets, dtype=np.float64), tuple(channels))


def _header_value(line: str | None, key: str, where: str, lineno: int) -> str:
    if line is None:
        raise DataError(f"{where}: MOTION section ends before '{key}:' (truncated?)")
    head, sep, value = line.partition(":")
    if not sep or " ".join(head.split()).lower() != key.lower():
        raise DataError(f"{where}: line {lineno}: got {line.strip()!r}; expected '{key}: <number>'")
    return value.strip()


def _parse_motion(lines: list[str], first_lineno: int, num_channels: int, where: str) -> tuple[float, np.ndarray]:
    rows = [(first_lineno + k, ln) for k, ln in enumerate(lines) if ln.strip()]
    frames_line = rows[0] if rows else (first_lineno, None)
    time_line = rows[1] if len(rows) > 1 else (first_lineno, None)
    value = _header_value(frames_line[1], "Frames", where, frames_line[0])
    try:
        frames = int(value)
    except ValueError:
        raise DataError(f"{where}: line {frames_line[0]}: Frames {value!r}; expected a whole number") from None
    value = _header_value(time_line[1], "Frame Time", where, time_line[0])
    try:
        frame_time = float(value)
    except ValueError:
        raise DataError(f"{where}: line {time_line[0]}: Frame Time {value!r}; expected a number of seconds") from None
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise DataError(f"{where}: Frame Time {value}; expected a positive number of seconds (fps = 1 / Frame Time)")
    if frames <= 0:
        raise DataError(f"{where}: Frames: {frames}; expected at least one frame (zero-length sequence)")
    body = rows[2:]
    if len(body) != frames:
        raise DataError(f"{where}: declares Frames: {frames} but has {len(body)} motion rows (truncated?); "
                        f"expected one row per frame")
    tokens = " ".join(ln for _, ln in body).split()
    if len(tokens) != frames * num_channels:
        lineno, count = next((n, len(ln.split())) for n, ln in body if len(ln.split()) != num_channels)
        raise DataError(f"{where}: line {lineno}: {count} values; expected {num_channels} "
                        f"(the channel count of the HIERARCHY)")
    try:
        motion = np.array(tokens, dtype=np.float64).reshape(frames, num_channels)
    except ValueError:
        bad = next(t for t in tokens if not _is_number(t))
        raise DataError(f"{where}: motion value {bad!r} is not a number; expected numeric channel values") from None
    return frame_time, motion


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
