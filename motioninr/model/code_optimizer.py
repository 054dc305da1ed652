"""The code optimiser: Adam over code tables row by row, and clipping of their sparse gradients.

A code table (:class:`~motioninr.model.model.CodeTable`) receives sparse gradients: a batch
touches only the rows of its sequences. ``train.code_optimizer: table`` (official) steps every row
at every code step, as one Adam over the whole table; ``row`` steps only the rows a batch used,
each with its own step count, as if every code were a tensor with an Adam of its own.
"""

from __future__ import annotations

import torch
from torch import Tensor


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

    STATE = ("row_step", "exp_avg", "exp_avg_sq")  # per-row tensors: (rows,), (rows, dim), (rows, dim)

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 dense: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})
        self.dense = dense

    def state_of(self, p: Tensor) -> dict:
        """The state of parameter ``p``, created (zeros: no row has moved yet) if it has none."""
        state = self.state[p]
        if not state:
            state["row_step"] = torch.zeros(len(p), dtype=p.dtype, device=p.device)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        return state

    def rows_and_gradient(self, p: Tensor) -> tuple[Tensor, Tensor] | None:
        """The rows of ``p`` this step updates and their gradients ``(rows,), (rows, dim)``; None: no update."""
        if self.dense:  # every row steps; a row the batch did not use has a zero gradient, moving on its momentum
            return torch.arange(len(p), device=p.device), dense_grad(p)
        if p.grad is None:
            return None
        if p.grad.is_sparse:
            grad = p.grad.coalesce()
            return grad.indices()[0], grad.values()
        return torch.arange(len(p), device=p.device), p.grad

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                update = self.rows_and_gradient(p)
                if update is None:
                    continue
                rows, g = update
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


def gradients(params) -> list[Tensor]:
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


def dense_grad(p: Tensor) -> Tensor:
    """The gradient of ``p`` as a dense tensor (zeros if it has none)."""
    if p.grad is None:
        return torch.zeros_like(p)
    return p.grad.to_dense() if p.grad.is_sparse else p.grad


def clip_grad_norm(params, max_norm: float, norm: Tensor | None = None) -> Tensor:
    """Scale the (dense or sparse) gradients of ``params`` to total L2 norm <= ``max_norm`` (0: no clipping).

    ``norm``: the total norm when it is already known (gradients spread over processes); otherwise
    it is computed from ``params``. Returns the norm before clipping.
    """
    grads = gradients(params)
    if not grads:
        return torch.zeros(())
    if norm is None:
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
    if max_norm > 0:
        scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(scale)
    return norm
