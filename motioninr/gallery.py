"""A gallery of generated motions: per action, a few lengths, each beside its nearest training motion.

The nearest training motion is found in evaluator-feature space, so each
picture shows the pair behind one generated motion's MMS distance. The stage
computes the features; this module picks the examples and draws the pictures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motioninr.data.dataset import MotionSet
from motioninr.render import RenderSettings, SkeletonMeta, render_comparison, render_gif
from motioninr.settings import require


def _default_lengths() -> dict[str, float]:
    return {"short": 0.1, "typical": 0.5, "long": 0.9}


@dataclass(frozen=True)
class GallerySettings:
    """What the gallery shows (``params.yaml: render``, gallery fields).

    motions: name of the generated motion file (``data/generated/<motions>.npz``).
    lengths: example name -> quantile of the class's generated lengths it is picked at.
    gifs:    how many actions also get an animation of their middle-quantile example next to its neighbour.
    """

    motions: str = "gmm_variable"
    lengths: dict[str, float] = field(default_factory=_default_lengths)
    gifs: int = 3

    def validate(self, where: str = "render") -> None:
        require(bool(re.fullmatch(r"[A-Za-z0-9_.-]+", self.motions)), f"{where}.motions", self.motions,
                "a generated file name such as gmm_variable")
        require(len(self.lengths) > 0, f"{where}.lengths", self.lengths, "at least one name: quantile pair")
        for name, q in self.lengths.items():
            require(bool(re.fullmatch(r"[A-Za-z0-9_-]+", str(name))), f"{where}.lengths", name, "names of letters, digits, _ or -")
            require(isinstance(q, (int, float)) and not isinstance(q, bool) and 0.0 <= q <= 1.0,
                    f"{where}.lengths.{name}", q, "a quantile in [0, 1]")
        require(self.gifs >= 0, f"{where}.gifs", self.gifs, "an integer >= 0")


@dataclass(frozen=True)
class Example:
    """One gallery entry: generated motion ``index`` of class ``label``, shown as ``tag`` (e.g. ``short``)."""

    label: int
    tag: str
    index: int


def pick_examples(lengths: np.ndarray, labels: np.ndarray, quantiles: dict[str, float]) -> list[Example]:
    """Per class (in label order), the motions at the given quantiles of that class's lengths.

    lengths, labels: ``(sequences,)``. Within a class the motions are ordered by
    (length, index) and the one at rank ``q * (count - 1)``, rounded half up, is taken; a
    motion picked for two quantiles appears once, under the first name.
    """
    lengths, labels = np.asarray(lengths), np.asarray(labels)
    examples = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        ordered = idx[np.lexsort((idx, lengths[idx]))]
        seen = set()
        for tag, q in quantiles.items():
            i = int(ordered[int(np.floor(q * (len(ordered) - 1) + 0.5))])
            if i not in seen:
                seen.add(i)
                examples.append(Example(int(c), str(tag), i))
    return examples


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "class"


def example_stem(example: Example, meta: SkeletonMeta) -> str:
    """Stable file name stem ``<label>_<class>_<tag>`` (the same across experiments, so plots can be diffed)."""
    return f"{example.label:02d}_{_slug(meta.class_name(example.label))}_{example.tag}"


def render_gallery(out: str | Path, examples: list[Example], generated: MotionSet, training: MotionSet,
                   nearest: np.ndarray, distances: np.ndarray, meta: SkeletonMeta,
                   settings: GallerySettings = GallerySettings(),
                   render_settings: RenderSettings = RenderSettings()) -> list[Path]:
    """Draw one comparison PNG per example (+ GIFs for the first ``settings.gifs`` classes) into folder ``out``.

    nearest, distances: ``(examples,)`` index into ``training`` of each example's
    nearest training motion and the feature distance to it.
    Returns the written paths.
    """
    out = Path(out)
    order = sorted(settings.lengths, key=lambda k: settings.lengths[k])
    middle = order[len(order) // 2]
    animated = sorted({e.label for e in examples})[: settings.gifs]
    written = []
    from motioninr.progress import track

    for e, n, d in track(zip(examples, np.asarray(nearest), np.asarray(distances)), "render", total=len(examples),
                         unit="examples"):
        gen, ref = generated.sequence(e.index), training.sequence(int(n))
        gen_id, ref_id = str(generated.ids[e.index]), str(training.ids[int(n)])
        stem = example_stem(e, meta)
        written.append(out / f"{stem}.png")
        render_comparison(written[-1], gen, ref, meta, label=e.label, distance=float(d), generated_id=gen_id,
                          nearest_id=ref_id, nearest_label=int(training.labels[int(n)]), settings=render_settings)
        if e.tag == middle and e.label in animated:
            written.append(out / f"{stem}.gif")
            title = f"{meta.class_name(e.label)}: generated vs nearest training (distance {float(d):.2f})"
            labels = [f"generated\n{len(gen)} frames", f"training\n{len(ref)} frames"]  # fits a narrow panel
            render_gif(written[-1], [gen, ref], meta, labels=labels, title=title, settings=render_settings)
    return written

