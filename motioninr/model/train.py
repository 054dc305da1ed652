"""Training MotionINR: alternating code and decoder passes, checkpoints that resume bit for bit.

An epoch is one pass over the training sequences in random batches of ``batch_size``.
With ``schedule: alternating`` an epoch updates either only the codes (the decoder's weights
are frozen, so no weight gradients are computed) or only the decoder (the codes are
constants): ``code_epochs`` code epochs, then ``decoder_epochs`` decoder epochs, in turn.
``schedule: joint`` updates both at every step.

Every step decodes some frames of each sequence of the batch (``frames``):

- ``random``: ``frames_per_sequence`` frames drawn uniformly (with replacement) per sequence;
- ``crop``:   a window of ``crop_length`` consecutive frames at a random start (whole sequence if shorter);
- ``whole``:  every frame.

Loss of a batch = mean over its sequences of (sum over the decoded frames of the per-frame MSE)
+ ``kl_seq_weight`` * mean KL of beta + ``kl_act_weight`` * mean KL of alpha.

Optimisers: Adam for the decoder; for the codes :class:`RowAdam`, Adam applied row by row, so each
code row behaves as its own parameter (rows a batch did not use neither move nor age).
Gradients are clipped to ``grad_clip`` (L2 norm over the parameters being updated).
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
from motioninr.data.representation import normalize
from motioninr.errors import DataError
from motioninr.io import atomic_path
from motioninr.model.model import ModelSettings, MotionINR, settings_dict
from motioninr.settings import require

CHECKPOINT_FORMAT = "motioninr-checkpoint-v1"
CHECKPOINT_NAME = "last.pt"
PASSES = ("codes", "decoder", "joint")


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
    crop_length: int = 60
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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MotionINR(settings, class_names=meta["class_names"], joint_names=meta["joint_names"],
                         parents=meta["parents"], fps=meta["fps"], normalization=meta["normalization"],
                         train_ids=list(train.ids), train_labels=train.labels, train_lengths=train.lengths)


# ----------------------------------------------------------------------------- optimisation helpers

class RowAdam(torch.optim.Optimizer):
    """Adam in which every row of a table is a parameter of its own.

    Takes the sparse gradients of :class:`~motioninr.model.model.CodeTable` lookups (dense gradients
    count as touching every row). Only the rows present in a gradient are updated, and each row
    keeps its own step count for the bias correction, as if each code were a separate tensor
    with its own Adam. Rows can therefore be sharded across processes without changing the result.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    grad = p.grad.coalesce()
                    rows, g = grad.indices()[0], grad.values()
                else:
                    rows, g = torch.arange(len(p), device=p.device), p.grad
                state = self.state[p]
                if not state:
                    state["row_step"] = torch.zeros(len(p), dtype=p.dtype, device=p.device)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
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


def clip_grad_norm(params, max_norm: float) -> Tensor:
    """Scale the (dense or sparse) gradients of ``params`` to total L2 norm <= ``max_norm`` (0: no clipping).

    Returns the norm before clipping.
    """
    grads = []
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            p.grad = p.grad.coalesce()
            grads.append(p.grad.values())
        else:
            grads.append(p.grad)
    if not grads:
        return torch.zeros(())
    norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
    if max_norm > 0:
        scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(scale)
    return norm


# ----------------------------------------------------------------------------- the trainer

class Trainer:
    """The model, the training set as tensors, both optimisers and the random generator.

    ``train`` must be the split the model's sequence codes were made for (same order).
    All randomness (batches, frames, code noise) comes from one seeded generator, plus the
    global torch generator for dropout; both are part of :meth:`state_dict`.
    """

    def __init__(self, model: MotionINR, train: MotionSet, settings: TrainSettings, device="cpu"):
        if len(train) != model.num_samples or train.num_joints != model.num_joints:
            raise DataError(f"the training split has {len(train)} sequences of {train.num_joints} joints, "
                            f"the model was made for {model.num_samples} of {model.num_joints}")
        self.model, self.settings, self.device = model.to(device), settings, torch.device(device)
        stats = {"mean": model.mean.cpu().numpy(), "std": model.std.cpu().numpy()}
        self.frames = torch.from_numpy(normalize(train.frames, stats).reshape(len(train.frames), -1)).to(device)
        self.lengths = torch.from_numpy(train.lengths).to(device)
        self.offsets = torch.from_numpy(train.offsets[:-1]).to(device)
        self.labels = torch.from_numpy(train.labels).to(device)
        self.opt_decoder = torch.optim.Adam(model.decoder.parameters(), lr=settings.lr_decoder)
        self.opt_codes = RowAdam(model.code_parameters(), lr=settings.lr_codes)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(settings.seed)
        torch.manual_seed(settings.seed)  # dropout draws from the global generator
        self.epoch = 0
        self.history: list[dict] = []

    def pass_of(self, epoch: int) -> str:
        """``codes``, ``decoder`` or ``joint``: what epoch ``epoch`` (0-based) updates."""
        s = self.settings
        if s.schedule == "joint":
            return "joint"
        return "codes" if epoch % (s.code_epochs + s.decoder_epochs) < s.code_epochs else "decoder"

    def set_pass(self, which: str) -> None:
        """Switch gradients on only for what ``which`` updates."""
        self.model.decoder.requires_grad_(which != "codes")
        for p in self.model.code_parameters():
            p.requires_grad_(which != "decoder")

    def sample_frames(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Frames to decode for sequences ``index (batch,)``: ``times (frames,)`` packed, ``counts (batch,)``."""
        s, g, lengths = self.settings, self.generator, self.lengths[index]
        if s.frames == "random":
            u = torch.rand(len(index), s.frames_per_sequence, generator=g, device=self.device)
            times = torch.minimum((u * lengths[:, None]).long(), lengths[:, None] - 1)
            return times.reshape(-1), torch.full_like(lengths, s.frames_per_sequence)
        counts = lengths if s.frames == "whole" else lengths.clamp(max=s.crop_length)
        start = torch.zeros_like(lengths)
        if s.frames == "crop":
            u = torch.rand(len(index), generator=g, device=self.device)
            start = torch.minimum((u * (lengths - counts + 1)).long(), lengths - counts)
        total = int(counts.sum())
        first = torch.cumsum(counts, 0) - counts
        within = torch.arange(total, device=self.device) - first.repeat_interleave(counts, output_size=total)
        return start.repeat_interleave(counts, output_size=total) + within, counts

    def step(self, index: Tensor, which: str) -> dict[str, Tensor]:
        """One optimiser step of pass ``which`` on training sequences ``index (batch,)``; returns detached losses."""
        m, s = self.model, self.settings
        times, counts = self.sample_frames(index)
        target = self.frames[self.offsets[index].repeat_interleave(counts, output_size=len(times)) + times]
        codes, kl_seq, kl_act = m.codes(index, self.labels[index], sample=True, generator=self.generator)
        pred = m(codes, times.float(), counts)
        recon = (pred - target).pow(2).mean(-1).sum() / len(index)
        kl_seq, kl_act = kl_seq.mean(), kl_act.mean()
        loss = recon + s.kl_seq_weight * kl_seq + s.kl_act_weight * kl_act

        optimisers = {"codes": [self.opt_codes], "decoder": [self.opt_decoder],
                      "joint": [self.opt_codes, self.opt_decoder]}[which]
        m.zero_grad(set_to_none=True)
        loss.backward()
        for opt in optimisers:
            clip_grad_norm([p for group in opt.param_groups for p in group["params"]], s.grad_clip)
            opt.step()

        with torch.no_grad():  # position error in cm on the decoded frames
            d = (pred.detach() - target).reshape(len(target), m.num_joints, 3) * m.std
            d = torch.cat([d[:, :1], d[:, 1:] + d[:, :1]], dim=1)
            mpjpe = d.norm(dim=-1).mean() * 100.0
        return {"loss": loss.detach(), "recon": recon.detach(), "kl_seq": kl_seq.detach(),
                "kl_act": kl_act.detach(), "mpjpe_cm": mpjpe}

    def run_epoch(self) -> dict:
        """Train one epoch; returns and records ``{"epoch", "pass", "loss", "recon", "kl_seq", "kl_act", "mpjpe_cm"}``."""
        which = self.pass_of(self.epoch)
        self.set_pass(which)
        self.model.train()
        order = torch.randperm(self.model.num_samples, generator=self.generator, device=self.device)
        totals: dict[str, Tensor] = {}
        for index in order.split(self.settings.batch_size):
            for key, value in self.step(index, which).items():
                totals[key] = totals.get(key, 0.0) + value * len(index)
        self.epoch += 1
        record = {"epoch": self.epoch, "pass": which,
                  **{k: float(v) / self.model.num_samples for k, v in totals.items()}}
        self.history.append(record)
        return record

    # -- checkpoints

    def state_dict(self) -> dict:
        rng = {"generator": self.generator.get_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {"epoch": self.epoch, "history": [dict(r) for r in self.history],
                "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
                "opt_decoder": self.opt_decoder.state_dict(), "opt_codes": self.opt_codes.state_dict(), "rng": rng}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt_decoder.load_state_dict(state["opt_decoder"])
        self.opt_codes.load_state_dict(state["opt_codes"])
        self.generator.set_state(state["rng"]["generator"].cpu())
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), self.device)
        self.epoch, self.history = int(state["epoch"]), [dict(r) for r in state["history"]]


def fingerprint(model: MotionINR, train: MotionSet, settings: TrainSettings) -> str:
    """What a checkpoint must match to be resumed: architecture, training settings (except the
    number of epochs, the checkpoint interval, the device and the threads), the training data
    and the source of the model and of training (``model.py``, ``train.py``)."""
    train_settings = {k: v for k, v in settings_dict(settings).items()
                      if k not in ("epochs", "checkpoint_every", "device", "threads")}
    h = hashlib.sha256(json.dumps({"model": settings_dict(model.settings), "train": train_settings,
                                   "classes": model.class_names}, sort_keys=True).encode())
    for source in ("model.py", "train.py"):
        h.update((Path(__file__).parent / source).read_bytes())
    for a in (train.frames, train.lengths, train.labels, model.mean.cpu().numpy(), model.std.cpu().numpy()):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def fit(model: MotionINR, train: MotionSet, settings: TrainSettings, *, device="cpu",
        checkpoint_dir: str | Path | None = None, on_epoch: Callable[[dict, bool], None] | None = None,
        log: Callable[[str], None] | None = None) -> list[dict]:
    """Train ``model`` on ``train`` for ``settings.epochs`` epochs; returns the per-epoch history.

    With ``checkpoint_dir``, the full training state is written there atomically every
    ``checkpoint_every`` epochs and at the end, and a checkpoint left by an earlier run with the
    same settings, data and code (see :func:`fingerprint`) is resumed (a finished one is not
    trained again; more epochs continue it). ``on_epoch(record, restored)`` is called for every epoch in order, ``restored=True`` for
    epochs loaded from the checkpoint. The model is left in eval mode on ``device``.
    """
    log = log or (lambda message: None)
    on_epoch = on_epoch or (lambda record, restored: None)
    trainer = Trainer(model, train, settings, device)
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    key = fingerprint(model, train, settings)
    if path is not None and path.is_file():
        state = read_checkpoint(path)
        if state is None:
            log(f"{path}: unreadable checkpoint; training from scratch")
        elif state.get("fingerprint") != key:
            log(f"{path}: written with other settings or data; training from scratch")
        elif int(state["epoch"]) > settings.epochs:
            log(f"{path}: already at epoch {int(state['epoch'])} > train.epochs={settings.epochs}; training from scratch")
        else:
            trainer.load_state_dict(state)
            log(f"{path}: resuming at epoch {trainer.epoch} of {settings.epochs}")
    for record in trainer.history:
        on_epoch(record, True)
    while trainer.epoch < settings.epochs:
        record = trainer.run_epoch()
        if path is not None and (trainer.epoch % settings.checkpoint_every == 0 or trainer.epoch == settings.epochs):
            write_checkpoint(path, {"format": CHECKPOINT_FORMAT, "fingerprint": key, **trainer.state_dict()})
        on_epoch(record, False)
    model.requires_grad_(True)
    model.eval()
    return trainer.history


def write_checkpoint(path: str | Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


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
