"""Training on several processes: same model as one process, checkpoints across process counts, failures.

Most tests run a world of several ranks as threads of this process (``ThreadWorld``: the
collectives are exchanges between threads, summed in rank order), which exercises all the
sharding logic in a fraction of a second. The ``torchrun`` tests start real gloo processes.

Tolerance: ranks sum their gradients instead of one process summing the whole batch, so the
results differ by rounding only. After a few epochs parameters agree within ``ATOL + RTOL * |value|``
(measured with MKL's AVX-512 path: at most 6e-8 for code means of size ~0.1 and decoder weights of size
~0.3, 1e-6 for log-variances of size ~9; with the AVX2 path the stages and tests pin, see
``motioninr/numerics.py``: 1.5e-6 for one first-layer decoder weight of size ~0.2) and decoded motions
within ``MOTION_ATOL`` metres (measured 2.4e-7).
A transformer has parameters whose gradient is zero in exact arithmetic (attention key biases;
query and key projections of the cross-attention to its single memory token): Adam turns their
rounding noise into steps of the learning rate's size, so there only codes and outputs are compared.
"""

import copy
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from motioninr.data.dataset import load_meta, load_split
from motioninr.model import load_model
from motioninr.model.distributed import World
from motioninr.model.model import ModelSettings
from motioninr.model.checkpoint import CHECKPOINT_NAME, read_checkpoint
from motioninr.model.sharding import ShardedTrainer
from motioninr.model.train import Trainer, TrainSettings, fit, new_model
from motioninr.settings import from_mapping
from tests.model_helpers import TINY_MODEL, one_thread, tiny_training  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
ATOL, RTOL, MOTION_ATOL = 3e-6, 1e-6, 1e-5
MODEL = {**TINY_MODEL, "transformer": {**TINY_MODEL["transformer"], "dropout": 0.0}}
LAUNCH_TIMEOUT = 180  # seconds; a hang fails the test instead of blocking the suite


def setup(processed_dir, model=None, **train):
    return tiny_training(processed_dir, model, MODEL, **train)


def assert_close_states(a: dict, b: dict, atol: float = ATOL) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].shape == b[k].shape and a[k].dtype == b[k].dtype, k
        torch.testing.assert_close(a[k], b[k], rtol=RTOL, atol=atol, msg=k)


def assert_same_model(a, b) -> None:
    """Same codes and decoded motions; for an MLP decoder also every parameter (see the module docstring)."""
    pa, pb = a.posteriors(), b.posteriors()
    for k in pa:
        assert (pa[k] is None) == (pb[k] is None), k
        if pa[k] is not None:
            torch.testing.assert_close(pa[k], pb[k], rtol=RTOL, atol=ATOL, msg=k)
    torch.testing.assert_close(a.reconstruct(), b.reconstruct(), rtol=0, atol=MOTION_ATOL)
    if a.settings.decoder == "mlp":
        assert_close_states(a.state_dict(), b.state_dict())


def assert_close_histories(a: list[dict], b: list[dict]) -> None:
    assert [(r["epoch"], r["pass"]) for r in a] == [(r["epoch"], r["pass"]) for r in b]
    for ra, rb in zip(a, b):
        for key in ("loss", "recon", "kl_seq", "kl_act", "mpjpe_cm"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-5), key


# ----------------------------------------------------------------------------- a world of threads

class Hub:
    """What the threads of one simulated world share: every exchange gives each rank all ranks' values."""

    def __init__(self, size: int):
        self.barrier = threading.Barrier(size, timeout=60)
        self.slots = [None] * size

    def exchange(self, rank: int, value):
        self.slots[rank] = value
        self.barrier.wait()
        values = list(self.slots)
        self.barrier.wait()
        return values


@dataclass(frozen=True)
class ThreadWorld(World):
    hub: Hub | None = None

    def all_reduce_(self, tensor):
        values = self.hub.exchange(self.rank, tensor.clone())
        total = values[0].clone()
        for v in values[1:]:
            total += v
        return tensor.copy_(total)

    def gather_rows(self, shard, n):
        return torch.cat(self.hub.exchange(self.rank, shard.clone()))

    def broadcast(self, obj):
        first = self.hub.exchange(self.rank, obj)[0]
        return first if self.is_main else copy.deepcopy(first)  # as if sent: no shared tensors


def run_world(size: int, make, **fit_args) -> list[tuple]:
    """``fit`` on ``size`` ranks (threads); ``make()`` -> (model, data, settings). Returns (model, history) per rank."""
    hub, results, errors = Hub(size), [None] * size, []
    made = [make() for _ in range(size)]  # here: initialisation draws from the global generator

    def work(rank):
        try:
            model, data, ts = made[rank]
            history = fit(model, data, ts, world=ThreadWorld(rank, size, hub=hub), **fit_args)
            results[rank] = (model, history)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
            hub.barrier.abort()

    threads = [threading.Thread(target=work, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    assert all(r is not None for r in results)
    return results


# ----------------------------------------------------------------------------- sharding

@pytest.mark.parametrize("n", [0, 1, 5, 12, 13])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_ranks_own_disjoint_blocks_covering_every_row(n, size):
    blocks = [World(rank, size).bounds(n) for rank in range(size)]
    assert [i for a, b in blocks for i in range(a, b)] == list(range(n))
    counts = [b - a for a, b in blocks]
    assert max(counts) - min(counts) <= 1


def test_a_rank_holds_only_its_codes_and_frames(processed_dir):
    model, data, ts = setup(processed_dir)
    full = model.seq_codes.mu.detach().clone()
    trainer = ShardedTrainer(model, data, ts, World(1, 3))
    a, b = trainer.start, trainer.stop
    assert (a, b) == (len(data) // 3, 2 * len(data) // 3)
    assert trainer.model.seq_codes.mu.shape == (b - a, 8) and trainer.model.seq_codes.logvar.shape == (b - a, 8)
    assert torch.equal(trainer.model.seq_codes.mu, full[a:b])
    assert len(trainer.frames) == int(data.lengths[a:b].sum())
    # the frames of sequence a are the first ones this rank holds
    single = Trainer(setup(processed_dir)[0], data, ts)
    assert torch.equal(trainer.frames[:int(data.lengths[a])],
                       single.frames[int(data.offsets[a]):int(data.offsets[a + 1])])


@pytest.mark.parametrize("size, model, train", [
    (2, {}, {"frames": "random"}),
    (3, {}, {"frames": "whole", "schedule": "joint"}),
    (2, {"decoder": "transformer"}, {"frames": "crop", "crop_length": 15, "code_epochs": 2}),
    # batches of 3 over 5 ranks: most steps leave some rank without a sequence
    (5, {"seq_variational": False, "act_variational": False}, {"frames": "crop", "batch_size": 3}),
    # both code optimisers (default: whole-table Adam), both frame draws, the MLP preset's one decoder step a pass
    (2, {}, {"frames": "random", "code_optimizer": "row", "frames_replacement": True}),
    (3, {}, {"frames": "random", "aggregate_per_epoch": True, "batch_size": 3, "loss_reduction": "frame_sum"}),
])
def test_several_ranks_train_the_single_process_model(processed_dir, size, model, train):
    settings = dict(model=model, epochs=5, lr_codes=0.01, lr_decoder=0.003, **train)
    single, data, ts = setup(processed_dir, **settings)
    reference = fit(single, data, ts)
    results = run_world(size, lambda: setup(processed_dir, **settings))
    for ranked, history in results:
        assert ranked.seq_codes.mu.shape[0] == len(data)  # the whole table is back in the model
        assert_same_model(ranked, single)
        assert_close_histories(history, reference)
    first = results[0][0].state_dict()
    assert all(torch.equal(first[k], other.state_dict()[k]) for other, _ in results[1:] for k in first)


def test_checkpoints_resume_with_any_number_of_processes(processed_dir, tmp_path):
    settings = dict(frames="crop", crop_length=15, checkpoint_every=2)
    straight, data, ts = setup(processed_dir, epochs=6, **settings)
    reference = fit(straight, data, ts)
    single_at_4, data, ts = setup(processed_dir, epochs=4, **settings)
    fit(single_at_4, data, ts, checkpoint_dir=tmp_path / "single")
    single_checkpoint = read_checkpoint(tmp_path / "single" / CHECKPOINT_NAME)

    # 1 process for 2 epochs, then 2 processes to epoch 4, then 3 processes to epoch 6
    model, data, ts = setup(processed_dir, epochs=2, **settings)
    fit(model, data, ts, checkpoint_dir=tmp_path / "mixed")
    messages = []
    run_world(2, lambda: setup(processed_dir, epochs=4, **settings), checkpoint_dir=tmp_path / "mixed",
              log=messages.append)
    assert messages == [f"{tmp_path / 'mixed' / CHECKPOINT_NAME}: resuming at epoch 2 of 4"]  # rank 0 only

    # the checkpoint of 2 processes is the one of 1 process: same entries, shapes and (nearly) values
    sharded = read_checkpoint(tmp_path / "mixed" / CHECKPOINT_NAME)
    assert sharded.keys() == single_checkpoint.keys() and sharded["epoch"] == 4
    assert sharded["fingerprint"] == single_checkpoint["fingerprint"]
    assert_close_states(sharded["model"], single_checkpoint["model"])
    for name in ("opt_codes", "opt_decoder"):
        ours, theirs = sharded[name]["state"], single_checkpoint[name]["state"]
        assert ours.keys() == theirs.keys()
        for i in ours:
            assert_close_states(ours[i], theirs[i])
    assert sharded["rng"]["generator"].equal(single_checkpoint["rng"]["generator"])

    results = run_world(3, lambda: setup(processed_dir, epochs=6, **settings), checkpoint_dir=tmp_path / "mixed")
    assert_same_model(results[0][0], straight)
    assert_close_histories(results[0][1], reference)


# ----------------------------------------------------------------------------- real processes (torchrun)

def run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT)
    return proc, time.monotonic() - start


def write_params(path: Path, **train) -> Path:
    path.write_text(yaml.safe_dump({"model": MODEL, "train": {"batch_size": 4, "device": "cpu", "threads": 1,
                                                              "frames": "crop", "crop_length": 15, **train}}))
    return path


def test_train_stage_on_two_processes_then_resume_in_one(processed_dir, tmp_path, monkeypatch):
    from stages.train import app

    out, checkpoints, live = tmp_path / "model.pt", tmp_path / "checkpoints", tmp_path / "live"
    paths = ["--data", str(processed_dir), "--out", str(out), "--checkpoints", str(checkpoints), "--live", str(live),
             "--curve-every", "1"]
    params = write_params(tmp_path / "params.yaml", epochs=4, checkpoint_every=2, nproc=2)
    proc, _ = run(["-m", "stages.train", "--params", str(params), *paths], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "2 processes" in proc.stderr and "trained 4 epochs" in proc.stdout

    single, data, ts = setup(processed_dir, epochs=4, frames="crop", crop_length=15)
    fit(single, data, ts)
    assert_same_model(load_model(out), single)
    curve = np.loadtxt(live / "plots/metrics/loss.tsv", skiprows=1, usecols=0)
    assert curve.tolist() == [1, 2, 3, 4]  # written once, by rank 0

    # the same checkpoint continues in one process
    monkeypatch.chdir(tmp_path)
    params = write_params(tmp_path / "params.yaml", epochs=6, checkpoint_every=2, nproc=1)
    result = CliRunner().invoke(app, ["--params", str(params), *paths])
    assert result.exit_code == 0, result.output
    assert "resuming at epoch 4 of 6" in result.output
    straight, data, ts = setup(processed_dir, epochs=6, frames="crop", crop_length=15)
    fit(straight, data, ts)
    assert_same_model(load_model(out), straight)


FAILING_WORKER = '''
import os, signal, sys
from motioninr.data.dataset import load_meta, load_split
from motioninr.errors import DataError, exit_on_error
from motioninr.model.distributed import training_world
from motioninr.model.model import MLPSettings, ModelSettings
from motioninr.model.train import TrainSettings, fit, new_model

data, how = sys.argv[1], sys.argv[2]
with exit_on_error(), training_world("cpu") as world:
    meta, train = load_meta(data), load_split(data)
    model = new_model(ModelSettings(seq_code_dim=4, act_code_dim=4, time_dim=4, mlp=MLPSettings(layers=(8,))),
                      train, meta)

    def on_epoch(record, restored):
        if world.rank == 1 and record["epoch"] == 2:
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise DataError("broken.npz: rank 1 cannot read its part")

    fit(model, train, TrainSettings(epochs=100000, batch_size=4), on_epoch=on_epoch, world=world)
'''

LAUNCHER = '''
import sys
from motioninr.errors import exit_on_error
from motioninr.model.distributed import launch

with exit_on_error():
    sys.exit(launch(2, "failing_worker", sys.argv[1:]))
'''


@pytest.mark.parametrize("how, message", [
    ("error", "error: rank 1: broken.npz: rank 1 cannot read its part"),
    ("kill", "error: training process of rank 1 was stopped by signal SIGKILL (see the output above)"),
])
def test_a_failing_process_stops_the_others_with_its_error(processed_dir, tmp_path, how, message):
    (tmp_path / "failing_worker.py").write_text(FAILING_WORKER)
    (tmp_path / "launcher.py").write_text(LAUNCHER)
    # the run would take hours: it ends (well within LAUNCH_TIMEOUT) only because rank 1 stops it
    proc, seconds = run(["launcher.py", str(processed_dir), how], cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert message in lines, proc.stderr
    assert "Traceback" not in proc.stderr and "ChildFailedError" not in proc.stderr
    assert not any("rank 0" in line and "broken.npz" in line for line in lines)
    assert seconds < LAUNCH_TIMEOUT


def test_bad_process_count_is_one_line(processed_dir, tmp_path):
    from stages.train import app

    params = write_params(tmp_path / "params.yaml", epochs=1, nproc=0)
    result = CliRunner().invoke(app, ["--params", str(params), "--data", str(processed_dir)])
    assert result.exit_code == 1
    assert result.output.strip() == "error: train.nproc: got 0, expected an integer >= 1 (processes on this machine)"
