import numpy as np
import pytest

from motioninr.evaluation import manifold
from motioninr.evaluation.manifold import copies, density_coverage, neighbour_radii, precision_recall
from motioninr.evaluation.metrics import nearest_distances


def test_a_set_identical_to_the_reference_scores_one_everywhere():
    real = np.random.default_rng(0).normal(size=(200, 30))
    assert precision_recall(real, real.copy(), k=5) == (1.0, 1.0)
    assert density_coverage(real, real.copy(), k=5) == (1.0, 1.0)


def test_a_far_away_set_scores_zero():
    real = np.random.default_rng(0).normal(size=(50, 4))
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    assert density_coverage(real, real + 100.0) == (0.0, 0.0)


def test_known_values_on_a_line():
    real = np.arange(10, dtype=float)[:, None]              # k = 1: every ball has radius 1
    generated = np.array([[0.0], [100.0]])
    precision, recall = precision_recall(real, generated, k=1)
    assert precision == 0.5                                 # 0 lies in the ball of 0, 100 in none
    assert recall == 1.0                                    # the generated balls have radius 100
    density, coverage = density_coverage(real, generated, k=1)
    assert density == 0.5                                   # one ball holds 0 (|1 - 0| = 1 is not inside)
    assert coverage == 0.1                                  # only the ball of 0 holds a generated sample


def test_neighbour_radii_match_brute_force_across_blocks(monkeypatch):
    x = np.random.default_rng(1).normal(size=(57, 3))
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    expected = np.sort(d, axis=1)[:, 4]
    monkeypatch.setattr(manifold, "BLOCK_ELEMENTS", 100)    # blocks of one or two rows
    assert np.allclose(neighbour_radii(x, 5), expected)
    assert np.allclose(neighbour_radii(x, 500), np.sort(d, axis=1)[:, -2])  # k capped at n - 1
    assert np.isnan(neighbour_radii(x[:1], 5)).all()


def test_copies_are_closer_than_the_training_neighbours():
    training = np.array([[0.0], [10.0], [20.0]])            # every training motion's neighbour is 10 away
    generated = np.array([[3.0], [15.0], [20.0]])           # 3 from 0 (copy), 5 from 10 or 20 (copy), exact copy
    dist, index = nearest_distances(generated, training)
    flags = copies(dist, index, neighbour_radii(training, 1))
    assert flags.tolist() == [True, True, True]
    generated = np.array([[-12.0], [35.0]])                 # further than 10 from any: novel
    dist, index = nearest_distances(generated, training)
    assert copies(dist, index, neighbour_radii(training, 1)).tolist() == [False, False]
