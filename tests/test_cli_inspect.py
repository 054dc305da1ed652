from typer.testing import CliRunner

from motioninr.cli import app
from motioninr.data.dataset import load_split

runner = CliRunner()


def test_inspect_processed_and_motion_set(processed_dir, tmp_path):
    res = runner.invoke(app, ["inspect", str(processed_dir)])
    assert res.exit_code == 0, res.output
    assert "3 classes, 24 joints, 20 fps" in res.output and "class1" in res.output
    train = load_split(processed_dir)
    train.save(tmp_path / "set.npz")
    res = runner.invoke(app, ["inspect", str(tmp_path / "set.npz")])
    assert res.exit_code == 0 and f"{len(train)} sequences, {len(train.frames)} frames" in res.output


def test_inspect_unknown_path_is_one_line_error(tmp_path):
    res = runner.invoke(app, ["inspect", str(tmp_path / "missing")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"error: {tmp_path / 'missing'}: not a processed dataset folder, "
                                               "motion set .npz, model .pt or mixtures folder"]
