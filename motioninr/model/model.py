"""MotionINR: a variational auto-decoder of variable-length, action-conditioned motions.

There is no encoder. Every training sequence i owns a code beta_i and every class z
owns a code alpha_z; both are free parameters learned together with one decoder.
Frame t of sequence i (class z) is decoded as

    c_i  = compose(beta_i, alpha_z)      beta_i ~ N(mu_i, diag(exp(logvar_i))), alpha_z likewise
    x_it = decoder(c_i, tau(t))          tau: fixed sinusoidal embedding of the real-valued time t

and x_it is one pose in the model's representation (``model.output``, see ``objective.py``):
root position plus root-relative joints (``positions``, see ``motioninr/data/representation.py``)
normalised with the training set's statistics, or the normalised root position plus every joint's
local rotation in 6D (``rot6d``). ``decode`` turns either into absolute positions in metres.

Read top to bottom:

1. ``ModelSettings``: ``params.yaml: model`` (the decoders' own settings are in :mod:`.decoders`).
2. ``CodeTable``: a table of diagonal Gaussian codes (beta: one row per training
   sequence, addressed by its global index; alpha: one row per class).
3. ``MotionINR``: the two tables, the time code and a decoder (:mod:`.decoders`: ``TimeCode``,
   tau(t) at real-valued times, and ``MLPDecoder`` / ``TransformerDecoder``, codes + time codes -> frames).
4. ``save_model`` / ``load_model``: the ``models/model.pt`` artifact.

Batches of sequences of different lengths never loop over sequences in Python: a batch is
``codes (batch, code_dim)`` plus ``lengths (batch,)`` and the frames of all its sequences
packed one after the other, ``times (frames,)`` with ``frames = lengths.sum()``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motioninr.errors import MotionINRError, SettingsError
from motioninr.io import one_line, save_torch
from motioninr.model.decoders import (  # noqa: F401 - the decoders' settings and positions_within: part of this API
    MLPDecoder, MLPSettings, TimeCode, TransformerDecoder, TransformerSettings, positions_within,
)
from motioninr.model.objective import decoded_rot6d, output_size, rot6d_to_metres
from motioninr.settings import from_mapping, require

FORMAT = "motioninr-model-v1"


# ----------------------------------------------------------------------------- 1. settings

@dataclass(frozen=True)
class ModelSettings:
    """The architecture (``params.yaml: model``).

    seq_code_dim / act_code_dim: sizes of beta (per sequence) and alpha (per class).
    seq_variational / act_variational: Gaussian codes (mean + log-variance) or plain points.
    action_code: ``concat`` (c = [beta, alpha]) or ``add`` (c = beta + alpha, equal sizes).
    time_dim / time_base: size and base of the sinusoidal time code (official: 256, 10000).
    code_init_std: initial spread of the code means (official: 0, every mean starts at zero).
    logvar_init: initial log-variance of variational codes (official ``logvar_scale`` 1, a std of 1.65);
        null starts them at ``2 ln code_init_std``, as narrow as the means' spread.
    output: ``positions`` (joint positions) or ``rot6d`` (root position + local 6D rotations, decoded
    to positions by forward kinematics; needs rotations in the processed data).
    """

    decoder: Literal["mlp", "transformer"] = "mlp"
    output: Literal["positions", "rot6d"] = "positions"
    seq_code_dim: int = 64
    act_code_dim: int = 64
    seq_variational: bool = True
    act_variational: bool = True
    action_code: Literal["concat", "add"] = "concat"
    time_dim: int = 64
    time_base: float = 10000.0
    code_init_std: float = 0.01
    logvar_init: float | None = 1.0
    mlp: MLPSettings = field(default_factory=MLPSettings)
    transformer: TransformerSettings = field(default_factory=TransformerSettings)

    @property
    def code_dim(self) -> int:
        """Size of the composed code c."""
        return self.seq_code_dim + self.act_code_dim if self.action_code == "concat" else self.seq_code_dim

    def validate(self, where: str = "model") -> None:
        require(self.seq_code_dim >= 1, f"{where}.seq_code_dim", self.seq_code_dim, "an integer >= 1")
        require(self.act_code_dim >= 1, f"{where}.act_code_dim", self.act_code_dim, "an integer >= 1")
        require(self.action_code == "concat" or self.act_code_dim == self.seq_code_dim, f"{where}.act_code_dim",
                self.act_code_dim, f"the same size as seq_code_dim ({self.seq_code_dim}) when action_code is add")
        require(self.time_dim >= 2 and self.time_dim % 2 == 0, f"{where}.time_dim", self.time_dim,
                "an even integer >= 2")
        require(self.time_base > 1.0, f"{where}.time_base", self.time_base, "a number > 1")
        if self.logvar_init is None:
            require(self.code_init_std > 0.0, f"{where}.code_init_std", self.code_init_std,
                    "a positive number (the log-variances start at 2 ln code_init_std when logvar_init is null)")
        else:
            require(self.code_init_std >= 0.0, f"{where}.code_init_std", self.code_init_std, "a number >= 0")
        if self.decoder == "transformer":
            require(self.code_dim % self.transformer.heads == 0, f"{where}.transformer.heads",
                    self.transformer.heads, f"a divisor of the composed code size {self.code_dim}")


def settings_dict(settings) -> dict:
    """A settings dataclass as plain dicts and lists (for artifacts and fingerprints)."""
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    return plain(dataclasses.asdict(settings))


# ----------------------------------------------------------------------------- 2. codes

class CodeTable(nn.Module):
    """``rows`` diagonal Gaussian codes of size ``dim``: means ``mu (rows, dim)``, log-variances ``logvar``.

    A non-variational table has ``logvar = None``: its codes are points, and its regulariser is
    the mean term of the KL divergence, 0.5 |mu|^2. Lookups give sparse gradients (only the rows a
    batch used), so an optimiser can treat every row as its own parameter.
    """

    def __init__(self, rows: int, dim: int, variational: bool, init_std: float, logvar_init: float | None = None):
        super().__init__()
        self.mu = nn.Parameter(torch.randn(rows, dim) * init_std)
        start = 2.0 * math.log(init_std) if logvar_init is None else float(logvar_init)
        logvar = nn.Parameter(torch.full((rows, dim), start)) if variational else None
        self.register_parameter("logvar", logvar)

    @classmethod
    def of(cls, mu: Tensor, logvar: Tensor | None) -> "CodeTable":
        """A table holding copies of the given ``mu (rows, dim)`` and ``logvar`` (None: not variational)."""
        table = cls(0, mu.shape[1], logvar is not None, 1.0)
        table.mu = nn.Parameter(mu.detach().clone())
        if logvar is not None:
            table.logvar = nn.Parameter(logvar.detach().clone())
        return table

    def forward(self, index: Tensor, sample: bool, generator: torch.Generator | None = None,
                noise: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Codes of rows ``index (batch,)`` -> ``(codes (batch, dim), kl (batch,))``.

        ``sample`` draws mu + exp(logvar / 2) * eps (reparameterisation); otherwise the means.
        ``noise (batch, dim)``, when given, is used as eps instead of drawing it from ``generator``.
        ``kl`` is KL(N(mu, exp(logvar)) || N(0, I)) summed over dimensions.
        """
        mu = F.embedding(index, self.mu, sparse=True)
        if self.logvar is None:
            return mu, 0.5 * mu.pow(2).sum(-1)
        logvar = F.embedding(index, self.logvar, sparse=True)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
        if not sample:
            return mu, kl
        eps = noise if noise is not None else torch.randn(mu.shape, generator=generator, device=mu.device,
                                                          dtype=mu.dtype)
        return mu + eps * torch.exp(0.5 * logvar), kl


# ----------------------------------------------------------------------------- 3. the model

class MotionINR(nn.Module):
    """Code tables + time code + decoder, with what is needed to turn its output into metres.

    ``normalization`` is the processed dataset's ``{"mean", "std"}`` (``(joints, 3)`` lists); the
    ``train_*`` fields describe the training sequences, whose row in the sequence-code table is
    their index in the processed ``train.npz``. ``skeleton``: the rest offsets ``(joints, 3)`` that
    forward kinematics poses (``output: rot6d`` only).
    """

    def __init__(self, settings: ModelSettings, *, class_names: list[str], joint_names: list[str],
                 parents: list[int], fps: float, normalization: dict, train_ids: list[str],
                 train_labels, train_lengths, skeleton=None):
        super().__init__()
        self.settings = settings
        self.class_names = list(class_names)
        self.joint_names = list(joint_names)
        self.parents = [int(p) for p in parents]
        self.fps = float(fps)
        self.train_ids = [str(i) for i in train_ids]
        self.train_labels = torch.as_tensor(train_labels, dtype=torch.long).cpu()
        self.train_lengths = torch.as_tensor(train_lengths, dtype=torch.long).cpu()
        self.num_samples, self.num_classes = len(self.train_ids), len(self.class_names)
        self.num_joints = len(self.joint_names)
        if not (len(self.train_labels) == len(self.train_lengths) == self.num_samples):
            raise ValueError("train_ids, train_labels and train_lengths must have one entry per training sequence")
        mean = torch.as_tensor(normalization["mean"], dtype=torch.float32)
        std = torch.as_tensor(normalization["std"], dtype=torch.float32)
        if mean.shape != (self.num_joints, 3) or std.shape != (self.num_joints, 3):
            raise ValueError(f"normalization mean/std must be ({self.num_joints}, 3), got {tuple(mean.shape)}")
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        if settings.output == "rot6d" and skeleton is None:
            raise ValueError("output rot6d needs the rest skeleton (joints, 3) that forward kinematics poses")
        skeleton = None if skeleton is None else torch.as_tensor(np.asarray(skeleton), dtype=torch.float32)
        if skeleton is not None and skeleton.shape != (self.num_joints, 3):
            raise ValueError(f"skeleton must be ({self.num_joints}, 3), got {tuple(skeleton.shape)}")
        self.register_buffer("skeleton", skeleton, persistent=False)

        s = settings
        self.seq_codes = CodeTable(self.num_samples, s.seq_code_dim, s.seq_variational, s.code_init_std, s.logvar_init)
        self.act_codes = CodeTable(self.num_classes, s.act_code_dim, s.act_variational, s.code_init_std, s.logvar_init)
        self.time_code = TimeCode(s.time_dim, s.time_base)
        out_dim = output_size(s.output, self.num_joints)
        if s.decoder == "mlp":
            self.decoder = MLPDecoder(s.code_dim, s.time_dim, out_dim, s.mlp)
        else:
            self.decoder = TransformerDecoder(s.code_dim, s.time_dim, out_dim, s.transformer)

    @property
    def code_dim(self) -> int:
        return self.settings.code_dim

    @property
    def device(self) -> torch.device:
        return self.seq_codes.mu.device

    def code_parameters(self) -> list[nn.Parameter]:
        """The parameters of both code tables (the decoder's are ``self.decoder.parameters()``)."""
        return [*self.seq_codes.parameters(), *self.act_codes.parameters()]

    # -- codes

    def compose(self, beta: Tensor, alpha: Tensor) -> Tensor:
        """``beta (batch, seq_code_dim)``, ``alpha (batch, act_code_dim)`` -> ``c (batch, code_dim)``."""
        return torch.cat([beta, alpha], dim=-1) if self.settings.action_code == "concat" else beta + alpha

    def codes(self, index: Tensor, labels: Tensor, sample: bool = True, generator: torch.Generator | None = None,
              noise: tuple[Tensor | None, Tensor | None] = (None, None)) -> tuple[Tensor, Tensor, Tensor]:
        """Composed codes of training sequences ``index (batch,)`` with classes ``labels (batch,)``.

        ``noise``: the eps of beta and of alpha (``(batch, dim)`` each, or None to draw it).
        Returns ``c (batch, code_dim)``, ``kl_seq (batch,)`` and ``kl_act (batch,)``.
        """
        beta, kl_seq = self.seq_codes(index, sample, generator, noise[0])
        alpha, kl_act = self.act_codes(labels, sample, generator, noise[1])
        return self.compose(beta, alpha), kl_seq, kl_act

    def posteriors(self) -> dict[str, Tensor | None]:
        """Detached code posteriors: ``seq_mu (N, ds)``, ``seq_logvar`` (or None), ``act_mu (C, da)``, ``act_logvar``."""
        def get(p):
            return None if p is None else p.detach().clone()
        return {"seq_mu": get(self.seq_codes.mu), "seq_logvar": get(self.seq_codes.logvar),
                "act_mu": get(self.act_codes.mu), "act_logvar": get(self.act_codes.logvar)}

    # -- decoding

    def forward(self, codes: Tensor, times: Tensor, lengths: Tensor) -> Tensor:
        """Normalised frames ``(frames, joints * 3)`` of ``codes (batch, code_dim)`` at packed ``times (frames,)``.

        ``lengths (batch,)`` says how many of the packed times belong to each sequence. The time
        code is evaluated once per distinct time (``at`` maps each frame to its time).
        """
        distinct, at = torch.unique(times, return_inverse=True)
        return self.decoder(codes, self.time_code(distinct), at, lengths)

    def to_metres(self, x: Tensor) -> Tensor:
        """Decoder output ``(frames, out_dim)`` -> absolute positions ``(frames, joints, 3)`` (FK for ``rot6d``)."""
        if self.settings.output == "rot6d":
            return rot6d_to_metres(x, self.mean, self.std, self.skeleton, self.parents)[0]
        return self.positions_to_metres(x)

    def positions_to_metres(self, x: Tensor) -> Tensor:
        """Normalised representation ``(frames, joints * 3)`` -> absolute positions ``(frames, joints, 3)``."""
        rep = x.reshape(len(x), self.num_joints, 3) * self.std + self.mean
        return torch.cat([rep[:, :1], rep[:, 1:] + rep[:, :1]], dim=1)

    @torch.no_grad()
    def decode(self, c: Tensor, lengths: Tensor, fps: float | None = None, max_frames: int = 32768,
               starts: Tensor | None = None, with_rotations: bool = False):
        """Motions of composed codes ``c (batch, code_dim)`` with ``lengths (batch,)`` frames each.

        Returns packed absolute positions in metres ``(lengths.sum(), joints, 3)`` on the CPU,
        sequences in batch order. ``fps=None`` decodes at the training frame rate; another rate
        evaluates the time code at times ``k * train_fps / fps`` for frame k. ``starts (batch,)``:
        the time index (in training frames) of each sequence's first frame (default 0, the
        training time indices). Sequences are decoded in chunks of at most about ``max_frames`` frames.
        ``with_rotations`` (``rot6d`` only) also returns the local rotations ``(lengths.sum(), joints, 6)``, as a pair ``(positions, rotations)``.
        """
        if with_rotations and self.settings.output != "rot6d":
            raise ValueError("with_rotations needs a model whose output is rot6d")
        lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
        starts = torch.zeros(len(lengths)) if starts is None else torch.as_tensor(starts, dtype=torch.float32).cpu()
        if c.ndim != 2 or c.shape[1] != self.code_dim or len(c) != len(lengths):
            raise ValueError(f"c must be (batch, {self.code_dim}) with one length per row, got {tuple(c.shape)} "
                             f"and {len(lengths)} lengths")
        if len(lengths) and int(lengths.min()) < 1:
            raise ValueError("every length must be >= 1")
        step = 1.0 if fps is None else self.fps / float(fps)
        ends = torch.cumsum(lengths, 0)
        out, rots, start = [], [], 0
        while start < len(lengths):  # chunks of sequences, not one sequence at a time
            base = int(ends[start - 1]) if start else 0
            stop = max(start + 1, int(torch.searchsorted(ends, torch.tensor(base + max_frames), right=True)))
            chunk = lengths[start:stop].to(self.device)
            frame = positions_within(chunk)
            offset = starts[start:stop].to(self.device).repeat_interleave(chunk)
            x = self(c[start:stop].to(self.device, torch.float32), frame.float() * step + offset, chunk)
            out.append(self.to_metres(x).cpu())
            if with_rotations:
                rots.append(decoded_rot6d(x).cpu())
            start = stop
        positions = torch.cat(out) if out else torch.zeros(0, self.num_joints, 3)
        if with_rotations:
            return positions, torch.cat(rots) if rots else torch.zeros(0, self.num_joints, 6)
        return positions

    @torch.no_grad()
    def reconstruct(self, index=None, fps: float | None = None) -> Tensor:
        """Training sequences ``index (batch,)`` (default: all) decoded from their mean codes, in metres.

        Returns ``(frames, joints, 3)`` packed, at the training lengths (scaled to ``fps`` when given).
        """
        index = torch.arange(self.num_samples) if index is None else torch.as_tensor(index, dtype=torch.long)
        c, _, _ = self.codes(index.to(self.device), self.train_labels[index].to(self.device), sample=False)
        lengths = self.train_lengths[index]
        if fps is not None:
            lengths = torch.clamp(torch.round(lengths * float(fps) / self.fps).long(), min=1)
        return self.decode(c, lengths, fps)


# ----------------------------------------------------------------------------- 4. the artifact

def save_model(model: MotionINR, path: str | Path, extra: dict | None = None) -> None:
    """Write ``model`` as a ``torch.load(..., weights_only=True)``-safe dict (atomically)."""
    artifact = {
        "format": FORMAT,
        "config": settings_dict(model.settings),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "normalization": {"mean": model.mean.cpu().tolist(), "std": model.std.cpu().tolist()},
        "fps": model.fps,
        "class_names": model.class_names,
        "joint_names": model.joint_names,
        "parents": model.parents,
        "train_ids": model.train_ids,
        "train_labels": model.train_labels.clone(),
        "train_lengths": model.train_lengths.clone(),
        **({"skeleton": model.skeleton.cpu().tolist()} if model.skeleton is not None else {}),
        **(extra or {}),
    }
    save_torch(path, artifact)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> MotionINR:
    """Read a ``models/model.pt`` written by :func:`save_model`; returns the model in eval mode on ``device``."""
    path = Path(path)
    if not path.is_file():
        raise MotionINRError(f"{path}: model file not found; run the train stage first (dvc repro train)")
    try:
        art = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise MotionINRError(f"{path}: not a readable model file ({one_line(exc)})") from None
    if not isinstance(art, dict) or art.get("format") != FORMAT:
        found = art.get("format") if isinstance(art, dict) else type(art).__name__
        raise MotionINRError(f"{path}: got format {found!r}, expected a {FORMAT!r} model written by the train stage")
    try:
        settings = from_mapping(ModelSettings, art["config"], "config")
        model = MotionINR(settings, class_names=art["class_names"], joint_names=art["joint_names"],
                          parents=art["parents"], fps=art["fps"], normalization=art["normalization"],
                          train_ids=art["train_ids"], train_labels=art["train_labels"],
                          train_lengths=art["train_lengths"], skeleton=art.get("skeleton"))
        model.load_state_dict(art["state_dict"])
    except (KeyError, ValueError, RuntimeError, SettingsError) as exc:
        raise MotionINRError(f"{path}: inconsistent model file ({one_line(exc)})") from None
    return model.to(device).eval()
