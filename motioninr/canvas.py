"""Drawing on a Matplotlib Agg canvas: a grid of skeleton panels sharing one camera.

:class:`Canvas` draws the panels of one picture (a filmstrip or a GIF) with one line collection
per layer (ground grid, shadows, bones) whose segments are updated frame by frame, so a GIF frame
redraws only what moves. The colours are shared with :mod:`motioninr.render` (left limbs blue,
right red, one colour per row of a comparison); :func:`gif_palette` keeps their edges clean in a GIF.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from motioninr.render import RenderSettings, SkeletonMeta, View

LEFT, RIGHT, CENTRE = "#1f5fbf", "#d2452f", "#333333"
SHADOW, GRID = "#c8c8c8", "#e2e2e2"
ROW_COLOURS = ("#333333", "#6a3d9a", "#1b7837", "#b35806")


class Canvas:
    """A grid of ``rows x cols`` panels sharing one view, drawn on a single Agg axes.

    Panel (r, c) shows the view shifted by (c * width, -r * height) in image-plane
    metres, around its pose's anchor, so all panels share scale and camera and
    everything is four line collections plus text, whatever the number of panels.
    """

    def __init__(self, view: View, meta: SkeletonMeta, rows: int, cols: int, title: str | None,
                 settings: RenderSettings, row_colours: Sequence[str] | None = None) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure

        self.view, self.meta, self.rows, self.cols = view, meta, rows, cols
        panel_h = settings.panel_px
        panel_w = int(round(panel_h * settings.panel_aspect))  # the view has this aspect: a fixed size
        title_px = 26 if title else 0
        w_px, h_px = panel_w * cols, panel_h * rows + title_px
        w_px += w_px % 2  # even sizes keep video encoders happy if GIFs are converted later
        h_px += h_px % 2
        self.size = (w_px, h_px)
        dpi = settings.dpi
        self.fig = Figure(figsize=(w_px / dpi, h_px / dpi), dpi=dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0.0, 0.0, 1.0, 1.0 - title_px / h_px))
        ax.set_axis_off()
        x0, x1, y0, y1 = view.limits
        ax.set_xlim(x0, x0 + cols * view.width)
        ax.set_ylim(y1 - rows * view.height, y1)
        self.ax = ax
        if title:
            # Shrink long titles to the figure width (bold glyphs average ~0.62 em).
            size = float(np.clip(w_px * 72 / (0.62 * len(title) * dpi), 6.0, 10.0))
            self.fig.text(0.5, 1.0 - 4 / h_px, title, ha="center", va="top", fontsize=size, fontweight="bold")

        self.offsets = np.array(
            [[c * view.width, -r * view.height] for r in range(rows) for c in range(cols)], np.float32
        )  # (panels, 2)
        parents = np.asarray(meta.parents)
        self.child = np.arange(1, meta.num_joints)
        self.parent = parents[self.child]
        panels = rows * cols
        self.grid = view.project(view.grid)  # (lines, 2, 2), clipped to each panel around its anchor
        self.ground_lines = LineCollection([], colors=GRID, linewidths=0.8, zorder=1)
        ax.add_collection(self.ground_lines)
        for r in range(1, rows):  # separators between rows
            ax.axhline(y1 - r * view.height, color="#999999", lw=0.6, zorder=0)
        self.shadows = LineCollection([], colors=SHADOW, linewidths=2.0, capstyle="round", zorder=2)
        bone_colours = meta.bone_colours()
        if row_colours is None:
            colours = bone_colours * panels
        else:  # centre bones take the row's colour; left and right limbs stay blue and red
            colours = []
            for p in range(panels):
                base = row_colours[(p // cols) % len(row_colours)]
                colours += [base if c == CENTRE else c for c in bone_colours]
        self.bones = LineCollection([], colors=colours, linewidths=2.2, capstyle="round", zorder=3)
        ax.add_collection(self.shadows)
        ax.add_collection(self.bones)
        (self.joints,) = ax.plot([], [], "o", ms=2.2, color="#111111", zorder=4)

    def panel_text(self, panel: int, text: str, *, size: float = 8, where: str = "top", **kw):
        x0, _, y0, y1 = self.view.limits
        ox, oy = self.offsets[panel]
        y = (y1 - 0.02 * self.view.height if where == "top" else y0 + 0.02 * self.view.height) + oy
        va = "top" if where == "top" else "bottom"
        return self.ax.text(x0 + ox + 0.03 * self.view.width, y, text, ha="left", va=va, fontsize=size, zorder=5, **kw)

    def set_poses(self, poses: np.ndarray) -> None:
        """Draw one pose per panel: ``(panels, joints, 3)`` world positions (z up), each around its anchor."""
        shift = self.offsets - self.view.anchor(poses)  # (panels, 2): anchor of each pose to its panel
        proj = self.view.project(poses) + shift[:, None]  # (panels, joints, 2)
        shadow = self.view.shadow(poses) + shift[:, None]
        grid = [clip_segments(self.grid - a, self.view.limits) + o
                for a, o in zip(self.view.anchor(poses), self.offsets)]
        self.ground_lines.set_segments(np.concatenate(grid))
        self.bones.set_segments(np.stack([proj[:, self.parent], proj[:, self.child]], axis=2).reshape(-1, 2, 2))
        self.shadows.set_segments(np.stack([shadow[:, self.parent], shadow[:, self.child]], axis=2).reshape(-1, 2, 2))
        self.joints.set_data(proj[..., 0].ravel(), proj[..., 1].ravel())

    def start_animation(self, *extra) -> None:
        """Draw everything static once; later :meth:`frame` calls redraw only the moving artists."""
        ground = (self.ground_lines,) if self.view.follow else ()  # a fixed camera's grid never moves
        self.moving = (*ground, self.shadows, self.bones, self.joints, *extra)
        for artist in self.moving:
            artist.set_animated(True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def frame(self) -> np.ndarray:
        """The current picture ``(height, width, 3)`` uint8, redrawing only the moving artists."""
        self.canvas.restore_region(self.background)
        for artist in self.moving:
            self.ax.draw_artist(artist) if artist.axes is self.ax else self.fig.draw_artist(artist)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.fig.clear()


def clip_segments(segments: np.ndarray, limits: tuple[float, float, float, float]) -> np.ndarray:
    """Clip 2-D line segments ``(n, 2, 2)`` to the rectangle ``(xmin, xmax, ymin, ymax)``; drops those outside."""
    a, d = segments[:, 0], segments[:, 1] - segments[:, 0]
    xmin, xmax, ymin, ymax = limits
    p = np.stack([-d[:, 0], d[:, 0], -d[:, 1], d[:, 1]], axis=1)  # (n, 4)
    q = np.stack([a[:, 0] - xmin, xmax - a[:, 0], a[:, 1] - ymin, ymax - a[:, 1]], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = q / p
    lo = np.where(p < 0, t, -np.inf).max(axis=1).clip(0.0, None)
    hi = np.where(p > 0, t, np.inf).min(axis=1).clip(None, 1.0)
    keep = (lo <= hi) & ~((p == 0) & (q < 0)).any(axis=1)
    return np.stack([a + lo[:, None] * d, a + hi[:, None] * d], axis=1)[keep]


def gif_palette():
    """A fixed GIF palette: a grey ramp plus ramps from white to each ink, so antialiased edges stay clean."""
    from matplotlib.colors import to_rgb
    from PIL import Image

    greys = np.linspace(0.0, 1.0, 64)[:, None].repeat(3, axis=1)
    ramps = [greys]
    for ink in (LEFT, RIGHT, *ROW_COLOURS[1:]):
        w = np.linspace(0.0, 1.0, 36, endpoint=False)[:, None]
        ramps.append(w * np.array(to_rgb(ink)) + (1 - w))
    colours = (np.concatenate(ramps) * 255).round().astype(np.uint8)  # (64 + 5 * 36 = 244, 3)
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours.ravel().tolist())
    return palette
