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


def test_inspect_reports_code_sigma_ratio_and_components_per_bin(processed_dir, tmp_path):
    import re

    import numpy as np

    from motioninr.codes import draw_codes
    from motioninr.data.dataset import load_meta
    from motioninr.gmm import CLASS_BANK, GMMSettings, fit_class_mixtures, fit_mixtures
    from motioninr.model import save_model
    from motioninr.model.model import ModelSettings
    from motioninr.model.train import new_model
    from motioninr.settings import from_mapping

    settings = from_mapping(ModelSettings, {"seq_code_dim": 4, "act_code_dim": 4, "time_dim": 8,
                                            "mlp": {"layers": [8]}}, "model")
    model = new_model(settings, load_split(processed_dir), load_meta(processed_dir), seed=0)
    save_model(model, tmp_path / "model.pt")
    res = runner.invoke(app, ["inspect", str(tmp_path / "model.pt")])
    assert res.exit_code == 0, res.output
    # fresh codes: means of spread 0.01, log-variance 1 (sigma 1.65): a ratio of about 165
    ratio = float(re.search(r"code_sigma_ratio ([0-9.]+)", res.output).group(1))
    assert 100 < ratio < 250
    draws = draw_codes(model, draws=10)
    gmm = GMMSettings(components=2, min_population=10, n_jobs=1, guard=0)
    bank = fit_mixtures(draws, gmm)
    bank.save(tmp_path / "gmm")
    fit_class_mixtures(draws, gmm).save(tmp_path / "gmm", CLASS_BANK)
    res = runner.invoke(app, ["inspect", str(tmp_path / "gmm")])
    assert res.exit_code == 0, res.output
    assert f"components_per_bin {round(bank.components_per_bin, 3)}" in res.output
    assert "code_sigma_ratio" in res.output and "length-agnostic mixtures" in res.output
    assert np.isfinite(bank.sigma_ratio)
