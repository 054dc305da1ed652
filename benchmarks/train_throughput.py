"""Training throughput on the official HumanAct12 MLP shape, against a bare torch MLP of the same shapes.

    python benchmarks/train_throughput.py [--threads N] [--rounds R]

1. Our training step (``motioninr.model.train.Trainer.step``; code pass and decoder pass timed
   separately and averaged) on 1190 sequences, codes 128 + 128, time code 256, MLP
   1000-500-500-200-100 ELU, 512 sequences x 5 random frames per step, against a bare
   ``nn.Sequential`` of exactly the same layer sizes (input 512, our output size 72) doing
   forward + MSE + backward + Adam on 2560 rows. Timings interleave the three kinds of step so
   that load from other processes hits them alike; the median of each is used.
2. The official Transformer shape (code 256, 8 layers, 4 heads, ff 1024) decoding 64 sequences
   of 30 to 150 frames as one padded batch, against the same sequences one at a time.

The last line is ``train_vs_bare_mlp=<ratio>`` (our decoded frames per second / bare MLP's).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from motioninr.data.dataset import MotionSet
from motioninr.model.model import ModelSettings
from motioninr.model.train import Trainer, TrainSettings, new_model
from motioninr.settings import from_mapping

JOINTS, CLASSES, SAMPLES = 24, 12, 1190


def synthetic(rng: np.random.Generator, samples: int) -> tuple[MotionSet, dict]:
    lengths = rng.integers(30, 151, samples)
    frames = rng.normal(size=(int(lengths.sum()), JOINTS, 3)).astype(np.float32)
    labels = rng.integers(0, CLASSES, samples)
    motions = MotionSet(frames, lengths, labels, [f"s{i}" for i in range(samples)])
    meta = {"class_names": [f"c{i}" for i in range(CLASSES)], "joint_names": [f"j{i}" for i in range(JOINTS)],
            "parents": [-1] + [0] * (JOINTS - 1), "fps": 20.0,
            "normalization": {"mean": np.zeros((JOINTS, 3)).tolist(), "std": np.ones((JOINTS, 3)).tolist()}}
    return motions, meta


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mlp_benchmark(rounds: int, steps: int) -> float:
    rng = np.random.default_rng(0)
    motions, meta = synthetic(rng, SAMPLES)
    model_settings = from_mapping(ModelSettings, {
        "decoder": "mlp", "seq_code_dim": 128, "act_code_dim": 128, "time_dim": 256,
        "mlp": {"layers": [1000, 500, 500, 200, 100], "activation": "elu"}}, "model")
    settings = TrainSettings(batch_size=512, frames="random", frames_per_sequence=5, lr_decoder=1e-3,
                             lr_codes=1e-3, device="cpu")
    trainer = Trainer(new_model(model_settings, motions, meta), motions, settings)
    rows = settings.batch_size * settings.frames_per_sequence
    index_gen = torch.Generator().manual_seed(1)

    def ours(which: str):
        def run():
            trainer.set_pass(which)
            for _ in range(steps):
                trainer.step(torch.randperm(SAMPLES, generator=index_gen)[:settings.batch_size], which)
        return run

    sizes = [model_settings.code_dim + model_settings.time_dim, *model_settings.mlp.layers]
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ELU()]
    bare = nn.Sequential(*layers, nn.Linear(sizes[-1], JOINTS * 3))
    bare_opt = torch.optim.Adam(bare.parameters(), lr=1e-3)
    x, y = torch.randn(rows, sizes[0]), torch.randn(rows, JOINTS * 3)

    def bare_steps():
        for _ in range(steps):
            loss = (bare(x) - y).pow(2).mean()
            bare_opt.zero_grad(set_to_none=True)
            loss.backward()
            bare_opt.step()

    for fn in (bare_steps, ours("codes"), ours("decoder")):  # warm-up
        fn()
    times = {"bare": [], "codes": [], "decoder": []}
    for _ in range(rounds):
        times["bare"].append(timed(bare_steps) / steps)
        times["codes"].append(timed(ours("codes")) / steps)
        times["decoder"].append(timed(ours("decoder")) / steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    ours_step = (med["codes"] + med["decoder"]) / 2
    print(f"MLP 512-1000-500-500-200-100-{JOINTS * 3}, {rows} rows per step ({settings.batch_size} sequences x "
          f"{settings.frames_per_sequence} frames), {torch.get_num_threads()} threads, median of {rounds} rounds")
    print(f"  bare torch MLP step         {med['bare'] * 1e3:7.1f} ms  {rows / med['bare']:9.0f} frames/s")
    print(f"  ours, code pass             {med['codes'] * 1e3:7.1f} ms  {rows / med['codes']:9.0f} frames/s")
    print(f"  ours, decoder pass          {med['decoder'] * 1e3:7.1f} ms  {rows / med['decoder']:9.0f} frames/s")
    print(f"  ours, passes averaged       {ours_step * 1e3:7.1f} ms  {rows / ours_step:9.0f} frames/s")
    return med["bare"] / ours_step


def transformer_benchmark(repeats: int) -> None:
    rng = np.random.default_rng(0)
    motions, meta = synthetic(rng, 64)
    settings = from_mapping(ModelSettings, {
        "decoder": "transformer", "seq_code_dim": 256, "act_code_dim": 256, "action_code": "add",
        "act_variational": False, "time_dim": 256,
        "transformer": {"layers": 8, "heads": 4, "ff": 1024, "dropout": 0.1}}, "model")
    model = new_model(settings, motions, meta).eval()
    lengths = torch.from_numpy(motions.lengths)
    codes = torch.randn(len(lengths), model.code_dim)
    times = torch.cat([torch.arange(int(n), dtype=torch.float32) for n in lengths])
    per_seq = times.split(lengths.tolist())

    def batched():
        model(codes, times, lengths)

    def one_at_a_time():
        for i, t in enumerate(per_seq):
            model(codes[i:i + 1], t, lengths[i:i + 1])

    with torch.no_grad():
        batched(), one_at_a_time()  # warm-up
        tb = statistics.median(timed(batched) for _ in range(repeats))
        ts = statistics.median(timed(one_at_a_time) for _ in range(repeats))
    frames = int(lengths.sum())
    print(f"Transformer 8 layers x 4 heads, width 256, ff 1024: {len(lengths)} sequences of "
          f"{int(lengths.min())}-{int(lengths.max())} frames ({frames} frames), decoding")
    print(f"  batch (length groups, mask) {tb * 1e3:7.1f} ms  {frames / tb:9.0f} frames/s")
    print(f"  one sequence at a time      {ts * 1e3:7.1f} ms  {frames / ts:9.0f} frames/s")
    print(f"  speed-up                    {ts / tb:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=4, help="steps per timing")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    transformer_benchmark(max(1, args.rounds // 2))
    ratio = mlp_benchmark(args.rounds, args.steps)
    print(f"train_vs_bare_mlp={ratio:.3f}")


if __name__ == "__main__":
    main()
