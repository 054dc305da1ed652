"""From a loaded raw dataset to the canonical processed splits and their metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from motioninr.data.dataset import MotionSet, RawDataset
from motioninr.data.representation import normalization_stats
from motioninr.errors import DataError
from motioninr import rotations as rot
from motioninr.settings import require
from motioninr.skeleton import guess_foot_joints


@dataclass(frozen=True)
class PrepareSettings:
    """How raw sequences become the processed dataset (``params.yaml: data``, minus the loader fields)."""

    target_fps: float | None = None
    min_length: int = 1
    max_length: int | None = None
    root_to_origin: Literal["xyz", "horizontal", "none"] = "xyz"
    split: Literal["auto", "dataset", "stratified"] = "auto"
    test_fraction: float = 0.0
    split_seed: int = 0
    foot_joints: tuple[str, ...] | None = None  # joints touching the floor (foot skating); None guesses from names

    def validate(self, where: str = "data") -> None:
        require(self.target_fps is None or self.target_fps > 0, f"{where}.target_fps", self.target_fps, "a positive number or null")
        require(self.min_length >= 1, f"{where}.min_length", self.min_length, "an integer >= 1")
        require(
            self.max_length is None or self.max_length >= self.min_length,
            f"{where}.max_length", self.max_length, f"null or an integer >= min_length ({self.min_length})",
        )
        require(0.0 <= self.test_fraction < 1.0, f"{where}.test_fraction", self.test_fraction, "a number in [0, 1)")


def resample_fps(seq: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Linearly resample ``(frames, joints, 3)`` from ``fps`` to ``target_fps`` (same duration)."""
    if abs(fps - target_fps) < 1e-9 or len(seq) < 2:
        return seq
    n_new = max(1, int(round((len(seq) - 1) * target_fps / fps)) + 1)
    t = np.linspace(0.0, len(seq) - 1, n_new)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, len(seq) - 1)
    w = (t - i0)[:, None, None].astype(seq.dtype)
    return seq[i0] * (1 - w) + seq[i1] * w


def resample_rotations(mats: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Resample local rotation matrices ``(frames, joints, 3, 3)`` like :func:`resample_fps`.

    The matrices are interpolated linearly and made rotations again through the 6D representation
    (Gram-Schmidt), which for neighbouring frames is within a hair of spherical interpolation.
    """
    if abs(fps - target_fps) < 1e-9 or len(mats) < 2:
        return mats
    flat = rot.matrix_to_rot6d(mats)
    return rot.rot6d_to_matrix_np(resample_fps(flat, fps, target_fps))


def rotation_meta(raw: RawDataset, splits: dict[str, MotionSet], fits: dict[str, dict]) -> dict:
    """The ``rotations`` entry of ``meta.json``: convention, where the rotations come from, FK residuals."""
    return {
        "convention": rot.CONVENTION,
        "up": raw.up,
        **raw.rotation_notes,
        "offsets_fit": ("least squares over all training frames of the bones seen in their parents' frames "
                        "(offsets); sequence_offsets: the same per sequence"
                        + (", except where the source gives each sequence's skeleton exactly" if raw.sequence_offsets else "")),
        "residual_m": {name: {k: round(v, 6) for k, v in fit.items()} for name, fit in fits.items()},
    }


def move_root_to_origin(seq: np.ndarray, mode: str) -> np.ndarray:
    """Subtract the first frame's root position (all axes for ``xyz``; the ground-plane axes for ``horizontal``)."""
    if mode == "none":
        return seq
    offset = seq[0, 0].copy()
    if mode == "horizontal":
        offset[1] = 0.0  # y is up in the processed data
    return seq - offset


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of test samples: ``round(test_fraction * n_c)`` per class, at least one left for training."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    if test_fraction <= 0:
        return test
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_test = min(int(round(test_fraction * len(idx))), len(idx) - 1)
        test[rng.permutation(idx)[:n_test]] = True
    return test


def _length_stats(lengths: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict:
    stats = {}
    for c, name in enumerate(class_names):
        ls = lengths[labels == c]
        stats[name] = (
            {"count": int(len(ls)), "min": int(ls.min()), "max": int(ls.max()),
             "mean": round(float(ls.mean()), 2), "median": float(np.median(ls))}
            if len(ls) else {"count": 0}
        )
    return stats


def foot_joints(joint_names: list[str], chosen: tuple[str, ...] | None) -> list[str]:
    """The foot joints stated in ``meta.json``: ``chosen`` (checked against the skeleton) or guessed from the names."""
    if chosen is None:
        return guess_foot_joints(joint_names)
    unknown = [n for n in chosen if n not in joint_names]
    if unknown:
        raise DataError(f"data.foot_joints: {unknown[0]!r} is not a joint of this skeleton; expected names from {list(joint_names)}")
    return list(chosen)


def prepare(raw: RawDataset, settings: PrepareSettings) -> tuple[dict[str, MotionSet], dict]:
    """Resample, filter, re-centre and split ``raw``; return the splits and ``meta.json`` content."""
    feet = foot_joints(list(raw.joint_names), settings.foot_joints)
    fps = float(settings.target_fps or raw.fps)
    seqs, mats, keep = [], [], []
    for i, seq in enumerate(raw.sequences):
        seq = np.asarray(seq, dtype=np.float32)
        if settings.target_fps:
            seq = resample_fps(seq, raw.fps, settings.target_fps)
        if len(seq) < settings.min_length or (settings.max_length and len(seq) > settings.max_length):
            continue
        seqs.append(move_root_to_origin(seq, settings.root_to_origin))
        if raw.rotations is not None:
            m = np.asarray(raw.rotations[i], dtype=np.float64)
            mats.append(resample_rotations(m, raw.fps, settings.target_fps) if settings.target_fps else m)
        keep.append(i)
    if not keep:
        raise DataError(
            f"{raw.source}: no sequence has a length within data.min_length={settings.min_length} "
            f"and data.max_length={settings.max_length}; lengths range "
            f"{min(map(len, raw.sequences))}..{max(map(len, raw.sequences))}"
        )
    keep = np.asarray(keep)
    labels = raw.labels[keep]
    ids = np.asarray(raw.ids)[keep]

    mode = settings.split
    if mode == "dataset" and raw.split is None:
        raise DataError(f"data.split: got 'dataset', but {raw.source} defines no train/test split; use auto or stratified")
    if raw.split is not None and mode in ("auto", "dataset"):
        test = np.asarray(raw.split)[keep] == "test"
        split_rule = raw.split_rule
    else:
        test = stratified_split(labels, settings.test_fraction, settings.split_seed)
        split_rule = (
            f"stratified, test_fraction={settings.test_fraction}, seed={settings.split_seed}"
            if settings.test_fraction > 0 else "all samples in train"
        )

    splits: dict[str, MotionSet] = {}
    for name, mask in (("train", ~test), ("test", test)):
        idx = np.flatnonzero(mask)
        if len(idx):
            splits[name] = MotionSet.from_sequences([seqs[i] for i in idx], labels[idx], ids[idx])
    if "train" not in splits:
        raise DataError(f"{raw.source}: the split rule ({split_rule}) leaves no training sample")
    rotation_info = None
    if raw.rotations is not None:
        splits, fits = _attach_rotations(raw, splits, test, mats, keep)
        rotation_info = rotation_meta(raw, splits, fits)

    train = splits["train"]
    meta = {
        "source": raw.source,
        "class_names": list(raw.class_names),
        "num_classes": len(raw.class_names),
        "joint_names": list(raw.joint_names),
        "parents": [int(p) for p in raw.parents],
        "foot_joints": feet,
        "num_joints": int(train.num_joints),
        "fps": fps,
        "source_fps": float(raw.fps),
        "units": "m",
        "up": raw.up,
        "root_to_origin": settings.root_to_origin,
        "split_rule": split_rule,
        "splits": {
            name: {
                "sequences": len(ms),
                "frames": int(ms.lengths.sum()),
                "length_min": int(ms.lengths.min()),
                "length_max": int(ms.lengths.max()),
                "per_class": _length_stats(ms.lengths, ms.labels, list(raw.class_names)),
            }
            for name, ms in splits.items()
        },
        "dropped_by_length": int(len(raw.sequences) - len(keep)),
        "normalization": normalization_stats(train.frames),
        **({"rotations": rotation_info} if rotation_info else {}),
        **({"notes": raw.notes} if raw.notes else {}),
    }
    return splits, meta


def _attach_rotations(raw: RawDataset, splits: dict[str, MotionSet], test: np.ndarray, mats: list[np.ndarray],
                      keep: np.ndarray) -> tuple[dict[str, MotionSet], dict[str, dict]]:
    """Add 6D rotations, the dataset's rest offsets (fitted on train) and per-sequence offsets to the splits."""
    train_idx = np.flatnonzero(~test)
    train = splits["train"]
    train_mats = np.concatenate([mats[i] for i in train_idx])
    skeleton, _, fit = rot.fit_offsets(train.frames, train_mats, raw.parents)
    out, fits = {}, {}
    for name, mask in (("train", ~test), ("test", test)):
        if name not in splits:
            continue
        ms, idx = splits[name], np.flatnonzero(mask)
        split_mats = np.concatenate([mats[i] for i in idx])
        _, fitted, report = rot.fit_offsets(ms.frames, split_mats, raw.parents, ms.lengths)
        if raw.sequence_offsets is not None:  # the source knows each sequence's skeleton
            fitted = np.stack([raw.sequence_offsets[keep[i]] for i in idx])
            seq = np.repeat(np.arange(len(idx)), ms.lengths)
            report.update(rot.fk_residual(ms.frames.astype(np.float64), split_mats, fitted[seq], raw.parents, "sequence"))
        if name != "train":  # the dataset's skeleton is the training split's
            report.update(rot.fk_residual(ms.frames.astype(np.float64), split_mats, skeleton[None], raw.parents, "dataset"))
        fits[name] = report
        out[name] = MotionSet(ms.frames, ms.lengths, ms.labels, ms.ids,
                              rotations=rot.matrix_to_rot6d(split_mats).astype(np.float32),
                              skeleton=skeleton.astype(np.float32), skeletons=fitted.astype(np.float32))
    return out, fits
