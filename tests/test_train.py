import json

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from motioninr.data.dataset import load_meta, load_split
from motioninr.errors import SettingsError
from motioninr.model import load_model
from motioninr.model.model import ModelSettings
from motioninr.model.checkpoint import CHECKPOINT_NAME
from motioninr.model.code_optimizer import RowAdam, clip_grad_norm
from motioninr.model.train import Trainer, TrainingError, TrainSettings, fit, new_model, reconstruction_error
from motioninr.settings import from_mapping
from tests.model_helpers import TINY_MODEL, one_thread, tiny_training  # noqa: F401 (fixture)

MODEL = TINY_MODEL


def setup(processed_dir, model=None, **train):
    return tiny_training(processed_dir, model, MODEL, **train)


def same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ----------------------------------------------------------------------------- settings

@pytest.mark.parametrize("values, message", [
    ({"epochs": 0}, "train.epochs: got 0, expected an integer >= 1"),
    ({"batch_size": -8}, "train.batch_size: got -8, expected an integer >= 1"),
    ({"frames": "all"}, "train.frames: got 'all', expected one of 'random', 'crop', 'whole'"),
    ({"schedule": "both"}, "train.schedule: got 'both', expected one of 'alternating', 'joint'"),
    ({"lr_codes": 0}, "train.lr_codes: got 0.0, expected a positive learning rate"),
    ({"grad_clip": -1}, "train.grad_clip: got -1.0, expected a number >= 0"),
    ({"code_epochs": 0}, "train.code_epochs: got 0, expected an integer >= 1"),
    ({"learning_rate": 0.1}, "train.learning_rate: unknown setting"),
])
def test_bad_train_settings_are_rejected(values, message):
    with pytest.raises(SettingsError, match=message):
        from_mapping(TrainSettings, values, "train")


# ----------------------------------------------------------------------------- pieces

def test_row_adam_equals_one_adam_per_row():
    torch.manual_seed(0)
    table = torch.nn.Parameter(torch.randn(3, 2))
    rows = [torch.nn.Parameter(table[i].detach().clone()) for i in range(3)]
    ours = RowAdam([table], lr=0.1)
    theirs = [torch.optim.Adam([r], lr=0.1) for r in rows]
    for touched in ([0, 2], [2], [1, 2], [0]):
        grads = torch.randn(len(touched), 2)
        table.grad = torch.sparse_coo_tensor(torch.tensor([touched]), grads, (3, 2), check_invariants=True)
        ours.step()
        for i, g in zip(touched, grads):
            rows[i].grad = g.clone()
            theirs[i].step()
    assert torch.allclose(table.detach(), torch.stack([r.detach() for r in rows]), atol=1e-6)


def test_clip_grad_norm_dense_and_sparse():
    a = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(4, 1))
    a.grad = torch.tensor([3.0, 0.0])
    b.grad = torch.sparse_coo_tensor(torch.tensor([[1, 1]]), torch.tensor([[2.0], [2.0]]), (4, 1),
                                     check_invariants=True)
    norm = clip_grad_norm([a, b], 2.5)
    assert float(norm) == pytest.approx(5.0)
    assert float(torch.sqrt(a.grad.pow(2).sum() + b.grad.to_dense().pow(2).sum())) == pytest.approx(2.5, rel=1e-4)
    assert float(clip_grad_norm([a, b], 0)) == pytest.approx(2.5, rel=1e-4)  # 0: measure only


@pytest.mark.parametrize("frames", ["random", "crop", "whole"])
def test_frame_sampling(processed_dir, frames):
    model, data, ts = setup(processed_dir, frames=frames, frames_per_sequence=3, crop_length=25)
    trainer = Trainer(model, data, ts)
    index = torch.arange(len(data))
    times, counts = trainer.sample_frames(index)
    lengths = trainer.lengths[index]
    assert len(times) == int(counts.sum())
    per_seq = times.split(counts.tolist())
    assert all(int(t.min()) >= 0 and int(t.max()) < int(n) for t, n in zip(per_seq, lengths))
    if frames == "random":
        assert (counts == 3).all()
    else:
        expected = lengths if frames == "whole" else lengths.clamp(max=25)
        assert torch.equal(counts, expected)
        assert all(torch.equal(t, torch.arange(int(t[0]), int(t[0]) + len(t))) for t in per_seq)
        if frames == "whole":
            assert all(int(t[0]) == 0 for t in per_seq)


@pytest.mark.parametrize("decoder", ["mlp", "transformer"])
def test_alternating_passes_touch_only_their_own_parameters(processed_dir, decoder):
    model, data, ts = setup(processed_dir, model={"decoder": decoder})
    trainer = Trainer(model, data, ts)
    index = torch.tensor([0, 3, 5])

    def snapshot():
        return {k: v.detach().clone() for k, v in model.named_parameters()}

    trainer.set_pass("codes")
    before = snapshot()
    trainer.step(index, "codes")
    after = snapshot()
    for name, p in model.decoder.named_parameters():
        assert p.grad is None and torch.equal(before[f"decoder.{name}"], after[f"decoder.{name}"])
    others = torch.ones(model.num_samples, dtype=torch.bool)
    others[index] = False
    for key in ("seq_codes.mu", "seq_codes.logvar"):
        assert not torch.equal(before[key][index], after[key][index])
        assert torch.equal(before[key][others], after[key][others])  # rows not in the batch stay put
    used = torch.unique(model.train_labels[index])
    assert not torch.equal(before["act_codes.mu"][used], after["act_codes.mu"][used])

    trainer.set_pass("decoder")
    before = snapshot()
    trainer.step(index, "decoder")
    after = snapshot()
    for p in model.code_parameters():
        assert p.grad is None
    assert all(torch.equal(before[k], after[k]) for k in before if "codes" in k)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))


def test_pass_schedule(processed_dir):
    model, data, ts = setup(processed_dir, code_epochs=2, decoder_epochs=1)
    trainer = Trainer(model, data, ts)
    assert trainer.passes() == ["codes", "codes", "decoder"]
    record = trainer.run_epoch()  # one epoch = every pass of the cycle, as the official alternating_training
    assert record["epoch"] == 1 and record["pass"] == "alternating"
    model, data, ts = setup(processed_dir, schedule="joint")
    assert Trainer(model, data, ts).passes() == ["joint"]


# ----------------------------------------------------------------------------- fitting

@pytest.mark.parametrize("decoder, frames, epochs", [("mlp", "whole", 80), ("transformer", "crop", 30)])
def test_training_reduces_reconstruction_error(processed_dir, decoder, frames, epochs):
    # narrow initial posteriors (logvar_init null) so that a few epochs visibly fit the tiny set
    model, data, ts = setup(processed_dir, model={"decoder": decoder, "logvar_init": None}, epochs=epochs,
                            frames=frames, crop_length=20, lr_codes=0.01, lr_decoder=0.003, schedule="joint")
    before = reconstruction_error(model, data)["mpjpe_cm"]
    history = fit(model, data, ts)
    assert len(history) == epochs and history[-1]["recon"] < history[0]["recon"]
    assert reconstruction_error(model, data)["mpjpe_cm"] < 0.7 * before
    assert not model.training


def test_same_settings_same_model(processed_dir):
    runs = []
    for _ in range(2):
        model, data, ts = setup(processed_dir, model={"decoder": "transformer"}, epochs=3, frames="crop")
        fit(model, data, ts)
        runs.append(model)
    assert same_state(*runs)
    model, data, ts = setup(processed_dir, model={"decoder": "transformer"}, epochs=3, frames="crop", seed=1)
    fit(model, data, ts)
    assert not same_state(runs[0], model)


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("decoder", ["mlp", "transformer"])
def test_resume_after_interrupt_is_bitwise_identical(processed_dir, tmp_path, decoder):
    settings = dict(model={"decoder": decoder}, epochs=7, checkpoint_every=2, frames="crop", crop_length=15)
    straight, data, ts = setup(processed_dir, **settings)
    reference = fit(straight, data, ts)

    def stop_at_5(record, restored):
        if record["epoch"] == 5:
            raise Interrupt

    model, data, ts = setup(processed_dir, **settings)
    with pytest.raises(Interrupt):
        fit(model, data, ts, checkpoint_dir=tmp_path, on_epoch=stop_at_5)
    # checkpoints are due every 2 epochs: the interrupted run left the one of epoch 4
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["epoch"] == 4
    seen, messages = [], []
    model, data, ts = setup(processed_dir, **settings)
    history = fit(model, data, ts, checkpoint_dir=tmp_path, on_epoch=lambda r, restored: seen.append(restored),
                  log=messages.append)
    assert any("resuming at epoch 4" in m for m in messages)
    assert seen == [True] * 4 + [False] * 3
    assert history == reference
    assert same_state(model, straight)

    # a finished run does not train again
    seen.clear()
    again, data, ts = setup(processed_dir, **settings)
    fit(again, data, ts, checkpoint_dir=tmp_path, on_epoch=lambda r, restored: seen.append(restored))
    assert seen == [True] * 7 and same_state(again, straight)

    # other settings: the checkpoint is not used
    messages.clear()
    other, data, ts = setup(processed_dir, **{**settings, "lr_decoder": 0.01})
    fit(other, data, ts, checkpoint_dir=tmp_path, log=messages.append)
    assert any("other settings or data" in m for m in messages)


def test_more_epochs_continue_a_finished_run(processed_dir, tmp_path):
    longer, data, ts = setup(processed_dir, epochs=6)
    fit(longer, data, ts)
    model, data, ts = setup(processed_dir, epochs=4)
    fit(model, data, ts, checkpoint_dir=tmp_path)
    model, data, ts = setup(processed_dir, epochs=6)
    seen = []
    fit(model, data, ts, checkpoint_dir=tmp_path, on_epoch=lambda r, restored: seen.append(restored))
    assert seen == [True] * 4 + [False] * 2
    assert same_state(model, longer)


# ----------------------------------------------------------------------------- the stage

def test_train_stage_writes_model_curves_and_checkpoint(processed_dir, tmp_path, monkeypatch):
    from stages.train import app

    monkeypatch.chdir(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"model": MODEL, "train": {"epochs": 4, "batch_size": 4, "device": "cpu",
                                                                "checkpoint_every": 2, "threads": 1}}))
    args = ["--params", str(params), "--data", str(processed_dir), "--out", "models/model.pt",
            "--checkpoints", "models/checkpoints", "--live", "dvclive/train", "--curve-every", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "trained 4 epochs" in result.output
    model = load_model(tmp_path / "models/model.pt")
    assert model.num_samples == len(load_split(processed_dir))
    raw = torch.load(tmp_path / "models/model.pt", weights_only=True)
    assert raw["training"]["last_epoch"]["epoch"] == 4
    assert (tmp_path / "models/checkpoints" / CHECKPOINT_NAME).is_file()
    curve = np.loadtxt(tmp_path / "dvclive/train/plots/metrics/loss.tsv", skiprows=1, usecols=0)
    assert curve.tolist() == [1, 2, 3, 4]  # step = epoch
    summary = json.loads((tmp_path / "dvclive/train/metrics.json").read_text())
    assert summary["reconstruction"]["mpjpe_cm"] > 0

    # the same command again restores the finished run instead of training
    first = model.state_dict()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "resuming at epoch 4 of 4" in result.output
    assert all(torch.equal(first[k], v) for k, v in load_model(tmp_path / "models/model.pt").state_dict().items())


def test_train_stage_reports_bad_settings_in_one_line(processed_dir, tmp_path):
    from stages.train import app

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"model": {"decoder": "rnn"}, "train": {"epochs": 1}}))
    result = CliRunner().invoke(app, ["--params", str(params), "--data", str(processed_dir)])
    assert result.exit_code == 1
    assert result.output.strip() == "error: model.decoder: got 'rnn', expected one of 'mlp', 'transformer'"


# ----------------------------------------------------------------------------- faults

def test_a_non_finite_loss_stops_training_and_writes_no_model(processed_dir, tmp_path):
    from stages.train import app

    model, data, ts = setup(processed_dir, epochs=6, lr_decoder=1e30, schedule="joint")
    with pytest.raises(TrainingError, match=r"^train: loss (nan|inf) at epoch (\d) \(joint pass\), the first non-finite"):
        fit(model, data, ts, checkpoint_dir=tmp_path / "ck")
    assert not (tmp_path / "ck" / CHECKPOINT_NAME).exists() or all(
        torch.isfinite(v).all() for v in torch.load(tmp_path / "ck" / CHECKPOINT_NAME, weights_only=True)["model"].values())

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"model": MODEL, "train": {"epochs": 6, "batch_size": 4, "device": "cpu",
                                                                "lr_decoder": 1e30, "threads": 1}}))
    out = tmp_path / "models/model.pt"
    result = CliRunner().invoke(app, ["--params", str(params), "--data", str(processed_dir), "--out", str(out),
                                      "--checkpoints", str(tmp_path / "ck2"), "--live", str(tmp_path / "live")])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: train: loss ") and "the first non-finite loss; no model written" in last, result.output
    assert not out.exists()


def _train_stage(tmp_path, params, out, checkpoints):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return subprocess.Popen([sys.executable, "-m", "stages.train", "--params", str(params), "--data",
                             str(tmp_path / "processed"), "--out", str(out), "--checkpoints", str(checkpoints),
                             "--live", str(tmp_path / f"live_{out.stem}")], cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGINT"])
def test_a_killed_train_stage_resumes_to_a_byte_identical_model(processed_dir, tmp_path, sig):
    import signal
    import time

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"model": MODEL, "train": {"epochs": 120, "batch_size": 4, "device": "cpu",
                                                                "checkpoint_every": 5, "threads": 1}}))
    straight = _train_stage(tmp_path, params, tmp_path / "straight.pt", tmp_path / "ck_straight")
    assert straight.wait(timeout=600) == 0, straight.stderr.read()

    checkpoints = tmp_path / "ck"
    run = _train_stage(tmp_path, params, tmp_path / "resumed.pt", checkpoints)
    deadline = time.time() + 300
    while not (checkpoints / CHECKPOINT_NAME).exists() and run.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    run.send_signal(getattr(signal, sig))
    run.wait(timeout=120)
    assert not (tmp_path / "resumed.pt").exists(), "the run finished before it was interrupted"
    stale = checkpoints / ".last.pt.x7k2.tmp"  # what a kill during a checkpoint write leaves
    stale.write_bytes(b"half a checkpoint")

    again = _train_stage(tmp_path, params, tmp_path / "resumed.pt", checkpoints)
    assert again.wait(timeout=600) == 0, again.stderr.read()
    assert (tmp_path / "resumed.pt").read_bytes() == (tmp_path / "straight.pt").read_bytes()
    assert sorted(p.name for p in checkpoints.iterdir()) == [CHECKPOINT_NAME]


def test_a_garbage_checkpoint_means_training_from_scratch(processed_dir, tmp_path):
    reference, data, ts = setup(processed_dir, epochs=3)
    fit(reference, data, ts)
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"\x00garbage")
    messages = []
    model, data, ts = setup(processed_dir, epochs=3)
    fit(model, data, ts, checkpoint_dir=tmp_path, log=messages.append)
    assert any("unreadable checkpoint; training from scratch" in m for m in messages)
    assert same_state(model, reference)


def test_train_stage_curves_keep_every_nth_epoch_with_the_first_and_last(tmp_path, processed_dir, monkeypatch):
    from typer.testing import CliRunner

    from stages.train import app

    monkeypatch.chdir(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"model": MODEL, "train": {"epochs": 7, "batch_size": 4, "device": "cpu",
                                                                "checkpoint_every": 100, "threads": 1}}))
    result = CliRunner().invoke(app, ["--params", str(params), "--data", str(processed_dir), "--out", "m.pt",
                                      "--checkpoints", "ckpt", "--live", "live", "--curve-every", "3"])
    assert result.exit_code == 0, result.output
    curve = np.loadtxt(tmp_path / "live/plots/metrics/loss.tsv", skiprows=1, usecols=0)
    assert curve.tolist() == [1, 3, 6, 7]
