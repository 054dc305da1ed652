"""Time rendering of a 60-frame SMPL motion: GIF animation, filmstrip PNG and comparison PNG.

    python benchmarks/render_speed.py [--repeats 5]

The first call in a process pays matplotlib's import and font loading (reported
separately as ``first_gif_seconds``); the headline number is the median of the
following calls. The last line is ``gif_60_frames_seconds=<s>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from motioninr.render import RenderSettings, SkeletonMeta, motion_title, render_comparison, render_filmstrip, render_gif
from motioninr.skeleton import SMPL_JOINTS, SMPL_PARENTS

# Approximate SMPL bone offsets (metres, y up, facing +z) for a plausible standing body.
_OFFSETS = np.array([
    (0, 0, 0), (0.07, -0.09, 0), (-0.07, -0.09, 0), (0, 0.11, 0), (0.03, -0.38, 0), (-0.03, -0.38, 0),
    (0, 0.13, 0), (0, -0.40, -0.03), (0, -0.40, -0.03), (0, 0.05, 0), (0, -0.05, 0.12), (0, -0.05, 0.12),
    (0, 0.22, 0), (0.08, 0.12, 0), (-0.08, 0.12, 0), (0, 0.12, 0.03), (0.10, 0.03, 0), (-0.10, 0.03, 0),
    (0.26, 0, 0), (-0.26, 0, 0), (0.25, 0, 0), (-0.25, 0, 0), (0.08, 0, 0), (-0.08, 0, 0),
], dtype=np.float32)


def walking_motion(frames: int = 60, fps: float = 20.0) -> np.ndarray:
    """A procedural walk ``(frames, 24, 3)``: swinging legs and arms, root moving forward."""
    t = np.arange(frames, dtype=np.float32) / fps
    swing = np.sin(2 * np.pi * t)[:, None]  # one stride per second
    offsets = np.repeat(_OFFSETS[None], frames, axis=0)
    for joint, sign in ((4, 1), (7, 0.5), (5, -1), (8, -0.5), (18, -0.6), (19, 0.6)):
        offsets[:, joint, 2] += sign * 0.2 * swing[:, 0]
    out = np.zeros_like(offsets)
    out[:, 0] = np.stack([0 * t, 0.95 + 0.02 * np.abs(swing[:, 0]), 0.8 * t], axis=-1)
    for j in range(1, 24):
        out[:, j] = out[:, SMPL_PARENTS[j]] + offsets[:, j]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    meta = SkeletonMeta(parents=SMPL_PARENTS, joint_names=SMPL_JOINTS, fps=20.0, class_names=("walk",))
    motion = walking_motion(60)
    settings = RenderSettings()
    title = motion_title(meta, 0, len(motion))
    with tempfile.TemporaryDirectory() as tmp:
        gif, strip, pair = Path(tmp) / "m.gif", Path(tmp) / "m.png", Path(tmp) / "c.png"
        start = time.perf_counter()
        render_gif(gif, [motion], meta, labels=["walk_0"], title=title, settings=settings)
        first = time.perf_counter() - start

        def timed(fn) -> float:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return float(np.median(times))

        gif_s = timed(lambda: render_gif(gif, [motion], meta, labels=["walk_0"], title=title, settings=settings))
        strip_s = timed(lambda: render_filmstrip(strip, [motion], meta, labels=["walk_0"], title=title, settings=settings))
        pair_s = timed(lambda: render_comparison(pair, motion, motion[::-1], meta, label=0, distance=1.0, settings=settings))
        print(f"gif_bytes={gif.stat().st_size} filmstrip_bytes={strip.stat().st_size}")
    print(f"first_gif_seconds={first:.3f}")
    print(f"filmstrip_seconds={strip_s:.3f}")
    print(f"comparison_seconds={pair_s:.3f}")
    print(f"gif_60_frames_seconds={gif_s:.3f}")


if __name__ == "__main__":
    main()
