"""Time the MMS nearest-neighbour search: 25,000 generated x 25,000 training 30-d features.

Features are tanh-squashed Gaussians like the classifier's ``tanh(linear1)``
activations. A brute-force check on a subset confirms the distances.

    python benchmarks/mms_speed.py [--n 25000] [--chunk 1024]

The last line is ``mms_seconds=<seconds>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from motioninr.evaluation.metrics import mms, nearest_distances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=25000, help="generated and training features each")
    parser.add_argument("--chunk", type=int, default=1024, help="generated rows per matrix product")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    train = np.tanh(rng.normal(size=(args.n, 30))).astype(np.float32)
    generated = np.tanh(rng.normal(size=(args.n, 30))).astype(np.float32)

    t0 = time.perf_counter()
    value = mms(generated, train, chunk=args.chunk)
    seconds = time.perf_counter() - t0

    check = generated[:200].astype(np.float64)
    brute = np.array([np.linalg.norm(train.astype(np.float64) - row, axis=1).min() for row in check])
    assert np.allclose(nearest_distances(check, train)[0], brute, rtol=1e-6), "nearest distances disagree with brute force"
    print(f"MMS of {args.n} x {args.n} features: {value:.4f} (brute-force check on 200 rows passed)")
    print(f"mms_seconds={seconds:.2f}")


if __name__ == "__main__":
    main()
