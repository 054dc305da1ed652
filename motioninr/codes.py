"""Code draws: samples from the trained model's code posteriors, the data the Gaussian mixtures are fitted to.

A draws file (``data/codes/draws.npz``) holds, for ``samples`` training
sequences and ``draws`` codes each (``rows = samples * draws``)::

    codes          (rows, code_dim) float32   composed codes c = compose(beta, alpha)
    sample         (rows,) int64              training sample each draw comes from
    labels         (rows,) int64              its class
    lengths        (rows,) int64              its length in frames
    sample_ids     (samples,) str             training sample ids
    sample_labels  (samples,) int64
    sample_lengths (samples,) int64
    sample_codes   (samples, code_dim) float32  posterior mean codes (the training codes)
    class_names    (classes,) str
    betas          (rows, seq_code_dim) float32    the beta part of every draw (the space the official
                                                   mixtures are fitted in)
    sample_betas   (samples, seq_code_dim) float32 posterior means of beta
    sample_beta_sigma (samples, seq_code_dim) float32 posterior standard deviations of beta (0: points)
    class_alphas   (classes, act_code_dim) float32 posterior means of alpha (what generation composes with)
    compose        () str                          how beta and alpha compose: concat | add

The last five are optional (a file without them only supports mixtures over the composed codes).

No pickled objects: every array is numeric or a fixed-width string.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motioninr.errors import DataError
from motioninr.io import atomic_path, load_npz, one_line
from motioninr.settings import require

_FIELDS = ("codes", "sample", "labels", "lengths", "sample_ids", "sample_labels", "sample_lengths",
           "sample_codes", "class_names")


@dataclass(frozen=True)
class ResampleSettings:
    """Settings of the resample stage (``params.yaml`` section ``resample``)."""

    draws: int = 50
    seed: int = 0
    device: str = "auto"

    def validate(self, where: str) -> None:
        require(self.draws >= 1, f"{where}.draws", self.draws, "an integer >= 1")


@dataclass
class CodeDraws:
    """Draws from the code posteriors of every training sample (see the module docstring for shapes)."""

    codes: np.ndarray
    sample: np.ndarray
    sample_ids: np.ndarray
    sample_labels: np.ndarray
    sample_lengths: np.ndarray
    sample_codes: np.ndarray
    class_names: list[str]
    betas: np.ndarray | None = None
    sample_betas: np.ndarray | None = None
    sample_beta_sigma: np.ndarray | None = None
    class_alphas: np.ndarray | None = None
    compose: str = "concat"

    def __post_init__(self) -> None:
        for name in ("betas", "sample_betas", "sample_beta_sigma", "class_alphas"):
            if getattr(self, name) is not None:
                setattr(self, name, np.asarray(getattr(self, name), dtype=np.float32))
        self.codes = np.asarray(self.codes, dtype=np.float32)
        self.sample = np.asarray(self.sample, dtype=np.int64)
        self.sample_ids = np.asarray(self.sample_ids, dtype=str)
        self.sample_labels = np.asarray(self.sample_labels, dtype=np.int64)
        self.sample_lengths = np.asarray(self.sample_lengths, dtype=np.int64)
        self.sample_codes = np.asarray(self.sample_codes, dtype=np.float32)
        self.class_names = [str(c) for c in self.class_names]
        n = len(self.sample_ids)
        if self.codes.ndim != 2 or len(self.sample) != len(self.codes):
            raise ValueError(f"codes must be (rows, code_dim) with one sample index per row, got {self.codes.shape}"
                             f" and {self.sample.shape}")
        if not (len(self.sample_labels) == len(self.sample_lengths) == len(self.sample_codes) == n):
            raise ValueError("sample_ids, sample_labels, sample_lengths and sample_codes need one entry per sample")
        if self.sample_codes.ndim != 2 or self.sample_codes.shape[1] != self.codes.shape[1]:
            raise ValueError(f"sample_codes must be (samples, {self.codes.shape[1]}), got {self.sample_codes.shape}")
        if len(self.sample) and (self.sample.min() < 0 or self.sample.max() >= n):
            raise ValueError(f"sample indices must lie in [0, {n})")
        if n and (self.sample_labels.min() < 0 or self.sample_labels.max() >= len(self.class_names)):
            raise ValueError(f"labels must lie in [0, {len(self.class_names)})")

    @property
    def labels(self) -> np.ndarray:
        """Class of every draw, ``(rows,)``."""
        return self.sample_labels[self.sample]

    @property
    def lengths(self) -> np.ndarray:
        """Length in frames of every draw's training sample, ``(rows,)``."""
        return self.sample_lengths[self.sample]

    @property
    def code_dim(self) -> int:
        return self.codes.shape[1]

    @property
    def has_betas(self) -> bool:
        """Whether the beta part of the draws is stored (needed for mixtures over beta)."""
        return self.betas is not None and self.sample_betas is not None and self.class_alphas is not None

    def sigma_ratio(self) -> float | None:
        """:func:`code_sigma_ratio` of the stored beta posteriors (None without them)."""
        if self.sample_betas is None or self.sample_beta_sigma is None:
            return None
        return code_sigma_ratio(self.sample_betas, self.sample_beta_sigma)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def save(self, path: str | Path) -> None:
        """Write the draws as an uncompressed ``.npz`` (atomically)."""
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, codes=self.codes, sample=self.sample, labels=self.labels, lengths=self.lengths,
                         sample_ids=self.sample_ids, sample_labels=self.sample_labels,
                         sample_lengths=self.sample_lengths, sample_codes=self.sample_codes,
                         class_names=np.asarray(self.class_names, dtype=str), **self._beta_arrays())

    def _beta_arrays(self) -> dict:
        if not self.has_betas:
            return {}
        out = {"betas": self.betas, "sample_betas": self.sample_betas, "class_alphas": self.class_alphas,
               "compose": np.asarray(self.compose, dtype=str)}
        if self.sample_beta_sigma is not None:
            out["sample_beta_sigma"] = self.sample_beta_sigma
        return out

    @classmethod
    def load(cls, path: str | Path) -> "CodeDraws":
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: not found; run `dvc repro resample`")
        a = load_npz(path, "the code draws written by the resample stage", _FIELDS)
        try:
            return cls(a["codes"], a["sample"], a["sample_ids"], a["sample_labels"], a["sample_lengths"],
                       a["sample_codes"], a["class_names"].tolist(), betas=a.get("betas"),
                       sample_betas=a.get("sample_betas"), sample_beta_sigma=a.get("sample_beta_sigma"),
                       class_alphas=a.get("class_alphas"),
                       compose=str(a["compose"]) if "compose" in a else "concat")
        except (ValueError, TypeError) as exc:
            raise DataError(f"{path}: inconsistent code draws file ({one_line(exc)})") from None


def draw_codes(model, draws: int, seed: int = 0, batch: int = 65536) -> CodeDraws:
    """Draw ``draws`` composed codes per training sample from a trained model's posteriors.

    ``beta ~ N(seq_mu_i, exp(seq_logvar_i))`` and ``alpha ~ N(act_mu_z, exp(act_logvar_z))``
    (the mean itself where a code is not variational), ``c = model.compose(beta, alpha)``.
    Draw ``k`` of sample ``i`` is row ``i * draws + k``. The posterior mean codes
    ``compose(seq_mu_i, act_mu_z)`` are kept as the training codes.
    """
    import torch

    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    post = model.posteriors()
    labels = torch.as_tensor(model.train_labels, dtype=torch.long).cpu()
    lengths = torch.as_tensor(model.train_lengths, dtype=torch.long).cpu()
    seq_mu = post["seq_mu"].detach().float().cpu()
    act_mu = post["act_mu"].detach().float().cpu()
    seq_logvar, act_logvar = post.get("seq_logvar"), post.get("act_logvar")
    seq_std = None if seq_logvar is None else torch.exp(0.5 * seq_logvar.detach().float().cpu())
    act_std = None if act_logvar is None else torch.exp(0.5 * act_logvar.detach().float().cpu())
    n = seq_mu.shape[0]
    device = next(iter(model.parameters())).device if hasattr(model, "parameters") else torch.device("cpu")
    gen = torch.Generator().manual_seed(int(seed))
    sample = torch.arange(n).repeat_interleave(draws)
    out, betas = [], []
    with torch.no_grad():
        mean_codes = model.compose(seq_mu.to(device), act_mu[labels].to(device)).float().cpu()
        from motioninr.progress import track

        for start in track(range(0, len(sample), batch), "resample", unit="batches"):
            idx = sample[start:start + batch]
            beta, alpha = seq_mu[idx], act_mu[labels[idx]]
            if seq_std is not None:
                beta = beta + seq_std[idx] * torch.randn(beta.shape, generator=gen)
            if act_std is not None:
                alpha = alpha + act_std[labels[idx]] * torch.randn(alpha.shape, generator=gen)
            out.append(model.compose(beta.to(device), alpha.to(device)).float().cpu())
            betas.append(beta)
    sigma = torch.zeros_like(seq_mu) if seq_std is None else seq_std
    return CodeDraws(
        codes=torch.cat(out).numpy(), sample=sample.numpy(), sample_ids=np.asarray(model.train_ids, dtype=str),
        sample_labels=labels.numpy(), sample_lengths=lengths.numpy(), sample_codes=mean_codes.numpy(),
        class_names=list(model.class_names), betas=torch.cat(betas).numpy(), sample_betas=seq_mu.numpy(),
        sample_beta_sigma=sigma.numpy(), class_alphas=act_mu.numpy(), compose=model.settings.action_code,
    )


def code_sigma_ratio(mu, sigma) -> float:
    """How wide the posteriors are against the spread of their means: median posterior standard
    deviation over every sequence and dimension, divided by the mean over dimensions of the standard
    deviation of the means across sequences. About 0 when the codes are points (the draws are copies
    of the means); 1 when a posterior is as wide as the whole population of codes."""
    mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    spread = float(mu.std(axis=0).mean()) if len(mu) > 1 else 0.0
    return float(np.median(sigma) / spread) if spread > 0 else float("nan")
