"""How to train (``params.yaml: train``) and what one epoch is made of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from motioninr.settings import require


@dataclass(frozen=True)
class TrainSettings:
    """How to train (``params.yaml: train``). ``grad_clip: 0`` disables clipping.

    ``threads``: CPU threads for torch (0: torch's default); applied by the stage, not part of
    what a checkpoint must match, like ``device``, ``epochs`` and ``checkpoint_every``.
    """

    epochs: int = 200
    batch_size: int = 64
    schedule: Literal["alternating", "joint"] = "alternating"
    code_epochs: int = 1
    decoder_epochs: int = 1
    frames: Literal["random", "crop", "whole"] = "random"
    frames_per_sequence: int = 5
    frames_replacement: bool = False
    crop_length: int = 60
    loss_reduction: Literal["mean", "frame_sum"] = "mean"
    code_optimizer: Literal["table", "row"] = "table"
    aggregate_per_epoch: bool = False
    lr_decoder: float = 1e-3
    lr_codes: float = 1e-3
    kl_seq_weight: float = 1e-5
    kl_act_weight: float = 1e-5
    grad_clip: float = 2.0
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    checkpoint_every: int = 10

    def validate(self, where: str = "train") -> None:
        for name in ("epochs", "batch_size", "code_epochs", "decoder_epochs", "frames_per_sequence",
                     "crop_length", "checkpoint_every"):
            value = getattr(self, name)
            require(value >= 1, f"{where}.{name}", value, "an integer >= 1")
        for name in ("lr_decoder", "lr_codes"):
            require(getattr(self, name) > 0, f"{where}.{name}", getattr(self, name), "a positive learning rate")
        for name in ("kl_seq_weight", "kl_act_weight", "grad_clip", "threads"):
            require(getattr(self, name) >= 0, f"{where}.{name}", getattr(self, name), "a number >= 0")


def epoch_passes(settings: TrainSettings) -> list[str]:
    """What the passes of one epoch update, in order: ``codes``/``decoder`` passes, or one ``joint`` pass."""
    if settings.schedule == "joint":
        return ["joint"]
    return ["codes"] * settings.code_epochs + ["decoder"] * settings.decoder_epochs


def updates_per_epoch(settings: TrainSettings, sequences: int) -> dict[str, int]:
    """Optimiser steps one epoch over ``sequences`` training sequences takes: ``{"codes": n, "decoder": m}``
    (a joint step counts for both)."""
    s = settings
    batches = -(-sequences // s.batch_size)
    if s.schedule == "joint":
        return {"codes": batches, "decoder": batches}
    return {"codes": batches * s.code_epochs, "decoder": (1 if s.aggregate_per_epoch else batches) * s.decoder_epochs}
