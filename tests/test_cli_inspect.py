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


def test_inspect_motion_set_names_classes_from_meta_beside_or_processed(processed_dir, tmp_path, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)  # no data/processed here
    train = load_split(processed_dir)
    (tmp_path / "alone").mkdir()
    train.save(tmp_path / "alone" / "set.npz")
    res = runner.invoke(app, ["inspect", str(tmp_path / "alone" / "set.npz")])
    assert res.exit_code == 0, res.output
    assert "by label: no meta.json with class names" in res.output and "class 0" in res.output

    (tmp_path / "named").mkdir()
    train.save(tmp_path / "named" / "set.npz")
    (tmp_path / "named" / "meta.json").write_text(json.dumps({"class_names": ["walk", "run", "jump"]}))
    res = runner.invoke(app, ["inspect", str(tmp_path / "named" / "set.npz")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert f"names from {tmp_path / 'named' / 'meta.json'}" in lines[1]
    per_class = {line.split()[0]: line for line in lines[2:]}
    assert set(per_class) == {"walk", "run", "jump"}
    n0 = int((train.labels == 0).sum())
    assert f"{n0} sequences" in per_class["walk"] and "lengths" in per_class["walk"]
    assert "0:" not in res.output  # classes are named, not listed by index


def test_inspect_mixtures_explains_bins_components_and_rejected_fits(tmp_path):
    from motioninr.gmm import GMMSettings, fit_mixtures
    from tests.test_gmm import make_draws

    # walk's last sample (60 frames) cannot fill a bin alone: its bin is widened back over the one before
    draws = make_draws([[20] * 4 + [40] * 4 + [60], [30] * 6], dim=4, draws=20)
    draws.class_names = ["walk", "jump"]
    settings = GMMSettings(components=3, min_population=40, min_window=5, retries=2, guard=0.2, n_jobs=1)
    bank = fit_mixtures(draws, settings)
    bank.save(tmp_path / "gmm")
    res = runner.invoke(app, ["inspect", str(tmp_path / "gmm")])
    assert res.exit_code == 0, res.output
    text = res.output
    assert f"{bank.num_bins} length bins over 2 of 2 classes, {len(bank.weights)} Gaussian components in all" in text
    assert "memorisation guard rejects a fit" in text and "2 per component count" in text
    rejected = sum(r["retries"] for r in bank.records)
    fewer = sum(r["components"] < 3 for r in bank.records)
    assert f"In all: {fewer} of {bank.num_bins} bins kept fewer than 3 components; {rejected} fits were rejected" in text
    for c, name in enumerate(["walk", "jump"]):
        rows = [r for r in bank.records if r["action"] == c]
        kept = sum(r["components"] for r in rows)
        header = (f"  {name}: {len(rows)} bins, {kept} components kept after the guard, "
                  f"{sum(r['retries'] for r in rows)} fits rejected")
        assert header in text.splitlines()
    first = min((r for r in bank.records if r["action"] == 0), key=lambda r: r["low"])
    row = next(line for line in text.splitlines() if line.strip().startswith(f"{first['low']}..{first['high'] - 1} "))
    assert f"{first['components']} of 3" in row and row.split()[-1] == str(first["retries"])
    overlapping = [line for line in text.splitlines() if "widened back over the one before" in line]
    assert len(overlapping) == 1 and overlapping[0].strip().startswith("40..60 ")
    assert "bins_with_fewer_components" not in text and "retries 6" not in text


def test_inspect_reports_code_sigma_ratio_and_components_per_bin(processed_dir, tmp_path):
    import re

    import numpy as np

    from motioninr.codes import draw_codes
    from motioninr.data.dataset import load_meta
    from motioninr.gmm import CLASS_GMM, GMMSettings, fit_class_mixtures, fit_mixtures
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
    fit_class_mixtures(draws, gmm).save(tmp_path / "gmm", CLASS_GMM)
    res = runner.invoke(app, ["inspect", str(tmp_path / "gmm")])
    assert res.exit_code == 0, res.output
    assert f"{round(bank.components_per_bin, 3)} components per bin on average" in res.output
    assert "code_sigma_ratio" in res.output and "length-agnostic mixtures" in res.output
    assert np.isfinite(bank.sigma_ratio)
