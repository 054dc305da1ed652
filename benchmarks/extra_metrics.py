"""Cost of the metrics beyond FID against the MMS search they sit beside, at HumanAct12 size.

One replication of the protocol compares 4 sets of 1190 30-d features (crop A, crop B and
the generated sets); the extra metrics add precision/recall, density/coverage and copies per
set, and the physical metrics once per set on 90,000 frames of 24 joints.

    python benchmarks/extra_metrics.py [--n 1190] [--sets 4] [--frames 90000]

The last line is ``extra_vs_mms=<ratio>``: the extra metrics' time per replication over the
MMS nearest-neighbour searches of that replication.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from motioninr.data.dataset import MotionSet
from motioninr.evaluation.extra import ExtraMetrics
from motioninr.evaluation.metrics import nearest_distances
from motioninr.evaluation.physics import PhysicsSettings, Skeleton, physics_metrics
from motioninr.skeleton import SMPL_PARENTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1190, help="features per set")
    parser.add_argument("--sets", type=int, default=4, help="sets per replication (real row included)")
    parser.add_argument("--frames", type=int, default=90000, help="frames of the motions for the physical metrics")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    feats = [np.tanh(rng.normal(size=(args.n, 30))).astype(np.float32) for _ in range(args.sets + 1)]
    target, reference, sets = feats[0], feats[1], feats[1:]
    lengths = np.full(args.frames // 75, 75)
    frames = np.cumsum(rng.normal(scale=0.01, size=(int(lengths.sum()), 24, 3)), axis=0).astype(np.float32)
    motions = MotionSet(frames, lengths, np.zeros(len(lengths), int), np.arange(len(lengths)).astype(str))

    t0 = time.perf_counter()
    searches = [nearest_distances(f, reference) for f in sets]
    mms_seconds = time.perf_counter() - t0

    extra = ExtraMetrics(5, None)  # coverage metrics only; physics timed separately (computed once per set)
    t0 = time.perf_counter()
    for f, (dist, index) in zip(sets, searches):
        extra.measure(motions, f, target, reference, dist, index)
    extra_seconds = time.perf_counter() - t0

    skeleton = Skeleton(tuple(SMPL_PARENTS), (7, 8, 10, 11), 20.0, "y", 0.0)
    t0 = time.perf_counter()
    physics_metrics(motions, skeleton, PhysicsSettings())
    physics_seconds = time.perf_counter() - t0

    print(f"per replication, {args.sets} sets of {args.n} features: MMS searches {mms_seconds * 1000:.1f} ms, "
          f"precision/recall/density/coverage/copies {extra_seconds * 1000:.1f} ms")
    print(f"physical metrics of one set of {int(lengths.sum())} frames (once per set): {physics_seconds * 1000:.0f} ms")
    print(f"extra_vs_mms={extra_seconds / mms_seconds:.2f}")


if __name__ == "__main__":
    main()
