"""Several processes training the same model as one process would.

Every process of a :class:`~motioninr.model.distributed.World` draws the same batches and the same
random numbers, and decodes the sequences of the batch that it owns: a contiguous block of the
training set, whose sequence codes, their optimiser state and frames live only there. The decoder
and the action codes are replicated; one sum over the processes per step gives every process the
gradients of the whole batch. Checkpoints and the trained model hold the gathered table, as in
one process. Dropout draws from a generator seeded per epoch, pass and rank.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from motioninr.data.dataset import MotionSet
from motioninr.model.code_optimizer import RowAdam, dense_grad, gradients
from motioninr.model.distributed import World
from motioninr.model.model import CodeTable, MotionINR
from motioninr.model.objective import LossSettings
from motioninr.model.train import Trainer, check_split
from motioninr.model.train_settings import TrainSettings


class ShardedTrainer(Trainer):
    """A :class:`~motioninr.model.train.Trainer` of one process of ``world`` (on ``world.device``).

    This process keeps only its own block ``[start, stop)`` of sequence codes and frames.
    :meth:`state_dict` gathers the blocks (every process must call it), and :meth:`finish` puts
    the whole table back into the model.
    """

    def __init__(self, model: MotionINR, train: MotionSet, settings: TrainSettings, world: World,
                 loss: LossSettings | None = None):
        check_split(model, train)
        self.world = world
        a, b = self.sequences_held(model.num_samples)
        table = model.seq_codes  # this process's block only, before the optimisers take the table
        model.seq_codes = CodeTable.of(table.mu[a:b], None if table.logvar is None else table.logvar[a:b])
        self.sharded = True
        super().__init__(model, train, settings, world.device, loss=loss)

    def sequences_held(self, n: int) -> tuple[int, int]:
        return self.world.bounds(n)

    def held_part(self, index: Tensor, u: Tensor | None, noise: tuple) -> tuple[Tensor, Tensor | None, tuple]:
        mine = (index >= self.start) & (index < self.stop)
        return (index[mine], None if u is None else u[mine],
                tuple(None if eps is None else eps[mine] for eps in noise))

    def seed_dropout(self, part: int) -> None:
        """Each process its own dropout stream, reproducible from the epoch and the pass."""
        torch.manual_seed(int(np.random.SeedSequence([self.settings.seed, self.epoch, part, self.world.rank])
                              .generate_state(1)[0]))

    def synchronise(self, which: str, sums: Tensor, index: Tensor) -> tuple[Tensor, Tensor | None]:
        """Sum over the processes, in one all-reduce: the batch statistics ``sums`` and the gradients
        of what pass ``which`` updates, except the sequence codes (each process holds the rows it owns).

        ``index (part,)``: the sequences this process decoded. The action codes' gradients stay sparse:
        rows no process touched are not updated. Returns the summed ``sums`` and, for a pass that
        updates the codes, the gradient norm of all code tables over all processes (else None).
        """
        m, parts = self.model, [sums]
        acts = list(m.act_codes.parameters())
        decoder = list(m.decoder.parameters())
        if which != "decoder":
            square = sum(g.pow(2).sum() for g in gradients(m.seq_codes.parameters()))
            parts.append(torch.as_tensor(square, dtype=sums.dtype, device=sums.device).reshape(1))
            parts.append(torch.bincount(self.labels[index], minlength=m.num_classes).to(sums.dtype))
            parts += [dense_grad(p).reshape(-1) for p in acts]
        if which != "codes":
            parts += [dense_grad(p).reshape(-1) for p in decoder]
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

    def _sequence_state(self) -> tuple[list[str], list[int]]:
        """Names of the sequence-code parameters in the model's state and their positions in ``opt_codes``."""
        table = self.model.seq_codes
        params = self.opt_codes.param_groups[0]["params"]
        names = [f"seq_codes.{name}" for name, _ in table.named_parameters()]
        return names, [next(i for i, q in enumerate(params) if q is p) for p in table.parameters()]

    def state_dict(self) -> dict:
        """The state of one process holding the whole table: every process's block of sequence codes
        and of their optimiser state, gathered."""
        state = super().state_dict()
        n, (names, positions) = self.model.num_samples, self._sequence_state()
        for name, position, p in zip(names, positions, self.model.seq_codes.parameters()):
            state["model"][name] = self.world.gather_rows(p.detach(), n).cpu()
            own = self.opt_codes.state_of(p)
            state["opt_codes"]["state"][position] = {k: self.world.gather_rows(own[k], n).cpu() for k in RowAdam.STATE}
        return state

    def load_state_dict(self, state: dict) -> None:
        """Continue from the state of a run on any number of processes, keeping this process's block."""
        a, b = self.start, self.stop
        names, positions = self._sequence_state()
        opt_codes = {**state["opt_codes"], "state": dict(state["opt_codes"]["state"])}
        for position in positions:
            if position in opt_codes["state"]:
                opt_codes["state"][position] = {k: v[a:b] for k, v in opt_codes["state"][position].items()}
        model = {**state["model"], **{name: state["model"][name][a:b] for name in names}}
        super().load_state_dict({**state, "model": model, "opt_codes": opt_codes})

    def finish(self) -> None:
        """Put the whole sequence-code table back into the model (gathered from every process).

        Ends training with this trainer: afterwards the model no longer uses its optimisers' tables."""
        if self.sharded:
            n, table = self.model.num_samples, self.model.seq_codes
            logvar = None if table.logvar is None else self.world.gather_rows(table.logvar.detach(), n)
            self.model.seq_codes = CodeTable.of(self.world.gather_rows(table.mu.detach(), n), logvar)
            self.sharded = False
