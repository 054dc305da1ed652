"""The replicated evaluation protocol: real reference row, generated sets, per class and per length bin.

Per replication ``r`` (its own seeded random crops and pairs):

- real row: two independent random crops A and B of the real motions;
  accuracy, diversity and multimodality of A, FID(A, B), MMS of A against the
  training features (crop B when the real set is the training split);
- every generated set G: accuracy against its conditioning labels, FID(G, A),
  diversity, multimodality, and MMS against the training features.

Values are reported as mean and 1.96 x std / sqrt(R). FID is also computed
per length bin (real and generated motions binned by their own length) for
sets whose lengths vary, with the real A/B FID per bin as the small-sample floor.

An optional :class:`~motioninr.evaluation.extra.ExtraMetrics` adds, per set and replication,
precision/recall, density/coverage and copies on the same features (against what FID compares
with) and the physical metrics of the motions; it draws no random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError
from motioninr.evaluation import metrics as M
from motioninr.evaluation.classifier import (
    CROP_LENGTH, FEATURE_DIM, HIDDEN_INITS, ActionClassifier, classify_motions, crop_starts, torch_generator,
)
from motioninr.evaluation.extra import ExtraMetrics
from motioninr.evaluation.physics import PhysicsSettings
from motioninr.evaluation.results import METRICS, REAL, EvaluationResult
from motioninr.evaluation.training import EvaluatorTrainSettings
from motioninr.settings import require


@dataclass(frozen=True)
class EvaluateSettings:
    """``evaluate`` in params.yaml."""

    classifier: str | None = None   # pretrained evaluator file (ours or Action2Motion .tar); null trains one
    replications: int = 20
    crop: str = "random"             # random | start: where the 60-frame clip of a longer motion begins
    hidden_init: str = "zeros"       # zeros (MotionINR) | random (Action2Motion, ACTOR)
    diversity_pairs: int = 200
    multimodality_pairs: int = 20
    real_split: str = "train"        # the real reference set: train (as published) | test
    length_bins: int = 4             # equal-population bins of the real lengths for FID per length
    seed: int = 0
    batch_size: int = 1024
    device: str = "auto"
    threads: int = 1                 # torch CPU threads; the GRU's small per-step products run fastest on one
    neighbours: int = 5              # k of the k-NN balls of precision/recall and density/coverage
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    train: EvaluatorTrainSettings = field(default_factory=EvaluatorTrainSettings)

    def validate(self, where: str = "evaluate") -> None:
        require(self.replications >= 1, f"{where}.replications", self.replications, "an integer >= 1")
        require(self.crop in ("random", "start"), f"{where}.crop", self.crop, "random or start")
        require(self.hidden_init in HIDDEN_INITS, f"{where}.hidden_init", self.hidden_init, " or ".join(HIDDEN_INITS))
        require(self.diversity_pairs >= 1, f"{where}.diversity_pairs", self.diversity_pairs, "an integer >= 1")
        require(self.multimodality_pairs >= 1, f"{where}.multimodality_pairs", self.multimodality_pairs, "an integer >= 1")
        require(self.real_split in ("train", "test"), f"{where}.real_split", self.real_split, "train or test")
        require(self.length_bins >= 1, f"{where}.length_bins", self.length_bins, "an integer >= 1")
        require(self.batch_size >= 1, f"{where}.batch_size", self.batch_size, "an integer >= 1")
        require(self.threads >= 1, f"{where}.threads", self.threads, "an integer >= 1")
        require(self.neighbours >= 1, f"{where}.neighbours", self.neighbours, "an integer >= 1")


def length_bin_edges(lengths: np.ndarray, bins: int) -> np.ndarray:
    """Integer edges ``(k + 1,)``, ``k <= bins``, splitting ``lengths`` into near-equal-population bins."""
    lengths = np.asarray(lengths, dtype=np.int64)
    q = np.quantile(lengths, np.linspace(0, 1, bins + 1)[1:-1]) if bins > 1 else np.array([])
    inner = np.unique(np.ceil(q).astype(np.int64))
    inner = inner[(inner > lengths.min()) & (inner <= lengths.max())]
    return np.concatenate([[lengths.min()], inner, [lengths.max() + 1]]).astype(np.int64)


def bin_index(lengths: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each length, ``(n,)``; lengths outside the edges go to the first or last bin."""
    return np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)


class _SetFeatures:
    """Features of one motion set, redrawn per replication.

    With a zero initial state, clips that cannot change between replications
    (sequences no longer than ``crop_length + 1`` frames, or every sequence with
    ``crop="start"``) are classified once and reused; only the others are
    re-cropped and re-classified. Results equal a full :func:`extract_features` pass.
    """

    def __init__(self, clf: ActionClassifier, motions: MotionSet, crop: str, batch_size: int) -> None:
        self.clf, self.motions, self.crop, self.batch_size = clf, motions, crop, batch_size
        n = len(motions)
        if clf.hidden_init == "zeros":
            self.static = np.ones(n, bool) if crop == "start" else motions.lengths <= CROP_LENGTH + 1
        else:
            self.static = np.zeros(n, bool)
        self.feats = np.zeros((n, FEATURE_DIM), np.float32)
        self.logits = np.zeros((n, clf.num_classes), np.float32)
        if self.static.any():
            zeros = np.zeros(int(self.static.sum()), np.int64)
            self.feats[self.static], self.logits[self.static] = classify_motions(clf, motions, zeros, self.static, batch_size)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(N, 30)`` and logits ``(N, C)`` of one fresh random crop of every motion."""
        feats, logits = self.feats.copy(), self.logits.copy()
        moving = ~self.static
        starts = crop_starts(self.motions.lengths, CROP_LENGTH, rng, self.crop)  # all, to match extract_features
        if moving.any():
            generator = torch_generator(rng) if self.clf.hidden_init == "random" else None
            feats[moving], logits[moving] = classify_motions(self.clf, self.motions, starts[moving], moving,
                                                             self.batch_size, generator)
        return feats, logits


def _check_set(name: str, motions: MotionSet, clf: ActionClassifier, num_classes: int) -> None:
    if len(motions) == 0:
        raise DataError(f"{name}: no motions to evaluate")
    if motions.num_joints * 3 != clf.input_size:
        raise DataError(f"{name}: motions have {motions.num_joints} joints but the evaluator expects {clf.num_joints}")
    if motions.labels.min() < 0 or motions.labels.max() >= num_classes:
        raise DataError(f"{name}: labels span {motions.labels.min()}..{motions.labels.max()}, expected 0..{num_classes - 1}")


def _class_sums(values: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class sum of ``values`` and per-class count, both ``(classes,)``."""
    sums = np.bincount(labels, weights=values, minlength=num_classes)
    counts = np.bincount(labels, minlength=num_classes)
    return sums, counts


def evaluate_motions(clf: ActionClassifier, real: MotionSet, generated: dict[str, MotionSet],
                     class_names: list[str], settings: EvaluateSettings,
                     train: MotionSet | None = None,
                     groups: dict[str, np.ndarray] | None = None,
                     extra: ExtraMetrics | None = None) -> EvaluationResult:
    """Run the replicated protocol.

    ``real``: the real reference motions; ``train``: the training motions MMS is
    measured against (``None``: ``real`` is the training split). ``groups``
    optionally maps a generated set to a replication index per motion
    ``(sequences,)``; replication ``r`` then uses only group ``r mod n_groups``
    (fresh samples per replication, as the original protocol draws them). ``extra`` adds the
    metrics beyond FID (:mod:`.extra`); they draw no random numbers, so the others do not change.
    """
    num_classes = len(class_names)
    _check_set(REAL, real, clf, num_classes)
    if train is not None:
        _check_set("train", train, clf, num_classes)
    for name, ms in generated.items():
        _check_set(name, ms, clf, num_classes)
        if name == REAL:
            raise DataError(f"generated set name {REAL!r} is reserved for the real reference row")
    groups = groups or {}

    previous_init, clf.hidden_init = clf.hidden_init, settings.hidden_init
    try:
        cache: dict[tuple[str, int], _SetFeatures] = {}

        def features(name: str, ms: MotionSet, rng: np.random.Generator, group: int = -1) -> tuple[np.ndarray, np.ndarray]:
            if (name, group) not in cache:
                cache[name, group] = _SetFeatures(clf, ms, settings.crop, settings.batch_size)
            return cache[name, group].draw(rng)

        return _run(settings, real, generated, train, groups, class_names, features, extra)
    finally:
        clf.hidden_init = previous_init


def _run(settings: EvaluateSettings, real: MotionSet, generated: dict[str, MotionSet], train: MotionSet | None,
         groups: dict[str, np.ndarray], class_names: list[str], features: Callable,
         extra: ExtraMetrics | None = None) -> EvaluationResult:
    """The replication loop of :func:`evaluate_motions`; ``features(name, motions, rng, group)`` draws one crop."""
    num_classes = len(class_names)
    names = [REAL, *generated]
    values = {n: {m: [] for m in METRICS} for n in names}
    confusion = {n: np.zeros((num_classes, num_classes), np.int64) for n in names}
    mms_sum = {n: np.zeros(num_classes) for n in names}
    mms_count = {n: np.zeros(num_classes) for n in names}
    copies_sum = {n: np.zeros(num_classes) for n in names}
    edges = length_bin_edges(real.lengths, settings.length_bins)
    real_bins = bin_index(real.lengths, edges)
    n_bins = len(edges) - 1
    binned = [REAL] + [n for n, ms in generated.items() if len(np.unique(ms.lengths)) > 1]
    bin_fid = {n: np.full((settings.replications, n_bins), np.nan) for n in binned}
    bin_counts = {REAL: np.bincount(real_bins, minlength=n_bins)}  # generated: per replication, set below

    def record(name: str, ms: MotionSet, feats: np.ndarray, logits: np.ndarray, fid_value: float,
               reference: np.ndarray, rng: np.random.Generator, target: np.ndarray) -> None:
        dist, nearest = M.nearest_distances(feats, reference)
        row = values[name]
        row["accuracy"].append(M.accuracy(logits, ms.labels))
        row["fid"].append(fid_value)
        row["diversity"].append(M.diversity(feats, settings.diversity_pairs, rng))
        row["multimodality"].append(M.multimodality(feats, ms.labels, settings.multimodality_pairs, rng))
        row["mms"].append(float(dist.mean()))
        confusion[name] += M.confusion_matrix(logits, ms.labels, num_classes)
        s, c = _class_sums(dist, ms.labels, num_classes)
        mms_sum[name] += s
        mms_count[name] += c
        if extra is not None:
            more, copied = extra.measure(ms, feats, target, reference, dist, nearest)
            for key, value in more.items():
                row.setdefault(key, []).append(value)
            copies_sum[name] += _class_sums(copied.astype(np.float64), ms.labels, num_classes)[0]

    subsets: dict[tuple[str, int], MotionSet] = {}
    from motioninr.progress import track

    for r in track(range(settings.replications), "evaluate", unit="replications"):
        rng = np.random.default_rng([settings.seed, r])
        feats_a, logits_a = features(REAL, real, rng)
        feats_b, _ = features(REAL, real, rng)
        reference = feats_b if train is None else features("train", train, rng)[0]
        record(REAL, real, feats_a, logits_a, M.fid(feats_a, feats_b), reference, rng, feats_b)
        for b in range(n_bins):
            m = real_bins == b
            bin_fid[REAL][r, b] = M.fid(feats_a[m], feats_b[m])
        for name, ms in generated.items():
            group = -1
            if name in groups:
                ids = np.unique(groups[name])
                group = int(ids[r % len(ids)])
                if (name, group) not in subsets:
                    subsets[name, group] = ms.subset(np.asarray(groups[name]) == group)
                ms = subsets[name, group]
            feats, logits = features(name, ms, rng, group)
            record(name, ms, feats, logits, M.fid(feats, feats_a), reference, rng, feats_a)
            if name in bin_fid:
                gen_bins = bin_index(ms.lengths, edges)
                bin_counts.setdefault(name, np.bincount(gen_bins, minlength=n_bins))
                for b in range(n_bins):
                    bin_fid[name][r, b] = M.fid(feats[gen_bins == b], feats_a[real_bins == b])

    with np.errstate(invalid="ignore", divide="ignore"):
        class_mms = {n: mms_sum[n] / mms_count[n] for n in names}
        class_copies = {n: copies_sum[n] / mms_count[n] for n in names} if extra is not None else {}
    return EvaluationResult(names, list(class_names), values, confusion, class_mms, edges, bin_fid, bin_counts,
                            extra.names if extra is not None else (), class_copies)
