"""The replicated evaluation protocol of Action2Motion and MotionINR.

Every replication ``r`` draws its own random crops: two of the real motions (A and B), the
training motions MMS searches (crop B when the real set is the training split) and one of every
generated set. The real row scores A against B; a generated set scores against A. Values are
reported as mean and 1.96 x std / sqrt(R); FID is also kept per length bin, the real A/B FID per
bin being the small-sample floor. :mod:`.extra` adds metrics that draw no random numbers.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

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


def evaluate_motions(clf: ActionClassifier, real: MotionSet, generated: dict[str, MotionSet],
                     class_names: list[str], settings: EvaluateSettings,
                     train: MotionSet | None = None,
                     groups: dict[str, np.ndarray] | None = None,
                     extra: ExtraMetrics | None = None) -> EvaluationResult:
    """Run the replicated protocol.

    ``real``: the real reference motions; ``train``: the training motions MMS is measured against
    (``None``: ``real`` is the training split). ``groups`` optionally maps a generated set to a
    replication group per motion ``(sequences,)``; replication ``r`` then scores only group
    ``r mod groups`` (fresh samples per replication, as the original protocol draws them).
    ``extra``: the metrics beyond FID (:mod:`.extra`).
    """
    from motioninr.progress import track

    _check_sets(clf, real, train, generated, len(class_names))
    draws = {name: _replication_draws(motions, (groups or {}).get(name), settings.replications)
             for name, motions in generated.items()}
    tally = _Tally(settings, class_names, real, generated, extra)
    with _initial_state(clf, settings.hidden_init):
        features = _CropFeatures(clf, settings.crop, settings.batch_size)
        for r in track(range(settings.replications), "evaluate", unit="replications"):
            rng = np.random.default_rng([settings.seed, r])
            feats_a, logits_a = features.draw(real, rng)          # two independent crops of the real motions
            feats_b, _ = features.draw(real, rng)
            reference = feats_b if train is None else features.draw(train, rng)[0]   # what MMS searches
            tally.record(REAL, real, feats_a, logits_a, feats_b, reference, rng)   # the real row: A against B
            for name, sets in draws.items():
                motions = sets[r % len(sets)]
                feats, logits = features.draw(motions, rng)
                tally.record(name, motions, feats, logits, feats_a, reference, rng)   # against crop A
    return tally.result()


class _Tally:
    """Every value of every replication, and the per-class and per-length-bin sums behind the result."""

    def __init__(self, settings: EvaluateSettings, class_names: list[str], real: MotionSet,
                 generated: dict[str, MotionSet], extra: ExtraMetrics | None = None) -> None:
        self.names, self.class_names = [REAL, *generated], list(class_names)
        self.settings, self.extra = settings, extra
        k = len(class_names)
        self.values = {n: {m: [] for m in METRICS} for n in self.names}
        self.confusion = {n: np.zeros((k, k), np.int64) for n in self.names}
        self.mms_sum = {n: np.zeros(k) for n in self.names}
        self.counts = {n: np.zeros(k) for n in self.names}
        self.copies_sum = {n: np.zeros(k) for n in self.names}
        self.edges = length_bin_edges(real.lengths, settings.length_bins)
        self.real_bins = bin_index(real.lengths, self.edges)
        varying = [n for n, ms in generated.items() if len(np.unique(ms.lengths)) > 1]
        self.bin_fid: dict[str, list[list[float]]] = {n: [] for n in [REAL, *varying]}  # set -> a row per replication
        self.bin_counts: dict[str, np.ndarray] = {}                                     # set -> motions per bin

    def record(self, name: str, motions: MotionSet, feats: np.ndarray, logits: np.ndarray,
               target: np.ndarray, reference: np.ndarray, rng: np.random.Generator) -> None:
        """Score one replication's crop of a set: FID against ``target``, MMS against ``reference``.

        ``feats`` ``(N, 30)`` and ``logits`` ``(N, C)`` are the crop's; ``rng`` draws the diversity
        pairs, then the multimodality pairs.
        """
        labels, k = motions.labels, len(self.class_names)
        dist, nearest = M.nearest_distances(feats, reference)
        row = self.values[name]
        row["accuracy"].append(M.accuracy(logits, labels))
        row["fid"].append(M.fid(feats, target))
        row["diversity"].append(M.diversity(feats, self.settings.diversity_pairs, rng))
        row["multimodality"].append(M.multimodality(feats, labels, self.settings.multimodality_pairs, rng))
        row["mms"].append(float(dist.mean()))
        self.confusion[name] += M.confusion_matrix(logits, labels, k)
        self.mms_sum[name] += np.bincount(labels, weights=dist, minlength=k)
        self.counts[name] += np.bincount(labels, minlength=k)
        if self.extra is not None:
            more, copied = self.extra.measure(motions, feats, target, reference, dist, nearest)
            for key, value in more.items():
                row.setdefault(key, []).append(value)
            self.copies_sum[name] += np.bincount(labels, weights=copied.astype(np.float64), minlength=k)
        if name in self.bin_fid:   # each motion in the bin of its own length; the target is always real
            bins, n_bins = bin_index(motions.lengths, self.edges), len(self.edges) - 1
            self.bin_counts.setdefault(name, np.bincount(bins, minlength=n_bins))
            self.bin_fid[name].append([M.fid(feats[bins == b], target[self.real_bins == b]) for b in range(n_bins)])

    def result(self) -> EvaluationResult:
        extra = self.extra.names if self.extra is not None else ()
        with np.errstate(invalid="ignore", divide="ignore"):
            class_mms = {n: self.mms_sum[n] / self.counts[n] for n in self.names}
            class_copies = {n: self.copies_sum[n] / self.counts[n] for n in self.names} if extra else {}
        bin_fid = {n: np.array(rows, dtype=np.float64) for n, rows in self.bin_fid.items()}
        return EvaluationResult(self.names, self.class_names, self.values, self.confusion, class_mms, self.edges,
                                bin_fid, self.bin_counts, extra, class_copies)


class _CropFeatures:
    """Features and logits of a fresh crop of every motion of a set, per replication.

    With a zero initial state, clips that cannot change between replications (sequences no longer
    than ``crop_length + 1`` frames, or every sequence with ``crop="start"``) are classified the
    first time a set is seen and reused; the results equal a full :func:`.extract_features` pass.
    """

    def __init__(self, clf: ActionClassifier, crop: str, batch_size: int) -> None:
        self.clf, self.crop, self.batch_size = clf, crop, batch_size
        self._fixed: dict[int, tuple[MotionSet, np.ndarray, np.ndarray, np.ndarray]] = {}

    def draw(self, motions: MotionSet, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(N, 30)`` and logits ``(N, C)`` of one fresh random crop of every motion."""
        fixed, feats, logits = self._fixed_clips(motions)
        feats, logits, moving = feats.copy(), logits.copy(), ~fixed
        starts = crop_starts(motions.lengths, CROP_LENGTH, rng, self.crop)  # all, to match extract_features
        if moving.any():
            generator = torch_generator(rng) if self.clf.hidden_init == "random" else None
            feats[moving], logits[moving] = classify_motions(self.clf, motions, starts[moving], moving,
                                                             self.batch_size, generator)
        return feats, logits

    def _fixed_clips(self, motions: MotionSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which motions' clips never change ``(N,)``, and their features and logits (zeros elsewhere)."""
        key = id(motions)
        if key not in self._fixed:   # the set is kept beside its clips so its id stays unique
            n = len(motions)
            fixed = np.zeros(n, bool)
            if self.clf.hidden_init == "zeros":
                fixed = np.ones(n, bool) if self.crop == "start" else motions.lengths <= CROP_LENGTH + 1
            feats = np.zeros((n, FEATURE_DIM), np.float32)
            logits = np.zeros((n, self.clf.num_classes), np.float32)
            if fixed.any():
                zeros = np.zeros(int(fixed.sum()), np.int64)
                feats[fixed], logits[fixed] = classify_motions(self.clf, motions, zeros, fixed, self.batch_size)
            self._fixed[key] = (motions, fixed, feats, logits)
        return self._fixed[key][1:]


def _replication_draws(motions: MotionSet, group_ids: np.ndarray | None, replications: int) -> list[MotionSet]:
    """The sets replication ``r`` scores as ``draws[r % len(draws)]``: the whole set, or one set per
    replication group in the order of the group ids (those the replications reach)."""
    if group_ids is None:
        return [motions]
    group_ids = np.asarray(group_ids)
    return [motions.subset(group_ids == g) for g in np.unique(group_ids)[:replications]]


@contextmanager
def _initial_state(clf: ActionClassifier, hidden_init: str) -> Iterator[None]:
    """The classifier's initial hidden state set to ``hidden_init`` for a while, then its own again."""
    previous, clf.hidden_init = clf.hidden_init, hidden_init
    try:
        yield
    finally:
        clf.hidden_init = previous


def _check_sets(clf: ActionClassifier, real: MotionSet, train: MotionSet | None,
                generated: dict[str, MotionSet], num_classes: int) -> None:
    _check_set(REAL, real, clf, num_classes)
    if train is not None:
        _check_set("train", train, clf, num_classes)
    for name, motions in generated.items():
        _check_set(name, motions, clf, num_classes)
        if name == REAL:
            raise DataError(f"generated set name {REAL!r} is reserved for the real reference row")


def _check_set(name: str, motions: MotionSet, clf: ActionClassifier, num_classes: int) -> None:
    if len(motions) == 0:
        raise DataError(f"{name}: no motions to evaluate")
    if motions.num_joints * 3 != clf.input_size:
        raise DataError(f"{name}: motions have {motions.num_joints} joints but the evaluator expects {clf.num_joints}")
    if motions.labels.min() < 0 or motions.labels.max() >= num_classes:
        raise DataError(f"{name}: labels span {motions.labels.min()}..{motions.labels.max()}, expected 0..{num_classes - 1}")


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
