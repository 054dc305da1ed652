"""Covariances of Gaussian codes: stored as packed lower triangles, sampled through square-root factors."""

from __future__ import annotations

import numpy as np


def pack_covariances(cov: np.ndarray, covariance_type: str) -> np.ndarray:
    """Storage layout of covariances, float32: full/tied matrices ``(..., D, D)`` keep only their
    lower triangle, ``(..., D * (D + 1) / 2)``, row-major; diag ``(k, D)`` and spherical ``(k,)`` as they are."""
    cov = np.asarray(cov)
    if covariance_type in ("full", "tied"):
        rows, cols = np.tril_indices(cov.shape[-1])
        return cov[..., rows, cols].astype(np.float32)
    return cov.astype(np.float32)


def unpack_covariances(packed: np.ndarray, dim: int) -> np.ndarray:
    """Inverse of :func:`pack_covariances` for full/tied: ``(..., D * (D + 1) / 2)`` -> ``(..., D, D)`` float64."""
    rows, cols = np.tril_indices(dim)
    out = np.zeros(packed.shape[:-1] + (dim, dim), dtype=np.float64)
    out[..., rows, cols] = packed
    out[..., cols, rows] = packed
    return out


def square_root_factor(cov: np.ndarray) -> np.ndarray:
    """Square-root factors ``L`` with ``L @ L.T = cov`` for a stack ``(..., D, D)``.

    The Cholesky factor when it exists; else (float32 storage can leave a tiny negative
    eigenvalue) the eigenvector factor with the negative eigenvalues clipped to zero."""
    cov = np.asarray(cov, dtype=np.float64)
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(cov)
        return v * np.sqrt(np.clip(w, 0.0, None))[..., None, :]
