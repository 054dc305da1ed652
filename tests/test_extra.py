"""The metrics beyond FID inside the replicated protocol (motioninr/evaluation/extra.py)."""

import numpy as np
import pytest
import torch

from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.evaluation import ActionClassifier, EvaluateSettings, evaluate_motions
from motioninr.evaluation.extra import COVERAGE_METRICS, EXTRA_METRICS, ExtraMetrics
from motioninr.evaluation.physics import PhysicsSettings, Skeleton, estimate_floor
from motioninr.evaluation.results import METRICS
from motioninr.evaluation.report import format_tables, metrics_views, write_report
from tests.model_helpers import one_thread  # noqa: F401 (fixture: one torch thread)




def _setup(processed_dir):
    train = load_split(processed_dir)
    meta = load_meta(processed_dir)
    torch.manual_seed(0)
    clf = ActionClassifier(train.num_joints * 3, len(meta["class_names"]), hidden_size=16)
    rng = np.random.default_rng(3)
    noisy = MotionSet(train.frames + rng.normal(scale=0.05, size=train.frames.shape).astype(np.float32),
                      train.lengths, train.labels, train.ids)
    stacked = MotionSet.from_sequences(list(train.sequences()) + list(noisy.sequences()),
                                       np.concatenate([train.labels, train.labels]),
                                       np.concatenate([train.ids, train.ids]))
    groups = {"mixed_variable": np.repeat([0, 1], len(train))}
    skeleton = Skeleton.from_meta(meta, estimate_floor(train, meta["up"]))
    return clf, train, meta, {"noisy_variable": noisy, "mixed_variable": stacked}, groups, skeleton


@pytest.mark.parametrize("hidden_init", ["zeros", "random"])
def test_existing_metrics_are_unchanged_by_the_extra_metrics(processed_dir, hidden_init):
    clf, train, meta, sets, groups, skeleton = _setup(processed_dir)
    settings = EvaluateSettings(replications=3, length_bins=2, hidden_init=hidden_init)
    names = meta["class_names"]
    plain = evaluate_motions(clf, train, sets, names, settings, groups=groups)
    extra = ExtraMetrics(5, skeleton, PhysicsSettings())
    more = evaluate_motions(clf, train, sets, names, settings, groups=groups, extra=extra)
    assert plain.extra == () and more.extra == EXTRA_METRICS
    for name in plain.names:
        for metric in METRICS:
            assert more.values[name][metric] == plain.values[name][metric], (name, metric)
        assert np.array_equal(more.confusion[name], plain.confusion[name])
        assert np.array_equal(more.class_mms[name], plain.class_mms[name], equal_nan=True)
        for metric in EXTRA_METRICS:
            assert len(more.values[name][metric]) == 3
    for name in plain.bin_fid:
        assert np.array_equal(more.bin_fid[name], plain.bin_fid[name], equal_nan=True)


def test_values_per_set_and_replication(processed_dir):
    clf, train, meta, sets, groups, skeleton = _setup(processed_dir)
    extra = ExtraMetrics(3, skeleton, PhysicsSettings())
    result = evaluate_motions(clf, train, {"copy_variable": train, **sets}, meta["class_names"],
                              EvaluateSettings(replications=2, length_bins=2, crop="start"), groups=groups, extra=extra)
    values = result.values
    # a copy of the training set: identical features, so the manifolds match exactly and every motion is a copy
    for metric in ("precision", "recall", "density", "coverage", "copies"):
        assert values["copy_variable"][metric] == [1.0, 1.0], metric
    assert values["copy_variable"]["bone_error"] == values["real"]["bone_error"]
    # noise on every joint: bones stretch and joints jitter more than in the smooth real motions
    assert values["noisy_variable"]["bone_error"][0] > 2 * values["real"]["bone_error"][0]
    assert values["noisy_variable"]["jitter"][0] > 10 * values["real"]["jitter"][0]
    # replication r scores group r: the clean draw in replication 0, the noisy one in replication 1
    assert values["mixed_variable"]["jitter"] == [values["real"]["jitter"][0], values["noisy_variable"]["jitter"][0]]
    assert result.class_copies["copy_variable"].tolist() == [1.0, 1.0, 1.0]
    summary = result.summary()
    assert summary["copy_variable/copies_ci"] == 0.0 and summary["mixed_variable/jitter_ci"] > 0


def test_views_fit_and_carry_every_metric(processed_dir, tmp_path):
    clf, train, meta, sets, groups, skeleton = _setup(processed_dir)
    result = evaluate_motions(clf, train, sets, meta["class_names"], EvaluateSettings(replications=2, length_bins=2),
                              groups=groups, extra=ExtraMetrics(5, skeleton, PhysicsSettings()))
    views = metrics_views(result)
    assert set(views["evaluate/noisy_variable.json"]) == set(METRICS)
    assert set(views["details/coverage/real.json"]) == set(COVERAGE_METRICS)
    assert set(views["details/ci/physics/real.json"]) == {"skating", "skating_distance", "penetration", "floating",
                                                          "jitter", "bone_error", "replications"}
    assert views["details/ci/evaluate/real.json"]["replications"] == 2
    assert views["evaluate/real.json"]["fid"] == pytest.approx(result.summary()["real/fid"], abs=1e-6)
    assert len(views) == 6 * len(result.names)
    text = format_tables(result)
    assert "precision" in text and "bone_error" in text and "mixed_variable" in text
    write_report(tmp_path, result)
    header = (tmp_path / "per_class" / "noisy_variable.csv").read_text().splitlines()[0]
    assert header == "class,accuracy,mms,count,copies"
    assert "precision" in (tmp_path / "replications.csv").read_text().splitlines()[0]
