"""Training MotionINR: alternating code and decoder passes, checkpoints that resume bit for bit.

With ``schedule: alternating`` an epoch is ``code_epochs`` passes over the training sequences that
update only the codes (the decoder's weights are frozen, so no weight gradients are computed), then
``decoder_epochs`` passes that update only the decoder (the codes are constants), as the official
trainer's epoch (``alternating_training``: one code pass plus one model pass). A pass visits the
training sequences in random batches of ``batch_size``. ``schedule: joint`` is one pass updating both
at every step.

Every step decodes some frames of each sequence of the batch (``frames``):

- ``random``: ``frames_per_sequence`` distinct frames per sequence (all of a shorter one), as the
  official ``get_subsample``; ``frames_replacement: true`` draws them with replacement instead;
- ``crop``:   a window of ``crop_length`` consecutive frames at a random start (whole sequence if shorter);
- ``whole``:  every frame.

Loss of a batch = :func:`reconstruction_loss` + ``kl_seq_weight`` * mean KL of beta + ``kl_act_weight``
* mean KL of alpha. The per-frame reconstruction loss is that of ``model.output``
(:mod:`motioninr.model.objective`). ``loss_reduction: mean`` averages the squared error over every
decoded value (the official ``F.mse_loss``); ``frame_sum`` sums the per-frame mean over the decoded
frames of a sequence and averages over sequences (weighs the reconstruction ``frames_per_sequence``
times more against the KL).

Optimisers: Adam for the decoder; for the codes ``code_optimizer``: ``table`` (official) is one Adam
over each whole code table whose rows all step at every code step (a row outside the batch has a
zero gradient but keeps moving with its momentum, as in the official code under torch 1.x, whose
``zero_grad`` left zero gradients behind); ``row`` is :class:`RowAdam` with ``dense=False``: every
row its own Adam, stepping only when a batch uses it. With ``aggregate_per_epoch`` the decoder
takes one step per decoder pass, on the gradient summed over the pass's batches (official MLP
setting). Gradients are clipped to ``grad_clip`` (L2 norm over the parameters being updated).

Several processes (a :class:`~motioninr.model.distributed.World` of size > 1) train the same model
as one process would: every process draws the same batches and the same random numbers, and
handles the sequences of the batch that it owns (a contiguous block of the training set, whose
sequence codes, their optimiser state and frames live only there). The decoder and the action
codes are replicated; one sum over the processes per step gives every process the gradients of
the whole batch. Checkpoints and the trained model hold the gathered table, as in one process.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import torch
from torch import Tensor

from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError, MotionINRError
from motioninr.io import save_torch
from motioninr.model.distributed import World
from motioninr.model.model import CodeTable, ModelSettings, MotionINR, positions_within, settings_dict
from motioninr.model.objective import LossSettings, Objective
from motioninr.settings import require

CHECKPOINT_FORMAT = "motioninr-checkpoint-v1"
CHECKPOINT_NAME = "last.pt"
PASSES = ("codes", "decoder", "joint")


class TrainingError(MotionINRError):
    """Training cannot go on (a non-finite loss)."""


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


# ----------------------------------------------------------------------------- optimisation helpers

class RowAdam(torch.optim.Optimizer):
    """Adam over code tables, row by row.

    Takes the sparse gradients of :class:`~motioninr.model.model.CodeTable` lookups (dense gradients
    count as touching every row). With ``dense=False`` only the rows present in a gradient are
    updated, and each row keeps its own step count for the bias correction, as if each code were a
    separate tensor with its own Adam. With ``dense=True`` every row steps at every step (absent
    rows with a zero gradient): plain Adam over the whole table (``train.code_optimizer: table``).
    Either way the update of a row depends only on that row, so rows can be sharded across
    processes without changing the result.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 dense: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})
        self.dense = dense

    STATE = ("row_step", "exp_avg", "exp_avg_sq")  # per-row tensors: (rows,), (rows, dim), (rows, dim)

    def state_of(self, p: Tensor) -> dict:
        """The state of parameter ``p``, created (zeros: no row has moved yet) if it has none."""
        state = self.state[p]
        if not state:
            state["row_step"] = torch.zeros(len(p), dtype=p.dtype, device=p.device)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None and not self.dense:
                    continue
                if p.grad is None:  # dense: a table no row of the batch used still steps, on its momentum
                    rows, g = torch.arange(len(p), device=p.device), torch.zeros_like(p)
                elif p.grad.is_sparse and not self.dense:
                    grad = p.grad.coalesce()
                    rows, g = grad.indices()[0], grad.values()
                elif p.grad.is_sparse:
                    rows, g = torch.arange(len(p), device=p.device), p.grad.to_dense()
                else:
                    rows, g = torch.arange(len(p), device=p.device), p.grad
                state = self.state_of(p)
                step = state["row_step"][rows] + 1
                exp_avg = state["exp_avg"][rows].mul_(beta1).add_(g, alpha=1 - beta1)
                exp_avg_sq = state["exp_avg_sq"][rows].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                state["row_step"][rows] = step
                state["exp_avg"][rows] = exp_avg
                state["exp_avg_sq"][rows] = exp_avg_sq
                bias1 = (1 - beta1 ** step)[:, None]
                bias2 = (1 - beta2 ** step)[:, None]
                denom = exp_avg_sq.sqrt() / bias2.sqrt() + group["eps"]
                p.index_add_(0, rows, -group["lr"] * exp_avg / (bias1 * denom))


def _grads(params) -> list[Tensor]:
    """The gradients of ``params`` that exist, sparse ones coalesced (their values)."""
    grads = []
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            p.grad = p.grad.coalesce()
            grads.append(p.grad.values())
        else:
            grads.append(p.grad)
    return grads


def _dense_grad(p: Tensor) -> Tensor:
    """The gradient of ``p`` as a dense tensor (zeros if it has none)."""
    if p.grad is None:
        return torch.zeros_like(p)
    return p.grad.to_dense() if p.grad.is_sparse else p.grad


def clip_grad_norm(params, max_norm: float, norm: Tensor | None = None) -> Tensor:
    """Scale the (dense or sparse) gradients of ``params`` to total L2 norm <= ``max_norm`` (0: no clipping).

    ``norm``: the total norm when it is already known (gradients spread over processes); otherwise
    it is computed from ``params``. Returns the norm before clipping.
    """
    grads = _grads(params)
    if not grads:
        return torch.zeros(())
    if norm is None:
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
    if max_norm > 0:
        scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(scale)
    return norm


def updates_per_epoch(settings: TrainSettings, sequences: int) -> dict[str, int]:
    """Optimiser steps one epoch over ``sequences`` training sequences takes: ``{"codes": n, "decoder": m}``
    (a joint step counts for both)."""
    s = settings
    batches = -(-sequences // s.batch_size)
    if s.schedule == "joint":
        return {"codes": batches, "decoder": batches}
    return {"codes": batches * s.code_epochs, "decoder": (1 if s.aggregate_per_epoch else batches) * s.decoder_epochs}


def reconstruction_loss(per_frame: Tensor, batch: int, frames: int, reduction: str) -> Tensor:
    """The reconstruction term of the loss from the per-frame losses ``(frames,)`` of the decoded frames.

    ``per_frame``: each decoded frame's mean squared error (over its values) as the model output's
    objective defines it; ``batch``: sequences in the whole batch; ``frames``: decoded frames in the
    whole batch (with several processes this process holds only part of ``per_frame``; the parts'
    losses sum to the whole batch's). ``mean``: squared error averaged over every decoded value
    (official ``F.mse_loss``); ``frame_sum``: per-frame mean squared error summed over a sequence's
    decoded frames, averaged over sequences.
    """
    if reduction == "mean":
        return per_frame.sum() / frames
    return per_frame.sum() / batch


# ----------------------------------------------------------------------------- the trainer

class Trainer:
    """The model, the training set as tensors, both optimisers and the random generator.

    ``train`` must be the split the model's sequence codes were made for (same order).
    All randomness (batches, frames, code noise) comes from one seeded generator, plus the
    global torch generator for dropout; both are part of :meth:`state_dict`.

    In a ``world`` of several processes (on ``world.device``; ``device`` is then ignored) this
    process keeps only its own block ``[start, stop)`` of sequence codes and frames; dropout draws
    from a generator seeded per epoch and rank. :meth:`state_dict` gathers the blocks (every
    process must call it), and :meth:`finish` puts the whole table back into the model.
    """

    def __init__(self, model: MotionINR, train: MotionSet, settings: TrainSettings, device="cpu",
                 world: World | None = None, loss: LossSettings | None = None):
        if len(train) != model.num_samples or train.num_joints != model.num_joints:
            raise DataError(f"the training split has {len(train)} sequences of {train.num_joints} joints, "
                            f"the model was made for {model.num_samples} of {model.num_joints}")
        self.world = world or World(device=torch.device(device))
        device = self.world.device if world is not None else torch.device(device)
        self.start, self.stop = self.world.bounds(model.num_samples)
        self.sharded = self.world.size > 1
        if self.sharded:  # this process's block of sequence codes only
            table = model.seq_codes
            model.seq_codes = CodeTable.of(table.mu[self.start:self.stop],
                                           None if table.logvar is None else table.logvar[self.start:self.stop])
        self.model, self.settings, self.device = model.to(device), settings, torch.device(device)
        self.objective = Objective(model, loss)
        first, last = int(train.offsets[self.start]), int(train.offsets[self.stop])
        own = self.objective.targets(train, first, last)
        self.frames = torch.from_numpy(own).to(device)  # frames (targets) of the sequences [start, stop)
        self.lengths = torch.from_numpy(train.lengths).to(device)
        self.offsets = torch.from_numpy(train.offsets[:-1] - first).to(device)  # valid for [start, stop)
        self.labels = torch.from_numpy(train.labels).to(device)
        self.opt_decoder = torch.optim.Adam(model.decoder.parameters(), lr=settings.lr_decoder)
        self.opt_codes = RowAdam(model.code_parameters(), lr=settings.lr_codes,
                                 dense=settings.code_optimizer == "table")
        self.max_length = int(train.lengths.max()) if len(train) else 1
        self.accumulated: list[Tensor] | None = None  # decoder gradients summed over a pass (aggregate_per_epoch)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(settings.seed)
        torch.manual_seed(settings.seed)  # dropout draws from the global generator
        self.epoch = 0
        self.history: list[dict] = []

    def passes(self) -> list[str]:
        """What the passes of one epoch update, in order: ``codes``/``decoder`` passes, or one ``joint`` pass."""
        s = self.settings
        if s.schedule == "joint":
            return ["joint"]
        return ["codes"] * s.code_epochs + ["decoder"] * s.decoder_epochs

    def set_pass(self, which: str) -> None:
        """Switch gradients on only for what ``which`` updates."""
        self.model.decoder.requires_grad_(which != "codes")
        for p in self.model.code_parameters():
            p.requires_grad_(which != "decoder")

    def sample_frames(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Frames to decode for sequences ``index (batch,)``: ``times (frames,)`` packed, ``counts (batch,)``."""
        return self.frames_at(index, self.draw_frames(len(index)))

    def draw_frames(self, batch: int) -> Tensor | None:
        """The uniform numbers that choose the frames of ``batch`` sequences (None for ``whole``).

        ``random`` without replacement: one number per frame up to the longest training length
        (the smallest ones of a sequence's own frames are its frames), so the numbers drawn do not
        depend on which sequences are in the batch."""
        s, g = self.settings, self.generator
        if s.frames == "random":
            width = s.frames_per_sequence if s.frames_replacement else self.max_length
            return torch.rand(batch, width, generator=g, device=self.device)
        if s.frames == "crop":
            return torch.rand(batch, generator=g, device=self.device)
        return None

    def draw_noise(self, table: CodeTable, batch: int) -> Tensor | None:
        """The eps of ``batch`` codes of ``table`` (``(batch, dim)``; None if its codes are points)."""
        if table.logvar is None:
            return None
        return torch.randn((batch, table.mu.shape[1]), generator=self.generator, device=self.device,
                           dtype=table.mu.dtype)

    def frames_at(self, index: Tensor, u: Tensor | None) -> tuple[Tensor, Tensor]:
        """:meth:`sample_frames` with the numbers ``u`` of :meth:`draw_frames` (one row per sequence)."""
        s, lengths = self.settings, self.lengths[index]
        if s.frames == "random" and s.frames_replacement:
            times = torch.minimum((u * lengths[:, None]).long(), lengths[:, None] - 1)
            return times.reshape(-1), torch.full_like(lengths, s.frames_per_sequence)
        if s.frames == "random":  # distinct frames: the frames holding the smallest numbers
            k = min(s.frames_per_sequence, u.shape[1])
            scores = u.masked_fill(torch.arange(u.shape[1], device=u.device)[None, :] >= lengths[:, None], 2.0)
            chosen = torch.topk(scores, k, dim=1, largest=False).indices
            counts = lengths.clamp(max=k)
            keep = torch.arange(k, device=u.device)[None, :] < counts[:, None]
            return chosen[keep], counts
        counts = lengths if s.frames == "whole" else lengths.clamp(max=s.crop_length)
        start = torch.zeros_like(lengths)
        if s.frames == "crop":
            start = torch.minimum((u * (lengths - counts + 1)).long(), lengths - counts)
        return start.repeat_interleave(counts, output_size=int(counts.sum())) + positions_within(counts), counts

    def updates_per_epoch(self) -> dict[str, int]:
        """Optimiser steps one epoch takes: see :func:`updates_per_epoch`."""
        return updates_per_epoch(self.settings, self.model.num_samples)

    def decoded_frames(self, index: Tensor) -> int:
        """How many frames a step decodes for sequences ``index (batch,)`` (all of them, whichever process)."""
        s, lengths = self.settings, self.lengths[index]
        if s.frames == "random":
            return int(lengths.clamp(max=s.frames_per_sequence).sum()) if not s.frames_replacement \
                else len(index) * s.frames_per_sequence
        return int(lengths.sum() if s.frames == "whole" else lengths.clamp(max=s.crop_length).sum())

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

    def step(self, index: Tensor, which: str) -> dict[str, Tensor]:
        """One optimiser step of pass ``which`` on training sequences ``index (batch,)``; returns detached losses.

        With several processes, every process is given the same ``index`` (the whole batch) and
        decodes the sequences of it that it owns.
        """
        m, s, batch = self.model, self.settings, len(index)
        u = self.draw_frames(batch)
        noise = (self.draw_noise(m.seq_codes, batch), self.draw_noise(m.act_codes, batch))
        frames = self.decoded_frames(index)  # in the whole batch, for the mean loss
        if self.sharded:  # this process's part of the batch
            mine = (index >= self.start) & (index < self.stop)
            index, u = index[mine], None if u is None else u[mine]
            noise = tuple(None if eps is None else eps[mine] for eps in noise)
        times, counts = self.frames_at(index, u)
        target = self.frames[self.offsets[index].repeat_interleave(counts, output_size=len(times)) + times]
        codes, kl_seq, kl_act = m.codes(index - self.start, self.labels[index], sample=True, noise=noise)
        pred = m(codes, times.float(), counts)
        recon = reconstruction_loss(self.objective.per_frame(pred, target), batch, frames, s.loss_reduction)
        kl_seq, kl_act = kl_seq.sum() / batch, kl_act.sum() / batch
        loss = recon + s.kl_seq_weight * kl_seq + s.kl_act_weight * kl_act

        m.zero_grad(set_to_none=True)
        if loss.requires_grad:  # a process given no sequence of the batch may have nothing to differentiate
            loss.backward()
        with torch.no_grad():  # position error in cm on the decoded frames
            d = self.objective.error(pred.detach(), target)
            sums = torch.stack([loss, recon, kl_seq, kl_act, d.sum(), d.new_tensor(float(d.numel()))]).detach()
        sums, code_norm = self.synchronise(which, sums, index)

        optimisers = {"codes": [self.opt_codes], "decoder": [self.opt_decoder],
                      "joint": [self.opt_codes, self.opt_decoder]}[which]
        if which == "decoder" and s.aggregate_per_epoch:  # sum the pass's gradients; one step at its end
            grads = [_dense_grad(p) for p in m.decoder.parameters()]
            self.accumulated = grads if self.accumulated is None else [a + g for a, g in zip(self.accumulated, grads)]
            optimisers = []
        for opt in optimisers:
            clip_grad_norm([p for group in opt.param_groups for p in group["params"]], s.grad_clip,
                           norm=code_norm if opt is self.opt_codes else None)
            opt.step()
        loss, recon, kl_seq, kl_act, error, count = sums
        return {"loss": loss, "recon": recon, "kl_seq": kl_seq, "kl_act": kl_act, "mpjpe_cm": error / count * 100.0}

    def synchronise(self, which: str, sums: Tensor, index: Tensor) -> tuple[Tensor, Tensor | None]:
        """Sum over the processes, in one all-reduce: the batch statistics ``sums`` and the gradients
        of what pass ``which`` updates, except the sequence codes (each process holds the rows it owns).

        ``index (part,)``: the sequences this process decoded. The action codes' gradients stay sparse:
        rows no process touched are not updated. Returns the summed ``sums`` and, for a pass that
        updates the codes, the gradient norm of all code tables over all processes (else None).
        In one process nothing is exchanged: returns ``sums, None``.
        """
        if not self.sharded:
            return sums, None
        m, parts = self.model, [sums]
        acts = list(m.act_codes.parameters())
        decoder = list(m.decoder.parameters())
        if which != "decoder":
            square = sum(g.pow(2).sum() for g in _grads(m.seq_codes.parameters()))
            parts.append(torch.as_tensor(square, dtype=sums.dtype, device=sums.device).reshape(1))
            parts.append(torch.bincount(self.labels[index], minlength=m.num_classes).to(sums.dtype))
            parts += [_dense_grad(p).reshape(-1) for p in acts]
        if which != "codes":
            parts += [_dense_grad(p).reshape(-1) for p in decoder]
        flat = self.world.all_reduce_(torch.cat(parts))

        sums, rest = flat[:len(sums)], flat[len(sums):]
        code_norm = None
        if which != "decoder":
            square, used, rest = rest[0], rest[1:1 + m.num_classes], rest[1 + m.num_classes:]
            rows = torch.nonzero(used > 0)[:, 0]
            for p in acts:
                dense, rest = rest[:p.numel()].view_as(p), rest[p.numel():]
                p.grad = torch.sparse_coo_tensor(rows[None], dense[rows], p.shape, check_invariants=False,
                                                 is_coalesced=True)  # rows: sorted, distinct
                square = square + dense[rows].pow(2).sum()
            code_norm = torch.sqrt(square)
        if which != "codes":
            for p in decoder:
                p.grad, rest = rest[:p.numel()].view_as(p).clone(), rest[p.numel():]
        return sums, code_norm

    def run_pass(self, which: str, part: int) -> dict[str, Tensor]:
        """One pass over the training set updating ``which``; returns the sequence-weighted sums of the step losses.

        ``part``: the pass's position in its epoch (seeds dropout with several processes)."""
        self.set_pass(which)
        self.model.train()
        if self.sharded:  # dropout: each process its own stream, reproducible from the epoch and pass
            torch.manual_seed(int(np.random.SeedSequence([self.settings.seed, self.epoch, part, self.world.rank])
                                  .generate_state(1)[0]))
        order = torch.randperm(self.model.num_samples, generator=self.generator, device=self.device)
        totals: dict[str, Tensor] = {}
        for index in order.split(self.settings.batch_size):
            for key, value in self.step(index, which).items():
                totals[key] = totals.get(key, 0.0) + value * len(index)
        if which == "decoder" and self.settings.aggregate_per_epoch:
            self.step_aggregated()
        return totals

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

    # -- checkpoints

    def _sequence_state(self) -> tuple[list[str], list[int]]:
        """Names of the sequence-code parameters in the model's state and their positions in ``opt_codes``."""
        table = self.model.seq_codes
        params = self.opt_codes.param_groups[0]["params"]
        names = [f"seq_codes.{name}" for name, _ in table.named_parameters()]
        return names, [next(i for i, q in enumerate(params) if q is p) for p in table.parameters()]

    def state_dict(self) -> dict:
        """Everything needed to continue training, in the same form whatever the number of processes."""
        rng = {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        model = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        opt_codes = self.opt_codes.state_dict()
        if self.sharded:  # gather every process's block of sequence codes and of their optimiser state
            n, (names, positions) = self.model.num_samples, self._sequence_state()
            for name, position, p in zip(names, positions, self.model.seq_codes.parameters()):
                model[name] = self.world.gather_rows(p.detach(), n).cpu()
                own = self.opt_codes.state_of(p)
                opt_codes["state"][position] = {k: self.world.gather_rows(own[k], n).cpu() for k in RowAdam.STATE}
        return {"epoch": self.epoch, "history": [dict(r) for r in self.history], "model": model,
                "opt_decoder": self.opt_decoder.state_dict(), "opt_codes": opt_codes, "rng": rng}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` of a run on any number of processes."""
        model, opt_codes = state["model"], state["opt_codes"]
        if self.sharded:  # keep this process's block
            a, b = self.start, self.stop
            names, positions = self._sequence_state()
            model = {**model, **{name: model[name][a:b] for name in names}}
            opt_codes = {**opt_codes, "state": dict(opt_codes["state"])}
            for position in positions:
                if position in opt_codes["state"]:
                    opt_codes["state"][position] = {k: v[a:b] for k, v in opt_codes["state"][position].items()}
        self.model.load_state_dict(model)
        self.opt_decoder.load_state_dict(state["opt_decoder"])
        self.opt_codes.load_state_dict(opt_codes)
        self.generator.set_state(state["rng"]["generator"].cpu())
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), self.device)
        self.epoch, self.history = int(state["epoch"]), [dict(r) for r in state["history"]]

    def finish(self) -> None:
        """Put the whole sequence-code table back into the model (gathered from every process).

        Ends training with this trainer: afterwards the model no longer uses its optimisers' tables."""
        if self.sharded:
            n, table = self.model.num_samples, self.model.seq_codes
            logvar = None if table.logvar is None else self.world.gather_rows(table.logvar.detach(), n)
            self.model.seq_codes = CodeTable.of(self.world.gather_rows(table.mu.detach(), n), logvar)
            self.sharded = False


def fingerprint(model: MotionINR, train: MotionSet, settings: TrainSettings, loss: LossSettings | None = None) -> str:
    """What a checkpoint must match to be resumed: architecture, training settings (except the
    number of epochs, the checkpoint interval, the device and the threads), the training data
    and the source of the model and of training (``model.py``, ``train.py``)."""
    train_settings = {k: v for k, v in settings_dict(settings).items()
                      if k not in ("epochs", "checkpoint_every", "device", "threads")}
    h = hashlib.sha256(json.dumps({"model": settings_dict(model.settings), "train": train_settings,
                                   "classes": model.class_names}, sort_keys=True).encode())
    if model.settings.output != "positions":
        h.update(json.dumps(settings_dict(loss or LossSettings()), sort_keys=True).encode())
    for source in ("model.py", "train.py", "objective.py"):
        h.update((Path(__file__).parent / source).read_bytes())
    for a in (train.frames, train.lengths, train.labels, model.mean.cpu().numpy(), model.std.cpu().numpy()):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def fit(model: MotionINR, train: MotionSet, settings: TrainSettings, *, device="cpu",
        checkpoint_dir: str | Path | None = None, on_epoch: Callable[[dict, bool], None] | None = None,
        log: Callable[[str], None] | None = None, world: World | None = None,
        loss: LossSettings | None = None) -> list[dict]:
    """Train ``model`` on ``train`` for ``settings.epochs`` epochs; returns the per-epoch history.

    With ``checkpoint_dir``, the full training state is written there atomically every
    ``checkpoint_every`` epochs and at the end, and a checkpoint left by an earlier run with the
    same settings, data and code (see :func:`fingerprint`) is resumed (a finished one is not
    trained again; more epochs continue it). ``on_epoch(record, restored)`` is called for every epoch in order, ``restored=True`` for
    epochs loaded from the checkpoint. The model is left in eval mode on ``device``.

    ``loss``: weights of the ``rot6d`` reconstruction loss (default :class:`LossSettings`).
    ``world``: the processes training together (default: this one alone, on ``device``). Every
    process calls ``fit`` with the same arguments and gets the same history and model (on
    ``world.device``); only rank 0 reads and writes the checkpoint (it sends the state it resumes
    to the others) and calls ``log``; ``on_epoch`` is called on every process.
    """
    world = world or World(device=torch.device(device))
    log = log if world.is_main and log is not None else (lambda message: None)
    on_epoch = on_epoch or (lambda record, restored: None)
    trainer = Trainer(model, train, settings, device, world=world, loss=loss)
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    key = fingerprint(model, train, settings, loss)
    state = None
    if world.is_main and path is not None and path.is_file():
        state = read_checkpoint(path)
        if state is None:
            log(f"{path}: unreadable checkpoint; training from scratch")
        elif state.get("fingerprint") != key:
            log(f"{path}: written with other settings or data; training from scratch")
            state = None
        elif int(state["epoch"]) > settings.epochs:
            log(f"{path}: already at epoch {int(state['epoch'])} > train.epochs={settings.epochs}; training from scratch")
            state = None
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


def write_checkpoint(path: str | Path, state: dict) -> None:
    save_torch(path, state)


def read_checkpoint(path: str | Path) -> dict | None:
    """The checkpoint at ``path`` (tensors on the CPU), or None if it is not a readable checkpoint."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged checkpoint means starting over, whatever the cause
        return None
    return state if isinstance(state, dict) and state.get("format") == CHECKPOINT_FORMAT else None


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
