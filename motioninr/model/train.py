"""Training MotionINR: the auto-decoder's alternating passes over the training sequences.

One epoch (``schedule: alternating``, the official ``alternating_training``) is ``code_epochs``
passes that update only the codes, the decoder frozen, then ``decoder_epochs`` passes that update
only the decoder, the codes held constant; ``schedule: joint`` is one pass updating both. A pass
visits the training sequences in random batches. A step decodes some frames of each sequence of
the batch (:mod:`.frames`) from a draw of its variational code and takes one optimiser step on

    loss = reconstruction + kl_seq_weight * mean KL(beta) + kl_act_weight * mean KL(alpha)

Beside this module: the settings and what an epoch is made of (:mod:`.train_settings`), the code
optimiser (:mod:`.code_optimizer`), checkpoints (:mod:`.checkpoint`) and several processes
training as one (:mod:`.sharding`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError, MotionINRError
from motioninr.model.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_NAME, fingerprint, resumable, write_checkpoint
from motioninr.model.code_optimizer import RowAdam, clip_grad_norm, dense_grad
from motioninr.model.distributed import World
from motioninr.model.frames import FrameSampler
from motioninr.model.model import CodeTable, ModelSettings, MotionINR
from motioninr.model.objective import LossSettings, Objective
from motioninr.model.train_settings import TrainSettings, epoch_passes, updates_per_epoch


class Trainer:
    """The model, the training set as tensors, both optimisers and the random generator.

    ``train`` must be the split the model's sequence codes were made for (same order). All
    randomness (batches, frames, code noise) comes from one seeded generator, plus the global
    torch generator for dropout; both are part of :meth:`state_dict`. The passes come first
    (:meth:`run_epoch`, :meth:`run_pass`, :meth:`step`), the state they work on after them.
    """

    def run_epoch(self) -> dict:
        """Train one epoch (every pass of it); returns and records ``{"epoch", "pass", "loss", "recon",
        "kl_seq", "kl_act", "mpjpe_cm"}``, the losses averaged over the epoch's passes (``pass``:
        ``alternating`` or ``joint``)."""
        passes = self.passes()
        totals: dict[str, Tensor] = {}
        for part, which in enumerate(passes):
            for key, value in self.run_pass(which, part).items():
                totals[key] = totals.get(key, 0.0) + value
        self.epoch += 1
        steps = self.model.num_samples * len(passes)
        record = {"epoch": self.epoch, "pass": "joint" if passes == ["joint"] else "alternating",
                  **{k: float(v) / steps for k, v in totals.items()}}
        self.history.append(record)
        return record

    def run_pass(self, which: str, part: int) -> dict[str, Tensor]:
        """One pass over the training set updating ``which`` (``codes``, ``decoder`` or ``joint``); returns
        the sequence-weighted sums of the step losses. ``part``: the pass's position in its epoch."""
        self.set_pass(which)
        self.model.train()
        self.seed_dropout(part)
        order = torch.randperm(self.model.num_samples, generator=self.generator, device=self.device)
        totals: dict[str, Tensor] = {}
        for index in order.split(self.settings.batch_size):
            for key, value in self.step(index, which).items():
                totals[key] = totals.get(key, 0.0) + value * len(index)
        if which == "decoder" and self.settings.aggregate_per_epoch:
            self.step_aggregated()
        return totals

    def step(self, index: Tensor, which: str) -> dict[str, Tensor]:
        """One optimiser step of pass ``which`` on training sequences ``index (batch,)``; returns detached losses."""
        m, s, batch = self.model, self.settings, len(index)
        u = self.frame_sampler.draw(batch)
        noise = (self.draw_noise(m.seq_codes, batch), self.draw_noise(m.act_codes, batch))
        decoded = self.frame_sampler.count(index)  # frames decoded in the whole batch, for the mean loss
        index, u, noise = self.held_part(index, u, noise)
        times, counts = self.frame_sampler.frames_at(index, u)
        target = self.frames[self.offsets[index].repeat_interleave(counts, output_size=len(times)) + times]
        codes, kl_seq, kl_act = m.codes(index - self.start, self.labels[index], sample=True, noise=noise)
        pred = m(codes, times.float(), counts)
        recon = reconstruction_loss(self.objective.per_frame(pred, target), batch, decoded, s.loss_reduction)
        kl_seq, kl_act = kl_seq.sum() / batch, kl_act.sum() / batch
        loss = recon + s.kl_seq_weight * kl_seq + s.kl_act_weight * kl_act

        m.zero_grad(set_to_none=True)
        if loss.requires_grad:  # a process given no sequence of the batch may have nothing to differentiate
            loss.backward()
        with torch.no_grad():  # position error in cm on the decoded frames
            d = self.objective.error(pred.detach(), target)
            sums = torch.stack([loss, recon, kl_seq, kl_act, d.sum(), d.new_tensor(float(d.numel()))]).detach()
        sums, code_norm = self.synchronise(which, sums, index)
        self.update(which, code_norm)
        loss, recon, kl_seq, kl_act, error, count = sums
        return {"loss": loss, "recon": recon, "kl_seq": kl_seq, "kl_act": kl_act, "mpjpe_cm": error / count * 100.0}

    # -- the state the passes work on

    def __init__(self, model: MotionINR, train: MotionSet, settings: TrainSettings, device="cpu",
                 loss: LossSettings | None = None):
        check_split(model, train)
        device = torch.device(device)
        self.model, self.settings, self.device = model.to(device), settings, device
        self.objective = Objective(model, loss)
        self.start, self.stop = self.sequences_held(model.num_samples)
        first, last = int(train.offsets[self.start]), int(train.offsets[self.stop])
        self.frames = torch.from_numpy(self.objective.targets(train, first, last)).to(device)  # of [start, stop)
        self.offsets = torch.from_numpy(train.offsets[:-1] - first).to(device)  # valid for [start, stop)
        self.lengths = torch.from_numpy(train.lengths).to(device)
        self.labels = torch.from_numpy(train.labels).to(device)
        self.opt_decoder = torch.optim.Adam(model.decoder.parameters(), lr=settings.lr_decoder)
        self.opt_codes = RowAdam(model.code_parameters(), lr=settings.lr_codes,
                                 dense=settings.code_optimizer == "table")
        self.accumulated: list[Tensor] | None = None  # decoder gradients summed over a pass (aggregate_per_epoch)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(settings.seed)
        torch.manual_seed(settings.seed)  # dropout draws from the global generator
        self.frame_sampler = FrameSampler(settings, self.lengths, self.generator)
        self.epoch, self.history = 0, []

    def update(self, which: str, code_norm: Tensor | None = None) -> None:
        """Clip the gradients of what pass ``which`` updates and step its optimisers (``code_norm``: the
        codes' gradient norm when already known). With ``aggregate_per_epoch`` a decoder step only adds
        its gradients to the pass's sum (:meth:`step_aggregated` applies it)."""
        if which == "decoder" and self.settings.aggregate_per_epoch:
            grads = [dense_grad(p) for p in self.model.decoder.parameters()]
            self.accumulated = grads if self.accumulated is None else [a + g for a, g in zip(self.accumulated, grads)]
            return
        optimisers = {"codes": [self.opt_codes], "decoder": [self.opt_decoder],
                      "joint": [self.opt_codes, self.opt_decoder]}[which]
        for opt in optimisers:
            clip_grad_norm([p for group in opt.param_groups for p in group["params"]], self.settings.grad_clip,
                           norm=code_norm if opt is self.opt_codes else None)
            opt.step()

    def step_aggregated(self) -> None:
        """The one decoder step of a pass with ``aggregate_per_epoch``, on the summed gradients."""
        if self.accumulated is None:
            return
        for p, g in zip(self.model.decoder.parameters(), self.accumulated):
            p.grad = g
        clip_grad_norm(list(self.model.decoder.parameters()), self.settings.grad_clip)
        self.opt_decoder.step()
        self.model.decoder.zero_grad(set_to_none=True)
        self.accumulated = None

    def passes(self) -> list[str]:
        """What the passes of one epoch update, in order (:func:`~.train_settings.epoch_passes`)."""
        return epoch_passes(self.settings)

    def set_pass(self, which: str) -> None:
        """Switch gradients on only for what ``which`` updates."""
        self.model.decoder.requires_grad_(which != "codes")
        for p in self.model.code_parameters():
            p.requires_grad_(which != "decoder")

    def draw_noise(self, table: CodeTable, batch: int) -> Tensor | None:
        """The eps of ``batch`` codes of ``table`` (``(batch, dim)``; None if its codes are points)."""
        if table.logvar is None:
            return None
        return torch.randn((batch, table.mu.shape[1]), generator=self.generator, device=self.device,
                           dtype=table.mu.dtype)

    def sample_frames(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Frames to decode for sequences ``index (batch,)``: ``times (frames,)`` packed, ``counts (batch,)``."""
        return self.frame_sampler(index)

    def updates_per_epoch(self) -> dict[str, int]:
        """Optimiser steps one epoch takes: see :func:`~.train_settings.updates_per_epoch`."""
        return updates_per_epoch(self.settings, self.model.num_samples)

    # -- what a trainer of one process among several (:class:`~.sharding.ShardedTrainer`) does differently

    def sequences_held(self, n: int) -> tuple[int, int]:
        """The training sequences ``[start, stop)`` whose codes and frames this trainer holds: all ``n``."""
        return 0, n

    def held_part(self, index: Tensor, u: Tensor | None, noise: tuple) -> tuple[Tensor, Tensor | None, tuple]:
        """The sequences of batch ``index`` this trainer decodes, their frame numbers ``u`` and code noise: all."""
        return index, u, noise

    def synchronise(self, which: str, sums: Tensor, index: Tensor) -> tuple[Tensor, Tensor | None]:
        """The batch statistics ``sums`` and gradients of the whole batch, and the codes' gradient norm if
        already known: here the batch is all this trainer's, so ``sums, None``."""
        return sums, None

    def seed_dropout(self, part: int) -> None:
        """Dropout of one process continues the global generator seeded at the start."""

    def finish(self) -> None:
        """End training with this trainer (nothing to gather in one process)."""

    # -- checkpoints

    def state_dict(self) -> dict:
        """Everything needed to continue training."""
        rng = {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        model = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return {"epoch": self.epoch, "history": [dict(r) for r in self.history], "model": model,
                "opt_decoder": self.opt_decoder.state_dict(), "opt_codes": self.opt_codes.state_dict(), "rng": rng}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` (of a run on any number of processes)."""
        self.model.load_state_dict(state["model"])
        self.opt_decoder.load_state_dict(state["opt_decoder"])
        self.opt_codes.load_state_dict(state["opt_codes"])
        self.generator.set_state(state["rng"]["generator"].cpu())
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), self.device)
        self.epoch, self.history = int(state["epoch"]), [dict(r) for r in state["history"]]


def reconstruction_loss(per_frame: Tensor, batch: int, frames: int, reduction: str) -> Tensor:
    """The reconstruction term of the loss from the per-frame losses ``(frames,)`` of the decoded frames.

    ``per_frame``: each decoded frame's mean squared error (over its values) as the model output's
    objective defines it (:mod:`.objective`); ``batch``: sequences in the whole batch; ``frames``:
    decoded frames in the whole batch (with several processes this process holds only part of
    ``per_frame``; the parts' losses sum to the whole batch's). ``mean``: squared error averaged over
    every decoded value (official ``F.mse_loss``); ``frame_sum``: per-frame mean squared error summed
    over a sequence's decoded frames, averaged over sequences (weighs the reconstruction
    ``frames_per_sequence`` times more against the KL).
    """
    if reduction == "mean":
        return per_frame.sum() / frames
    return per_frame.sum() / batch


class TrainingError(MotionINRError):
    """Training cannot go on (a non-finite loss)."""


def fit(model: MotionINR, train: MotionSet, settings: TrainSettings, *, device="cpu",
        checkpoint_dir: str | Path | None = None, on_epoch: Callable[[dict, bool], None] | None = None,
        log: Callable[[str], None] | None = None, world: World | None = None,
        loss: LossSettings | None = None) -> list[dict]:
    """Train ``model`` on ``train`` for ``settings.epochs`` epochs; returns the per-epoch history.

    With ``checkpoint_dir``, the full training state is written there atomically every
    ``checkpoint_every`` epochs and at the end, and a checkpoint left by an earlier run with the
    same settings, data and code (see :func:`~.checkpoint.fingerprint`) is resumed (a finished one
    is not trained again; more epochs continue it). ``on_epoch(record, restored)`` is called for
    every epoch in order, ``restored=True`` for epochs loaded from the checkpoint. The model is left
    in eval mode on ``device``.

    ``loss``: weights of the ``rot6d`` reconstruction loss (default :class:`LossSettings`).
    ``world``: the processes training together (default: this one alone, on ``device``). Every
    process calls ``fit`` with the same arguments and gets the same history and model (on
    ``world.device``); only rank 0 reads and writes the checkpoint (it sends the state it resumes
    to the others) and calls ``log``; ``on_epoch`` is called on every process.
    """
    world = world or World(device=torch.device(device))
    log = log if world.is_main and log is not None else (lambda message: None)
    on_epoch = on_epoch or (lambda record, restored: None)
    if world.size > 1:
        from motioninr.model.sharding import ShardedTrainer
        trainer = ShardedTrainer(model, train, settings, world, loss=loss)
    else:
        trainer = Trainer(model, train, settings, world.device, loss=loss)
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    key = fingerprint(model, train, settings, loss)
    state = resumable(path, key, settings.epochs, log) if world.is_main and path is not None else None
    state = world.broadcast(state)
    if state is not None:
        trainer.load_state_dict(state)
        log(f"{path}: resuming at epoch {trainer.epoch} of {settings.epochs}")
    for record in trainer.history:
        on_epoch(record, True)
    while trainer.epoch < settings.epochs:
        record = trainer.run_epoch()
        if not np.isfinite(record["loss"]):  # stop before a checkpoint or a model holds the damage
            raise TrainingError(f"train: loss {record['loss']} at epoch {record['epoch']} ({record['pass']} pass), "
                                "the first non-finite loss; no model written. Expected finite losses: lower "
                                "train.lr_decoder / train.lr_codes or check the data")
        if path is not None and (trainer.epoch % settings.checkpoint_every == 0 or trainer.epoch == settings.epochs):
            state = trainer.state_dict()  # every process takes part in gathering the codes
            if world.is_main:
                write_checkpoint(path, {"format": CHECKPOINT_FORMAT, "fingerprint": key, **state})
        on_epoch(record, False)
    trainer.finish()
    model.requires_grad_(True)
    model.eval()
    return trainer.history


def check_split(model: MotionINR, train: MotionSet) -> None:
    """Refuse a training split other than the one the model's sequence codes were made for."""
    if len(train) != model.num_samples or train.num_joints != model.num_joints:
        raise DataError(f"the training split has {len(train)} sequences of {train.num_joints} joints, "
                        f"the model was made for {model.num_samples} of {model.num_joints}")


def new_model(settings: ModelSettings, train: MotionSet, meta: dict, seed: int = 0) -> MotionINR:
    """A freshly initialised model (seeded) for the training split ``train`` of a processed dataset."""
    classes, joints = len(meta["class_names"]), len(meta["joint_names"])
    if train.num_joints != joints:
        raise DataError(f"train split has {train.num_joints} joints but meta.json names {joints}")
    if len(train) and (train.labels.min() < 0 or train.labels.max() >= classes):
        raise DataError(f"train split has labels outside 0..{classes - 1} ({classes} classes in meta.json)")
    if settings.output == "rot6d" and not train.has_rotations:
        raise DataError(f"model.output: got 'rot6d', but the processed {meta.get('source', 'dataset')} data has positions "
                        "only; expected a source with rotations (demo, humanact12poses, uestc, ntu13, BVH, or "
                        "generic with rotations.npz) or model.output: positions")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MotionINR(settings, class_names=meta["class_names"], joint_names=meta["joint_names"],
                         parents=meta["parents"], fps=meta["fps"], normalization=meta["normalization"],
                         train_ids=list(train.ids), train_labels=train.labels, train_lengths=train.lengths,
                         skeleton=train.skeleton if settings.output == "rot6d" else None)


@torch.no_grad()
def reconstruction_error(model: MotionINR, train: MotionSet) -> dict[str, float]:
    """Errors of decoding every training sequence from its mean code, in cm.

    ``mpjpe_cm``: mean per-joint position error; ``root_cm``: root only; ``pose_cm``: joints
    relative to the root (the pose without the trajectory).
    """
    model.eval()
    pred = model.reconstruct().numpy()
    true = train.frames
    rel = (pred[:, 1:] - pred[:, :1]) - (true[:, 1:] - true[:, :1])
    return {"mpjpe_cm": float(np.linalg.norm(pred - true, axis=-1).mean() * 100),
            "root_cm": float(np.linalg.norm(pred[:, 0] - true[:, 0], axis=-1).mean() * 100),
            "pose_cm": float(np.linalg.norm(rel, axis=-1).mean() * 100)}
