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
from threadpoolctl import ThreadpoolController

from motioninr.data.dataset import MotionSet
from motioninr.evaluation import manifold
from motioninr.evaluation.physics import PHYSICS_METRICS, PhysicsSettings, Skeleton, physics_metrics

_THREADS = ThreadpoolController()  # found once: each limit() is then a cheap switch
COVERAGE_METRICS = ("precision", "recall", "density", "coverage", "copies")
EXTRA_METRICS = COVERAGE_METRICS + PHYSICS_METRICS


@dataclass
class ExtraMetrics:
    """Computes :data:`EXTRA_METRICS` for one set in one replication; caches what does not change."""

    neighbours: int = 5
    skeleton: Skeleton | None = None
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    _physics: dict[int, tuple[np.ndarray, dict[str, float]]] = field(default_factory=dict, repr=False)
    _radii: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return EXTRA_METRICS if self.skeleton is not None else COVERAGE_METRICS

    def radii(self, features: np.ndarray, k: int) -> np.ndarray:
        """:func:`~.manifold.squared_radii` of a feature array, kept for the arrays of the current replication."""
        key = (id(features), k)
        if key not in self._radii:
            if len(self._radii) >= 6:     # a replication compares with at most three arrays (crop A, crop B, training)
                self._radii.clear()
            self._radii[key] = (features, manifold.squared_radii(features, k) if len(features) > k
                                else np.full(len(features), np.nan))
        return self._radii[key][1]

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
        k = min(self.neighbours, max(len(target) - 1, 1))
        # small products: one BLAS thread is several times faster than two fighting over a busy CPU
        with _THREADS.limit(limits=1, user_api="blas"):
            precision, recall, density, coverage = manifold.manifold_metrics(target, feats, k, self.radii(target, k))
            copied = manifold.copies(nearest_distance, nearest_index, np.sqrt(self.radii(reference, 1)))
        values = {"precision": precision, "recall": recall, "density": density, "coverage": coverage,
                  "copies": float(copied.mean())}
        if self.skeleton is not None:
            with _THREADS.limit(limits=1, user_api="blas"):
                values.update(self.physical(motions))
        return values, copied
