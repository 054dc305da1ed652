"""Length-binned Gaussian mixtures over motion codes: the generator of the method.

Per class, the code draws are split into length bins ``[low, high)`` (see
:func:`length_bins`) and one scikit-learn ``GaussianMixture`` is fitted per
(class, bin), guarded against memorisation (:func:`fit_bin`). The fitted
mixtures live in a :class:`MixtureBank` as plain arrays, saved as
``gmm.npz`` + ``gmm.json`` (no pickles), and sampled for an (action, length)
from the bin whose midpoint is nearest to the length.

``space: beta`` (official, ``test_metrics.py: fit_distribution``) fits the mixtures to the
sequence codes beta only; a sampled beta is composed with the class's mean alpha. ``composed``
fits them to the composed codes ``[beta, alpha]`` (alpha drawn with every draw).

The fixed-length protocol has its own bank (``class_gmm``): one length-agnostic mixture per
class over all of its draws (official ``GaussianMixtureTorch``), see :func:`fit_class_mixtures`.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from motioninr.codes import CodeDraws
from motioninr.covariance import pack_covariances, square_root_factor, unpack_covariances
from motioninr.errors import DataError
from motioninr.io import atomic_path, load_json, load_npz, one_line
from motioninr.settings import require

COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")
FORMAT = "motioninr-gmm-v1"
CLASS_BANK = "class_gmm"  # file stem of the fixed-length protocol's length-agnostic mixtures
_BANK_ARRAYS = ("bin_action", "bin_low", "bin_high", "offsets", "weights", "means", "covariances",
                "length_min", "length_max")


@dataclass(frozen=True)
class GMMSettings:
    """Settings of the length-binned mixtures (``params.yaml`` section ``gmm``).

    components:     mixture components per (class, bin) before the guard lowers them
    covariance:     full | diag | tied | spherical
    min_population: a bin holds at least this many draws (50 = one sequence's draws)
    min_window:     a bin spans at least this many frames
    max_iter, tol, reg_covar: EM settings of ``sklearn.mixture.GaussianMixture``
    guard:          reject a fit with a component mean closer than ``guard`` x the mean norm of
                    the reference codes to one of them (0 disables)
    guard_reference: draws (official): the reference codes are the bin's own draws;
                    means: the posterior means of the class's training sequences (stricter where
                    posteriors are wide: a component sitting on one sequence's mean replays it,
                    even when no draw of that sequence lies near the mean)
    space:          beta (official): mixtures over beta, alpha at its class mean when generating;
                    composed: mixtures over [beta, alpha]
    retries:        seeds tried per component count before lowering the count
    seed:           base seed; each bin derives its own from (seed, class, bin)
    n_jobs:         bins fitted in parallel (joblib)
    """

    components: int = 15
    covariance: Literal["full", "diag", "tied", "spherical"] = "full"
    min_population: int = 50
    min_window: int = 10
    max_iter: int = 100
    tol: float = 1e-3
    reg_covar: float = 1e-6
    guard: float = 0.1
    guard_reference: Literal["draws", "means"] = "draws"
    space: Literal["beta", "composed"] = "beta"
    retries: int = 10
    seed: int = 0
    n_jobs: int = -1

    def validate(self, where: str) -> None:
        for name in ("components", "min_population", "min_window", "max_iter", "retries"):
            value = getattr(self, name)
            require(value >= 1, f"{where}.{name}", value, "an integer >= 1")
        require(self.tol > 0, f"{where}.tol", self.tol, "a number > 0")
        require(self.reg_covar >= 0, f"{where}.reg_covar", self.reg_covar, "a number >= 0")
        require(self.guard >= 0, f"{where}.guard", self.guard, "a number >= 0 (0 disables the guard)")
        require(self.n_jobs != 0, f"{where}.n_jobs", self.n_jobs, "a positive count, or -1 for every core")


def length_bins(lengths: np.ndarray, min_population: int, min_window: int) -> np.ndarray:
    """Split one class's draws into length bins, ``(bins, 2)`` int64 rows ``[low, high)``.

    ``lengths`` is ``(draws,)``, the length of each draw's training sample.
    A bin starts at the shortest length not yet covered and grows until it holds
    ``min_population`` draws and spans ``min_window`` frames. When the draws left
    over cannot fill a bin, the last bin ends after the longest length and is
    widened backwards (overlapping the previous bin) until it holds
    ``min_population`` draws, or all the class's draws if it has fewer.
    """
    lengths = np.asarray(lengths, dtype=np.int64).ravel()
    if lengths.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    values, counts = np.unique(lengths, return_counts=True)
    below = np.concatenate([[0], np.cumsum(counts)])  # below[i]: draws shorter than values[i]
    total, longest = int(below[-1]), int(values[-1])
    bins: list[tuple[int, int]] = []
    i = 0
    while i < len(values):
        low = int(values[i])
        need = below[i] + min_population
        if need > total:  # remainder too small: last bin, widened backwards
            j = max(int(np.searchsorted(below, total - min_population, side="right")) - 1, 0)
            low = min(low, int(values[j]))
            bins.append((low, max(longest + 1, low + min_window)))
            break
        j = int(np.searchsorted(below, need, side="left"))  # values[:j] hold enough draws
        high = max(int(values[j - 1]) + 1, low + min_window)
        bins.append((low, high))
        i = int(np.searchsorted(values, high, side="left"))
    return np.asarray(bins, dtype=np.int64).reshape(-1, 2)


def _nearest_distance(means: np.ndarray, codes: np.ndarray, codes_sq: np.ndarray) -> float:
    """Smallest Euclidean distance between any row of ``means (k, D)`` and ``codes (m, D)``."""
    d2 = (means * means).sum(1)[:, None] + codes_sq[None, :] - 2.0 * means @ codes.T
    return float(np.sqrt(max(d2.min(), 0.0)))


def fit_bin(x: np.ndarray, reference: np.ndarray, settings: GMMSettings, seed: int) -> dict:
    """Fit one guarded ``GaussianMixture`` to the draws of one (class, bin).

    x:         ``(draws, code_dim)`` codes of the bin
    reference: ``(rows, code_dim)`` codes the guard compares with (the bin's draws, or the
               class's posterior means: ``settings.guard_reference``)

    Starting at ``settings.components`` (at most the number of draws), a fit is rejected when a
    final EM component mean lies closer than ``guard x mean ||reference||`` to a reference code
    (official ``LengthConditionalDistribution.fit``); ``settings.retries`` seeds are tried per
    component count, then the count is lowered. Every k-means and EM step is scikit-learn's
    (``init_params="kmeans"``). If nothing passes, the single-component fit is kept with
    ``guard_passed: false``.

    Returns ``weights (k,)``, ``means (k, D)``, ``covariances`` (packed as in
    :func:`pack_covariances`) and ``record`` (components, retries, fits, converged,
    iterations, mean_log_likelihood, guard_passed, nearest_code_distance, guard_threshold).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, dtype=np.float64)
    most = min(settings.components, len(x))
    if len(x) == 1:  # EM needs two rows; a repeated point gives the same mixture
        x = np.repeat(x, 2, axis=0)
    reference = np.asarray(reference, dtype=np.float64).reshape(-1, x.shape[1])
    reference_sq = (reference * reference).sum(1)
    threshold = settings.guard * float(np.sqrt(reference_sq).mean()) if settings.guard > 0 and len(reference) else 0.0

    rejected = fits = 0
    accepted, distance = None, float("nan")
    # One BLAS thread per fit: bins run in parallel processes, and multithreaded BLAS on
    # these small (256 x 256) matrices spends its time synchronising, not computing.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in range(most, 0, -1):
            for r in range(settings.retries if k > 1 else 1):  # one component: the same fit for every seed
                gm = GaussianMixture(n_components=k, covariance_type=settings.covariance, tol=settings.tol,
                                     reg_covar=settings.reg_covar, max_iter=settings.max_iter, n_init=1,
                                     init_params="kmeans", random_state=(seed + r) % (2**32)).fit(x)
                fits += 1
                distance = _nearest_distance(gm.means_, reference, reference_sq) if len(reference) else float("inf")
                if threshold <= 0 or distance >= threshold:
                    accepted = gm
                    break
                rejected += 1
            if accepted is not None:
                break
        passed = accepted is not None
        if accepted is None:  # the last fit tried had one component
            accepted = gm
    record = {
        "components": int(accepted.n_components),
        "retries": int(rejected),
        "fits": int(fits),
        "converged": bool(accepted.converged_),
        "iterations": int(accepted.n_iter_),
        "mean_log_likelihood": float(accepted.lower_bound_),
        "guard_passed": bool(passed),
        "nearest_code_distance": float(distance),
        "guard_threshold": float(threshold),
    }
    return {"weights": accepted.weights_, "means": accepted.means_.astype(np.float32),
            "covariances": pack_covariances(accepted.covariances_, settings.covariance), "record": record}


def _bin_seed(seed: int, action: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, action, index]).generate_state(1)[0])


def mixture_space(draws: CodeDraws, space: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """The codes mixtures are fitted to: ``(draw codes (rows, D), posterior means (samples, D), class
    alphas (classes, da) or None, compose)``. Beta space needs draws that store beta; draws without
    it (or ``space: composed``) give the composed codes, used as they are."""
    if space == "beta":
        if not draws.has_betas:
            raise DataError("gmm.space: got 'beta', but the code draws do not store beta; rerun `dvc repro resample` "
                            "or use gmm.space: composed")
        return draws.betas, draws.sample_betas, draws.class_alphas, draws.compose
    return draws.codes, draws.sample_codes, None, "none"


def fit_mixtures(draws: CodeDraws, settings: GMMSettings, length_agnostic: bool = False) -> "MixtureBank":
    """Bin every class's draws by length and fit one guarded mixture per (class, bin), in parallel.

    ``length_agnostic``: one bin per class holding all of its draws (the fixed-length protocol's
    mixtures, official ``GaussianMixtureTorch``)."""
    from joblib import Parallel, delayed

    from motioninr.progress import track

    codes, means, alphas, compose = mixture_space(draws, settings.space)
    labels, lengths = draws.labels, draws.lengths
    tasks = []
    for c in range(draws.num_classes):
        rows = np.flatnonzero(labels == c)
        if rows.size == 0:
            continue
        class_means = means[draws.sample_labels == c]
        if length_agnostic:
            bins = np.array([[lengths[rows].min(), lengths[rows].max() + 1]])
        else:
            bins = length_bins(lengths[rows], settings.min_population, settings.min_window)
        for b, (low, high) in enumerate(bins):
            in_bin = rows[(lengths[rows] >= low) & (lengths[rows] < high)]
            tasks.append({"action": c, "low": int(low), "high": int(high), "rows": in_bin,
                          "reference": class_means if settings.guard_reference == "means" else None,
                          "seed": _bin_seed(settings.seed, c, b)})
    if not tasks:
        raise DataError("no code draws to fit; the draws file holds no training samples")
    order = sorted(range(len(tasks)), key=lambda t: -len(tasks[t]["rows"]))  # largest first balances workers

    def job(t: int):
        x = codes[tasks[t]["rows"]]
        reference = x if tasks[t]["reference"] is None else tasks[t]["reference"]
        return delayed(fit_bin)(x, reference, settings, tasks[t]["seed"])

    fitted = list(track(Parallel(n_jobs=settings.n_jobs, return_as="generator")(job(t) for t in order),
                        "fit-gmm", total=len(order), unit="bins"))
    results = [None] * len(tasks)
    for t, res in zip(order, fitted):
        results[t] = res

    records = []
    for task, res in zip(tasks, results):
        records.append({
            "action": task["action"], "class_name": draws.class_names[task["action"]],
            "low": task["low"], "high": task["high"], "population": int(len(task["rows"])),
            "samples": int(len(np.unique(draws.sample[task["rows"]]))), **res["record"],
        })
    counts = [len(r["weights"]) for r in results]
    if settings.covariance == "tied":
        covariances = np.stack([r["covariances"] for r in results])
    else:
        covariances = np.concatenate([r["covariances"] for r in results])
    length_min = np.full(draws.num_classes, -1, dtype=np.int64)
    length_max = np.full(draws.num_classes, -1, dtype=np.int64)
    for c in range(draws.num_classes):
        sel = draws.sample_lengths[draws.sample_labels == c]
        if sel.size:
            length_min[c], length_max[c] = sel.min(), sel.max()
    return MixtureBank(
        covariance_type=settings.covariance, class_names=list(draws.class_names),
        bin_action=np.array([t["action"] for t in tasks]), bin_low=np.array([t["low"] for t in tasks]),
        bin_high=np.array([t["high"] for t in tasks]), offsets=np.concatenate([[0], np.cumsum(counts)]),
        weights=np.concatenate([r["weights"] for r in results]),
        means=np.concatenate([r["means"] for r in results]), covariances=covariances,
        length_min=length_min, length_max=length_max, records=records,
        settings=asdict(settings), alphas=alphas, compose=compose, sigma_ratio=draws.sigma_ratio(),
    )


def fit_class_mixtures(draws: CodeDraws, settings: GMMSettings) -> "MixtureBank":
    """The fixed-length protocol's mixtures: one per class over all its draws, whatever their length."""
    return fit_mixtures(draws, settings, length_agnostic=True)


@dataclass
class MixtureBank:
    """The fitted mixtures of every (class, bin), as plain arrays.

    bin_action, bin_low, bin_high: ``(bins,)``; bin ``b`` covers lengths ``[low, high)`` of class ``action``
    offsets:     ``(bins + 1,)``; bin ``b`` owns components ``offsets[b]:offsets[b + 1]``
    weights:     ``(components,)``, summing to one within each bin
    means:       ``(components, code_dim)``
    covariances: float32, lower triangles for full ``(components, D (D + 1) / 2)`` and tied
                 ``(bins, D (D + 1) / 2)``; diag ``(components, D)``; spherical ``(components,)``
                 (see :func:`pack_covariances`; :meth:`covariance` gives the matrices)
    length_min, length_max: ``(classes,)`` training length range per class (-1 when a class has no samples)
    records:     one dict per bin (range, population, components used, retries, converged, ...)
    alphas:      ``(classes, act_code_dim)`` class mean alphas when the mixtures model beta only
                 (None: the mixtures model whole codes); ``compose``: concat | add | none
    sigma_ratio: code_sigma_ratio of the posteriors the draws came from (None if unknown)
    """

    covariance_type: str
    class_names: list[str]
    bin_action: np.ndarray
    bin_low: np.ndarray
    bin_high: np.ndarray
    offsets: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    length_min: np.ndarray
    length_max: np.ndarray
    records: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    alphas: np.ndarray | None = None
    compose: str = "none"
    sigma_ratio: float | None = None
    _factors: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("bin_action", "bin_low", "bin_high", "offsets", "length_min", "length_max"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.means = np.asarray(self.means, dtype=np.float32)
        self.covariances = np.asarray(self.covariances, dtype=np.float32)
        if self.alphas is not None:
            self.alphas = np.asarray(self.alphas, dtype=np.float32)
        if self.compose not in ("none", "concat", "add") or (self.alphas is None) != (self.compose == "none"):
            raise ValueError(f"compose {self.compose!r} needs class alphas exactly when it is concat or add")
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance type {self.covariance_type!r}; expected one of {', '.join(COVARIANCE_TYPES)}")
        nb, k = len(self.bin_action), len(self.weights)
        if not (len(self.bin_low) == len(self.bin_high) == nb and len(self.offsets) == nb + 1):
            raise ValueError("bin_action, bin_low, bin_high need one entry per bin and offsets one more")
        if self.offsets[0] != 0 or self.offsets[-1] != k or np.any(np.diff(self.offsets) < 1):
            raise ValueError("offsets must rise from 0 to the number of components, at least one per bin")
        if self.means.ndim != 2 or len(self.means) != k:
            raise ValueError(f"means must be ({k}, code_dim), got {self.means.shape}")
        d = self.means.shape[1]
        tri = d * (d + 1) // 2
        expected = {"full": (k, tri), "diag": (k, d), "spherical": (k,), "tied": (nb, tri)}[self.covariance_type]
        if self.covariances.shape != expected:
            raise ValueError(f"{self.covariance_type} covariances must be {expected}, got {self.covariances.shape}")

    # ------------------------------------------------------------------ lookup
    @property
    def num_bins(self) -> int:
        return len(self.bin_action)

    @property
    def code_dim(self) -> int:
        return self.means.shape[1]

    @property
    def output_dim(self) -> int:
        """Size of the codes the bank produces (composed with alpha when it models beta only)."""
        if self.compose == "concat":
            return self.code_dim + self.alphas.shape[1]
        return self.code_dim

    def compose_codes(self, beta: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Sampled mixture codes ``(n, code_dim)`` of ``actions (n,)`` -> decoder codes ``(n, output_dim)``."""
        if self.compose == "none":
            return beta
        alpha = self.alphas[np.asarray(actions, dtype=np.int64)]
        return np.concatenate([beta, alpha], axis=1) if self.compose == "concat" else beta + alpha

    @property
    def components_per_bin(self) -> float:
        """Mean number of components per bin after the guard."""
        return float(len(self.weights) / max(self.num_bins, 1))

    @property
    def midpoints(self) -> np.ndarray:
        """Centre of each bin's integer lengths, ``(bins,)`` float."""
        return (self.bin_low + self.bin_high - 1) / 2.0

    def nearest_bins(self, actions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Bin of each request ``(actions (n,), lengths (n,))``: same class, nearest midpoint (the lower on ties)."""
        actions = np.asarray(actions, dtype=np.int64).ravel()
        lengths = np.asarray(lengths, dtype=np.float64).ravel()
        present = np.zeros(len(self.class_names), dtype=bool)
        present[self.bin_action] = True
        bad = (actions < 0) | (actions >= len(self.class_names))
        bad[~bad] = ~present[actions[~bad]]
        if bad.any():
            a = int(actions[bad][0])
            raise DataError(f"action {a}: the mixtures have no bin for it; classes with bins: "
                            f"{', '.join(str(c) for c in np.flatnonzero(present))}")
        out = np.empty(len(actions), dtype=np.int64)
        mid = self.midpoints
        for start in range(0, len(actions), 4096):
            a, t = actions[start:start + 4096], lengths[start:start + 4096]
            dist = np.abs(mid[None, :] - t[:, None])
            dist[self.bin_action[None, :] != a[:, None]] = np.inf
            out[start:start + 4096] = dist.argmin(axis=1)
        return out

    def outside_training_range(self, actions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: the length lies outside its class's training lengths."""
        actions = np.asarray(actions, dtype=np.int64)
        lengths = np.asarray(lengths)
        return (lengths < self.length_min[actions]) | (lengths > self.length_max[actions])

    def components_of(self, b: int) -> slice:
        """The components of bin ``b`` as a slice into ``weights`` and ``means``."""
        return slice(int(self.offsets[b]), int(self.offsets[b + 1]))

    def covariance(self, b: int) -> np.ndarray:
        """Covariances of bin ``b`` in sklearn's layout: full ``(k, D, D)``, tied ``(D, D)``, diag ``(k, D)``,
        spherical ``(k,)``, float64."""
        if self.covariance_type == "tied":
            return unpack_covariances(self.covariances[b], self.code_dim)
        cov = self.covariances[self.components_of(b)]
        if self.covariance_type == "full":
            return unpack_covariances(cov, self.code_dim)
        return cov.astype(np.float64)

    # ---------------------------------------------------------------- sampling
    def _bin_factors(self, b: int) -> np.ndarray:
        if b not in self._factors:
            lo, hi = self.offsets[b], self.offsets[b + 1]
            if self.covariance_type in ("full", "tied"):
                self._factors[b] = square_root_factor(self.covariance(b))
            else:
                self._factors[b] = np.sqrt(np.clip(self.covariances[lo:hi].astype(np.float64), 0.0, None))
        return self._factors[b]

    def sample_bin(self, b: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` codes ``(count, code_dim)`` float32 from the mixture of bin ``b``."""
        lo, hi = int(self.offsets[b]), int(self.offsets[b + 1])
        w = self.weights[lo:hi] / self.weights[lo:hi].sum()
        comp = rng.choice(hi - lo, size=count, p=w)
        z = rng.standard_normal((count, self.code_dim))
        f = self._bin_factors(b)
        out = np.empty((count, self.code_dim), dtype=np.float64)
        for k in np.unique(comp):
            sel = comp == k
            if self.covariance_type == "full":
                noise = z[sel] @ f[k].T
            elif self.covariance_type == "tied":
                noise = z[sel] @ f.T
            elif self.covariance_type == "diag":
                noise = z[sel] * f[k]
            else:
                noise = z[sel] * f[k]
            out[sel] = self.means[lo + k] + noise
        return out.astype(np.float32)

    # --------------------------------------------------------------- save/load
    def save(self, folder: str | Path, name: str = "gmm") -> None:
        """Write ``<name>.npz`` (arrays) and ``<name>.json`` (settings, classes, per-bin records) into ``folder``.

        Nothing time-dependent is written: the same fit gives byte-identical files."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        extra = {} if self.alphas is None else {"alphas": self.alphas}
        with atomic_path(folder / f"{name}.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, bin_action=self.bin_action, bin_low=self.bin_low, bin_high=self.bin_high,
                         offsets=self.offsets, weights=self.weights, means=self.means,
                         covariances=self.covariances, length_min=self.length_min, length_max=self.length_max,
                         **extra)
        info = {"format": FORMAT, "covariance_type": self.covariance_type, "code_dim": self.code_dim,
                "compose": self.compose, "class_names": self.class_names, "settings": self.settings,
                "sigma_ratio": self.sigma_ratio, "bins": self.records}
        with atomic_path(folder / f"{name}.json") as tmp:
            tmp.write_text(json.dumps(info, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path, name: str = "gmm") -> "MixtureBank":
        folder = Path(folder)
        npz, js = folder / f"{name}.npz", folder / f"{name}.json"
        for path in (npz, js):
            if not path.is_file():
                raise DataError(f"{path}: not found; run `dvc repro fit-gmm`")
        info = load_json(js, f"the {FORMAT} mixture description written by fit-gmm")
        if info.get("format") != FORMAT:
            raise DataError(f"{js}: format {info.get('format')!r}, expected {FORMAT!r}")
        a = load_npz(npz, "the mixture arrays written by fit-gmm", _BANK_ARRAYS)
        try:
            return cls(covariance_type=info["covariance_type"], class_names=list(info["class_names"]),
                       bin_action=a["bin_action"], bin_low=a["bin_low"], bin_high=a["bin_high"],
                       offsets=a["offsets"], weights=a["weights"], means=a["means"], covariances=a["covariances"],
                       length_min=a["length_min"], length_max=a["length_max"], records=list(info.get("bins", [])),
                       settings=dict(info.get("settings", {})), alphas=a.get("alphas"),
                       compose=str(info.get("compose", "none")), sigma_ratio=info.get("sigma_ratio"))
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"{npz}: inconsistent mixture file ({one_line(exc)})") from None

    def report(self) -> dict:
        """A human-readable summary: totals and, per class, one line of facts per bin."""
        recs = self.records
        per_class: dict[str, list] = {}
        for r in recs:
            per_class.setdefault(r["class_name"], []).append({
                "lengths": f"[{r['low']}, {r['high']})", "population": r["population"], "samples": r["samples"],
                "components": r["components"], "retries": r["retries"], "converged": r["converged"],
                "guard_passed": r["guard_passed"], "mean_log_likelihood": round(r["mean_log_likelihood"], 3),
            })
        return {
            "bins": self.num_bins,
            "components": int(len(self.weights)),
            "components_per_bin": round(self.components_per_bin, 3),
            "code_sigma_ratio": None if self.sigma_ratio is None else round(float(self.sigma_ratio), 4),
            "space": "composed" if self.compose == "none" else "beta",
            "covariance_type": self.covariance_type,
            "code_dim": self.code_dim,
            "bins_not_converged": sum(not r["converged"] for r in recs),
            "bins_failing_guard": sum(not r["guard_passed"] for r in recs),
            "bins_with_fewer_components": sum(r["components"] < self.settings.get("components", 0) for r in recs),
            "retries": sum(r["retries"] for r in recs),
            "classes": per_class,
        }
