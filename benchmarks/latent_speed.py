"""Time the latent-space pictures (PCA and t-SNE of codes and of evaluator features) at two sizes.

demo:       256 training codes + 256 mixture codes (128-d), 256 + 256 evaluator features (30-d)
humanact12: 1,190 + 1,190 codes (256-d) and 1,190 + 1,190 features (30-d), 12 classes

Synthetic clustered points stand in for the real ones (the projections' cost depends on the
point count and dimension, not on what the points mean). Everything runs on one thread, as
in the stage.

    python benchmarks/latent_speed.py [--sizes demo,humanact12]

The last line is ``latent_humanact12_seconds=<seconds>`` (or the last size asked for).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

from motioninr.latent import LatentSettings, PointSet, latent_pictures

SIZES = {"demo": (256, 128, 8), "humanact12": (1190, 256, 12)}


def points(name: str, n: int, dim: int, classes: int, seed: int) -> PointSet:
    rng = np.random.default_rng(seed)
    labels = np.sort(np.arange(n) % classes)
    lengths = np.clip(np.round(rng.lognormal(np.log(70.0), 0.45, n)), 20, 300).astype(np.int64)
    centres = np.random.default_rng(0).normal(size=(classes, dim)) * 3.0
    values = centres[labels] + rng.normal(size=(n, dim))
    return PointSet(name, values, labels, lengths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="demo,humanact12")
    args = parser.parse_args()
    names = args.sizes.split(",")
    seconds = {}
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory() as tmp:
        for name in names:
            n, dim, classes = SIZES[name]
            sets = (points("codes", n, dim, classes, 1), points("mixture", n, dim, classes, 2),
                    points("training", n, 30, classes, 3), points("generated", n, 30, classes, 4))
            class_names = [f"class{c}" for c in range(classes)]
            start = time.perf_counter()
            latent_pictures(f"{tmp}/{name}", *sets, class_names, LatentSettings())
            seconds[name] = time.perf_counter() - start
            print(f"{name}: {2 * n} codes ({dim}-d) and {2 * n} features (30-d), 4 pictures in {seconds[name]:.1f} s")
    print(f"latent_{names[-1]}_seconds={seconds[names[-1]]:.2f}")


if __name__ == "__main__":
    main()
