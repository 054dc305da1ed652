"""The canonical processed dataset that every stage after ``prepare`` reads.

A processed dataset is a folder::

    train.npz   frames (total_frames, joints, 3) float32, metres, all sequences concatenated
                lengths (sequences,) int64, labels (sequences,) int64, ids (sequences,) str
                optional, where the source has rotations (see motioninr/rotations.py):
                rotations (total_frames, joints, 6) float32 local joint rotations, 6D
                offsets (joints, 3) float32 the dataset's rest skeleton, metres
                sequence_offsets (sequences, joints, 3) float32 each sequence's own skeleton
    test.npz    the same, when the dataset has a test split
    meta.json   class names, joint names, parents, fps, units, up axis, source,
                split rule, per-split counts and per-class length statistics,
                normalisation statistics of the model representation, and (with
                rotations) ``rotations``: their convention and the FK residuals

No padding and no pickles: loading a split is one read per array.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from motioninr.errors import DataError
from motioninr.io import atomic_path, load_json, load_npz, one_line

SPLITS = ("train", "test")
# Largest plausible joint coordinate, in metres after any unit scaling: motion capture volumes and
# walked trajectories stay far inside a kilometre, while a wrong unit (millimetres read as metres)
# or a corrupt value lies far outside.
MAX_POSITION_M = 1000.0


def implausible_frame(frames: np.ndarray) -> tuple[int, float] | None:
    """First frame of ``frames (frames, joints, 3)`` with a non-finite coordinate or one beyond
    :data:`MAX_POSITION_M`, as ``(frame, value)``; None when every value is plausible."""
    bad = ~(np.abs(frames) <= MAX_POSITION_M)  # also catches NaN
    if not bad.any():
        return None
    frame = int(np.flatnonzero(bad.reshape(len(frames), -1).any(axis=1))[0])
    values = frames[frame][bad[frame]]
    return frame, float(values[0])


def check_plausible(frames: np.ndarray, lengths: np.ndarray, ids, where: str) -> None:
    """Raise a one-line :class:`DataError` naming ``where``, the sample and the frame of the first
    implausible coordinate of concatenated motions ``frames (total_frames, joints, 3)``."""
    if not len(frames) or np.abs(frames).max() <= MAX_POSITION_M:
        return
    found = implausible_frame(frames)
    if found is None:
        return
    row, value = found
    offsets = np.cumsum(lengths)
    sample = int(np.searchsorted(offsets, row, side="right"))
    first = int(offsets[sample - 1]) if sample else 0
    raise DataError(f"{where}: sample {str(ids[sample])!r} frame {row - first}: coordinate {value:g}; expected "
                    f"finite positions within {MAX_POSITION_M:g} m of the origin (metres after scaling)")


@dataclass
class RawDataset:
    """What a loader returns: variable-length sequences in metres plus their labels.

    ``sequences[i]`` is ``(frames_i, joints, 3)`` float32. ``split`` holds the
    dataset's own split per sample (``"train"``/``"test"``) or is ``None`` when
    the dataset defines none.
    """

    sequences: list[np.ndarray]
    labels: np.ndarray
    ids: list[str]
    class_names: list[str]
    joint_names: list[str]
    parents: list[int]
    fps: float
    source: str
    up: str = "y"
    split: list[str] | None = None
    split_rule: str = "none"
    notes: dict = field(default_factory=dict)
    rotations: list[np.ndarray] | None = None
    sequence_offsets: list[np.ndarray] | None = None
    rotation_notes: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        n = len(self.sequences)
        if len(self.labels) != n or len(self.ids) != n or (self.split is not None and len(self.split) != n):
            raise ValueError("sequences, labels, ids and split must have one entry per sample")
        if self.rotations is not None:
            if len(self.rotations) != n or any(r.shape != s.shape[:2] + (3, 3) for r, s in zip(self.rotations, self.sequences)):
                raise ValueError("rotations must be one (frames, joints, 3, 3) array per sequence")
        if self.sequence_offsets is not None and (self.rotations is None or len(self.sequence_offsets) != n):
            raise ValueError("sequence_offsets need rotations and one (joints, 3) array per sequence")


@dataclass
class MotionSet:
    """Variable-length motions stored concatenated.

    frames:    (total_frames, joints, 3) float32
    lengths:   (sequences,) int64
    labels:    (sequences,) int64
    ids:       (sequences,) str
    rotations: (total_frames, joints, 6) float32 local rotations (6D), or None (positions only)
    skeleton:  (joints, 3) float32 rest offsets shared by all sequences (npz key ``offsets``), or None
    skeletons: (sequences, joints, 3) float32 each sequence's own rest offsets
               (npz key ``sequence_offsets``), or None (then ``skeleton`` holds for every sequence)
    """

    frames: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    rotations: np.ndarray | None = None
    skeleton: np.ndarray | None = None
    skeletons: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, dtype=np.float32)
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.ids = np.asarray(self.ids, dtype=str)
        if self.frames.ndim != 3 or self.frames.shape[-1] != 3:
            raise ValueError(f"frames must be (total_frames, joints, 3), got {self.frames.shape}")
        if int(self.lengths.sum()) != len(self.frames):
            raise ValueError(f"lengths sum to {int(self.lengths.sum())} but there are {len(self.frames)} frames")
        if not (len(self.lengths) == len(self.labels) == len(self.ids)):
            raise ValueError("lengths, labels and ids must have one entry per sequence")
        joints = self.frames.shape[1]
        for name, shape in (("rotations", self.frames.shape[:2] + (6,)), ("skeleton", (joints, 3)),
                            ("skeletons", (len(self.lengths), joints, 3))):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, dtype=np.float32)
                if value.shape != shape:
                    raise ValueError(f"{name} must be {shape}, got {value.shape}")
                setattr(self, name, value)
        if (self.rotations is None) != (self.skeleton is None) or (self.skeletons is not None and self.rotations is None):
            raise ValueError("rotations and offsets (skeleton) come together; sequence offsets need both")

    @property
    def has_rotations(self) -> bool:
        return self.rotations is not None

    @classmethod
    def from_sequences(cls, sequences: list[np.ndarray], labels, ids, rotations: list[np.ndarray] | None = None,
                       skeleton: np.ndarray | None = None, skeletons: np.ndarray | None = None) -> "MotionSet":
        """Concatenate a list of ``(frames_i, joints, 3)`` arrays (and their ``(frames_i, joints, 6)`` rotations)."""
        if len(sequences) == 0:
            raise ValueError("no sequences")
        return cls(
            frames=np.concatenate(sequences, axis=0),
            lengths=np.array([len(s) for s in sequences], dtype=np.int64),
            labels=labels,
            ids=ids,
            rotations=None if rotations is None else np.concatenate(rotations, axis=0),
            skeleton=skeleton,
            skeletons=skeletons,
        )

    def sequence_skeletons(self) -> np.ndarray:
        """Rest offsets of every sequence ``(sequences, joints, 3)`` (requires rotations)."""
        if self.skeletons is not None:
            return self.skeletons
        return np.broadcast_to(self.skeleton, (len(self), self.num_joints, 3))

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def num_joints(self) -> int:
        return self.frames.shape[1]

    @property
    def offsets(self) -> np.ndarray:
        """Start frame of each sequence, ``(sequences + 1,)`` with the total at the end."""
        return np.concatenate([[0], np.cumsum(self.lengths)])

    def sequence(self, i: int) -> np.ndarray:
        """The ``(lengths[i], joints, 3)`` frames of sequence ``i`` (a view)."""
        o = self.offsets
        return self.frames[o[i] : o[i + 1]]

    def sequences(self) -> Iterator[np.ndarray]:
        o = self.offsets
        for i in range(len(self)):
            yield self.frames[o[i] : o[i + 1]]

    def sequence_index(self) -> np.ndarray:
        """Sequence number of every frame, ``(total_frames,)``."""
        return np.repeat(np.arange(len(self)), self.lengths)

    def subset(self, index) -> "MotionSet":
        """The sequences selected by an integer index array or boolean mask, in that order."""
        index = np.arange(len(self))[index]
        seqs = [self.sequence(i) for i in index]
        if not seqs:
            empty = MotionSet(np.zeros((0, self.num_joints, 3), np.float32), [], [], np.array([], str))
            if self.has_rotations:
                empty = MotionSet(empty.frames, [], [], empty.ids, np.zeros((0, self.num_joints, 6), np.float32),
                                  self.skeleton, None if self.skeletons is None else self.skeletons[:0])
            return empty
        rots = None
        if self.has_rotations:
            o = self.offsets
            rots = [self.rotations[o[i]:o[i + 1]] for i in index]
        return MotionSet.from_sequences(seqs, self.labels[index], self.ids[index], rots, self.skeleton,
                                        None if self.skeletons is None else self.skeletons[index])

    def save(self, path: str | Path, **extra: np.ndarray) -> None:
        """Write as an uncompressed ``.npz`` (atomically)."""
        optional = {}
        if self.has_rotations:
            optional = {"rotations": self.rotations, "offsets": self.skeleton}
            if self.skeletons is not None:
                optional["sequence_offsets"] = self.skeletons
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, frames=self.frames, lengths=self.lengths, labels=self.labels, ids=self.ids,
                         **optional, **extra)

    @classmethod
    def load(cls, path: str | Path) -> "MotionSet":
        path = Path(path)
        arrays = load_npz(path, "a motion set .npz (frames, lengths, labels, ids)", ("frames", "lengths", "labels", "ids"))
        try:
            motions = cls(arrays["frames"], arrays["lengths"], arrays["labels"], arrays["ids"],
                          arrays.get("rotations"), arrays.get("offsets"), arrays.get("sequence_offsets"))
        except (ValueError, TypeError) as exc:
            raise DataError(f"{path}: inconsistent motion set ({one_line(exc)}); expected arrays frames, lengths, labels, "
                            "ids (and optionally rotations (frames, joints, 6) with offsets (joints, 3))") from None
        check_plausible(motions.frames, motions.lengths, motions.ids, str(path))
        return motions


def load_meta(processed: str | Path) -> dict:
    """Read ``meta.json`` of a processed dataset folder."""
    path = Path(processed) / "meta.json"
    if not path.is_file():
        raise DataError(f"{path}: not found; run the prepare stage first (dvc repro prepare)")
    return load_json(path, "the processed dataset's meta.json written by the prepare stage")


def load_split(processed: str | Path, split: str = "train") -> MotionSet:
    """Load one split of a processed dataset folder."""
    if split not in SPLITS:
        raise DataError(f"split {split!r} unknown; expected one of {', '.join(SPLITS)}")
    path = Path(processed) / f"{split}.npz"
    if not path.is_file():
        raise DataError(f"{path}: not found; the processed dataset has no {split} split")
    return MotionSet.load(path)


def save_processed(out: str | Path, splits: dict[str, MotionSet], meta: dict) -> None:
    """Write a processed dataset folder atomically (temporary folder renamed into place)."""
    with atomic_path(out, directory=True) as tmp:
        for name, ms in splits.items():
            ms.save(tmp / f"{name}.npz")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
