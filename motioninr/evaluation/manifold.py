"""Coverage of the real distribution by a generated one, on evaluator features ``(samples, d)``.

k-nearest-neighbour balls around each sample estimate a set's support; every
comparison is a strict ``<`` against the ball radius, as in the reference code
of Naeem et al., so a set compared with itself scores exactly 1 on all four.

- :func:`precision_recall`   Kynkaanniemi et al. 2019: share of generated samples inside the real
                             manifold (union of real k-NN balls), and of real samples inside the
                             generated manifold
- :func:`density_coverage`   Naeem et al. 2020: mean number of real balls holding a generated sample
                             divided by k, and share of real balls holding at least one generated sample
- :func:`copies`             share of generated samples closer to their nearest training sample than
                             that training sample is to its own nearest other training sample
                             (the authenticity test of Alaa et al. 2022; replay scores near 1)

Distances come in row blocks of one matrix product each (no loop over samples).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from motioninr.evaluation.metrics import _features

BLOCK_ELEMENTS = 1 << 22  # distances per block (32 MiB of float64)


def distance_blocks(queries: np.ndarray, references: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(rows, squared distances)``: ``(block, m)`` from query rows ``rows`` to all references.

    Squared, since every comparison here is against a radius of the same kind: no square roots.
    """
    q = _features(queries, "queries").astype(np.float64)
    r = _features(references, "references").astype(np.float64)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"feature sizes differ: {q.shape[1]} vs {r.shape[1]}")
    q_sq, r_sq = np.einsum("ij,ij->i", q, q), np.einsum("ij,ij->i", r, r)
    step = max(1, BLOCK_ELEMENTS // max(len(r), 1))
    for start in range(0, len(q), step):
        rows = slice(start, min(start + step, len(q)))
        d2 = q_sq[rows, None] + r_sq[None, :] - 2.0 * (q[rows] @ r.T)
        yield rows, np.maximum(d2, 0.0, out=d2)


def neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance ``(n,)`` from each sample to its k-th nearest other sample of the same set.

    ``k`` is capped at ``n - 1``; a set of one sample has radius NaN.
    """
    f = _features(features)
    n = len(f)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n < 2:
        return np.full(n, np.nan)
    return np.sqrt(squared_radii(f, min(k, n - 1)))


def squared_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Squared :func:`neighbour_radii` ``(n,)`` for ``1 <= k <= n - 1``, as compared inside this module."""
    f = _features(features)
    radii = np.empty(len(f))
    for rows, d in distance_blocks(f, f):
        d[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] = np.inf  # not its own neighbour
        radii[rows] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return radii


def manifold_metrics(real: np.ndarray, generated: np.ndarray, k: int = 5,
                     real_radii: np.ndarray | None = None) -> tuple[float, float, float, float]:
    """Precision, recall, density and coverage of ``generated`` against ``real`` in one pass.

    One distance block per row block of ``generated`` serves all four (its transpose gives recall
    and coverage); ``real_radii`` (:func:`squared_radii` of ``real`` with this ``k``) can be passed
    when several sets are compared with the same real features. NaN where a set is too small
    (fewer than 2 real samples; recall also needs 2 generated samples).
    """
    real, generated = _features(real, "real"), _features(generated, "generated")
    if len(real) < 2 or len(generated) == 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    k_real = min(k, len(real) - 1)
    r_radii = squared_radii(real, k_real) if real_radii is None else np.asarray(real_radii)
    g_radii = squared_radii(generated, min(k, len(generated) - 1)) if len(generated) > 1 else None
    inside = np.zeros(len(generated), np.int64)      # real balls holding each generated sample
    nearest = np.full(len(real), np.inf)             # each real sample's nearest generated sample
    recalled = np.zeros(len(real), bool)             # real samples inside some generated ball
    for rows, d in distance_blocks(generated, real):
        inside[rows] = (d < r_radii[None, :]).sum(axis=1)
        np.minimum(nearest, d.min(axis=0), out=nearest)
        if g_radii is not None:
            recalled |= (d < g_radii[rows, None]).any(axis=0)
    precision = float((inside > 0).mean())
    recall = float(recalled.mean()) if g_radii is not None else float("nan")
    density = float(inside.sum() / (k_real * len(generated)))
    coverage = float((nearest < r_radii).mean())
    return precision, recall, density, coverage


def precision_recall(real: np.ndarray, generated: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019)."""
    return manifold_metrics(real, generated, k)[:2]


def density_coverage(real: np.ndarray, generated: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of ``generated`` against the k-NN balls of ``real``."""
    return manifold_metrics(real, generated, k)[2:]


def copies(nearest_distance: np.ndarray, nearest_index: np.ndarray, training_radii: np.ndarray) -> np.ndarray:
    """Boolean ``(n,)``: generated sample closer to its nearest training sample than that sample's own neighbour.

    ``nearest_distance`` / ``nearest_index``: each generated sample's nearest training sample (the MMS
    search, :func:`motioninr.evaluation.metrics.nearest_distances`); ``training_radii``: each training
    sample's distance to its nearest other training sample (:func:`neighbour_radii` with k = 1).
    """
    return np.asarray(nearest_distance) < np.asarray(training_radii)[np.asarray(nearest_index)]
