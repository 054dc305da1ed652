import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from motioninr.cli import app
from motioninr.codes import draw_codes
from motioninr.data.dataset import MotionSet
from motioninr.data.prepare import PrepareSettings, prepare
from motioninr.gmm import CLASS_GMM, GMMSettings, fit_class_mixtures, fit_mixtures
from motioninr.settings import from_mapping
from tests.conftest import synthetic_raw


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A pipeline layout with an (untrained) tiny model, its code draws and fitted mixtures."""
    from motioninr.model import ModelSettings, save_model
    from motioninr.model.train import new_model

    root = tmp_path_factory.mktemp("pipeline")
    splits, meta = prepare(synthetic_raw(), PrepareSettings(test_fraction=0.0))
    settings = from_mapping(ModelSettings, {"seq_code_dim": 4, "act_code_dim": 4, "time_dim": 8,
                                            "mlp": {"layers": [16]}}, "model")
    model = new_model(settings, splits["train"], meta, seed=0)
    save_model(model, root / "models" / "model.pt")
    draws = draw_codes(model, draws=10)
    draws.save(root / "data" / "codes" / "draws.npz")
    fit_mixtures(draws, GMMSettings(components=2, min_population=10, n_jobs=1)).save(root / "models" / "gmm")
    fit_class_mixtures(draws, GMMSettings(components=2, n_jobs=1)).save(root / "models" / "gmm", CLASS_GMM)
    return root


def run(root, *args):
    result = CliRunner().invoke(app, ["generate", "--model", str(root / "models" / "model.pt"),
                                      "--gmm", str(root / "models" / "gmm"),
                                      "--draws", str(root / "data" / "codes" / "draws.npz"), *args])
    return result


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_generate_by_name_and_index(artifacts, tmp_path):
    result = run(artifacts, "--action", "class1", "--length", "45", "--count", "3", "--out", str(tmp_path / "a.npz"))
    assert result.exit_code == 0, result.output
    assert "wrote 3 x class1 (45 frames" in result.stdout
    motions = MotionSet.load(tmp_path / "a.npz")
    assert motions.lengths.tolist() == [45, 45, 45] and motions.labels.tolist() == [1, 1, 1]
    assert motions.frames.shape == (135, 24, 3) and np.isfinite(motions.frames).all()
    again = run(artifacts, "--action", "1", "--length", "45", "--count", "3", "--out", str(tmp_path / "b.npz"))
    assert again.exit_code == 0 and np.array_equal(MotionSet.load(tmp_path / "b.npz").frames, motions.frames)
    other = run(artifacts, "-a", "1", "-l", "45", "-n", "3", "--seed", "7", "--out", str(tmp_path / "c.npz"))
    assert other.exit_code == 0 and not np.array_equal(MotionSet.load(tmp_path / "c.npz").frames, motions.frames)
    memo = run(artifacts, "-a", "class2", "-l", "20", "--sampler", "memorize", "--out", str(tmp_path / "m.npz"))
    assert memo.exit_code == 0 and MotionSet.load(tmp_path / "m.npz").lengths.tolist() == [20]


def test_length_outside_training_range_warns(artifacts, tmp_path):
    result = run(artifacts, "--action", "class0", "--length", "400", "--out", str(tmp_path / "long.npz"))
    assert result.exit_code == 0
    assert result.stderr.count("warning: length 400") == 1
    assert MotionSet.load(tmp_path / "long.npz").lengths.tolist() == [400]


def test_unknown_action_lists_the_valid_ones(artifacts, tmp_path):
    line = one_line_error(run(artifacts, "--action", "swim", "--length", "30", "--out", str(tmp_path / "x.npz")))
    assert "--action: got 'swim'" in line and "0 class0, 1 class1, 2 class2" in line
    line = one_line_error(run(artifacts, "--action", "3", "--length", "30", "--out", str(tmp_path / "x.npz")))
    assert "got '3'" in line
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("args, message", [
    (["--length", "0"], "--length: got 0, expected a positive number of frames"),
    (["--length", "-5"], "--length: got -5"),
    (["--length", "30", "--count", "0"], "--count: got 0, expected a positive number of motions"),
    (["--length", "30", "--sampler", "vae"], "--sampler: got 'vae'"),
])
def test_bad_numbers_and_sampler(artifacts, args, message):
    assert message in one_line_error(run(artifacts, "--action", "class0", *args))


def test_missing_artifacts_say_which_stage_to_run(artifacts, tmp_path):
    common = ["--action", "class0", "--length", "30", "--out", str(tmp_path / "x.npz")]
    line = one_line_error(CliRunner().invoke(app, ["generate", "--model", str(tmp_path / "model.pt"), *common]))
    assert "model.pt not found; run `dvc repro train`" in line
    model = ["--model", str(artifacts / "models" / "model.pt")]
    line = one_line_error(CliRunner().invoke(app, ["generate", *model, "--gmm", str(tmp_path / "gmm"), *common]))
    assert f"{tmp_path / 'gmm' / 'gmm.npz'} not found; run `dvc repro fit-gmm`" in line
    line = one_line_error(CliRunner().invoke(app, ["generate", *model, "--sampler", "gaussian",
                                                   "--draws", str(tmp_path / "d.npz"), *common]))
    assert "d.npz not found; run `dvc repro resample`" in line


def test_real_command_line_error_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "motioninr.cli", "generate", "--action", "walk", "--length", "90",
                           "--model", str(tmp_path / "none.pt")], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'none.pt'} not found; run `dvc repro train` "
                                                "(or pass --model)"]
