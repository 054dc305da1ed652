"""Which frames of a training sequence a step decodes (``train.frames``).

- ``random``: ``frames_per_sequence`` distinct frames per sequence (all of a shorter one), as the
  official ``get_subsample``; ``frames_replacement: true`` draws them with replacement instead;
- ``crop``:   a window of ``crop_length`` consecutive frames at a random start (whole sequence if shorter);
- ``whole``:  every frame.

The uniform numbers are drawn for the whole batch before anything depends on which process
decodes which sequence, so that several processes draw exactly what one process draws.
"""

from __future__ import annotations

import torch
from torch import Tensor

from motioninr.model.decoders import positions_within


class FrameSampler:
    """Frame choice for the training sequences of ``lengths (sequences,)``, drawing from ``generator``.

    ``settings``: the :class:`~motioninr.model.train_settings.TrainSettings` (``frames``,
    ``frames_per_sequence``, ``frames_replacement``, ``crop_length``).
    """

    def __init__(self, settings, lengths: Tensor, generator: torch.Generator):
        self.settings, self.lengths, self.generator = settings, lengths, generator
        self.max_length = int(lengths.max()) if len(lengths) else 1

    def __call__(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Frames to decode for sequences ``index (batch,)``: ``times (frames,)`` packed, ``counts (batch,)``."""
        return self.frames_at(index, self.draw(len(index)))

    def draw(self, batch: int) -> Tensor | None:
        """The uniform numbers that choose the frames of ``batch`` sequences (None for ``whole``).

        ``random`` without replacement: one number per frame up to the longest training length
        (the smallest ones of a sequence's own frames are its frames), so the numbers drawn do not
        depend on which sequences are in the batch."""
        s, g, device = self.settings, self.generator, self.lengths.device
        if s.frames == "random":
            width = s.frames_per_sequence if s.frames_replacement else self.max_length
            return torch.rand(batch, width, generator=g, device=device)
        if s.frames == "crop":
            return torch.rand(batch, generator=g, device=device)
        return None

    def frames_at(self, index: Tensor, u: Tensor | None) -> tuple[Tensor, Tensor]:
        """The frames of sequences ``index`` chosen by the numbers ``u`` of :meth:`draw` (one row per sequence)."""
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

    def count(self, index: Tensor) -> int:
        """How many frames a step decodes for sequences ``index (batch,)``."""
        s, lengths = self.settings, self.lengths[index]
        if s.frames == "random":
            return int(lengths.clamp(max=s.frames_per_sequence).sum()) if not s.frames_replacement \
                else len(index) * s.frames_per_sequence
        return int(lengths.sum() if s.frames == "whole" else lengths.clamp(max=s.crop_length).sum())
