import json

import numpy as np
import pytest

from motioninr.codes import CodeDraws
from motioninr.covariance import pack_covariances
from motioninr.errors import DataError, SettingsError
from motioninr.gmm import (
    GMMSettings,
    LengthBinnedGMM,
    fit_bin,
    fit_mixtures,
    length_bins,
)
from motioninr.gmm_files import report
from motioninr.settings import from_mapping


def make_draws(lengths_per_class, dim=8, draws=20, sigma=0.5, spread=3.0, seed=0) -> CodeDraws:
    """Draws around per-sample codes; ``lengths_per_class[c]`` lists the lengths of class c's samples."""
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.full(len(ls), c) for c, ls in enumerate(lengths_per_class)])
    lengths = np.concatenate([np.asarray(ls) for ls in lengths_per_class])
    means = spread * rng.normal(size=(len(labels), dim)) + 5.0 * labels[:, None]
    sample = np.repeat(np.arange(len(labels)), draws)
    codes = means[sample] + sigma * rng.normal(size=(len(sample), dim))
    classes = len(lengths_per_class)
    # beta is the whole code here: alpha has no dimensions, so composing changes nothing
    return CodeDraws(codes=codes, sample=sample, sample_ids=[f"s{i}" for i in range(len(labels))],
                     sample_labels=labels, sample_lengths=lengths, sample_codes=means,
                     class_names=[f"class{c}" for c in range(classes)], betas=codes, sample_betas=means,
                     sample_beta_sigma=np.full_like(means, sigma), class_alphas=np.zeros((classes, 0)))


def population(lengths, low, high):
    return int(((lengths >= low) & (lengths < high)).sum())


# ------------------------------------------------------------------------------------------ binning

def test_bins_grow_to_population_and_window():
    lengths = np.repeat([20, 22, 25, 40, 41, 70], 50)  # 50 draws per sample
    assert length_bins(lengths, 50, 10).tolist() == [[20, 30], [40, 50], [70, 80]]
    # 100 draws per bin: the leftover sample at 70 makes the last bin widen backwards over 41
    assert length_bins(lengths, 100, 10).tolist() == [[20, 30], [40, 50], [41, 71]]
    # a bin must also span the window even when one length fills it
    assert length_bins(lengths, 50, 3).tolist() == [[20, 23], [25, 28], [40, 43], [70, 73]]


def test_bins_one_sample_and_all_same_length():
    assert length_bins(np.full(50, 33), 50, 10).tolist() == [[33, 43]]
    assert length_bins(np.full(500, 60), 50, 10).tolist() == [[60, 70]]


def test_bins_population_smaller_than_minimum_gives_one_bin():
    lengths = np.repeat([20, 23, 37], 10)  # 30 draws < 50
    bins = length_bins(lengths, 50, 10)
    assert bins.tolist() == [[20, 38]]
    assert length_bins(np.array([], dtype=int), 50, 10).shape == (0, 2)


def test_bins_cover_every_draw_and_hold_the_population():
    rng = np.random.default_rng(1)
    for _ in range(20):
        lengths = np.repeat(rng.integers(15, 200, size=rng.integers(1, 40)), 7)
        bins = length_bins(lengths, 30, 10)
        covered = np.zeros(len(lengths), bool)
        for low, high in bins:
            covered |= (lengths >= low) & (lengths < high)
            assert high - low >= 10
            assert population(lengths, low, high) >= min(30, len(lengths))
        assert covered.all()
        assert np.all(np.diff(bins[:, 1]) > 0)


# ------------------------------------------------------------------------------------------ fitting

def tight_clouds(samples=4, dim=16, draws=40, sigma=0.01, seed=0):
    rng = np.random.default_rng(seed)
    codes = 3.0 * rng.normal(size=(samples, dim))
    x = np.repeat(codes, draws, axis=0) + sigma * rng.normal(size=(samples * draws, dim))
    return x, codes


def test_guard_lowers_components_until_no_mean_sits_on_a_training_code():
    x, codes = tight_clouds()
    settings = GMMSettings(components=6, retries=2, n_jobs=1)
    res = fit_bin(x, codes, settings, seed=0)
    rec = res["record"]
    assert rec["guard_passed"] and rec["components"] < 4 and rec["retries"] > 0
    d = np.linalg.norm(res["means"][:, None, :] - codes[None], axis=-1)
    threshold = 0.1 * np.linalg.norm(codes, axis=1).mean()
    assert d.min() > threshold and np.isclose(rec["guard_threshold"], threshold)
    assert res["weights"].shape == (rec["components"],) and np.isclose(res["weights"].sum(), 1.0)
    # without the guard the requested count is kept
    free = fit_bin(x, codes, GMMSettings(components=6, guard=0.0, n_jobs=1), seed=0)["record"]
    assert free["components"] == 6 and free["retries"] == 0


def test_guard_that_cannot_pass_keeps_one_component_and_says_so():
    x, codes = tight_clouds(samples=1)
    rec = fit_bin(x, codes, GMMSettings(components=3, retries=2, n_jobs=1), seed=0)["record"]
    assert rec["components"] == 1 and not rec["guard_passed"]
    assert rec["retries"] == 2 * 2 + 1  # two seeds at 3 and 2 components, then the single fit


def test_components_capped_by_draws_and_single_draw_fits():
    x, codes = tight_clouds(samples=1, draws=3, sigma=1.0)
    assert fit_bin(x, codes, GMMSettings(components=15, guard=0.0), 0)["record"]["components"] == 3
    one = fit_bin(x[:1], codes, GMMSettings(components=15, guard=0.0), 0)
    assert one["record"]["components"] == 1 and np.allclose(one["means"][0], x[0], atol=1e-5)


def test_fit_mixtures_is_deterministic_under_a_seed():
    draws = make_draws([[20, 24, 31, 40, 45], [30, 30, 52]], sigma=1.5)
    settings = GMMSettings(components=3, min_population=40, n_jobs=1, seed=3)
    a, b = fit_mixtures(draws, settings), fit_mixtures(draws, settings)
    parallel = fit_mixtures(draws, GMMSettings(components=3, min_population=40, n_jobs=2, seed=3))
    for other in (b, parallel):
        assert np.array_equal(a.means, other.means) and np.array_equal(a.covariances, other.covariances)
    free = [fit_mixtures(draws, GMMSettings(components=3, min_population=40, guard=0.0, n_jobs=1, seed=s))
            for s in (3, 4)]
    assert not np.array_equal(free[0].means, free[1].means)
    rng1, rng2 = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(a.sample_bin(0, 10, rng1), b.sample_bin(0, 10, rng2))


def test_fit_mixtures_records_every_bin():
    draws = make_draws([[20, 24, 31, 40, 45], [30, 30, 52]])
    bank = fit_mixtures(draws, GMMSettings(components=2, min_population=40, n_jobs=1))
    assert bank.bin_action.tolist() == [0, 0, 0, 1, 1]
    assert bank.bin_low.tolist() == [20, 31, 40, 30, 30] and bank.bin_high.tolist() == [30, 41, 50, 40, 53]
    assert [r["population"] for r in bank.records] == [40, 40, 40, 40, 60]
    assert [r["samples"] for r in bank.records] == [2, 2, 2, 2, 3]
    for r in bank.records:
        assert {"low", "high", "population", "components", "retries", "converged", "mean_log_likelihood"} <= set(r)
        assert np.isfinite(r["mean_log_likelihood"])
    assert bank.length_min.tolist() == [20, 30] and bank.length_max.tolist() == [45, 52]
    rep = report(bank)
    assert rep["bins"] == 5 and len(rep["classes"]["class1"]) == 2 and rep["classes"]["class1"][0]["lengths"] == "[30, 40)"


@pytest.mark.parametrize("covariance", ["full", "diag", "tied", "spherical"])
def test_saved_mixtures_round_trip_without_pickles(tmp_path, covariance):
    draws = make_draws([[20, 24, 31], [30, 52]], dim=6)
    bank = fit_mixtures(draws, GMMSettings(components=2, covariance=covariance, min_population=40, n_jobs=1))
    bank.save(tmp_path / "gmm")
    with np.load(tmp_path / "gmm" / "gmm.npz", allow_pickle=False) as z:
        assert {"weights", "means", "covariances", "bin_low", "bin_high", "bin_action", "offsets"} <= set(z.files)
    info = json.loads((tmp_path / "gmm" / "gmm.json").read_text())
    assert info["covariance_type"] == covariance and len(info["bins"]) == bank.num_bins
    back = LengthBinnedGMM.load(tmp_path / "gmm")
    for name in ("bin_action", "bin_low", "bin_high", "offsets", "weights", "means", "covariances",
                 "length_min", "length_max"):
        assert np.array_equal(getattr(bank, name), getattr(back, name)), name
    assert back.records == bank.records and back.class_names == bank.class_names
    assert np.array_equal(bank.sample_bin(1, 7, np.random.default_rng(0)),
                          back.sample_bin(1, 7, np.random.default_rng(0)))


def test_bin_samples_follow_the_stored_mixture():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
    bank = LengthBinnedGMM.from_arrays(
        covariance_type="full", class_names=["a"], bin_action=[0, 0], bin_low=[10, 30], bin_high=[20, 40],
        offsets=[0, 1, 3], weights=[1.0, 0.25, 0.75], means=[[0, 0, 0], [10, 0, 0], [-10, 0, 0]],
        covariances=pack_covariances(np.stack([cov] * 3), "full"), length_min=[10], length_max=[39])
    x = bank.sample_bin(0, 20000, rng)
    assert x.shape == (20000, 3) and x.dtype == np.float32
    assert np.allclose(np.cov(x.T), cov, atol=0.05) and np.allclose(x.mean(0), 0, atol=0.05)
    y = bank.sample_bin(1, 20000, rng)
    assert abs((y[:, 0] > 0).mean() - 0.25) < 0.02
    # nearest midpoint per request; the class's own bins only
    assert bank.nearest_bins([0, 0, 0, 0], [5, 24, 25, 100]).tolist() == [0, 0, 1, 1]
    assert bank.outside_training_range([0, 0, 0], [9, 10, 40]).tolist() == [True, False, True]
    with pytest.raises(DataError, match="action 3"):
        bank.nearest_bins([3], [20])


def test_missing_and_bad_mixture_files_are_clear(tmp_path):
    with pytest.raises(DataError, match=r"gmm\.npz: not found; run `dvc repro fit-gmm`"):
        LengthBinnedGMM.load(tmp_path)
    draws = make_draws([[20, 24]], dim=4)
    fit_mixtures(draws, GMMSettings(components=1, n_jobs=1)).save(tmp_path)
    (tmp_path / "gmm.json").write_text('{"format": "other"}')
    with pytest.raises(DataError, match="format 'other'"):
        LengthBinnedGMM.load(tmp_path)


@pytest.mark.parametrize("values, message", [
    ({"covariance": "banana"}, "gmm.covariance"),
    ({"components": 0}, "gmm.components"),
    ({"guard": -1}, "gmm.guard"),
    ({"n_jobs": 0}, "gmm.n_jobs"),
    ({"bins": 3}, "gmm.bins: unknown setting"),
])
def test_bad_settings_name_the_setting(values, message):
    with pytest.raises(SettingsError, match=message):
        from_mapping(GMMSettings, values, "gmm")


# ------------------------------------------------------------------------------------------ the estimator

def test_estimator_fits_arrays_and_samples_requests(tmp_path):
    from motioninr.commands.inspect import describe_gmm

    draws = make_draws([[20, 24, 31, 40, 45], [30, 30, 52]])
    settings = GMMSettings(components=2, min_population=40, n_jobs=1)
    gmm = LengthBinnedGMM(settings)
    assert gmm.fit(draws.codes, draws.lengths, draws.labels) is gmm
    assert gmm.class_names == ["0", "1"] and gmm.num_bins == 5 and gmm.compose == "none"
    assert all(r["samples"] is None for r in gmm.records)  # no sample ids given: not recorded
    via_draws = fit_mixtures(draws, settings)
    assert np.array_equal(gmm.means, via_draws.means) and np.array_equal(gmm.covariances, via_draws.covariances)
    codes = gmm.sample([0, 1, 1], [22, 30, 300], np.random.default_rng(0))
    assert codes.shape == (3, 8) and codes.dtype == np.float32
    gmm.save(tmp_path, "plain")
    assert LengthBinnedGMM.load(tmp_path, "plain").records == gmm.records
    (tmp_path / "plain.npz").rename(tmp_path / "gmm.npz")
    (tmp_path / "plain.json").rename(tmp_path / "gmm.json")
    assert any("20..29" in line for line in describe_gmm(tmp_path))


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(codes=a["codes"][:, :, None]), r"codes: got a float32 array of shape \(160, 8, 1\), expected"),
    (lambda a: a["codes"].__setitem__((3, 1), np.nan), r"codes: got .* expected finite numbers \(draws, code_dim\)"),
    (lambda a: a.update(lengths=a["lengths"][:-1]), r"lengths: got shape \(159,\), expected one entry per code row"),
    (lambda a: a.update(lengths=a["lengths"] + 0.5), "lengths: got non-integer values"),
    (lambda a: a.update(lengths=a["lengths"] * 0), "lengths: got 0, expected frames >= 1"),
    (lambda a: a.update(labels=a["labels"] + 1), r"labels: got 2, expected a class index in \[0, 2\)"),
    (lambda a: a.update(samples=np.zeros(3)), r"samples: got shape \(3,\)"),
    (lambda a: a.update(compose="concat"), "compose: got 'concat' without alphas"),
    (lambda a: a.update(alphas=np.zeros((3, 2)), compose="add"), r"alphas: got shape \(3, 2\), expected one row"),
    (lambda a: a.update(codes=a["codes"][:0], lengths=a["lengths"][:0], labels=a["labels"][:0]), "no code draws"),
])
def test_fit_checks_its_arrays_at_the_door(change, message):
    draws = make_draws([[20, 24, 31, 40], [30, 30, 52, 60]])
    args = {"codes": draws.codes.copy(), "lengths": draws.lengths, "labels": draws.labels,
            "class_names": draws.class_names}
    change(args)
    codes, lengths, labels = args.pop("codes"), args.pop("lengths"), args.pop("labels")
    with pytest.raises(DataError, match=message):
        LengthBinnedGMM(GMMSettings(components=1, n_jobs=1)).fit(codes, lengths, labels, **args)


def test_fit_checks_its_settings_at_the_door():
    draws = make_draws([[20, 24]], dim=4)
    for settings, message in [(GMMSettings(covariance="banana"), "gmm.covariance: got 'banana'"),
                              (GMMSettings(components=0), "gmm.components: got 0"),
                              (GMMSettings(space="both"), "gmm.space: got 'both'")]:
        with pytest.raises(SettingsError, match=message):
            LengthBinnedGMM(settings).fit(draws.codes, draws.lengths, draws.labels)
    strict = LengthBinnedGMM(GMMSettings(components=1, n_jobs=1, guard_reference="means"))
    with pytest.raises(DataError, match="gmm.guard_reference: got 'means', but LengthBinnedGMM.fit was given no"):
        strict.fit(draws.codes, draws.lengths, draws.labels)
    with pytest.raises(DataError, match=r"reference: got codes \(2, 3\) and labels \(2,\), expected \(rows, 4\)"):
        strict.fit(draws.codes, draws.lengths, draws.labels, reference=np.zeros((2, 3)), reference_labels=[0, 0])
