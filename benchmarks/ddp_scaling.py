"""Training throughput on 1 and 2 processes (gloo, CPU, one thread each): decoded frames per second.

    python benchmarks/ddp_scaling.py [--rounds R] [--steps S] [--batch-size B] [--frames F]

Two processes form one gloo world (``motioninr.model.distributed.training_world``). In each round,
rank 0 first trains alone (a one-process ``Trainer`` holding the whole code table) while rank 1
waits, then both train the same batches with the codes sharded. A third set-up measures what this
machine allows right now: both processes train alone at the same time, each on half of every
batch, without any communication (the ceiling for two processes; on a shared machine other
programs' load lowers it). The steps alternate code and
decoder passes, on 1190 synthetic sequences of 30-150 frames with the official HumanAct12 MLP
(codes 128 + 128, time code 256, MLP 1000-500-500-200-100 ELU), B sequences x F random frames per
step. Both set-ups run in the same processes, interleaved, so that load from other programs hits
them alike; medians over the rounds are used.

Scaling efficiency = frames/s on 2 processes / (2 x frames/s on 1 process). The last line is
``ddp_scaling_efficiency=<x>``; the line before gives the ceiling's efficiency and the share of it
reached (what communication and uneven shares cost).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import numpy as np
import torch
import torch.multiprocessing as mp

from motioninr.data.dataset import MotionSet
from motioninr.model.distributed import training_world
from motioninr.model.model import ModelSettings
from motioninr.model.sharding import ShardedTrainer
from motioninr.model.train import Trainer, TrainSettings, new_model
from motioninr.settings import from_mapping

JOINTS, CLASSES, SAMPLES = 24, 12, 1190
MODEL = {"decoder": "mlp", "seq_code_dim": 128, "act_code_dim": 128, "time_dim": 256,
         "mlp": {"layers": [1000, 500, 500, 200, 100], "activation": "elu"}}


def synthetic(samples: int) -> tuple[MotionSet, dict]:
    rng = np.random.default_rng(0)
    lengths = rng.integers(30, 151, samples)
    frames = rng.normal(size=(int(lengths.sum()), JOINTS, 3)).astype(np.float32)
    labels = rng.integers(0, CLASSES, samples)
    motions = MotionSet(frames, lengths, labels, [f"s{i}" for i in range(samples)])
    meta = {"class_names": [f"c{i}" for i in range(CLASSES)], "joint_names": [f"j{i}" for i in range(JOINTS)],
            "parents": [-1] + [0] * (JOINTS - 1), "fps": 20.0,
            "normalization": {"mean": np.zeros((JOINTS, 3)).tolist(), "std": np.ones((JOINTS, 3)).tolist()}}
    return motions, meta


def worker(rank: int, size: int, port: int, args: argparse.Namespace) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(size),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    with training_world("cpu") as world:
        motions, meta = synthetic(SAMPLES)
        model_settings = from_mapping(ModelSettings, MODEL, "model")
        settings = TrainSettings(batch_size=args.batch_size, frames="random", frames_per_sequence=args.frames,
                                 device="cpu")
        sharded = ShardedTrainer(new_model(model_settings, motions, meta), motions, settings, world)
        alone = Trainer(new_model(model_settings, motions, meta), motions, settings)
        order = torch.Generator().manual_seed(1)
        batches = [torch.randperm(SAMPLES, generator=order)[:args.batch_size] for _ in range(args.steps)]
        halves = [index[world.rank::size] for index in batches]

        def train(trainer: Trainer, batches: list[torch.Tensor] = batches) -> float:
            start = time.perf_counter()
            for i, index in enumerate(batches):
                which = ("codes", "decoder")[i % 2]
                trainer.set_pass(which)
                trainer.step(index, which)
            return time.perf_counter() - start

        def barrier() -> None:
            world.all_reduce_(torch.zeros(1))

        one, ceiling, two = [], [], []
        for r in range(args.rounds + 1):  # round 0 warms up
            barrier()
            if world.is_main:
                one.append(train(alone))
            for times, run in ((ceiling, lambda: train(alone, halves)), (two, lambda: train(sharded))):
                barrier()
                start = time.perf_counter()
                run()
                barrier()
                times.append(time.perf_counter() - start)
        if world.is_main:
            frames = args.steps * args.batch_size * args.frames
            fps1, fps2 = frames / statistics.median(one[1:]), frames / statistics.median(two[1:])
            top = frames / statistics.median(ceiling[1:])
            print(f"MLP 512-1000-500-500-200-100-{JOINTS * 3}, {SAMPLES} sequences, {args.batch_size} sequences x "
                  f"{args.frames} frames per step, code and decoder passes alternating, 1 thread per process, "
                  f"median of {args.rounds} rounds of {args.steps} steps")
            print(f"  1 process    {statistics.median(one[1:]) / args.steps * 1e3:7.1f} ms/step  {fps1:9.0f} frames/s")
            print(f"  2 processes  {statistics.median(two[1:]) / args.steps * 1e3:7.1f} ms/step  {fps2:9.0f} frames/s"
                  f"  (speed-up {fps2 / fps1:.2f}x)")
            ceiling_ms = statistics.median(ceiling[1:]) / args.steps * 1e3
            print(f"  ceiling      {ceiling_ms:7.1f} ms/step  {top:9.0f} frames/s"
                  f"  (2 processes, half batches, no communication)")
            print(f"ceiling_efficiency={top / (2 * fps1):.3f} share_of_ceiling={fps2 / top:.3f}")
            print(f"ddp_scaling_efficiency={fps2 / (2 * fps1):.3f}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (after one warm-up round)")
    parser.add_argument("--steps", type=int, default=6, help="training steps per timing")
    parser.add_argument("--batch-size", type=int, default=512, help="sequences per step (the global batch)")
    parser.add_argument("--frames", type=int, default=5, help="random frames decoded per sequence")
    args = parser.parse_args()
    mp.spawn(worker, args=(2, free_port(), args), nprocs=2, join=True)


if __name__ == "__main__":
    main()
