"""Pictures of motions: GIF animations, filmstrips and generated-vs-training comparisons.

Every picture of a batch of motions shares one camera: an orthographic view
from ``azimuth`` degrees around the up axis and ``elevation`` degrees above the
ground at one scale, and a ground grid at the lowest joint height (the feet of
a standing body). Panels have a fixed size (``panel_px`` high, ``panel_aspect``
wide), so every picture with the same number of panels has the same size however
far the motions travel: the camera follows the root over the ground (the grid
moving underneath shows the travel), or, with ``camera: fixed``, frames every
frame of every motion at once.
Any skeleton works: bones come from ``parents``; the up axis (``y``, ``-y``,
``z`` or ``-z``) comes from the dataset metadata. Drawing uses matplotlib's
Agg canvas (no display needed; :mod:`motioninr.canvas`) with one line collection
per layer whose segments are updated frame by frame; GIFs are assembled with Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from motioninr.canvas import CENTRE, LEFT, RIGHT, ROW_COLOURS, Canvas, gif_palette
from motioninr.errors import DataError
from motioninr.io import atomic_path
from motioninr.settings import require
from motioninr.skeleton import check_parents

UP_AXES = ("y", "-y", "z", "-z")

# Rotations taking each recorded up axis to +z (rows are the new x, y, z; all have determinant +1).
_TO_Z_UP = {
    "y": np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float32),
    "-y": np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=np.float32),
    "z": np.eye(3, dtype=np.float32),
    "-z": np.diag([1, -1, -1]).astype(np.float32),
}


@dataclass(frozen=True)
class RenderSettings:
    """How pictures look (``params.yaml: render``, picture fields).

    panel_px:         height in pixels of one skeleton panel.
    panel_aspect:     width / height of one panel (fixed: every picture of n panels has one size).
    camera:           follow: each panel is centred on the ground under the root, so long walks stay in
                      view at the body's scale | fixed: one camera framing every frame of every motion.
    filmstrip_frames: evenly spaced frames in a filmstrip row (first and last included).
    azimuth:          camera angle around the up axis in degrees; 0 faces a body whose front is +z (y up).
    elevation:        camera angle above the ground plane in degrees.
    gif_fps:          GIF frame rate; null plays at the motion's own frame rate.
    dpi:              resolution used to turn ``panel_px`` into figure inches.
    """

    panel_px: int = 200
    panel_aspect: float = 0.8
    camera: Literal["follow", "fixed"] = "follow"
    filmstrip_frames: int = 6
    azimuth: float = 30.0
    elevation: float = 15.0
    gif_fps: float | None = None
    dpi: int = 100

    def validate(self, where: str = "render") -> None:
        require(32 <= self.panel_px <= 2000, f"{where}.panel_px", self.panel_px, "an integer in [32, 2000]")
        require(0.3 <= self.panel_aspect <= 3.0, f"{where}.panel_aspect", self.panel_aspect,
                "a width / height ratio in [0.3, 3]")
        require(1 <= self.filmstrip_frames <= 50, f"{where}.filmstrip_frames", self.filmstrip_frames, "an integer in [1, 50]")
        require(-90.0 <= self.elevation <= 90.0, f"{where}.elevation", self.elevation, "degrees in [-90, 90]")
        require(self.gif_fps is None or 0 < self.gif_fps <= 100, f"{where}.gif_fps", self.gif_fps, "null or a number in (0, 100]")
        require(20 <= self.dpi <= 600, f"{where}.dpi", self.dpi, "an integer in [20, 600]")


@dataclass(frozen=True)
class SkeletonMeta:
    """What drawing needs to know about the data: the skeleton, the up axis, frame rate and class names."""

    parents: tuple[int, ...]
    up: str = "y"
    fps: float = 20.0
    class_names: tuple[str, ...] = ()
    joint_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            check_parents(self.parents)
        except ValueError as exc:
            raise DataError(f"parents: {exc}") from None
        if self.up not in UP_AXES:
            raise DataError(f"up: got {self.up!r}, expected one of {', '.join(UP_AXES)}")
        if not self.fps > 0:
            raise DataError(f"fps: got {self.fps!r}, expected a positive frame rate")
        if self.joint_names and len(self.joint_names) != len(self.parents):
            raise DataError(f"joint_names: {len(self.joint_names)} names for {len(self.parents)} parents")

    @classmethod
    def from_meta(cls, meta: dict, where: str = "meta.json") -> "SkeletonMeta":
        """Build from a processed ``meta.json`` mapping; ``where`` names the file in errors."""
        if "parents" not in meta:
            raise DataError(f"{where}: no 'parents' list; expected the skeleton of a processed dataset meta.json")
        try:
            return cls(
                parents=tuple(int(p) for p in meta["parents"]),
                up=str(meta.get("up", "y")),
                fps=float(meta.get("fps", 20.0)),
                class_names=tuple(str(c) for c in meta.get("class_names", ())),
                joint_names=tuple(str(j) for j in meta.get("joint_names", ())),
            )
        except DataError as exc:
            raise DataError(f"{where}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}: malformed skeleton metadata ({exc})") from None

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    def class_name(self, label: int) -> str:
        return self.class_names[label] if 0 <= label < len(self.class_names) else f"class {label}"

    def bone_colours(self) -> list[str]:
        """One colour per bone (bone ``j - 1`` links joint ``j`` to its parent): left blue, right red."""
        colours = []
        for j in range(1, self.num_joints):
            name = self.joint_names[j].lower() if self.joint_names else ""
            if name.startswith(("left", "l_")):
                colours.append(LEFT)
            elif name.startswith(("right", "r_")):
                colours.append(RIGHT)
            else:
                colours.append(CENTRE)
        return colours


def motion_title(meta: SkeletonMeta, label: int, length: int) -> str:
    """``"walk · 45 frames (2.2 s)"``."""
    return f"{meta.class_name(int(label))} · {int(length)} frames ({length / meta.fps:.1f} s)"


def to_z_up(frames: np.ndarray, up: str) -> np.ndarray:
    """Rotate positions ``(..., 3)`` recorded with ``up`` as the vertical axis so that +z is up."""
    return np.asarray(frames, dtype=np.float32) @ _TO_Z_UP[up].T


@dataclass(frozen=True)
class View:
    """An orthographic camera and the ground under a batch of motions (z-up world).

    right, screen_up: (3,) unit vectors spanning the image plane.
    ground:           height of the ground plane (lowest joint of the batch).
    limits:           (xmin, xmax, ymin, ymax) of one panel in image-plane metres, around the
                      panel's anchor (see :meth:`anchor`).
    grid:             (lines, 2, 3) ground grid segments in world coordinates.
    follow:           panels are centred on the ground under the root (else on the origin).
    """

    right: np.ndarray
    screen_up: np.ndarray
    ground: float
    limits: tuple[float, float, float, float]
    grid: np.ndarray
    follow: bool = False

    @property
    def width(self) -> float:
        return self.limits[1] - self.limits[0]

    @property
    def height(self) -> float:
        return self.limits[3] - self.limits[2]

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` (z up) -> image-plane points ``(..., 2)``."""
        return np.stack([points @ self.right, points @ self.screen_up], axis=-1)

    def anchor(self, motion: np.ndarray) -> np.ndarray:
        """Image-plane point ``(frames, 2)`` each frame of ``motion`` ``(frames, joints, 3)`` is drawn around:
        the ground under the root (joint 0) when the camera follows, else the origin."""
        motion = np.asarray(motion, np.float32)
        if not self.follow:
            return np.zeros((len(motion), 2), np.float32)
        under = motion[:, 0, :].copy()
        under[:, 2] = self.ground
        return self.project(under)

    def shadow(self, points: np.ndarray) -> np.ndarray:
        """Image-plane points ``(..., 2)`` of ``points`` dropped vertically onto the ground."""
        flat = points.copy()
        flat[..., 2] = self.ground
        return self.project(flat)


def _grid_step(extent: float) -> float:
    for step in (0.25, 0.5, 1.0, 2.0, 5.0):
        if extent / step <= 6:
            return step
    return 10.0


def fit_view(motions: Sequence[np.ndarray], settings: RenderSettings = RenderSettings()) -> View:
    """One camera for every frame of ``motions`` (each ``(frames, joints, 3)``, already z up).

    The panel keeps equal scale on both image axes and has exactly ``settings.panel_aspect``
    (padded on the short side). With ``camera: follow`` it covers the body around its anchor
    (the ground under the root) over every frame; with ``fixed``, every frame at once.
    """
    seqs = [np.asarray(m, np.float32) for m in motions]
    pts = np.concatenate([m.reshape(-1, 3) for m in seqs], axis=0)
    if not np.isfinite(pts).all():
        raise DataError("motion has non-finite joint positions; cannot draw it")
    az, el = np.deg2rad(settings.azimuth), np.deg2rad(settings.elevation)
    right = np.array([np.cos(az), np.sin(az), 0.0], np.float32)
    forward = np.array([-np.sin(az), np.cos(az), 0.0], np.float32)
    screen_up = (np.array([0.0, 0.0, np.cos(el)]) + forward * np.sin(el)).astype(np.float32)
    ground = float(pts[:, 2].min())
    view = View(right, screen_up, ground, (0.0, 1.0, 0.0, 1.0), np.zeros((0, 2, 3), np.float32),
                settings.camera == "follow")

    body = np.concatenate([(view.project(m) - view.anchor(m)[:, None]).reshape(-1, 2) for m in seqs])
    (x0, y0), (x1, y1) = body.min(0), body.max(0)
    pad = 0.06 * max(x1 - x0, y1 - y0, 0.5)
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad - 0.3, y1 + 2.5 * pad  # ground in front, headroom for labels
    w, h = x1 - x0, y1 - y0
    aspect = settings.panel_aspect
    if w / h < aspect:
        x0, x1 = x0 - (aspect * h - w) / 2, x1 + (aspect * h - w) / 2
    else:
        y0, y1 = y0 - (w / aspect - h) / 2, y1 + (w / aspect - h) / 2
    size = max(x1 - x0, y1 - y0)

    # A ground grid under everything a panel can show: the travelled area plus the ground a panel
    # sees around it (an oblique view sees 1 / sin(elevation) metres of depth per metre of height).
    reach = size / max(abs(float(np.sin(el))), 0.25) + 0.3
    step = _grid_step(size)
    lo = np.floor((pts[:, :2].min(0) - reach) / step) * step
    hi = np.ceil((pts[:, :2].max(0) + reach) / step) * step
    xs, ys = np.arange(lo[0], hi[0] + step / 2, step), np.arange(lo[1], hi[1] + step / 2, step)
    # Lines of constant x from ys[0] to ys[-1], then lines of constant y from xs[0] to xs[-1]: (lines, 2, 3).
    along_y = np.stack([np.stack([xs, np.full_like(xs, ys[0])], -1), np.stack([xs, np.full_like(xs, ys[-1])], -1)], 1)
    along_x = np.stack([np.stack([np.full_like(ys, xs[0]), ys], -1), np.stack([np.full_like(ys, xs[-1]), ys], -1)], 1)
    grid = np.concatenate([along_y, along_x])
    grid = np.concatenate([grid, np.full(grid.shape[:2] + (1,), ground)], axis=-1).astype(np.float32)
    return View(right, screen_up, ground, (float(x0), float(x1), float(y0), float(y1)), grid, view.follow)


def _check_motions(motions: Sequence[np.ndarray], meta: SkeletonMeta) -> list[np.ndarray]:
    out = []
    for m in motions:
        m = np.asarray(m, dtype=np.float32)
        if m.ndim != 3 or m.shape[-1] != 3 or len(m) == 0:
            raise DataError(f"motion of shape {m.shape}; expected (frames, joints, 3) with at least one frame")
        if m.shape[1] != meta.num_joints:
            raise DataError(f"motion has {m.shape[1]} joints but the skeleton has {meta.num_joints} (parents)")
        out.append(to_z_up(m, meta.up))
    if not out:
        raise DataError("nothing to draw: no motions given")
    return out


def filmstrip_indices(length: int, count: int) -> np.ndarray:
    """``count`` evenly spaced frame indices of a ``length``-frame motion, first and last included."""
    if length <= count:
        return np.arange(length)
    return np.unique(np.round(np.linspace(0, length - 1, count)).astype(int))


def render_filmstrip(path: str | Path, motions: Sequence[np.ndarray], meta: SkeletonMeta, *,
                     labels: Sequence[str] | None = None, title: str | None = None,
                     settings: RenderSettings = RenderSettings()) -> tuple[int, int]:
    """Write a PNG with one row of ``settings.filmstrip_frames`` evenly spaced frames per motion.

    motions: each ``(frames, joints, 3)``; all rows share one camera and ground.
    labels:  one caption per row (drawn in its first panel).
    Returns the image size ``(width, height)`` in pixels.
    """
    seqs = _check_motions(motions, meta)
    cols = settings.filmstrip_frames
    view = fit_view(seqs, settings)
    canvas = Canvas(view, meta, len(seqs), cols, title, settings,
                     row_colours=ROW_COLOURS if len(seqs) > 1 else None)
    poses = np.empty((len(seqs) * cols, meta.num_joints, 3), np.float32)
    hidden = []
    for r, seq in enumerate(seqs):
        idx = filmstrip_indices(len(seq), cols)
        for c in range(cols):
            p = r * cols + c
            if c < len(idx):
                poses[p] = seq[idx[c]]
                canvas.panel_text(p, f"{idx[c] / meta.fps:.2f} s", size=7, where="bottom", color="#666666")
            else:  # a motion shorter than the strip: park the empty panel's skeleton far outside the view
                poses[p] = seq[-1]
                hidden.append(p)
        if labels is not None:
            canvas.panel_text(r * cols, labels[r], size=8, color=ROW_COLOURS[r % len(ROW_COLOURS)] if len(seqs) > 1 else "black")
    canvas.offsets[hidden] = 1e6
    canvas.set_poses(poses)
    with atomic_path(path) as tmp:
        canvas.fig.savefig(tmp, format="png", dpi=settings.dpi, facecolor="white")
    size = canvas.size
    canvas.close()
    return size


def render_gif(path: str | Path, motions: Sequence[np.ndarray], meta: SkeletonMeta, *,
               labels: Sequence[str] | None = None, title: str | None = None,
               settings: RenderSettings = RenderSettings()) -> int:
    """Write an animated GIF with the motions side by side, one panel each, sharing one camera.

    motions: each ``(frames, joints, 3)``; the GIF has as many frames as the
    longest, shorter motions hold their last pose. Returns the frame count.
    """
    from matplotlib.lines import Line2D
    from PIL import Image

    seqs = _check_motions(motions, meta)
    n = max(len(s) for s in seqs)
    view = fit_view(seqs, settings)
    canvas = Canvas(view, meta, 1, len(seqs), title, settings)
    if labels is not None:
        for p, label in enumerate(labels):
            canvas.panel_text(p, label, size=8)
    # A progress bar along the bottom edge: cheaper than redrawn text, and no two frames are identical.
    progress = Line2D([0.0, 0.0], [1.5 / canvas.size[1]] * 2, transform=canvas.fig.transFigure, color="#888888", lw=2)
    canvas.fig.add_artist(progress)
    index = np.minimum(np.arange(n)[:, None], np.array([len(s) - 1 for s in seqs])[None])  # (n, panels)
    fps = settings.gif_fps or meta.fps
    canvas.set_poses(np.stack([s[0] for s in seqs]))  # places the ground grid before the static background is drawn
    canvas.start_animation(progress)
    images = []
    for t in range(n):
        canvas.set_poses(np.stack([s[i] for s, i in zip(seqs, index[t])]))
        progress.set_xdata([0.0, (t + 1) / n])
        images.append(canvas.frame())
    canvas.close()
    palette = gif_palette()
    frames = [Image.fromarray(im).quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=max(20, int(round(1000 / fps))), loop=0, optimize=False, disposal=1)
    return n


def render_comparison(path: str | Path, generated: np.ndarray, nearest: np.ndarray, meta: SkeletonMeta, *,
                      label: int, distance: float, generated_id: str = "", nearest_id: str = "",
                      nearest_label: int | None = None, settings: RenderSettings = RenderSettings()) -> tuple[int, int]:
    """Filmstrip PNG of a generated motion (top) above its nearest training motion (bottom).

    generated, nearest: ``(frames, joints, 3)``; ``distance`` is their evaluator-feature distance.
    """
    nearest_label = label if nearest_label is None else nearest_label
    title = f"{meta.class_name(label)}: generated vs nearest training motion (feature distance {distance:.2f})"
    labels = [
        f"generated {generated_id} · {motion_title(meta, label, len(generated))}".replace("  ", " "),
        f"training {nearest_id} · {motion_title(meta, nearest_label, len(nearest))}".replace("  ", " "),
    ]
    return render_filmstrip(path, [generated, nearest], meta, labels=labels, title=title, settings=settings)
