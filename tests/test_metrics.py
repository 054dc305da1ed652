import numpy as np
import pytest
from scipy import linalg

from motioninr.evaluation import metrics as M


def _gaussian(rng, n, mean, cov):
    return rng.multivariate_normal(mean, cov, size=n)


def test_fid_of_identical_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 6))
    assert M.fid(x, x) == pytest.approx(0.0, abs=1e-8)
    mu, sigma = M.feature_statistics(x)
    assert M.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_closed_form_for_known_gaussians():
    # diagonal covariances: d = |m1 - m2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2)) = |m1-m2|^2 + sum (sqrt s1 - sqrt s2)^2
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)  # 5 + (1 + 1 + 4) = 11
    assert expected == pytest.approx(11.0)
    assert M.frechet_distance(m1, np.diag(s1), m2, np.diag(s2)) == pytest.approx(expected, rel=1e-9)
    # a full covariance against the identity: Tr(S + I - 2 sqrt(S))
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    closed = np.trace(a) + 2 - 2 * np.trace(linalg.sqrtm(a).real)
    assert M.frechet_distance(np.zeros(2), a, np.zeros(2), np.eye(2)) == pytest.approx(closed, rel=1e-9)


def test_fid_of_samples_approaches_the_population_value():
    rng = np.random.default_rng(1)
    a = _gaussian(rng, 20000, [0, 0], np.diag([1.0, 1.0]))
    b = _gaussian(rng, 20000, [2, 0], np.diag([4.0, 1.0]))
    # |m|^2 = 4, (sqrt(1) - sqrt(4))^2 = 1 -> 5
    assert M.fid(a, b) == pytest.approx(5.0, rel=0.05)


def test_fid_singular_covariance_stays_finite_and_small_sets_are_nan():
    x = np.zeros((10, 4))
    x[:, 0] = np.arange(10)  # rank-1 covariance
    assert np.isfinite(M.fid(x, x + 0.5))
    assert np.isnan(M.fid(x[:1], x))


def test_mms_of_a_copy_of_the_training_set_is_zero():
    train = np.random.default_rng(2).normal(size=(3000, 30)).astype(np.float32)
    assert M.mms(train.copy(), train) == 0.0
    gen = train[::7] + 0.0
    assert M.mms(gen, train) == 0.0


def test_mms_and_nearest_distances_hand_case():
    train = np.array([[0.0, 0.0], [10.0, 0.0]])
    gen = np.array([[3.0, 4.0], [10.0, 1.0], [6.0, 0.0]])
    dist, idx = M.nearest_distances(gen, train, chunk=2)  # chunking must not matter
    assert idx.tolist() == [0, 1, 1]
    assert dist == pytest.approx([5.0, 1.0, 4.0])
    assert M.mms(gen, train) == pytest.approx(10.0 / 3.0)


def test_nearest_distances_agree_with_brute_force():
    rng = np.random.default_rng(3)
    q, r = rng.normal(size=(300, 30)), rng.normal(size=(500, 30))
    brute = np.linalg.norm(q[:, None] - r[None], axis=-1).min(axis=1)
    assert M.nearest_distances(q, r, chunk=64)[0] == pytest.approx(brute, rel=1e-6)


def test_diversity_of_constructed_points():
    # all points at distance 0 or 2: two clusters at -1 and +1 on a line
    feats = np.array([[-1.0], [1.0]])
    rng = np.random.default_rng(0)
    d = M.diversity(feats, pairs=10000, rng=rng)
    assert d == pytest.approx(1.0, abs=0.05)  # half the pairs differ (distance 2), half coincide
    assert M.diversity(np.ones((5, 3)), pairs=200, rng=rng) == 0.0


def test_diversity_uses_the_requested_number_of_pairs():
    feats = np.arange(40, dtype=float).reshape(20, 2)
    a = M.diversity(feats, pairs=200, rng=np.random.default_rng(5))
    rng = np.random.default_rng(5)
    i, j = rng.integers(0, 20, 200), rng.integers(0, 20, 200)
    assert a == pytest.approx(np.linalg.norm(feats[i] - feats[j], axis=1).mean())


def test_multimodality_of_constructed_points():
    # class 0: identical points (distance 0); class 1: two points 4 apart -> expected 2 per pair on average
    feats = np.array([[0.0, 0.0]] * 3 + [[0.0, 0.0], [4.0, 0.0]])
    labels = np.array([0, 0, 0, 1, 1])
    mm = M.multimodality(feats, labels, pairs=20000, rng=np.random.default_rng(0))
    assert mm == pytest.approx((0.0 + 2.0) / 2, abs=0.05)
    # pairs never mix classes: far-apart classes with identical members give exactly 0
    feats2 = np.array([[0.0]] * 4 + [[100.0]] * 4)
    assert M.multimodality(feats2, np.repeat([0, 1], 4), pairs=20, rng=np.random.default_rng(1)) == 0.0


def test_accuracy_and_confusion():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 3.0, 0.0]])
    labels = np.array([0, 1, 2, 0])
    assert M.accuracy(logits, labels) == 0.75
    conf = M.confusion_matrix(logits, labels, 3)
    assert conf.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_mean_ci():
    vals = [1.0, 2.0, 3.0, 4.0]
    mean, ci = M.mean_ci(vals)
    assert mean == 2.5
    assert ci == pytest.approx(1.96 * np.std(vals, ddof=1) / 2.0)
    assert M.mean_ci([7.0]) == (7.0, 0.0)
    assert M.mean_ci([1.0, float("nan"), 3.0])[0] == 2.0
