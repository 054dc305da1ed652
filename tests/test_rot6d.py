"""``model.output: rot6d``: root + local 6D rotations decoded to positions by FK, its loss, generation and export."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from motioninr import rotations as rot
from motioninr.cli import app
from motioninr.data.dataset import MotionSet, load_meta, load_split, save_processed
from motioninr.data.loaders.demo import DemoSettings, generate
from motioninr.data.prepare import PrepareSettings, prepare
from motioninr.errors import DataError
from motioninr.generation import generate_motions
from motioninr.model import load_model, save_model
from motioninr.model.objective import LossSettings, Objective
from motioninr.model.train import Trainer, fit, reconstruction_error
from motioninr.skeleton import SMPL_PARENTS
from tests.model_helpers import one_thread, tiny_training  # noqa: F401 - fixture
from tests.test_pipeline import ROOT, _run, make_repo
from tests.test_rotations import smpl_fixture


@pytest.fixture
def demo_dir(tmp_path):
    raw, _ = generate(DemoSettings(samples_per_class=3, classes=("walk", "wave", "squat"), scale_spread=0.0))
    splits, meta = prepare(raw, PrepareSettings())
    save_processed(tmp_path / "processed", splits, meta)
    return tmp_path / "processed"


def rot6d(processed, **train):
    return tiny_training(processed, {"output": "rot6d"}, **train)


def test_decoded_positions_are_fk_of_decoded_rotations(demo_dir):
    model, data, _ = rot6d(demo_dir)
    c, _, _ = model.codes(torch.arange(3), model.train_labels[:3], sample=False)
    pos, six = model.decode(c, torch.tensor([10, 7, 12]), with_rotations=True)
    assert pos.shape == (29, 24, 3) and six.shape == (29, 24, 6)
    fk = rot.forward_kinematics(six.double(), model.skeleton.double(), pos[:, 0].double(), SMPL_PARENTS)
    assert torch.allclose(fk.float(), pos, atol=1e-5)
    # bones keep the skeleton's lengths in every frame, whatever the decoder outputs
    bones = (pos[:, 1:] - pos[:, list(SMPL_PARENTS[1:])]).norm(dim=-1)
    assert torch.allclose(bones, model.skeleton[1:].norm(dim=-1).expand_as(bones), atol=1e-5)


def test_loss_is_zero_at_the_data_and_grows_with_each_term(demo_dir):
    model, data, ts = rot6d(demo_dir)
    objective = Objective(model)
    target = torch.from_numpy(objective.targets(data, 0, 40))
    joints = model.num_joints
    identity = torch.tensor([1.0, 0, 0, 0, 1, 0]).repeat(joints)
    perfect = torch.cat([target[:, :3], target[:, joints * 3:] - identity], dim=1)  # root + the data's rotations
    assert objective.per_frame(perfect, target).abs().max() < 1e-8  # one body size: FK reproduces the data
    assert objective.error(perfect, target).max() < 1e-5
    for name, index in (("loss_root", 0), ("loss_rotation", 3 + 6 * 5)):
        bumped = perfect.clone()
        bumped[:, index] += 0.5
        only = Objective(model, LossSettings(**{"loss_rotation": 0.0, "loss_positions": 0.0, "loss_root": 0.0,
                                                 name: 1.0}))
        assert only.per_frame(bumped, target).min() > 1e-3
    # a knee rotation moves the ankle and foot: the position term sees it, weighted
    bumped = perfect.clone()
    bumped[:, 3 + 6 * 4:3 + 6 * 4 + 3] += 0.5
    pos_only = Objective(model, LossSettings(loss_rotation=0.0, loss_positions=2.0, loss_root=0.0))
    half = Objective(model, LossSettings(loss_rotation=0.0, loss_positions=1.0, loss_root=0.0))
    assert torch.allclose(pos_only.per_frame(bumped, target), 2 * half.per_frame(bumped, target))
    assert half.per_frame(bumped, target).min() > 1e-4


def test_training_rot6d_reconstructs_and_round_trips(demo_dir, tmp_path):
    model, data, ts = rot6d(demo_dir, epochs=60, lr_decoder=3e-3, lr_codes=0.05, frames="random",
                            frames_per_sequence=8)
    before = reconstruction_error(model, data)["mpjpe_cm"]
    history = fit(model, data, ts, loss=LossSettings())
    after = reconstruction_error(model, data)["mpjpe_cm"]
    assert after < 0.6 * before, (before, after)
    assert history[-1]["loss"] < history[0]["loss"]
    save_model(model, tmp_path / "model.pt")
    again = load_model(tmp_path / "model.pt")
    assert again.settings.output == "rot6d" and torch.equal(again.skeleton, model.skeleton)
    assert torch.equal(again.reconstruct(), model.reconstruct())


def test_rot6d_needs_rotations_in_the_data(processed_dir):
    with pytest.raises(DataError, match="model.output: got 'rot6d', but the processed synthetic data has positions only"):
        rot6d(processed_dir)


def test_generated_rot6d_motions_keep_rotations_and_export_exactly(demo_dir, tmp_path):
    import bvhio

    model, _, _ = rot6d(demo_dir)

    class Fixed:
        def sample(self, actions, lengths, rng):
            return rng.normal(scale=0.1, size=(len(actions), model.code_dim)).astype(np.float32)

    motions = generate_motions(model, Fixed(), np.array([0, 2]), np.array([15, 11]), np.random.default_rng(0),
                               prefix="walk")
    assert motions.has_rotations and motions.rotations.shape == (26, 24, 6)
    motions.save(tmp_path / "walk.npz")
    assert MotionSet.load(tmp_path / "walk.npz").has_rotations
    result = CliRunner().invoke(app, ["export", str(tmp_path / "walk.npz"), "--format", "bvh", "--out",
                                      str(tmp_path / "bvh"), "--processed", str(demo_dir)])
    assert result.exit_code == 0 and "from their rotations" in result.stdout, result.output
    names = load_meta(demo_dir)["joint_names"]
    root = bvhio.readAsHierarchy(str(tmp_path / "bvh" / "walk_00001.bvh"))
    layout = root.layout()
    order = [[j.Name for j, _, _ in layout].index(n) for n in names]
    for f in range(11):
        root.loadPose(f)
        got = np.array([np.array(layout[k][0].PositionWorld) for k in order])
        assert np.abs(got - motions.sequence(1)[f]).max() < 1e-3


@pytest.mark.slow
def test_humanact12_preset_trains_rot6d_on_a_humanact12poses_fixture(tmp_path):
    repo = make_repo(tmp_path, {})
    shutil.copytree(ROOT / "presets", repo / "presets")
    poses, joints = smpl_fixture(lengths=(20, 24, 18, 22, 26, 21))
    (repo / "data/raw/HumanAct12Poses").mkdir(parents=True)
    joblib.dump({"poses": poses, "joints3D": joints, "y": [0, 1, 2, 0, 1, 2]},
                repo / "data/raw/HumanAct12Poses/humanact12poses.pkl")
    _run(["git", "add", "-A"], repo)
    _run(["git", "commit", "-qm", "fixture"], repo)
    env_bin = os.path.dirname(sys.executable)
    proc = subprocess.run(
        ["bash", "presets/humanact12_mlp.sh", "-S", "data.path=data/raw/HumanAct12Poses/humanact12poses.pkl",
         "-S", "train.epochs=3", "-S", "train.batch_size=4", "-S", "model.mlp.layers=[16]", "-S", "model.time_dim=8",
         "-S", "model.seq_code_dim=4", "-S", "model.act_code_dim=4", "-S", "train.threads=1", "train"],
        cwd=repo, capture_output=True, text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(repo), "PATH": env_bin + os.pathsep + os.environ["PATH"]})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Running stage 'prepare'" in proc.stdout and "Running stage 'train'" in proc.stdout
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["model"]["output"] == "rot6d" and params["data"]["source"] == "humanact12poses"
    assert params["model"]["mlp"]["layers"] == [16]  # later arguments win over the preset
    model = load_model(repo / "models/model.pt")
    assert model.settings.output == "rot6d" and model.decoder.net[-1].out_features == 3 + 24 * 6
    meta = json.loads((repo / "data/processed/meta.json").read_text())
    assert meta["rotations"]["residual_m"]["train"]["sequence_rms_m"] < 1e-4
    assert np.isfinite(model.reconstruct().numpy()).all()


def test_two_ranks_train_the_single_process_rot6d_model(demo_dir):
    from tests.test_ddp import assert_close_histories, assert_same_model, run_world

    settings = dict(epochs=4, lr_codes=0.01, lr_decoder=0.003, frames="random", batch_size=3)
    single, data, ts = rot6d(demo_dir, **settings)
    reference = fit(single, data, ts)
    for ranked, history in run_world(2, lambda: rot6d(demo_dir, **settings)):
        assert_same_model(ranked, single)
        assert_close_histories(history, reference)
