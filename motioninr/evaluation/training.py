"""Training the GRU action classifier when no pretrained evaluator fits the dataset.

Each epoch sees every training sequence once as a fresh random 60-frame clip
(the evaluation input convention of :mod:`motioninr.evaluation.classifier`),
so the classifier learns the same view of a motion that the metrics use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from motioninr.data.dataset import MotionSet
from motioninr.data.prepare import stratified_split
from motioninr.evaluation.classifier import (
    HIDDEN_INITS, ActionClassifier, classify_clips, clips_from_motions, torch_generator,
)
from motioninr.evaluation.metrics import accuracy, confusion_matrix
from motioninr.settings import require


@dataclass(frozen=True)
class EvaluatorTrainSettings:
    """``evaluate.train`` in params.yaml: how the evaluator is trained when none is given."""

    epochs: int = 25
    batch_size: int = 32
    lr: float = 3e-3
    hidden_init: str = "random"     # initial GRU state while training (random makes it robust to both)
    holdout_fraction: float = 0.2   # per-class hold-out when the dataset has no test split
    seed: int = 0

    def validate(self, where: str = "evaluate.train") -> None:
        require(self.epochs >= 1, f"{where}.epochs", self.epochs, "an integer >= 1")
        require(self.batch_size >= 1, f"{where}.batch_size", self.batch_size, "an integer >= 1")
        require(self.lr > 0, f"{where}.lr", self.lr, "a positive number")
        require(self.hidden_init in HIDDEN_INITS, f"{where}.hidden_init", self.hidden_init, " or ".join(HIDDEN_INITS))
        require(0 < self.holdout_fraction < 1, f"{where}.holdout_fraction", self.holdout_fraction,
                "a fraction strictly between 0 and 1")


def holdout_split(train: MotionSet, test: MotionSet | None, fraction: float, seed: int) -> tuple[MotionSet, MotionSet, str]:
    """The sets to fit and to score on: the dataset's test split when it has one, else a stratified hold-out.

    Returns ``(fit_set, heldout_set, description)``.
    """
    if test is not None and len(test) > 0:
        return train, test, "test split"
    mask = stratified_split(train.labels, fraction, seed)
    return train.subset(~mask), train.subset(mask), f"{fraction:.0%} of each training class held out"


def train_classifier(train: MotionSet, num_classes: int, settings: EvaluatorTrainSettings,
                     device: torch.device | str = "cpu",
                     log: Callable[[int, float], None] | None = None) -> ActionClassifier:
    """Fit an :class:`ActionClassifier` on ``train`` (joints from its frames) with Adam and cross-entropy.

    ``log(epoch, mean_loss)`` is called after every epoch. Deterministic for a
    given ``settings.seed`` on CPU.
    """
    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    clf = ActionClassifier(train.num_joints * 3, num_classes, hidden_init=settings.hidden_init).to(device)
    opt = torch.optim.Adam(clf.parameters(), lr=settings.lr)
    loss_fn = nn.CrossEntropyLoss()
    labels = torch.from_numpy(train.labels)
    generator = torch_generator(rng)
    clf.train()
    for epoch in range(settings.epochs):
        clips = torch.from_numpy(clips_from_motions(train, rng=rng))  # fresh random crops every epoch
        order = torch.from_numpy(rng.permutation(len(train)))
        total, seen = 0.0, 0
        for start in range(0, len(train), settings.batch_size):
            idx = order[start:start + settings.batch_size]
            logits, _ = clf(clips[idx].to(device), generator)
            loss = loss_fn(logits, labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        if log is not None:
            log(epoch + 1, total / seen)
    return clf.eval()


def score_classifier(clf: ActionClassifier, motions: MotionSet, num_classes: int, seed: int = 0,
                     crops: int = 5) -> dict:
    """Accuracy of ``clf`` on ``motions`` averaged over ``crops`` random-crop draws, plus per-class accuracy."""
    rng = np.random.default_rng(seed)
    accs, conf = [], np.zeros((num_classes, num_classes), dtype=np.int64)
    generator = torch_generator(rng) if clf.hidden_init == "random" else None
    for _ in range(crops):
        _, logits = classify_clips(clf, clips_from_motions(motions, rng=rng), generator=generator)
        accs.append(accuracy(logits, motions.labels))
        conf += confusion_matrix(logits, motions.labels, num_classes)
    per_class = conf.diagonal() / np.maximum(conf.sum(axis=1), 1)
    return {"accuracy": float(np.mean(accs)), "per_class": per_class.tolist(), "confusion": conf.tolist()}


def fit_and_score(train: MotionSet, test: MotionSet | None, num_classes: int, settings: EvaluatorTrainSettings,
                  device: torch.device | str = "cpu",
                  log: Callable[[int, float], None] | None = None,
                  score_hidden_init: str = "zeros") -> tuple[ActionClassifier, dict]:
    """Train on the training split (minus a hold-out when there is no test split) and score the held-out part.

    Scores use ``score_hidden_init`` (zeros: MotionINR's evaluation convention).
    Returns the classifier (eval mode, ``hidden_init=score_hidden_init``) and a report dict.
    """
    t0 = time.perf_counter()
    fit_set, heldout, description = holdout_split(train, test, settings.holdout_fraction, settings.seed)
    losses: list[float] = []

    def _log(epoch: int, loss: float) -> None:
        losses.append(loss)
        if log is not None:
            log(epoch, loss)

    clf = train_classifier(fit_set, num_classes, settings, device, _log)
    clf.hidden_init = score_hidden_init
    held = score_classifier(clf, heldout, num_classes, settings.seed + 1)
    fit = score_classifier(clf, fit_set, num_classes, settings.seed + 2)
    report = {
        "heldout_accuracy": held["accuracy"],
        "train_accuracy": fit["accuracy"],
        "final_loss": losses[-1],
        "heldout": description,
        "heldout_sequences": len(heldout),
        "train_sequences": len(fit_set),
        "heldout_per_class_accuracy": held["per_class"],
        "seconds": time.perf_counter() - t0,
    }
    return clf, report


def score_pretrained(clf: ActionClassifier, train: MotionSet, test: MotionSet | None, num_classes: int,
                     seed: int = 0) -> dict:
    """Accuracy of a given evaluator on the test split, or on the training split when there is none."""
    motions, description = (test, "test split") if test is not None and len(test) else (train, "training split (not held out)")
    scores = score_classifier(clf, motions, num_classes, seed)
    return {
        "heldout_accuracy": scores["accuracy"],
        "heldout": description,
        "heldout_sequences": len(motions),
        "heldout_per_class_accuracy": scores["per_class"],
    }
