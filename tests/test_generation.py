import json
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from motioninr.codes import CodeDraws, draw_codes
from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.errors import DataError, SettingsError
from motioninr.generation import (
    GaussianSampler,
    GenerateSettings,
    GMMSampler,
    MemorizeSampler,
    generate_motions,
    generate_outputs,
    make_sampler,
    parse_action,
    protocol_requests,
)
from motioninr.covariance import pack_covariances
from motioninr.gmm import GMMSettings, LengthBinnedGMM, fit_class_mixtures, fit_mixtures
from motioninr.settings import from_mapping


class FakeModel:
    """The trained-model API generation relies on, with a decoder that is a fixed function of the code."""

    def __init__(self, num_classes=3, per_class=4, seq_dim=4, act_dim=3, joints=5, variational=True, seed=0):
        g = torch.Generator().manual_seed(seed)
        n = num_classes * per_class
        self.class_names = [f"act{c}" for c in range(num_classes)]
        self.num_classes, self.num_samples = num_classes, n
        self.train_labels = torch.arange(num_classes).repeat_interleave(per_class)
        self.train_lengths = torch.randint(10, 40, (n,), generator=g)
        self.train_ids = [f"s{i}" for i in range(n)]
        self.code_dim, self.fps = seq_dim + act_dim, 20.0
        self.joint_names, self.parents = [f"j{j}" for j in range(joints)], [-1] + list(range(joints - 1))
        lv = (lambda rows, d: torch.full((rows, d), -2.0)) if variational else (lambda rows, d: None)
        self.post = {"seq_mu": torch.randn(n, seq_dim, generator=g), "seq_logvar": lv(n, seq_dim),
                     "act_mu": 3 * torch.randn(num_classes, act_dim, generator=g), "act_logvar": lv(num_classes, act_dim)}
        self.rest = torch.randn(joints, 3, generator=g)
        self.settings = SimpleNamespace(action_code="concat")

    def posteriors(self):
        return {k: None if v is None else v.clone() for k, v in self.post.items()}

    def compose(self, beta, alpha):
        return torch.cat([beta, alpha], dim=-1)

    def parameters(self):
        return iter([self.rest])

    def decode(self, c, lengths, fps=None):
        lengths = torch.as_tensor(lengths)
        seq = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
        first = torch.cumsum(lengths, 0) - lengths
        t = (torch.arange(int(lengths.sum())) - first[seq]).float()
        wave = torch.sin(0.2 * t)[:, None, None]
        return self.rest[None] + 0.1 * wave * c[seq, None, :3]


def hand_bank():
    """Class 0: bins [10, 20) around 0 and [30, 40) around 100; class 1: one bin around -50 (3-d codes)."""
    cov = np.stack([np.eye(3) * 1e-4] * 3)
    return LengthBinnedGMM.from_arrays(
        covariance_type="full", class_names=["a", "b"], bin_action=[0, 0, 1], bin_low=[10, 30, 5],
        bin_high=[20, 40, 15], offsets=[0, 1, 2, 3], weights=[1.0, 1.0, 1.0],
        means=[[0, 0, 0], [100, 0, 0], [-50, 0, 0]], covariances=pack_covariances(cov, "full"),
        length_min=[10, 5], length_max=[39, 14])


# ---------------------------------------------------------------------------------------- draws

def test_draw_codes_follow_the_posteriors():
    model = FakeModel()
    draws = draw_codes(model, draws=400, seed=1)
    n = model.num_samples
    assert draws.codes.shape == (n * 400, model.code_dim) and draws.sample.tolist() == np.repeat(np.arange(n), 400).tolist()
    assert np.array_equal(draws.labels, np.repeat(model.train_labels.numpy(), 400))
    assert np.array_equal(draws.lengths, np.repeat(model.train_lengths.numpy(), 400))
    mean_codes = torch.cat([model.post["seq_mu"], model.post["act_mu"][model.train_labels]], 1).numpy()
    assert np.allclose(draws.sample_codes, mean_codes)
    per_sample = draws.codes.reshape(n, 400, -1)
    assert np.allclose(per_sample.mean(1), mean_codes, atol=0.1)
    assert np.allclose(per_sample.std(1), np.exp(-1.0), atol=0.05)
    assert np.array_equal(draws.codes, draw_codes(model, 400, seed=1).codes)
    assert not np.array_equal(draws.codes, draw_codes(model, 400, seed=2).codes)
    point = draw_codes(FakeModel(variational=False), draws=3)
    assert np.array_equal(point.codes, np.repeat(point.sample_codes, 3, axis=0))


def test_code_draws_round_trip(tmp_path):
    draws = draw_codes(FakeModel(), draws=5)
    draws.save(tmp_path / "codes" / "draws.npz")
    with np.load(tmp_path / "codes" / "draws.npz", allow_pickle=False) as z:
        assert {"codes", "labels", "lengths", "sample", "sample_ids"} <= set(z.files)
    back = CodeDraws.load(tmp_path / "codes" / "draws.npz")
    for name in ("codes", "sample", "sample_ids", "sample_labels", "sample_lengths", "sample_codes"):
        assert np.array_equal(getattr(back, name), getattr(draws, name))
    assert back.class_names == draws.class_names
    with pytest.raises(DataError, match=r"run `dvc repro resample`"):
        CodeDraws.load(tmp_path / "missing.npz")


# ------------------------------------------------------------------------------------- samplers

def test_gmm_sampler_uses_the_nearest_bin_and_warns_once_outside_the_range():
    sampler = GMMSampler(hand_bank())
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        codes = sampler.sample([0, 0, 0, 1], [12, 24, 36, 9], rng)
    assert codes.shape == (4, 3) and codes.dtype == np.float32
    assert np.allclose(codes[:, 0], [0, 0, 100, -50], atol=0.1)
    with pytest.warns(UserWarning, match="outside its training lengths"):
        far = sampler.sample([0, 1], [500, 1], rng)
    assert np.allclose(far[:, 0], [100, -50], atol=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once is enough
        sampler.sample([0], [1000], rng)
    with pytest.raises(SettingsError, match="length: got 0"):
        sampler.sample([0], [0], rng)


def test_memorize_sampler_replays_the_nearest_length_training_code():
    codes = np.arange(6, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    labels, lengths = np.array([0, 0, 0, 1, 1, 0]), np.array([10, 20, 30, 10, 50, 20])
    sampler = MemorizeSampler(codes, labels, lengths)
    rng = np.random.default_rng(0)
    out = sampler.sample([0, 0, 0, 1, 1], [11, 29, 100, 40, 1], rng)
    assert out[:, 0].tolist() == [0, 2, 2, 4, 3]
    tied = sampler.sample(np.zeros(200, int), np.full(200, 19), rng)[:, 0]  # samples 1 and 5 both have 20 frames
    assert set(tied.tolist()) == {1.0, 5.0}


def test_gaussian_sampler_fits_each_class_and_ignores_length():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(4000, 2)) * [1.0, 0.5], rng.normal(size=(4000, 2)) + 10])
    labels = np.repeat([0, 1], 4000)
    sampler = GaussianSampler.fit(x, labels, num_classes=3)
    y = sampler.sample(np.zeros(4000, int), np.full(4000, 10), np.random.default_rng(1))
    assert np.allclose(y.mean(0), 0, atol=0.06) and np.allclose(y.std(0), [1.0, 0.5], atol=0.05)
    assert sampler.sample([1], [5], np.random.default_rng(2))[0, 0] > 5
    assert np.array_equal(sampler.sample([0], [5], np.random.default_rng(3)),
                          sampler.sample([0], [500], np.random.default_rng(3)))
    with pytest.raises(DataError, match="action 2"):
        sampler.sample([2], [5], rng)


def test_make_sampler_and_parse_action():
    with pytest.raises(DataError, match="fit-gmm"):
        make_sampler("gmm")
    with pytest.raises(DataError, match="resample"):
        make_sampler("memorize")
    with pytest.raises(SettingsError, match="expected one of gmm, memorize, gaussian"):
        make_sampler("vae")
    names = ["warm_up", "walk", "run"]
    assert parse_action("Walk", names) == 1 and parse_action("2", names) == 2
    with pytest.raises(SettingsError, match="expected an action name or index among: 0 warm_up, 1 walk, 2 run"):
        parse_action("swim", names)
    with pytest.raises(SettingsError):
        parse_action("3", names)


# ------------------------------------------------------------------------------------ protocols

def test_protocol_requests():
    labels, lengths = np.array([0, 0, 1, 1, 1]), np.array([10, 20, 30, 31, 60])
    rng = np.random.default_rng(0)
    a, n = protocol_requests("variable", labels, lengths, 3, rng)
    assert a.tolist() == labels.tolist() and n.tolist() == lengths.tolist()
    a, n = protocol_requests("fixed", labels, lengths, 3, rng, length=60)
    assert a.tolist() == labels.tolist() and set(n.tolist()) == {60}
    a, n = protocol_requests("uniform", labels, lengths, 3, rng, per_class=50)
    assert np.bincount(a).tolist() == [50, 50]
    assert n[a == 0].min() >= 10 and n[a == 0].max() <= 20 and n[a == 1].min() >= 30 and n[a == 1].max() <= 60
    with pytest.raises(SettingsError, match="protocol"):
        protocol_requests("random", labels, lengths, 3, rng)


def test_generate_settings_plan_and_validation():
    s = from_mapping(GenerateSettings, {}, "generate")
    assert s.plan() == [("gmm", "variable"), ("gmm", "fixed"), ("memorize", "variable")]
    s = from_mapping(GenerateSettings, {"sampler": "gaussian", "protocols": ["uniform"], "baselines": []}, "generate")
    assert s.plan() == [("gaussian", "uniform")]
    for values, message in [({"protocols": ["sometimes"]}, "generate.protocols"), ({"length": 0}, "generate.length"),
                            ({"protocols": []}, "generate.protocols"), ({"sampler": "vae"}, "generate.sampler")]:
        with pytest.raises(SettingsError, match=message):
            from_mapping(GenerateSettings, values, "generate")


# ----------------------------------------------------------------------------------- generation

def test_generated_motions_have_the_requested_lengths():
    model = FakeModel()
    draws = draw_codes(model, draws=20)
    bank = fit_mixtures(draws, GMMSettings(components=2, min_population=20, n_jobs=1))
    requests = ([0, 1, 2, 0], [1, 7, 39, 300])
    for sampler in (GMMSampler(bank), MemorizeSampler.from_draws(draws), GaussianSampler.from_draws(draws)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            motions = generate_motions(model, sampler, *requests, np.random.default_rng(0), prefix="x")
        assert motions.lengths.tolist() == [1, 7, 39, 300] and motions.labels.tolist() == [0, 1, 2, 0]
        assert motions.frames.shape == (347, 5, 3) and np.isfinite(motions.frames).all()
        assert motions.ids.tolist() == ["x_00000", "x_00001", "x_00002", "x_00003"]
    with pytest.raises(SettingsError, match="action: got 3"):
        generate_motions(model, GMMSampler(bank), [3], [10], np.random.default_rng(0))


@pytest.mark.filterwarnings("ignore:length .* lies outside its training lengths")
def test_generate_outputs_is_seeded_and_independent_per_file():
    model = FakeModel()
    draws = draw_codes(model, draws=20)
    bank = fit_mixtures(draws, GMMSettings(components=2, min_population=20, n_jobs=1))
    class_bank = fit_class_mixtures(draws, GMMSettings(components=2, n_jobs=1))
    settings = GenerateSettings(replications=2)
    out = generate_outputs(model, settings, bank, draws, class_bank)
    assert list(out) == ["gmm_variable", "gmm_fixed", "memorize_variable"]
    motions, replication, info = out["gmm_fixed"]
    assert set(motions.lengths.tolist()) == {60} and len(motions) == 2 * model.num_samples
    assert replication.tolist() == [0] * model.num_samples + [1] * model.num_samples
    assert info == {"path": "gmm_fixed.npz", "sampler": "gmm", "protocol": "fixed", "sequences": len(motions),
                    "frames": 60 * len(motions), "replications": 2, "length": 60, "mixture": "class"}
    # fresh codes per replication: the two generated sets differ
    first, second = (motions.frames[:60 * model.num_samples], motions.frames[60 * model.num_samples:])
    assert not np.allclose(first, second)
    with pytest.raises(DataError, match="generate.fixed_mixture: got 'class'"):
        generate_outputs(model, settings, bank, draws)
    again = generate_outputs(model, GenerateSettings(replications=2, baselines=()), bank, None, class_bank)
    assert np.array_equal(again["gmm_variable"][0].frames, out["gmm_variable"][0].frames)
    variable = out["gmm_variable"][0]
    assert np.array_equal(variable.lengths, np.tile(model.train_lengths.numpy(), 2))


# ---------------------------------------------------------------------------- with a real model

@pytest.fixture
def tiny_real_model(processed_dir):
    from motioninr.model import ModelSettings
    from motioninr.model.train import TrainSettings, fit, new_model

    settings = from_mapping(ModelSettings, {"seq_code_dim": 8, "act_code_dim": 8, "time_dim": 8,
                                            "mlp": {"layers": [32, 32]}}, "model")
    model = new_model(settings, load_split(processed_dir), load_meta(processed_dir), seed=0)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fit(model, load_split(processed_dir), TrainSettings(epochs=4, batch_size=8, device="cpu"))
    finally:
        torch.set_num_threads(before)
    return model


@pytest.mark.filterwarnings("ignore:length .* lies outside its training lengths")
def test_real_model_generation_and_the_memorize_baseline(tiny_real_model, processed_dir):
    model = tiny_real_model
    draws = draw_codes(model, draws=10, seed=0)
    assert draws.code_dim == model.code_dim and len(draws.sample_ids) == model.num_samples
    bank = fit_mixtures(draws, GMMSettings(components=3, min_population=10, n_jobs=1))
    motions = generate_motions(model, GMMSampler(bank), [0, 1, 2], [5, 33, 61], np.random.default_rng(0))
    assert motions.lengths.tolist() == [5, 33, 61] and motions.frames.shape[1:] == (24, 3)
    assert np.isfinite(motions.frames).all()
    # the replay baseline decodes exactly the training reconstructions at the training lengths
    labels, lengths = model.train_labels.numpy(), model.train_lengths.numpy()
    replay = generate_motions(model, MemorizeSampler.from_draws(draws), labels, lengths, np.random.default_rng(0))
    unique = [i for i in range(len(labels)) if ((labels == labels[i]) & (lengths == lengths[i])).sum() == 1]
    recon = MotionSet(model.reconstruct().numpy(), lengths, labels, np.asarray(model.train_ids))
    for i in unique:
        assert np.allclose(replay.sequence(i), recon.sequence(i), atol=1e-5)


@pytest.mark.filterwarnings("ignore:length .* lies outside its training lengths")
def test_stages_resample_fit_gmm_generate(tiny_real_model, tmp_path):
    from motioninr.model import save_model
    from stages.fit_gmm import app as fit_app
    from stages.generate import app as generate_app
    from stages.resample import app as resample_app

    save_model(tiny_real_model, tmp_path / "model.pt")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "resample": {"draws": 10, "device": "cpu"},
        "gmm": {"components": 2, "min_population": 10, "n_jobs": 1},
        "generate": {"protocols": ["variable", "fixed", "uniform"], "per_class": 3, "length": 17, "device": "cpu"},
    }))
    runner = CliRunner()
    p, m = ["--params", str(params)], ["--model", str(tmp_path / "model.pt")]
    for app, args in [(resample_app, p + m + ["--out", str(tmp_path / "draws.npz")]),
                      (fit_app, p + ["--draws", str(tmp_path / "draws.npz"), "--out", str(tmp_path / "gmm")]),
                      (generate_app, p + m + ["--gmm", str(tmp_path / "gmm"), "--draws", str(tmp_path / "draws.npz"),
                                              "--out", str(tmp_path / "generated")])]:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "gmm").iterdir()} == {"gmm.npz", "gmm.json", "gmm_report.json",
                                                              "class_gmm.npz", "class_gmm.json"}
    report = json.loads((tmp_path / "gmm" / "gmm_report.json").read_text())
    assert report["bins"] == len(json.loads((tmp_path / "gmm" / "gmm.json").read_text())["bins"])
    meta = json.loads((tmp_path / "generated" / "meta.json").read_text())
    assert list(meta["files"]) == ["gmm_variable", "gmm_fixed", "gmm_uniform", "memorize_variable"]
    assert meta["class_names"] == tiny_real_model.class_names and meta["fps"] == tiny_real_model.fps
    for name, entry in meta["files"].items():
        motions = MotionSet.load(tmp_path / "generated" / entry["path"])
        assert len(motions) == entry["sequences"] and np.isfinite(motions.frames).all()
    fixed = MotionSet.load(tmp_path / "generated" / "gmm_fixed.npz")
    assert set(fixed.lengths.tolist()) == {17}
    # 20 independently generated sets by default (official protocol), 3 per class each
    assert np.bincount(MotionSet.load(tmp_path / "generated" / "gmm_uniform.npz").labels).tolist() == [60, 60, 60]
    # a bad setting is one line naming it, exit code 1
    params.write_text(yaml.safe_dump({"gmm": {"covariance": "round"}}))
    result = runner.invoke(fit_app, p + ["--draws", str(tmp_path / "draws.npz"), "--out", str(tmp_path / "gmm2")])
    assert result.exit_code == 1 and "gmm.covariance" in result.output and not (tmp_path / "gmm2").exists()
