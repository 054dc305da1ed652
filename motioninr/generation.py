"""Generation: code samplers and decoding sampled codes into motions of any length.

A sampler turns requests ``(actions (n,), lengths (n,))`` into codes ``(n, code_dim)``:

- ``gmm``       the method: the length-binned mixture of the action whose bin midpoint
                is nearest to the length (:class:`GMMSampler`)
- ``memorize``  the replay baseline: the mean code of the training sample of the same
                action with the nearest length (:class:`MemorizeSampler`)
- ``gaussian``  one full-covariance Gaussian per action, no length conditioning
                (:class:`GaussianSampler`)

:func:`generate_motions` decodes the codes with the trained model into a
:class:`~motioninr.data.dataset.MotionSet` whose sequences have exactly the requested
lengths, in metres. :func:`protocol_requests` builds the requests of the
evaluation protocols ``variable``, ``fixed`` and ``uniform``.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from motioninr.codes import CodeDraws
from motioninr.covariance import square_root_factor
from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError, SettingsError
from motioninr.gmm import LengthBinnedGMM
from motioninr.settings import require

SAMPLERS = ("gmm", "memorize", "gaussian")
PROTOCOLS = ("variable", "fixed", "uniform")


def _requests(actions, lengths) -> tuple[np.ndarray, np.ndarray]:
    actions = np.asarray(actions, dtype=np.int64).ravel()
    lengths = np.asarray(lengths, dtype=np.int64).ravel()
    if len(actions) != len(lengths):
        raise ValueError(f"{len(actions)} actions but {len(lengths)} lengths")
    if len(lengths) and lengths.min() < 1:
        raise SettingsError(f"length: got {int(lengths.min())}, expected a positive number of frames")
    return actions, lengths


class GMMSampler:
    """Codes from the length-binned mixtures (:meth:`~motioninr.gmm.LengthBinnedGMM.sample`).

    A request uses the bin of its action whose midpoint is nearest to its length;
    lengths outside the action's training lengths use the nearest bin and warn once.
    Mixtures over beta only compose every sampled beta with its action's mean alpha.
    """

    name = "gmm"

    def __init__(self, gmm: LengthBinnedGMM):
        self.gmm = gmm
        self.code_dim = gmm.output_dim
        self._warned = False

    def sample(self, actions, lengths, rng: np.random.Generator) -> np.ndarray:
        """``(n, code_dim)`` float32 codes for ``actions (n,)`` and ``lengths (n,)``."""
        actions, lengths = _requests(actions, lengths)
        codes = self.gmm.sample(actions, lengths, rng)
        outside = self.gmm.outside_training_range(actions, lengths)
        if outside.any() and not self._warned:
            i = int(np.flatnonzero(outside)[0])
            a = int(actions[i])
            warnings.warn(
                f"length {int(lengths[i])} of action {self.gmm.class_names[a]!r} lies outside its training lengths "
                f"[{self.gmm.length_min[a]}, {self.gmm.length_max[a]}]; using the nearest length bin",
                stacklevel=2,
            )
            self._warned = True
        return codes


class MemorizeSampler:
    """The replay baseline: the mean code of the same-action training sample with the nearest length.

    codes ``(samples, code_dim)``, labels ``(samples,)``, lengths ``(samples,)``; when several
    training samples share the nearest length, one of them is picked at random.
    """

    name = "memorize"

    def __init__(self, codes: np.ndarray, labels: np.ndarray, lengths: np.ndarray):
        self.codes = np.asarray(codes, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.code_dim = self.codes.shape[1]

    @classmethod
    def from_draws(cls, draws: CodeDraws) -> "MemorizeSampler":
        return cls(draws.sample_codes, draws.sample_labels, draws.sample_lengths)

    def sample(self, actions, lengths, rng: np.random.Generator) -> np.ndarray:
        actions, lengths = _requests(actions, lengths)
        out = np.empty((len(actions), self.code_dim), dtype=np.float32)
        for a in np.unique(actions):
            members = np.flatnonzero(self.labels == a)
            if members.size == 0:
                raise DataError(f"action {int(a)}: no training sample to replay")
            members = members[np.argsort(self.lengths[members], kind="stable")]
            sorted_len = self.lengths[members]
            sel = np.flatnonzero(actions == a)
            want = lengths[sel]
            pos = np.searchsorted(sorted_len, want)
            below = sorted_len[np.clip(pos - 1, 0, len(members) - 1)]
            above = sorted_len[np.clip(pos, 0, len(members) - 1)]
            nearest = np.where(np.abs(want - below) <= np.abs(above - want), below, above)
            lo = np.searchsorted(sorted_len, nearest, side="left")
            hi = np.searchsorted(sorted_len, nearest, side="right")
            pick = lo + np.floor(rng.random(len(sel)) * (hi - lo)).astype(np.int64)
            out[sel] = self.codes[members[pick]]
        return out


class GaussianSampler:
    """One full-covariance Gaussian per action fitted to its code draws; ignores the length.

    means ``(classes, code_dim)``, factors ``(classes, code_dim, code_dim)`` with
    ``factor @ factor.T`` the covariance, present ``(classes,)`` bool.
    """

    name = "gaussian"

    def __init__(self, means: np.ndarray, factors: np.ndarray, present: np.ndarray):
        self.means = np.asarray(means, dtype=np.float64)
        self.factors = np.asarray(factors, dtype=np.float64)
        self.present = np.asarray(present, dtype=bool)
        self.code_dim = self.means.shape[1]

    @classmethod
    def fit(cls, codes: np.ndarray, labels: np.ndarray, num_classes: int, reg: float = 1e-6) -> "GaussianSampler":
        """Fit to codes ``(rows, code_dim)`` with labels ``(rows,)``; ``reg`` is added to the diagonals."""
        codes = np.asarray(codes, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.int64)
        d = codes.shape[1]
        means = np.zeros((num_classes, d))
        factors = np.zeros((num_classes, d, d))
        present = np.zeros(num_classes, dtype=bool)
        for c in range(num_classes):
            x = codes[labels == c]
            if len(x) == 0:
                continue
            present[c] = True
            means[c] = x.mean(0)
            diff = x - means[c]
            cov = diff.T @ diff / max(len(x) - 1, 1) + reg * np.eye(d)
            factors[c] = square_root_factor(cov)
        return cls(means, factors, present)

    @classmethod
    def from_draws(cls, draws: CodeDraws) -> "GaussianSampler":
        return cls.fit(draws.codes, draws.labels, draws.num_classes)

    def sample(self, actions, lengths, rng: np.random.Generator) -> np.ndarray:
        actions, lengths = _requests(actions, lengths)
        out = np.empty((len(actions), self.code_dim), dtype=np.float32)
        for a in np.unique(actions):
            if not (0 <= a < len(self.present)) or not self.present[a]:
                raise DataError(f"action {int(a)}: no code draws to fit a Gaussian to")
            sel = np.flatnonzero(actions == a)
            z = rng.standard_normal((len(sel), self.code_dim))
            out[sel] = self.means[a] + z @ self.factors[a].T
        return out


def parse_action(text: str, class_names: list[str], where: str = "action") -> int:
    """An action given by name (case-insensitive) or index -> its index; one-line error listing the valid ones."""
    names = [n.lower() for n in class_names]
    key = str(text).strip()
    if key.lower() in names:
        return names.index(key.lower())
    if key.lstrip("-").isdigit() and 0 <= int(key) < len(class_names):
        return int(key)
    valid = ", ".join(f"{i} {n}" for i, n in enumerate(class_names))
    raise SettingsError(f"{where}: got {text!r}, expected an action name or index among: {valid}")


def make_sampler(name: str, gmm: LengthBinnedGMM | None = None, draws: CodeDraws | None = None):
    """The sampler called ``name`` (``gmm`` needs the mixtures, the baselines need the draws)."""
    if name == "gmm":
        if gmm is None:
            raise DataError("the gmm sampler needs the fitted mixtures (models/gmm); run `dvc repro fit-gmm`")
        return GMMSampler(gmm)
    if name in ("memorize", "gaussian"):
        if draws is None:
            raise DataError(f"the {name} sampler needs the code draws (data/codes/draws.npz); run `dvc repro resample`")
        return MemorizeSampler.from_draws(draws) if name == "memorize" else GaussianSampler.from_draws(draws)
    raise SettingsError(f"sampler: got {name!r}, expected one of {', '.join(SAMPLERS)}")


def protocol_requests(protocol: str, train_labels, train_lengths, num_classes: int, rng: np.random.Generator,
                      length: int = 60, per_class: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """``(actions (n,), lengths (n,))`` of an evaluation protocol.

    variable: one request per training clip, with its action and length
    fixed:    one request per training clip, with its action and ``length`` frames
    uniform:  ``per_class`` requests per action with training clips, lengths drawn uniformly
              from that action's training range
    """
    labels = np.asarray(train_labels, dtype=np.int64)
    lengths = np.asarray(train_lengths, dtype=np.int64)
    if protocol == "variable":
        return labels.copy(), lengths.copy()
    if protocol == "fixed":
        return labels.copy(), np.full(len(labels), int(length), dtype=np.int64)
    if protocol == "uniform":
        actions, out = [], []
        for c in range(num_classes):
            ln = lengths[labels == c]
            if ln.size == 0:
                continue
            actions.append(np.full(per_class, c, dtype=np.int64))
            out.append(rng.integers(ln.min(), ln.max() + 1, size=per_class))
        return np.concatenate(actions), np.concatenate(out).astype(np.int64)
    raise SettingsError(f"protocol: got {protocol!r}, expected one of {', '.join(PROTOCOLS)}")


def decode_codes(model, codes: np.ndarray, lengths: np.ndarray, fps: float | None = None,
                 starts: np.ndarray | None = None, with_rotations: bool = False):
    """Decode codes ``(n, code_dim)`` into packed frames ``(sum(lengths), joints, 3)`` float32, metres
    (``with_rotations``: and the local rotations ``(sum(lengths), joints, 6)`` of a ``rot6d`` model).

    ``starts (n,)``: time index of each motion's first frame (default 0)."""
    import torch

    codes = np.ascontiguousarray(codes, dtype=np.float32)
    lengths = np.asarray(lengths, dtype=np.int64)
    try:
        device = next(model.parameters()).device
    except (AttributeError, StopIteration):
        device = torch.device("cpu")
    extra = {} if starts is None else {"starts": torch.as_tensor(np.asarray(starts, dtype=np.float32))}
    with torch.no_grad():
        if with_rotations:
            extra["with_rotations"] = True
        out = model.decode(torch.from_numpy(codes).to(device), torch.from_numpy(lengths), fps=fps, **extra)
    if with_rotations:
        return tuple(t.detach().float().cpu().numpy() for t in out)
    return out.detach().float().cpu().numpy()


def crop_times(lengths: np.ndarray, crop: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The official Transformer's variable protocol (``sample_latent`` with ``get_subsequence``): for each
    requested length L, ``crop`` frames at the time indices of a random crop of a training sequence of
    length L: start uniform in ``[0, L - crop)`` when L > crop, else 0. Returns ``(lengths, starts)``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.zeros(len(lengths), dtype=np.int64)
    longer = lengths > crop
    starts[longer] = np.floor(rng.random(int(longer.sum())) * (lengths[longer] - crop)).astype(np.int64)
    return np.full(len(lengths), crop, dtype=np.int64), starts


def generate_motions(model, sampler, actions, lengths, rng: np.random.Generator, prefix: str = "gen",
                     fps: float | None = None, time_start: int = 0, crop: int | None = None) -> MotionSet:
    """Sample codes for the requests and decode them: a MotionSet of exactly the requested lengths, metres.

    ``time_start``: time index of every motion's first frame (0: the training indices; the official
    evaluation decodes from 1). ``crop``: decode only ``crop`` frames of each request, at the times
    of a random crop of its length (:func:`crop_times`); codes are still sampled for the full length."""
    actions, lengths = _requests(actions, lengths)
    if len(actions) and (actions.min() < 0 or actions.max() >= model.num_classes):
        bad = int(actions[(actions < 0) | (actions >= model.num_classes)][0])
        raise SettingsError(f"action: got {bad}, expected an index in [0, {model.num_classes})")
    codes = sampler.sample(actions, lengths, rng)
    starts = np.zeros(len(lengths), dtype=np.int64)
    if crop is not None:
        lengths, starts = crop_times(lengths, crop, rng)
    starts = starts + int(time_start)
    starts = None if not starts.any() else starts
    ids = np.array([f"{prefix}_{i:05d}" for i in range(len(actions))])
    if getattr(getattr(model, "settings", None), "output", "positions") == "rot6d":  # keep the rotations for export
        frames, rotations = decode_codes(model, codes, lengths, fps=fps, starts=starts, with_rotations=True)
        return MotionSet(frames=frames, lengths=lengths, labels=actions, ids=ids, rotations=rotations,
                         skeleton=model.skeleton.cpu().numpy())
    frames = decode_codes(model, codes, lengths, fps=fps, starts=starts)
    return MotionSet(frames=frames, lengths=lengths, labels=actions, ids=ids)


@dataclass(frozen=True)
class GenerateSettings:
    """Settings of the generate stage (``params.yaml`` section ``generate``).

    sampler:   the method's sampler, written under every protocol in ``protocols``
    protocols: variable | fixed | uniform
    baselines: extra samplers written under the ``variable`` protocol
    length:    frames per motion of the ``fixed`` protocol
    per_class: motions per action of the ``uniform`` protocol
    replications: independent draws of every set (fresh codes and motions each), stacked; each
              motion's draw is in the file's ``replication`` array (written when > 1). The evaluation's
              replication r scores draw r (official: 20 generated sets, ``test_metrics.py: evaluate``)
    fixed_mixture: class (official): the fixed protocol samples the length-agnostic mixture of each
              class (``class_gmm``); bins: the length bin whose midpoint is nearest to ``length``
    time_start: time index of a generated motion's first frame: 0 (the training indices) or 1 (the
              official evaluation's ``arange(1, T + 1)``, one frame later than training)
    crop_times: null, or the variable protocol of the official Transformer: decode this many frames
              (60) at the time indices of a random crop of the matched training length
    """

    sampler: Literal["gmm", "memorize", "gaussian"] = "gmm"
    protocols: tuple[Literal["variable", "fixed", "uniform"], ...] = ("variable", "fixed")
    baselines: tuple[Literal["gmm", "memorize", "gaussian"], ...] = ("memorize",)
    length: int = 60
    per_class: int = 20
    replications: int = 20
    fixed_mixture: Literal["class", "bins"] = "class"
    time_start: int = 0
    crop_times: int | None = None
    seed: int = 0
    device: str = "auto"

    def validate(self, where: str) -> None:
        require(len(self.protocols) > 0, f"{where}.protocols", list(self.protocols), "at least one protocol")
        require(len(set(self.protocols)) == len(self.protocols), f"{where}.protocols", list(self.protocols),
                "each protocol once")
        require(self.length >= 1, f"{where}.length", self.length, "a positive number of frames")
        require(self.per_class >= 1, f"{where}.per_class", self.per_class, "a positive count")
        require(self.replications >= 1, f"{where}.replications", self.replications, "a positive count")
        require(self.time_start >= 0, f"{where}.time_start", self.time_start, "a time index >= 0 (official 1)")
        require(self.crop_times is None or self.crop_times >= 1, f"{where}.crop_times", self.crop_times,
                "null or a positive number of frames (official Transformer: 60)")

    def plan(self) -> list[tuple[str, str]]:
        """``(sampler, protocol)`` pairs to write, the method's first."""
        pairs = [(self.sampler, p) for p in self.protocols]
        pairs += [(b, "variable") for b in self.baselines if (b, "variable") not in pairs]
        return pairs


def output_seed(seed: int, sampler: str, protocol: str) -> np.random.Generator:
    """A generator per output file, independent of which other files are written."""
    return np.random.default_rng([seed, zlib.crc32(f"{sampler}_{protocol}".encode())])


def generate_outputs(model, settings: GenerateSettings, gmm: LengthBinnedGMM | None,
                     draws: CodeDraws | None, class_gmm: LengthBinnedGMM | None = None
                     ) -> dict[str, tuple[MotionSet, np.ndarray, dict]]:
    """Every ``<sampler>_<protocol>`` set of the plan: motions, replication ``(sequences,)`` and metadata entry.

    ``class_gmm``: the length-agnostic mixtures the ``gmm`` sampler uses under the fixed protocol
    (``fixed_mixture: class``)."""
    labels = np.asarray(model.train_labels, dtype=np.int64)
    lengths = np.asarray(model.train_lengths, dtype=np.int64)
    samplers: dict[str, object] = {}
    out = {}
    from motioninr.progress import track

    for sampler_name, protocol in track(settings.plan(), "generate", unit="sets"):
        key = sampler_name
        if sampler_name == "gmm" and protocol == "fixed" and settings.fixed_mixture == "class":
            key = "gmm_class"
            if key not in samplers:
                if class_gmm is None:
                    raise DataError("generate.fixed_mixture: got 'class', but the length-agnostic mixtures "
                                    "(models/gmm/class_gmm.npz) are missing; run `dvc repro fit-gmm`")
                samplers[key] = GMMSampler(class_gmm)
        if key not in samplers:
            samplers[key] = make_sampler(sampler_name, gmm, draws)
        rng = output_seed(settings.seed, sampler_name, protocol)
        actions, req_lengths, replication = [], [], []
        for r in range(settings.replications):
            a, n = protocol_requests(protocol, labels, lengths, model.num_classes, rng,
                                     settings.length, settings.per_class)
            actions.append(a)
            req_lengths.append(n)
            replication.append(np.full(len(a), r, dtype=np.int64))
        name = f"{sampler_name}_{protocol}"
        crop = settings.crop_times if protocol == "variable" else None
        motions = generate_motions(model, samplers[key], np.concatenate(actions),
                                   np.concatenate(req_lengths), rng, prefix=name,
                                   time_start=settings.time_start, crop=crop)
        info = {"path": f"{name}.npz", "sampler": sampler_name, "protocol": protocol,
                "sequences": len(motions), "frames": int(motions.lengths.sum()),
                "replications": settings.replications}
        if protocol == "fixed":
            info["length"] = settings.length
            if sampler_name == "gmm":
                info["mixture"] = settings.fixed_mixture
        if protocol == "uniform":
            info["per_class"] = settings.per_class
        out[name] = (motions, np.concatenate(replication), info)
    return out
