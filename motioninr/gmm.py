"""Length-binned Gaussian mixtures over motion codes: the generator of the method.

Each class's code draws are cut into length bins (:func:`length_bins`) and one scikit-learn
``GaussianMixture`` is fitted per bin, guarded against memorisation (:func:`fit_bin`).
:class:`LengthBinnedGMM` is the estimator (fit, sample, save, load); :func:`fit_mixtures` fits
it to the pipeline's code draws. Files: :mod:`motioninr.gmm_files`.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from motioninr import gmm_files
from motioninr.codes import CodeDraws
from motioninr.covariance import pack_covariances, square_root_factor, unpack_covariances
from motioninr.errors import DataError
from motioninr.io import one_line
from motioninr.settings import require


def length_bins(lengths: np.ndarray, min_population: int, min_window: int) -> np.ndarray:
    """One class's length bins, ``(bins, 2)`` int64 rows ``[low, high)``; ``lengths (draws,)``
    (official ``LengthConditionalDistribution.fit``, without its off-by-one: docs/fidelity.md).

    A bin starts at the shortest length not yet covered and grows until it holds
    ``min_population`` draws and spans ``min_window`` frames. When the draws left over cannot
    fill a bin, the last bin ends after the longest length and is widened backwards (over the
    bin before) until it holds ``min_population`` draws, or all the draws of a smaller class.
    """
    lengths = np.sort(np.asarray(lengths, dtype=np.int64).ravel())
    bins: list[tuple[int, int]] = []
    first = 0  # the shortest draw not yet covered
    while first < len(lengths):
        low = int(lengths[first])
        if len(lengths) - first < min_population:  # too few left: the last bin, widened backwards
            low = int(lengths[max(len(lengths) - min_population, 0)])
            bins.append((low, max(int(lengths[-1]) + 1, low + min_window)))
            break
        high = max(int(lengths[first + min_population - 1]) + 1, low + min_window)
        bins.append((low, high))
        first = int(np.searchsorted(lengths, high))
    return np.asarray(bins, dtype=np.int64).reshape(-1, 2)


def fit_bin(x: np.ndarray, reference: np.ndarray, settings: GMMSettings, seed: int) -> dict:
    """Fit the guarded mixture of one (class, bin): ``x (draws, D)``, ``reference (rows, D)``
    (official ``LengthConditionalDistribution.fit``).

    From ``settings.components`` (at most the draws) down to one component, up to
    ``settings.retries`` seeds each: a fit is rejected when one of its component means lies closer
    than ``guard`` x the mean norm of the reference codes to one of them. If nothing passes, the
    single-component fit is kept with ``guard_passed: false``. Returns ``weights (k,)``, ``means (k, D)``,
    packed ``covariances`` and the bin's ``record`` (:func:`_fitted`).
    """
    x = np.asarray(x, dtype=np.float64)
    most = min(settings.components, len(x))
    if len(x) == 1:  # EM needs two rows; a repeated point gives the same mixture
        x = np.repeat(x, 2, axis=0)
    reference = np.asarray(reference, dtype=np.float64).reshape(-1, x.shape[1])
    reference_sq = (reference * reference).sum(1)
    threshold = settings.guard * float(np.sqrt(reference_sq).mean()) if settings.guard > 0 and len(reference) else 0.0
    rejected = 0
    with _one_quiet_thread():
        for k in range(most, 0, -1):
            for r in range(settings.retries if k > 1 else 1):  # one component: the same fit for every seed
                gm = _em(x, k, settings, (seed + r) % (2**32))
                distance = _nearest_distance(gm.means_, reference, reference_sq) if len(reference) else float("inf")
                if threshold <= 0 or distance >= threshold:
                    return _fitted(gm, settings, rejected, True, distance, threshold)
                rejected += 1
    return _fitted(gm, settings, rejected, False, distance, threshold)  # the last fit had one component


def _nearest_distance(means: np.ndarray, codes: np.ndarray, codes_sq: np.ndarray) -> float:
    """Smallest Euclidean distance between any row of ``means (k, D)`` and ``codes (m, D)``.

    Kept by hand: scikit-learn's ``euclidean_distances`` and scipy's ``cdist`` round differently in
    the last bits, which changes the distances recorded in ``gmm.json``."""
    d2 = (means * means).sum(1)[:, None] + codes_sq[None, :] - 2.0 * means @ codes.T
    return float(np.sqrt(max(d2.min(), 0.0)))


def _em(x: np.ndarray, k: int, settings: GMMSettings, seed: int):
    """One scikit-learn ``GaussianMixture`` fit (k-means initialisation, then EM)."""
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components=k, covariance_type=settings.covariance, tol=settings.tol,
                           reg_covar=settings.reg_covar, max_iter=settings.max_iter, n_init=1,
                           init_params="kmeans", random_state=seed).fit(x)


@contextlib.contextmanager
def _one_quiet_thread():
    """One BLAS thread, no convergence warnings: bins run in parallel processes, and multithreaded
    BLAS on these small (256 x 256) matrices spends its time synchronising, not computing."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _fitted(gm, settings: GMMSettings, rejected: int, passed: bool, distance: float, threshold: float) -> dict:
    """The kept fit's arrays and the bin's record (components, retries: fits the guard rejected, fits, EM facts,
    guard_passed, nearest_code_distance, guard_threshold)."""
    record = {
        "components": int(gm.n_components),
        "retries": int(rejected),
        "fits": int(rejected + passed),
        "converged": bool(gm.converged_),
        "iterations": int(gm.n_iter_),
        "mean_log_likelihood": float(gm.lower_bound_),
        "guard_passed": bool(passed),
        "nearest_code_distance": float(distance),
        "guard_threshold": float(threshold),
    }
    return {"weights": gm.weights_, "means": gm.means_.astype(np.float32),
            "covariances": pack_covariances(gm.covariances_, settings.covariance), "record": record}


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
        for name, allowed in (("covariance", gmm_files.COVARIANCE_TYPES), ("guard_reference", ("draws", "means")),
                              ("space", ("beta", "composed"))):
            value = getattr(self, name)
            require(value in allowed, f"{where}.{name}", value, f"one of {', '.join(allowed)}")


class LengthBinnedGMM:
    """Gaussian mixtures of motion codes, one per (class, length bin).

    ``LengthBinnedGMM(settings).fit(codes, lengths, labels)`` cuts every class's draws into length
    bins and fits one guarded mixture per bin, in parallel; ``sample(actions, lengths, rng)`` draws
    each request's code from the bin of its class whose midpoint is nearest to its length;
    ``save``/``load`` write and read ``<name>.npz`` + ``<name>.json``. ``length_agnostic``: one bin per
    class holding all its draws (the fixed-length protocol's mixtures, official ``GaussianMixtureTorch``).

    Fitted attributes: ``covariance_type``, ``class_names``, ``records`` (one dict per bin), ``settings``
    (None if unknown), ``sigma_ratio`` and the arrays of :mod:`motioninr.gmm_files` (bins, components,
    training length range per class, and the class ``alphas`` sampled codes are composed with).
    """

    def __init__(self, settings: GMMSettings = GMMSettings(), length_agnostic: bool = False):
        self.settings = settings
        self.length_agnostic = length_agnostic

    def fit(self, codes, lengths, labels, *, class_names: list[str] | None = None, samples=None, reference=None,
            reference_labels=None, alphas=None, compose: str = "none", sigma_ratio: float | None = None
            ) -> LengthBinnedGMM:
        """Fit the mixture of every (class, length bin); returns self.

        codes ``(draws, D)``, lengths ``(draws,)`` frames and labels ``(draws,)`` class indices: one row per draw.
        class_names: one per class (default ``"0"``, ``"1"``, ...). samples ``(draws,)``: the training sequence
        of each draw (each bin records how many it holds; None: not recorded). reference ``(rows, D)`` and
        reference_labels ``(rows,)``: the codes the guard compares with under ``guard_reference: means``
        (the class's posterior means). alphas ``(classes, da)``: class codes that :meth:`sample` composes every
        sampled code with (``compose``: concat | add). sigma_ratio: recorded for the report.
        """
        s = self.settings
        s.validate("gmm")
        codes, lengths, labels, samples, class_names = _checked_draws(codes, lengths, labels, samples, class_names,
                                                                      alphas, compose)
        if s.guard_reference == "means":
            reference, reference_labels = _checked_reference(reference, reference_labels, codes.shape[1])
        tasks = []
        for c in range(len(class_names)):
            rows = np.flatnonzero(labels == c)
            if rows.size == 0:
                continue
            if self.length_agnostic:
                bins = np.array([[lengths[rows].min(), lengths[rows].max() + 1]])
            else:
                bins = length_bins(lengths[rows], s.min_population, s.min_window)
            guard_codes = reference[reference_labels == c] if s.guard_reference == "means" else None
            for b, (low, high) in enumerate(bins):
                in_bin = rows[(lengths[rows] >= low) & (lengths[rows] < high)]
                tasks.append({"action": c, "low": int(low), "high": int(high), "rows": in_bin,
                              "reference": guard_codes, "seed": _bin_seed(s.seed, c, b)})
        results = _fit_bins(codes, tasks, s)
        records = [{"action": t["action"], "class_name": class_names[t["action"]], "low": t["low"], "high": t["high"],
                    "population": int(len(t["rows"])),
                    "samples": None if samples is None else int(len(np.unique(samples[t["rows"]]))),
                    **r["record"]} for t, r in zip(tasks, results)]
        counts = [len(r["weights"]) for r in results]
        join = np.stack if s.covariance == "tied" else np.concatenate
        length_min = np.full(len(class_names), -1, dtype=np.int64)
        length_max = np.full(len(class_names), -1, dtype=np.int64)
        for c in np.unique(labels):
            length_min[c], length_max[c] = lengths[labels == c].min(), lengths[labels == c].max()
        self._store(s.covariance, class_names, records, s, compose, sigma_ratio, dict(
            bin_action=[t["action"] for t in tasks], bin_low=[t["low"] for t in tasks],
            bin_high=[t["high"] for t in tasks], offsets=np.concatenate([[0], np.cumsum(counts)]),
            weights=np.concatenate([r["weights"] for r in results]),
            means=np.concatenate([r["means"] for r in results]), covariances=join([r["covariances"] for r in results]),
            length_min=length_min, length_max=length_max, alphas=alphas))
        return self

    @classmethod
    def from_arrays(cls, covariance_type: str, class_names: list[str], *, records=(),
                    settings: GMMSettings | None = None, compose: str = "none", sigma_ratio: float | None = None,
                    **arrays) -> LengthBinnedGMM:
        """Fitted mixtures from their arrays (the class docstring's attributes; a ValueError unless consistent)."""
        gmm = cls()
        gmm._store(covariance_type, class_names, records, settings, compose, sigma_ratio, arrays)
        return gmm

    def _store(self, covariance_type, class_names, records, settings, compose, sigma_ratio, arrays) -> None:
        for name, value in gmm_files.checked_arrays(covariance_type, compose, arrays).items():
            setattr(self, name, value)
        self.covariance_type, self.class_names, self.records = covariance_type, list(class_names), list(records)
        self.settings, self.compose, self.sigma_ratio = settings, compose, sigma_ratio
        self._factors: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ lookup
    @property
    def num_bins(self) -> int:
        return len(self.bin_action)

    @property
    def code_dim(self) -> int:
        return self.means.shape[1]

    @property
    def output_dim(self) -> int:
        """Size of the codes :meth:`sample` gives (composed with alpha when the mixtures model beta only)."""
        return self.code_dim + self.alphas.shape[1] if self.compose == "concat" else self.code_dim

    @property
    def components_per_bin(self) -> float:
        """Mean number of components per bin after the guard."""
        return float(len(self.weights) / max(self.num_bins, 1))

    @property
    def midpoints(self) -> np.ndarray:
        """Centre of each bin's integer lengths, ``(bins,)`` float."""
        return (self.bin_low + self.bin_high - 1) / 2.0

    def nearest_bins(self, actions, lengths) -> np.ndarray:
        """Bin of each request ``(actions (n,), lengths (n,))``: same class, nearest midpoint (the lower on ties)."""
        actions = np.asarray(actions, dtype=np.int64).ravel()
        lengths = np.asarray(lengths, dtype=np.float64).ravel()
        present = np.zeros(len(self.class_names), dtype=bool)
        present[self.bin_action] = True
        bad = (actions < 0) | (actions >= len(self.class_names))
        bad[~bad] = ~present[actions[~bad]]
        if bad.any():
            raise DataError(f"action {int(actions[bad][0])}: the mixtures have no bin for it; classes with bins: "
                            f"{', '.join(str(c) for c in np.flatnonzero(present))}")
        out = np.empty(len(actions), dtype=np.int64)
        mid = self.midpoints
        for start in range(0, len(actions), 4096):
            a, t = actions[start:start + 4096], lengths[start:start + 4096]
            dist = np.abs(mid[None, :] - t[:, None])
            dist[self.bin_action[None, :] != a[:, None]] = np.inf
            out[start:start + 4096] = dist.argmin(axis=1)
        return out

    def outside_training_range(self, actions, lengths) -> np.ndarray:
        """``(n,)`` bool: the length lies outside its class's training lengths."""
        actions, lengths = np.asarray(actions, dtype=np.int64), np.asarray(lengths)
        return (lengths < self.length_min[actions]) | (lengths > self.length_max[actions])

    def components_of(self, b: int) -> slice:
        """The components of bin ``b`` as a slice into ``weights`` and ``means``."""
        return slice(int(self.offsets[b]), int(self.offsets[b + 1]))

    def covariance(self, b: int) -> np.ndarray:
        """Covariances of bin ``b`` in scikit-learn's layout, float64: full ``(k, D, D)``, tied ``(D, D)``,
        diag ``(k, D)``, spherical ``(k,)``."""
        if self.covariance_type == "tied":
            return unpack_covariances(self.covariances[b], self.code_dim)
        cov = self.covariances[self.components_of(b)]
        return unpack_covariances(cov, self.code_dim) if self.covariance_type == "full" else cov.astype(np.float64)

    # ---------------------------------------------------------------- sampling
    def sample(self, actions, lengths, rng: np.random.Generator) -> np.ndarray:
        """Codes ``(n, output_dim)`` float32 for requests ``actions (n,)``, ``lengths (n,)``, each drawn from the
        bin of :meth:`nearest_bins` and composed with its action's alpha when the mixtures model beta only."""
        actions = np.asarray(actions, dtype=np.int64).ravel()
        bins = self.nearest_bins(actions, lengths)
        out = np.empty((len(actions), self.code_dim), dtype=np.float32)
        for b in np.unique(bins):
            sel = np.flatnonzero(bins == b)
            out[sel] = self.sample_bin(int(b), len(sel), rng)
        if self.compose == "none":
            return out
        alpha = self.alphas[actions]
        return (np.concatenate([out, alpha], axis=1) if self.compose == "concat" else out + alpha).astype(np.float32)

    def sample_bin(self, b: int, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` codes ``(count, code_dim)`` float32 from the mixture of bin ``b``.

        By hand rather than scikit-learn's ``GaussianMixture.sample``, which takes no ``numpy.random.Generator``
        and draws in another order: its samples would differ from the generated sets'."""
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
            else:  # diag and spherical: standard deviations
                noise = z[sel] * f[k]
            out[sel] = self.means[lo + k] + noise
        return out.astype(np.float32)

    def _bin_factors(self, b: int) -> np.ndarray:
        if b not in self._factors:
            if self.covariance_type in ("full", "tied"):
                self._factors[b] = square_root_factor(self.covariance(b))
            else:
                variances = self.covariances[self.components_of(b)].astype(np.float64)
                self._factors[b] = np.sqrt(np.clip(variances, 0.0, None))
        return self._factors[b]

    # --------------------------------------------------------------- save/load
    def save(self, folder: str | Path, name: str = "gmm") -> None:
        """Write ``<name>.npz`` (arrays) and ``<name>.json`` (settings, classes, per-bin records) into ``folder``."""
        arrays = {key: getattr(self, key) for key in gmm_files.ARRAYS + ("alphas",)}
        info = {"covariance_type": self.covariance_type, "code_dim": self.code_dim, "compose": self.compose,
                "class_names": self.class_names, "settings": {} if self.settings is None else asdict(self.settings),
                "sigma_ratio": self.sigma_ratio, "bins": self.records}
        gmm_files.write(folder, name, arrays, info)

    @classmethod
    def load(cls, folder: str | Path, name: str = "gmm") -> LengthBinnedGMM:
        """The mixtures :meth:`save` wrote; a missing, damaged or inconsistent file is a one-line DataError."""
        arrays, info = gmm_files.read(folder, name)
        try:
            settings = GMMSettings(**info["settings"]) if info.get("settings") else None
            return cls.from_arrays(info["covariance_type"], list(info["class_names"]), records=info.get("bins", []),
                                   settings=settings, compose=str(info.get("compose", "none")),
                                   sigma_ratio=info.get("sigma_ratio"), **arrays)
        except (KeyError, ValueError, TypeError) as exc:
            raise DataError(f"{Path(folder) / f'{name}.npz'}: inconsistent mixture file ({one_line(exc)})") from None


def _checked_draws(codes, lengths, labels, samples, class_names, alphas, compose):
    """The arrays :meth:`LengthBinnedGMM.fit` was given, checked at the door (one-line DataErrors)."""
    where = "LengthBinnedGMM.fit"
    codes = np.asarray(codes)
    if codes.size == 0:
        raise DataError("no code draws to fit; the draws file holds no training samples")
    if codes.ndim != 2 or not np.issubdtype(codes.dtype, np.number) or not np.isfinite(codes).all():
        raise DataError(f"{where} codes: got a {codes.dtype} array of shape {codes.shape}, expected finite numbers "
                        "(draws, code_dim)")
    given = {"lengths": lengths, "labels": labels, "samples": samples}
    checked = {name: None if values is None else np.asarray(values) for name, values in given.items()}
    for name, values in checked.items():
        if values is not None and values.shape != (len(codes),):
            raise DataError(f"{where} {name}: got shape {values.shape}, expected one entry per code row "
                            f"({len(codes)},)")
    lengths, labels = checked["lengths"], checked["labels"]
    for name, values in (("lengths", lengths), ("labels", labels)):
        if not np.array_equal(values, np.round(values)):
            raise DataError(f"{where} {name}: got non-integer values, expected whole numbers")
    lengths, labels = lengths.astype(np.int64), labels.astype(np.int64)
    if lengths.min() < 1:
        raise DataError(f"{where} lengths: got {int(lengths.min())}, expected frames >= 1")
    class_names = [str(c) for c in range(int(labels.max()) + 1)] if class_names is None else list(class_names)
    if labels.min() < 0 or labels.max() >= len(class_names):
        bad = int(labels[(labels < 0) | (labels >= len(class_names))][0])
        raise DataError(f"{where} labels: got {bad}, expected a class index in [0, {len(class_names)})")
    if compose not in gmm_files.COMPOSE or (alphas is None) != (compose == "none"):
        raise DataError(f"{where} compose: got {compose!r} with{'out' if alphas is None else ''} alphas, "
                        "expected none without alphas, or concat | add with alphas")
    if alphas is not None and (np.ndim(alphas) != 2 or len(alphas) != len(class_names)):
        raise DataError(f"{where} alphas: got shape {np.shape(alphas)}, expected one row per class "
                        f"({len(class_names)}, act_code_dim)")
    return codes, lengths, labels, checked["samples"], class_names


def _checked_reference(reference, reference_labels, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The guard's reference codes ``(rows, dim)`` and their labels ``(rows,)`` (``guard_reference: means``)."""
    if reference is None or reference_labels is None:
        raise DataError("gmm.guard_reference: got 'means', but LengthBinnedGMM.fit was given no reference codes "
                        "and reference_labels; expected the posterior means of the training sequences")
    reference, reference_labels = np.asarray(reference), np.asarray(reference_labels)
    if reference.ndim != 2 or reference.shape[1] != dim or reference_labels.shape != (len(reference),):
        raise DataError(f"LengthBinnedGMM.fit reference: got codes {reference.shape} and labels "
                        f"{reference_labels.shape}, expected (rows, {dim}) and (rows,)")
    return reference, reference_labels


def _fit_bins(codes: np.ndarray, tasks: list[dict], settings: GMMSettings) -> list[dict]:
    """:func:`fit_bin` for every task, in parallel (largest bins first balances the workers), in task order."""
    from joblib import Parallel, delayed

    from motioninr.progress import track

    order = sorted(range(len(tasks)), key=lambda t: -len(tasks[t]["rows"]))

    def job(t: int):
        x = codes[tasks[t]["rows"]]
        reference = x if tasks[t]["reference"] is None else tasks[t]["reference"]
        return delayed(fit_bin)(x, reference, settings, tasks[t]["seed"])

    fitted = list(track(Parallel(n_jobs=settings.n_jobs, return_as="generator")(job(t) for t in order),
                        "fit-gmm", total=len(order), unit="bins"))
    results: list[dict] = [{}] * len(tasks)
    for t, res in zip(order, fitted):
        results[t] = res
    return results


def _bin_seed(seed: int, action: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, action, index]).generate_state(1)[0])


CLASS_GMM = "class_gmm"  # file stem of the fixed-length protocol's length-agnostic mixtures


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


def fit_mixtures(draws: CodeDraws, settings: GMMSettings, length_agnostic: bool = False) -> LengthBinnedGMM:
    """:class:`LengthBinnedGMM` fitted to the code draws in ``settings.space`` (``length_agnostic``: one
    mixture per class, the fixed-length protocol's)."""
    codes, means, alphas, compose = mixture_space(draws, settings.space)
    return LengthBinnedGMM(settings, length_agnostic).fit(
        codes, draws.lengths, draws.labels, class_names=list(draws.class_names), samples=draws.sample,
        reference=means, reference_labels=draws.sample_labels, alphas=alphas, compose=compose,
        sigma_ratio=draws.sigma_ratio())


def fit_class_mixtures(draws: CodeDraws, settings: GMMSettings) -> LengthBinnedGMM:
    """The fixed-length protocol's mixtures: one per class over all its draws, whatever their length."""
    return fit_mixtures(draws, settings, length_agnostic=True)
