"""Pictures of the latent space: codes and evaluator features projected to 2-D.

MotionINR rests on two assumptions about its codes: codes near each other decode to similar
motions, and the code varies with the motion's length (the mixtures are binned by length).
These pictures let a researcher look at both: the trained sequence codes (posterior means)
with codes sampled from the fitted mixtures at the same actions and lengths, and the
generated motions' evaluator features beside the training motions' (the space where MMS
measures how close a generated motion comes to its nearest training motion).

Each picture is one PNG with two panels of the same 2-D projection (PCA fitted to the
reference points, or a joint t-SNE embedding from scikit-learn): coloured by action on the
left, by length on the right; reference points are dots, the compared points crosses.
Deterministic: fixed seeds, a fixed figure size and no time or software stamp in the PNG.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from motioninr.errors import DataError
from motioninr.io import atomic_path
from motioninr.settings import require

METHODS = ("pca", "tsne")


@dataclass(frozen=True)
class LatentSettings:
    """Settings of the latent stage (``params.yaml: latent``).

    motions:     generated set whose evaluator features are shown (``data/generated/<motions>.npz``).
    gmm_samples: mixture codes drawn per training sequence, at its action and length.
    methods:     projections drawn: pca | tsne (one PNG each for codes and for features).
    perplexity:  t-SNE perplexity (lowered to (points - 1) / 3 on small sets).
    max_points:  points per group at most; larger groups use a fixed random subset.
    seed:        subsets, mixture draws, t-SNE.
    dpi:         resolution of the 12 x 5 inch figures.
    """

    motions: str = "gmm_variable"
    gmm_samples: int = 1
    methods: tuple[Literal["pca", "tsne"], ...] = ("pca", "tsne")
    perplexity: float = 30.0
    max_points: int = 2000
    seed: int = 0
    dpi: int = 100

    def validate(self, where: str = "latent") -> None:
        require(bool(re.fullmatch(r"[A-Za-z0-9_.-]+", self.motions)), f"{where}.motions", self.motions,
                "a generated file name such as gmm_variable")
        require(1 <= self.gmm_samples <= 100, f"{where}.gmm_samples", self.gmm_samples, "an integer in [1, 100]")
        require(len(self.methods) > 0 and len(set(self.methods)) == len(self.methods), f"{where}.methods",
                list(self.methods), "pca and/or tsne, each once")
        require(self.perplexity >= 2.0, f"{where}.perplexity", self.perplexity, "a number >= 2")
        require(self.max_points >= 10, f"{where}.max_points", self.max_points, "an integer >= 10")
        require(20 <= self.dpi <= 600, f"{where}.dpi", self.dpi, "an integer in [20, 600]")


@dataclass
class PointSet:
    """Points of one group: ``values (n, dim)``, ``labels (n,)`` action indices, ``lengths (n,)`` frames."""

    name: str
    values: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        if self.values.ndim != 2 or not (len(self.values) == len(self.labels) == len(self.lengths)):
            raise DataError(f"{self.name}: {self.values.shape} values for {len(self.labels)} labels and "
                            f"{len(self.lengths)} lengths; expected (n, dim) and n of each")
        if len(self.values) == 0:
            raise DataError(f"{self.name}: no points to draw")
        if not np.isfinite(self.values).all():
            raise DataError(f"{self.name}: non-finite values; cannot project them")

    def subset(self, max_points: int, rng: np.random.Generator) -> "PointSet":
        """At most ``max_points`` points, a random subset kept in the original order."""
        if len(self.values) <= max_points:
            return self
        keep = np.sort(rng.choice(len(self.values), size=max_points, replace=False))
        return PointSet(self.name, self.values[keep], self.labels[keep], self.lengths[keep])


def project(reference: np.ndarray, other: np.ndarray, method: str, perplexity: float = 30.0,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2-D coordinates of ``reference (n, dim)`` and ``other (m, dim)`` in one projection.

    pca: the principal plane of the reference points, the others projected onto it (so the
    axes are the reference's own directions of variation); tsne: one t-SNE embedding of both.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    if reference.shape[1] != other.shape[1]:
        raise DataError(f"cannot project {reference.shape[1]}-d and {other.shape[1]}-d points together")
    if method == "pca":
        pca = PCA(n_components=2, svd_solver="full").fit(reference)
        return pca.transform(reference), pca.transform(other)
    if method == "tsne":
        from threadpoolctl import threadpool_limits

        both = np.concatenate([reference, other])
        perplexity = float(min(perplexity, max(1.0, (len(both) - 1) / 3)))
        with threadpool_limits(limits=1):  # BLAS threads only spin on these small products
            xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=1,
                      learning_rate="auto").fit_transform(both)
        return xy[: len(reference)], xy[len(reference):]
    raise DataError(f"projection method {method!r}: expected one of {', '.join(METHODS)}")


def draw_projection(path: str | Path, reference: PointSet, other: PointSet, ref_xy: np.ndarray, other_xy: np.ndarray,
                    class_names: list[str], title: str, axis_name: str, dpi: int = 100) -> tuple[int, int]:
    """Write a PNG of two panels (by action, by length) of the projected points; returns its size in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(12, 5), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=11, fontweight="bold")
    cmap = _class_colours(len(class_names))
    lengths = np.concatenate([reference.lengths, other.lengths])
    norm = Normalize(vmin=float(lengths.min()), vmax=float(max(lengths.max(), lengths.min() + 1)))
    marks = ((reference, ref_xy, "o", 14, 0.75), (other, other_xy, "x", 16, 0.8))
    for k, colour_by in enumerate(("action", "length")):
        ax = fig.add_subplot(1, 2, k + 1)
        for points, xy, marker, size, alpha in marks:
            if colour_by == "action":
                colours = cmap[points.labels % len(cmap)]
                ax.scatter(xy[:, 0], xy[:, 1], c=colours, marker=marker, s=size, alpha=alpha, linewidths=0.8)
            else:
                sc = ax.scatter(xy[:, 0], xy[:, 1], c=points.lengths, cmap="viridis", norm=norm, marker=marker,
                                s=size, alpha=alpha, linewidths=0.8)
        ax.set_title(f"coloured by {colour_by}", fontsize=10)
        ax.set_xlabel(f"{axis_name} 1")
        ax.set_ylabel(f"{axis_name} 2")
        ax.tick_params(labelsize=8)
        groups = [Line2D([], [], ls="", marker="o", color="#555555", label=reference.name),
                  Line2D([], [], ls="", marker="x", color="#555555", label=other.name)]
        if colour_by == "action":
            present = sorted(set(reference.labels.tolist()) | set(other.labels.tolist()))
            groups += [Line2D([], [], ls="", marker="s", color=cmap[c % len(cmap)], label=_name(class_names, c))
                       for c in present]
            ax.legend(handles=groups, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        else:
            fig.colorbar(sc, ax=ax, label="length (frames)")
            ax.legend(handles=groups, fontsize=7, loc="best", framealpha=0.7)
    fig.subplots_adjust(left=0.06, right=0.94, bottom=0.11, top=0.86, wspace=0.62)  # room for the legend
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return int(round(12 * dpi)), int(round(5 * dpi))


def _class_colours(n: int) -> np.ndarray:
    """``(max(n, 1), 4)`` RGBA colours, one per class: tab10 up to 10 classes, tab20, then a hue wheel."""
    from matplotlib import colormaps

    if n <= 10:
        return colormaps["tab10"](np.arange(10))
    if n <= 20:
        return colormaps["tab20"](np.arange(20))
    return colormaps["hsv"](np.linspace(0, 1, n, endpoint=False))


def _name(class_names: list[str], label: int) -> str:
    return class_names[label] if 0 <= label < len(class_names) else f"class {label}"


def latent_pictures(out: str | Path, codes: PointSet, mixture_codes: PointSet, train_features: PointSet,
                    generated_features: PointSet, class_names: list[str],
                    settings: LatentSettings = LatentSettings()) -> list[Path]:
    """Write ``codes_<method>.png`` and ``features_<method>.png`` for each method into folder ``out``."""
    from motioninr.progress import track

    out = Path(out)
    rng = np.random.default_rng(settings.seed)
    pairs = {"codes": (codes.subset(settings.max_points, rng), mixture_codes.subset(settings.max_points, rng)),
             "features": (train_features.subset(settings.max_points, rng),
                          generated_features.subset(settings.max_points, rng))}
    about = {"codes": ("Sequence codes (training posterior means) and codes drawn from the mixtures", "code"),
             "features": ("Evaluator features: training motions and generated motions (MMS: distance to the "
                          "nearest training motion)", "feature")}
    jobs = [(kind, method) for kind in pairs for method in settings.methods]
    written = []
    for kind, method in track(jobs, "latent", unit="pictures"):
        reference, other = pairs[kind]
        ref_xy, other_xy = project(reference.values, other.values, method, settings.perplexity, settings.seed)
        label = "PCA" if method == "pca" else "t-SNE"
        path = out / f"{kind}_{method}.png"
        draw_projection(path, reference, other, ref_xy, other_xy, class_names, f"{about[kind][0]} · {label}",
                        f"{label} {about[kind][1]}" if method == "pca" else label, settings.dpi)
        written.append(path)
    return written
