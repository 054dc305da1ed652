"""The decoder of MotionINR: time codes and the networks that turn a code and a time into a frame.

- ``TimeCode``: tau(t), a fixed sinusoidal embedding of real-valued times, so a model decodes at any
  frame rate;
- ``MLPDecoder``: every frame on its own from ``[c, tau_t]``;
- ``TransformerDecoder``: a whole sequence at once, the time codes as queries and the code as memory.

Both take a batch of sequences of different lengths packed one after the other (see
:func:`positions_within`), never one pass per sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from motioninr.settings import require

ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
               "leaky_relu": nn.LeakyReLU}


@dataclass(frozen=True)
class MLPSettings:
    """Decodes every frame on its own from ``[c, tau_t]``: hidden layer sizes and their activation."""

    layers: tuple[int, ...] = (512, 512, 256)
    activation: Literal["elu", "relu", "gelu", "silu", "tanh", "leaky_relu"] = "elu"

    def validate(self, where: str = "model.mlp") -> None:
        require(len(self.layers) >= 1, f"{where}.layers", list(self.layers), "at least one hidden layer size")
        for i, n in enumerate(self.layers):
            require(n >= 1, f"{where}.layers[{i}]", n, "a positive layer size")


@dataclass(frozen=True)
class TransformerSettings:
    """Decodes a whole sequence: time codes are the queries, the composed code is the memory.

    The model width is the composed code size (``ModelSettings.code_dim``); ``heads`` must divide it.
    """

    layers: int = 8
    heads: int = 4
    ff: int = 1024
    dropout: float = 0.1
    activation: Literal["gelu", "relu"] = "gelu"

    def validate(self, where: str = "model.transformer") -> None:
        require(self.layers >= 1, f"{where}.layers", self.layers, "an integer >= 1")
        require(self.heads >= 1, f"{where}.heads", self.heads, "an integer >= 1")
        require(self.ff >= 1, f"{where}.ff", self.ff, "an integer >= 1")
        require(0.0 <= self.dropout < 1.0, f"{where}.dropout", self.dropout, "a number in [0, 1)")



def positions_within(counts: Tensor) -> Tensor:
    """Segments of ``counts (n,)`` items laid end to end: each item's index within its own segment,
    ``(counts.sum(),)`` (``[2, 3]`` -> ``[0, 1, 0, 1, 2]``)."""
    total = int(counts.sum())
    first = torch.cumsum(counts, 0) - counts
    return torch.arange(total, device=counts.device) - first.repeat_interleave(counts, output_size=total)


# ----------------------------------------------------------------------------- 3. time code

class TimeCode(nn.Module):
    """tau(t) = [sin(t w_k), cos(t w_k)], w_k = base^(-2k / dim), k < dim / 2, at real-valued times t.

    ``times (frames,)`` in training frames -> ``(frames, dim)``. No parameters.
    """

    def __init__(self, dim: int, base: float):
        super().__init__()
        k = torch.arange(dim // 2, dtype=torch.float32)
        self.register_buffer("freqs", base ** (-2.0 * k / dim), persistent=False)

    def forward(self, times: Tensor) -> Tensor:
        angles = times.to(self.freqs.dtype)[:, None] * self.freqs[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


# ----------------------------------------------------------------------------- 4. decoders

class MLPDecoder(nn.Module):
    """Each frame independently: ``[c_i, tau_t] -> x_it`` through hidden layers with one activation.

    The first layer is affine, so ``W [c; tau] + b = W_c c + (W_tau tau + b)``: the code part is
    computed once per sequence and the time part once per distinct time, then added per frame.
    Same result as concatenating per frame, at a fraction of the cost of that layer.
    """

    def __init__(self, code_dim: int, time_dim: int, out_dim: int, s: MLPSettings):
        super().__init__()
        self.code_dim, self.time_dim = code_dim, time_dim
        sizes = [code_dim + time_dim, *s.layers]
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), ACTIVATIONS[s.activation]()]
        layers.append(nn.Linear(sizes[-1], out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, codes: Tensor, tau: Tensor, at: Tensor, lengths: Tensor) -> Tensor:
        """``codes (batch, code_dim)``, time codes ``tau (times, time_dim)``, frame -> time index ``at (frames,)``,
        ``lengths (batch,)`` -> ``(frames, out_dim)``."""
        first = self.net[0]
        w_code, w_time = first.weight.split([self.code_dim, self.time_dim], dim=1)
        per_sequence = F.linear(codes, w_code).repeat_interleave(lengths, dim=0, output_size=len(at))
        per_time = F.linear(tau, w_time, first.bias)
        return self.net[1:](per_sequence + per_time[at])


class TransformerDecoder(nn.Module):
    """A whole sequence at once: queries are the time codes, the memory is the code (one token).

    Sequences are padded to a common length with a key mask that keeps padded frames out of the
    self-attention, so each sequence decodes as if it were alone. To keep padding small, sequences
    whose lengths lie within a factor ``GROUP_RATIO`` of each other share one padded batch
    (a handful of groups per batch, never one pass per sequence).
    """

    GROUP_RATIO = 1.25

    def __init__(self, code_dim: int, time_dim: int, out_dim: int, s: TransformerSettings):
        super().__init__()
        self.query = nn.Identity() if time_dim == code_dim else nn.Linear(time_dim, code_dim)
        layer = nn.TransformerDecoderLayer(code_dim, s.heads, s.ff, s.dropout, activation=s.activation,
                                           batch_first=True)
        self.layers = nn.TransformerDecoder(layer, s.layers)
        self.out = nn.Linear(code_dim, out_dim)

    def forward(self, codes: Tensor, tau: Tensor, at: Tensor, lengths: Tensor) -> Tensor:
        """``codes (batch, code_dim)``, time codes ``tau (times, time_dim)``, frame -> time index ``at (frames,)``,
        ``lengths (batch,)`` -> ``(frames, out_dim)``."""
        queries = self.query(tau)[at]  # (frames, code_dim), packed
        first = torch.cumsum(lengths, 0) - lengths
        group = torch.floor(torch.log(lengths.float()) / math.log(self.GROUP_RATIO)).long()
        out = queries.new_empty(len(at), self.out.out_features)
        for g in torch.unique(group).tolist():
            members = torch.nonzero(group == g)[:, 0]
            n = lengths[members]
            frames = first[members].repeat_interleave(n) + positions_within(n)
            out[frames] = self.padded(codes[members], queries[frames], n)
        return out

    def padded(self, codes: Tensor, queries: Tensor, lengths: Tensor) -> Tensor:
        """One padded batch: packed ``queries (frames, code_dim)`` -> packed ``(frames, out_dim)``."""
        steps = int(lengths.max())
        valid = torch.arange(steps, device=queries.device)[None, :] < lengths[:, None]  # (batch, steps)
        padded = queries.new_zeros(len(lengths), steps, queries.shape[1])
        padded[valid] = queries
        hidden = self.layers(padded, codes[:, None, :], tgt_key_padding_mask=~valid)
        return self.out(hidden[valid])
