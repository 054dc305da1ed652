"""Time fitting the length-binned mixtures on HumanAct12-sized synthetic code draws.

1,190 training samples x 50 draws, 256-dimensional codes (128 sequence + 128 action
dimensions), 12 classes, HumanAct12-like lengths (log-normal around 70 frames, 20 to
300), the official binning (50 draws, 10 frames) and 15 full-covariance components.
Each sample's draws scatter around its posterior mean with ``--sigma`` per dimension,
the means themselves with 1: the default 0.3 is close to a trained model's posteriors
(the demo model: posterior std 0.010 against a 0.041 spread of the means), so the
memorisation guard rejects most fits and lowers most bins to a few components; with
``--sigma 1.0`` the posteriors overlap and every bin keeps its 15 components.

    python benchmarks/gmm_fit.py [--n-jobs 2] [--sigma 0.3]

The last line is ``gmm_fit_seconds=<seconds>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from motioninr.codes import CodeDraws
from motioninr.gmm import GMMSettings, fit_mixtures
from motioninr.gmm_files import report


def synthetic_draws(samples: int = 1190, draws: int = 50, classes: int = 12, half_dim: int = 128,
                    sigma: float = 0.3, seed: int = 0) -> CodeDraws:
    rng = np.random.default_rng(seed)
    labels = np.sort(np.arange(samples) % classes)
    lengths = np.clip(np.round(rng.lognormal(np.log(70.0), 0.45, samples)), 20, 300).astype(np.int64)
    action = rng.normal(size=(classes, half_dim))
    # sequence codes drift with length so that bins differ, plus per-sample variation
    drift = rng.normal(size=(classes, half_dim)) / 100.0
    beta = rng.normal(size=(samples, half_dim)) + drift[labels] * (lengths[:, None] - 70.0)
    means = np.concatenate([beta, action[labels]], axis=1).astype(np.float32)
    sample = np.repeat(np.arange(samples), draws)
    codes = (means[sample] + sigma * rng.standard_normal((len(sample), 2 * half_dim))).astype(np.float32)
    return CodeDraws(codes=codes, sample=sample, sample_ids=[f"s{i:04d}" for i in range(samples)],
                     sample_labels=labels, sample_lengths=lengths, sample_codes=means,
                     class_names=[f"class{c}" for c in range(classes)], betas=codes[:, :half_dim],
                     sample_betas=beta.astype(np.float32), sample_beta_sigma=np.full_like(beta, sigma),
                     class_alphas=action.astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--sigma", type=float, default=0.3, help="posterior std per code dimension")
    parser.add_argument("--components", type=int, default=15)
    parser.add_argument("--space", choices=["beta", "composed"], default="beta",
                        help="mixtures over beta (official, 128-d) or the composed codes (256-d)")
    args = parser.parse_args()
    draws = synthetic_draws(sigma=args.sigma)
    settings = GMMSettings(components=args.components, covariance="full", min_population=50, min_window=10,
                           n_jobs=args.n_jobs, space=args.space)
    start = time.perf_counter()
    gmm = fit_mixtures(draws, settings)
    seconds = time.perf_counter() - start
    rep = report(gmm)
    print(f"draws={len(draws.codes)} dim={draws.code_dim} bins={rep['bins']} components={rep['components']} "
          f"guard_failed_bins={rep['bins_failing_guard']} not_converged={rep['bins_not_converged']} "
          f"rejected_fits={rep['retries']}")
    print(f"gmm_fit_seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
