"""The metrics beyond FID, measured per replication beside the protocol's own (see :mod:`.protocol`).

- coverage of the compared features: precision, recall (Kynkaanniemi et al. 2019), density and
  coverage (Naeem et al. 2020) against the set FID compares with (real crop A; crop B for the real row);
- ``copies``: share of motions closer to their nearest training motion than that motion is to its
  own nearest other training motion (the MMS search's neighbours, Alaa et al. 2022);
- physical plausibility of the motions themselves (:mod:`.physics`), when a skeleton is given.

Nothing here draws random numbers: the values depend only on the features and motions of the
replication, so adding these metrics leaves every existing metric unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motioninr.data.dataset import MotionSet
from motioninr.evaluation import manifold
from motioninr.evaluation.physics import PHYSICS_METRICS, PhysicsSettings, Skeleton, physics_metrics

COVERAGE_METRICS = ("precision", "recall", "density", "coverage", "copies")
EXTRA_METRICS = COVERAGE_METRICS + PHYSICS_METRICS


@dataclass
class ExtraMetrics:
    """Computes :data:`EXTRA_METRICS` for one set in one replication; caches what does not change."""

    neighbours: int = 5
    skeleton: Skeleton | None = None
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    _physics: dict[int, tuple[np.ndarray, dict[str, float]]] = field(default_factory=dict, repr=False)
    _radii: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return EXTRA_METRICS if self.skeleton is not None else COVERAGE_METRICS

    def training_radii(self, reference: np.ndarray) -> np.ndarray:
        """Each reference feature's distance to its nearest other reference feature (once per replication)."""
        if self._radii is None or self._radii[0] is not reference:
            self._radii = (reference, manifold.neighbour_radii(reference, 1))
        return self._radii[1]

    def physical(self, motions: MotionSet) -> dict[str, float]:
        """Physical metrics of a motion set, computed once per set (the array is kept so its id stays unique)."""
        key = id(motions.frames)
        if key not in self._physics:
            self._physics[key] = (motions.frames, physics_metrics(motions, self.skeleton, self.physics))
        return self._physics[key][1]

    def measure(self, motions: MotionSet, feats: np.ndarray, target: np.ndarray, reference: np.ndarray,
                nearest_distance: np.ndarray, nearest_index: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        """Values of :attr:`names` and the per-motion copy flags ``(motions,)`` of one set in one replication.

        ``feats``: the set's features; ``target``: the features FID compares them with; ``reference``:
        the training features MMS searches, with each motion's nearest one (``nearest_*``).
        """
        precision, recall = manifold.precision_recall(target, feats, self.neighbours)
        density, coverage = manifold.density_coverage(target, feats, self.neighbours)
        copied = manifold.copies(nearest_distance, nearest_index, self.training_radii(reference))
        values = {"precision": precision, "recall": recall, "density": density, "coverage": coverage,
                  "copies": float(copied.mean())}
        if self.skeleton is not None:
            values.update(self.physical(motions))
        return values, copied
