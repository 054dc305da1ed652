"""Shared fixtures: small synthetic motion data in the canonical formats."""

from __future__ import annotations

# The stages pin the numerical libraries' CPU code paths before they load; tests comparing a stage run
# in a subprocess with a computation in this process need the same pins, set before numpy and torch load.
from motioninr.numerics import pin_cpu_kernels

pin_cpu_kernels()

import os  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from motioninr.data.dataset import RawDataset, save_processed
from motioninr.data.prepare import PrepareSettings, prepare
from motioninr.skeleton import SMPL_JOINTS, SMPL_PARENTS

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def synthetic_raw(n_classes: int = 3, per_class: int = 6, joints: int = 24, seed: int = 0,
                  min_len: int = 20, max_len: int = 50) -> RawDataset:
    """Smooth class-dependent oscillations of a rest pose: cheap, valid, learnable motions."""
    rng = np.random.default_rng(seed)
    rest = rng.normal(scale=0.3, size=(joints, 3)).astype(np.float32)
    rest[:, 1] += np.linspace(0.0, 1.6, joints, dtype=np.float32)
    seqs, labels, ids = [], [], []
    for c in range(n_classes):
        for k in range(per_class):
            T = int(rng.integers(min_len, max_len + 1))
            t = np.arange(T, dtype=np.float32)[:, None, None]
            freq = 0.1 * (c + 1) * rng.uniform(0.8, 1.2)
            amp = 0.05 * (c + 1)
            phase = np.linspace(0, np.pi, joints, dtype=np.float32)[None, :, None]
            seqs.append((rest[None] + amp * np.sin(freq * t + phase)).astype(np.float32))
            labels.append(c)
            ids.append(f"c{c}_s{k:02d}")
    return RawDataset(
        sequences=seqs, labels=np.array(labels), ids=ids,
        class_names=[f"class{c}" for c in range(n_classes)],
        joint_names=list(SMPL_JOINTS[:joints]) if joints == 24 else [f"j{j}" for j in range(joints)],
        parents=list(SMPL_PARENTS) if joints == 24 else [-1] + list(range(joints - 1)),
        fps=20.0, source="synthetic",
    )


@pytest.fixture
def processed_dir(tmp_path):
    """A tiny processed dataset folder (3 classes x 6 sequences, 24 joints, 20 fps, with a test split)."""
    splits, meta = prepare(synthetic_raw(), PrepareSettings(test_fraction=0.34))
    out = tmp_path / "processed"
    save_processed(out, splits, meta)
    return out
