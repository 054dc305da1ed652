"""Each row of docs/fidelity.md: the setting switches the behaviour, and the default is the official one
(or the documented deviation). The doc's table must name tests that exist."""

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from motioninr.codes import CodeDraws, code_sigma_ratio
from motioninr.generation import GenerateSettings, GMMSampler, generate_outputs
from motioninr.gmm import CLASS_GMM, GMMSettings, LengthBinnedGMM, fit_bin, fit_class_mixtures, fit_mixtures
from motioninr.gmm_files import report
from motioninr.model.model import ModelSettings
from motioninr.model.train import Trainer, TrainSettings, reconstruction_loss, updates_per_epoch
from motioninr.settings import from_mapping
from tests.model_helpers import TINY_MODEL, one_thread, tiny_training  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
HUMANACT12_SEQUENCES = 1191  # the official runs train on every HumanAct12 sequence (split: train = all)


def setup(processed_dir, model=None, **train):
    return tiny_training(processed_dir, model, TINY_MODEL, **train)


def params():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


# ----------------------------------------------------------------------------- training

def test_logvar_init_official_one_or_as_narrow_as_the_means(processed_dir):
    assert params()["model"]["logvar_init"] == 1.0  # official logvar_scale
    model, _, _ = setup(processed_dir)
    assert torch.all(model.seq_codes.logvar == 1.0) and torch.all(model.act_codes.logvar == 1.0)
    model, _, _ = setup(processed_dir, model={"logvar_init": None, "code_init_std": 0.01})
    assert torch.allclose(model.seq_codes.logvar, torch.tensor(2 * np.log(0.01), dtype=torch.float32))
    model, _, _ = setup(processed_dir, model={"code_init_std": 0.0})  # official: every mean starts at zero
    assert torch.all(model.seq_codes.mu == 0)


def test_loss_reduction_mean_is_mse_loss_and_frame_sum_sums_frames():
    pred, target = torch.randn(12, 6), torch.randn(12, 6)  # 3 sequences of 4 frames
    per_frame = (pred - target).pow(2).mean(-1)  # the positions objective's per-frame loss
    mean = reconstruction_loss(per_frame, batch=3, frames=12, reduction="mean")
    assert torch.allclose(mean, torch.nn.functional.mse_loss(pred, target))
    summed = reconstruction_loss(per_frame, batch=3, frames=12, reduction="frame_sum")
    assert torch.allclose(summed, 4 * mean)  # 4 frames per sequence
    assert params()["train"]["loss_reduction"] == "mean"


def test_loss_reduction_switches_the_training_loss(processed_dir):
    records = {}
    for reduction in ("mean", "frame_sum"):
        model, data, ts = setup(processed_dir, loss_reduction=reduction, frames_per_sequence=4, batch_size=64)
        trainer = Trainer(model, data, ts)
        trainer.set_pass("decoder")
        records[reduction] = float(trainer.step(torch.arange(len(data)), "decoder")["recon"])
    assert records["frame_sum"] == pytest.approx(4 * records["mean"], rel=1e-5)


@pytest.mark.parametrize("optimizer", ["table", "row"])
def test_code_optimizer_table_moves_every_row_row_only_used_rows(processed_dir, optimizer):
    model, data, ts = setup(processed_dir, code_optimizer=optimizer)
    trainer = Trainer(model, data, ts)
    trainer.set_pass("codes")
    trainer.step(torch.tensor([0, 1]), "codes")
    before = model.seq_codes.mu.detach().clone()
    trainer.step(torch.tensor([2, 3]), "codes")  # rows 0 and 1 are not in this batch
    moved = not torch.equal(before[:2], model.seq_codes.mu.detach()[:2])
    assert moved == (optimizer == "table")  # table: they keep moving on their momentum (official)
    assert params()["train"]["code_optimizer"] == "table"


def count_steps(trainer):
    counts = {"codes": 0, "decoder": 0}
    for name, opt in (("codes", trainer.opt_codes), ("decoder", trainer.opt_decoder)):
        original = opt.step

        def counted(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)
        opt.step = counted
    return counts


@pytest.mark.parametrize("train", [
    {"schedule": "alternating"},
    {"schedule": "alternating", "code_epochs": 2, "aggregate_per_epoch": True},
    {"schedule": "joint", "batch_size": 5},
])
def test_an_epoch_takes_the_counted_updates(processed_dir, train):
    """Alternating epoch = code pass(es) + decoder pass(es) (official); aggregate_per_epoch: one decoder step a pass."""
    model, data, ts = setup(processed_dir, **train)
    trainer = Trainer(model, data, ts)
    counts = count_steps(trainer)
    trainer.run_epoch()
    assert counts == updates_per_epoch(ts, len(data)) == trainer.updates_per_epoch()
    if train.get("aggregate_per_epoch"):
        assert counts["decoder"] == 1


def preset_settings(name: str) -> dict:
    """The ``-S key=value`` overrides of ``presets/<name>.sh``, as nested params sections."""
    text = (ROOT / "presets" / f"{name}.sh").read_text().replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("exec dvc exp run"))
    words = shlex.split(line)
    out: dict = {}
    for flag, value in zip(words, words[1:]):
        if flag == "-S":
            key, raw = value.split("=", 1)
            section, *rest = key.split(".")
            node = out.setdefault(section, {})
            for part in rest[:-1]:
                node = node.setdefault(part, {})
            node[rest[-1]] = yaml.safe_load(raw)
    return out


@pytest.mark.parametrize("name, official", [
    # official MLP: 10,000 epochs x (3 code steps of 512 sequences + 1 aggregated decoder step)
    ("humanact12_mlp", {"codes": 30000, "decoder": 10000}),
    # official Transformer: 4 GPUs x 64 sequences per step, 10,000 epochs x (5 code steps + 5 decoder steps)
    ("humanact12_transformer", {"codes": 50000, "decoder": 50000}),
])
def test_presets_take_the_official_number_of_updates(name, official):
    preset = preset_settings(name)
    train = {k: v for k, v in preset["train"].items() if k != "nproc"}
    ts = from_mapping(TrainSettings, train, "train")
    per_epoch = updates_per_epoch(ts, HUMANACT12_SEQUENCES)
    assert {k: v * ts.epochs for k, v in per_epoch.items()} == official
    model = from_mapping(ModelSettings, preset["model"], "model")
    assert model.logvar_init == 1.0 and model.code_init_std == 0.0
    assert (ts.loss_reduction, ts.code_optimizer, ts.frames_replacement) == ("mean", "table", False)


def test_frames_are_distinct_unless_drawn_with_replacement(processed_dir):
    for replacement in (False, True):
        model, data, ts = setup(processed_dir, frames="random", frames_per_sequence=12, frames_replacement=replacement)
        trainer = Trainer(model, data, ts)
        index = torch.arange(len(data))
        times, counts = trainer.sample_frames(index)
        per_seq = times.split(counts.tolist())
        lengths = trainer.lengths[index]
        assert all(int(t.max()) < int(n) for t, n in zip(per_seq, lengths))
        repeats = sum(len(t) - len(torch.unique(t)) for t in per_seq)
        if replacement:
            assert repeats > 0 and (counts == 12).all()
        else:
            assert repeats == 0 and torch.equal(counts, lengths.clamp(max=12))


# ----------------------------------------------------------------------------- mixtures

def wide_draws(classes=2, per_class=6, dim=6, draws=50, sigma=1.0, seed=0) -> CodeDraws:
    """Beta draws around well separated sequence means, alpha of 3 dims per class, concat composition."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    lengths = np.tile(np.arange(20, 20 + per_class), classes)
    mu = 10.0 * rng.normal(size=(len(labels), dim))
    sample = np.repeat(np.arange(len(labels)), draws)
    betas = mu[sample] + sigma * rng.normal(size=(len(sample), dim))
    alphas = rng.normal(size=(classes, 3)) + 7.0
    codes = np.concatenate([betas, alphas[labels[sample]]], axis=1)
    return CodeDraws(codes=codes, sample=sample, sample_ids=[f"s{i}" for i in range(len(labels))],
                     sample_labels=labels, sample_lengths=lengths,
                     sample_codes=np.concatenate([mu, alphas[labels]], axis=1), class_names=["a", "b"][:classes],
                     betas=betas, sample_betas=mu, sample_beta_sigma=np.full_like(mu, sigma), class_alphas=alphas)


def test_mixtures_over_beta_generate_with_the_class_mean_alpha():
    draws = wide_draws()
    beta = fit_mixtures(draws, GMMSettings(components=2, min_population=100, n_jobs=1))
    assert beta.code_dim == 6 and beta.output_dim == 9 and beta.compose == "concat"
    codes = GMMSampler(beta).sample([0, 0, 1], [20, 25, 22], np.random.default_rng(0))
    assert np.array_equal(codes[:, 6:], draws.class_alphas[[0, 0, 1]])  # alpha at the class mean
    composed = fit_mixtures(draws, GMMSettings(components=2, min_population=100, n_jobs=1, space="composed"))
    assert composed.code_dim == 9 and composed.compose == "none"
    assert params()["gmm"]["space"] == "beta"


def test_guard_reference_draws_passes_a_component_on_a_sequence_mean_that_means_rejects():
    """Wide posteriors: a component on one sequence's mean lies far from every draw (official check
    passes) but on a training mean (our stricter check rejects it)."""
    rng = np.random.default_rng(0)
    mean = np.full(16, 3.0)
    x = mean + 1.0 * rng.normal(size=(200, 16))  # one sequence's draws; their mean is ~ the posterior mean
    official = fit_bin(x, x, GMMSettings(components=1, guard=0.1), seed=0)["record"]
    strict = fit_bin(x, mean[None], GMMSettings(components=1, guard=0.1), seed=0)["record"]
    assert official["guard_passed"] and not strict["guard_passed"]
    assert official["guard_threshold"] == pytest.approx(0.1 * np.linalg.norm(x, axis=1).mean())
    assert params()["gmm"]["guard_reference"] == "draws"


def test_guard_reference_switches_the_fitted_bank():
    draws = wide_draws(sigma=3.0)
    settings = dict(components=4, min_population=300, n_jobs=1, retries=2)
    by_draws = fit_mixtures(draws, GMMSettings(**settings))
    by_means = fit_mixtures(draws, GMMSettings(**settings, guard_reference="means"))
    assert [r["guard_threshold"] for r in by_draws.records] != [r["guard_threshold"] for r in by_means.records]
    assert by_means.components_per_bin <= by_draws.components_per_bin


def test_every_attempt_is_a_full_scikit_learn_fit():
    """No pre-screen: each rejected attempt ran EM (fits = rejections + the accepted one)."""
    draws = wide_draws(sigma=0.05)
    bank = fit_mixtures(draws, GMMSettings(components=6, min_population=100, n_jobs=1, guard_reference="means"))
    for r in bank.records:
        assert r["fits"] == r["retries"] + (1 if r["guard_passed"] else 0)
    source = (ROOT / "motioninr" / "gmm.py").read_text()
    assert "KMeans" not in source.replace("kmeans", "")  # only sklearn's own k-means initialisation


def test_shortest_length_of_a_class_is_fitted():
    """Official off-by-one: its bins hold lengths in (start, end], never a class's shortest. Ours: [low, high)."""
    draws = wide_draws()
    bank = fit_mixtures(draws, GMMSettings(components=1, min_population=50, n_jobs=1))
    for c in range(2):
        shortest = draws.sample_lengths[draws.sample_labels == c].min()
        recs = [r for r in bank.records if r["action"] == c]
        assert min(r["low"] for r in recs) == shortest
        assert sum(r["population"] for r in recs) >= 50 * (draws.sample_labels == c).sum()


def test_fixed_protocol_uses_one_length_agnostic_mixture_per_class():
    draws = wide_draws()
    settings = GMMSettings(components=3, min_population=50, min_window=2, n_jobs=1)
    bins, classes = fit_mixtures(draws, settings), fit_class_mixtures(draws, settings)
    assert classes.num_bins == 2 < bins.num_bins
    assert [r["population"] for r in classes.records] == [300, 300]
    assert GenerateSettings().fixed_mixture == "class"


def test_mixture_artifacts_hold_no_wall_clock_time(tmp_path):
    draws = wide_draws()
    settings = GMMSettings(components=2, min_population=100, n_jobs=1)
    fit_mixtures(draws, settings).save(tmp_path / "a")
    fit_mixtures(draws, settings).save(tmp_path / "b")
    for name in ("gmm.npz", "gmm.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    info = json.loads((tmp_path / "a" / "gmm.json").read_text())
    assert "fit_seconds" not in info and info["sigma_ratio"] == pytest.approx(draws.sigma_ratio())
    loaded = LengthBinnedGMM.load(tmp_path / "a")
    assert np.array_equal(loaded.alphas, draws.class_alphas.astype(np.float32)) and loaded.compose == "concat"
    assert report(loaded)["components_per_bin"] == pytest.approx(loaded.components_per_bin, abs=1e-3)


# ----------------------------------------------------------------------------- evaluation protocol

def test_twenty_generated_sets_by_default_fresh_codes_each():
    assert params()["generate"]["replications"] == 20 == GenerateSettings().replications
    assert params()["evaluate"]["replications"] == 20


def test_code_sigma_ratio():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(500, 4)) * 2.0
    assert code_sigma_ratio(mu, np.zeros_like(mu)) == 0.0  # points
    assert code_sigma_ratio(mu, np.full_like(mu, 1.0)) == pytest.approx(0.5, rel=0.1)


# ----------------------------------------------------------------------------- the document

def test_every_test_named_in_the_fidelity_doc_exists():
    doc = (ROOT / "docs" / "fidelity.md").read_text()
    named = set(re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", doc))
    assert len(named) >= 15
    for path, name in named:
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} named in docs/fidelity.md does not exist"


# ----------------------------------------------------------------------------- generation time indices

def test_time_start_and_crop_times_follow_the_official_decoding(processed_dir):
    """Official evaluation decodes frames 1..T (time_start 1; ours 0, the training indices); the official
    Transformer's variable protocol decodes 60 frames at the times of a random crop (crop_times)."""
    from motioninr.generation import MemorizeSampler, crop_times, generate_motions

    model, data, _ = setup(processed_dir)
    model.eval()
    c = torch.randn(2, model.code_dim)
    whole = model.decode(c, torch.tensor([9, 9]))
    shifted = model.decode(c, torch.tensor([5, 4]), starts=torch.tensor([3, 1]))
    assert torch.allclose(shifted[:5], whole[3:8], atol=1e-6) and torch.allclose(shifted[5:], whole[10:14], atol=1e-6)

    lengths, starts = crop_times(np.array([30, 100, 61, 60]), 60, np.random.default_rng(0))
    assert lengths.tolist() == [60] * 4 and starts[0] == 0 and starts[3] == 0 and starts[2] == 0
    assert 0 <= starts[1] < 40
    sampler = MemorizeSampler(model.posteriors()["seq_mu"].numpy(), np.zeros(len(data)), data.lengths)
    sampler.codes = np.concatenate([sampler.codes, np.repeat(model.posteriors()["act_mu"].numpy()[:1],
                                                             len(data), 0)], axis=1)
    sampler.code_dim = model.code_dim
    actions, req = np.zeros(3, dtype=np.int64), np.array([20, 30, 40])
    zero = generate_motions(model, sampler, actions, req, np.random.default_rng(0))
    one = generate_motions(model, sampler, actions, req, np.random.default_rng(0), time_start=1)
    assert zero.lengths.tolist() == one.lengths.tolist() == [20, 30, 40]
    assert not np.allclose(zero.frames, one.frames)
    cropped = generate_motions(model, sampler, actions, req, np.random.default_rng(0), crop=25)
    assert cropped.lengths.tolist() == [25, 25, 25]
    defaults = GenerateSettings()
    assert (defaults.time_start, defaults.crop_times) == (0, None)
