"""Generation metrics on classifier feature arrays (Action2Motion / ACTOR / MotionINR protocol).

Every function takes plain arrays: features ``(samples, feature_dim)`` (the
30-d ``tanh(linear1)`` activations of the action classifier), labels
``(samples,)`` and logits ``(samples, classes)``. Random pair sampling takes a
``numpy.random.Generator`` so a replication is reproducible.

- :func:`accuracy`        argmax of the logits against the conditioning labels
- :func:`fid`             Frechet distance between Gaussians fitted with ``mean`` / ``np.cov``
- :func:`diversity`       mean L2 distance of random pairs over all features (200 pairs)
- :func:`multimodality`   mean L2 distance of random same-class pairs (20 per class), averaged over classes
- :func:`mms`             Mean Maximum Similarity: mean distance of each generated
                          feature to its nearest training feature (a replaying generator scores ~0)
- :func:`mean_ci`         mean and 1.96 x std / sqrt(R) over R replications
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

FID_EPS = 1e-6  # added to the covariance diagonals when the product's square root is not finite


def _features(x: np.ndarray, name: str = "features") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be (samples, feature_dim), got shape {x.shape}")
    return x


def predictions(logits: np.ndarray) -> np.ndarray:
    """Predicted class per sample, ``(samples,)`` int64, from logits ``(samples, classes)``."""
    return np.asarray(logits).argmax(axis=1).astype(np.int64)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose argmax logit equals the label."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return float("nan")
    return float((predictions(logits) == labels).mean())


def confusion_matrix(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``(classes, classes)`` counts; row = true label, column = predicted class."""
    pred = predictions(logits)
    flat = np.asarray(labels, dtype=np.int64) * num_classes + pred
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(d,)`` and covariance ``(d, d)`` (``np.cov``, unbiased) of ``(samples, d)`` features."""
    f = _features(features).astype(np.float64)
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = FID_EPS) -> float:
    """Frechet distance ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrt(S1 S2))`` between two Gaussians.

    As in the reference implementations: the matrix square root is
    ``scipy.linalg.sqrtm``; if it is not finite, ``eps`` is added to both
    diagonals and it is recomputed; a residual imaginary part is dropped.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"mismatched statistics: means {mu1.shape} vs {mu2.shape}, covariances {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # small or degenerate feature sets give singular covariances; the eps retry below handles them
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID between two feature sets ``(n_a, d)`` and ``(n_b, d)``; NaN when either has fewer than 2 samples."""
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


def _pair_distance(features: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    f = features.astype(np.float64)
    return np.linalg.norm(f[first] - f[second], axis=-1)


def diversity(features: np.ndarray, pairs: int = 200, rng: np.random.Generator | None = None) -> float:
    """Mean L2 distance over ``pairs`` random pairs (indices drawn with replacement) of all features."""
    f = _features(features)
    if len(f) == 0:
        return float("nan")
    rng = np.random.default_rng() if rng is None else rng
    first = rng.integers(0, len(f), pairs)
    second = rng.integers(0, len(f), pairs)
    return float(_pair_distance(f, first, second).mean())


def multimodality(features: np.ndarray, labels: np.ndarray, pairs: int = 20,
                  rng: np.random.Generator | None = None) -> float:
    """Mean L2 distance over ``pairs`` random same-class pairs per class, averaged over the classes present.

    Pairs are drawn with replacement within each class (as in Action2Motion and
    MotionINR), all classes at once.
    """
    f = _features(features)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(f):
        raise ValueError(f"{len(labels)} labels for {len(f)} features")
    if len(f) == 0:
        return float("nan")
    rng = np.random.default_rng() if rng is None else rng
    order = np.argsort(labels, kind="stable")
    classes, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    # (classes, pairs) positions inside each class's block of the sorted order
    first = order[starts[:, None] + (rng.random((len(classes), pairs)) * counts[:, None]).astype(np.int64)]
    second = order[starts[:, None] + (rng.random((len(classes), pairs)) * counts[:, None]).astype(np.int64)]
    per_class = _pair_distance(f, first, second).mean(axis=1)
    return float(per_class.mean())


def nearest_distances(queries: np.ndarray, references: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each query ``(n, d)`` to its nearest reference ``(m, d)`` and that reference's index.

    The search uses chunked matrix products (``|q|^2 + |r|^2 - 2 q.r``) in float32;
    the winning distance is then recomputed exactly in float64, so an exact copy
    gives exactly 0. Returns ``(n,)`` float64 distances and ``(n,)`` int64 indices.
    """
    q = _features(queries, "queries")
    r = _features(references, "references")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"feature sizes differ: {q.shape[1]} vs {r.shape[1]}")
    if len(r) == 0:
        raise ValueError("no reference features")
    q32, r32 = q.astype(np.float32), r.astype(np.float32)
    r_sq = np.einsum("ij,ij->i", r32, r32)
    r_m2 = np.ascontiguousarray(-2.0 * r32.T)
    index = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), chunk):
        # |r|^2 - 2 q.r per pair; |q|^2 is constant per row, so it does not change the argmin
        scores = q32[start:start + chunk] @ r_m2
        scores += r_sq
        index[start:start + chunk] = scores.argmin(axis=1)
    dist = np.linalg.norm(q.astype(np.float64) - r.astype(np.float64)[index], axis=1)
    return dist, index


def mms(generated: np.ndarray, training: np.ndarray, chunk: int = 1024) -> float:
    """Mean Maximum Similarity: mean over generated features of the L2 distance to the nearest training feature."""
    g = _features(generated, "generated")
    if len(g) == 0:
        return float("nan")
    return float(nearest_distances(g, training, chunk)[0].mean())


def mean_ci(values, z: float = 1.96) -> tuple[float, float]:
    """Mean and half-width ``z * std / sqrt(R)`` (unbiased std) of R replication values, NaNs ignored."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float(v[0]), 0.0
    return float(v.mean()), float(z * v.std(ddof=1) / np.sqrt(len(v)))
