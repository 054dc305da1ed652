import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.errors import DataError, SettingsError
from motioninr.evaluation import (
    ActionClassifier, EvaluateSettings, EvaluatorError, checkpoint_info, clips_from_motions, crop_starts,
    evaluate_motions, extract_features, load_classifier, save_classifier,
)
from motioninr.evaluation.metrics import accuracy, fid
from motioninr.evaluation.protocol import bin_index, length_bin_edges
from motioninr.evaluation.report import metrics_rows, write_report
from motioninr.settings import from_mapping

A2M_KEYS = [
    "recurrent.weight_ih_l0", "recurrent.weight_hh_l0", "recurrent.bias_ih_l0", "recurrent.bias_hh_l0",
    "recurrent.weight_ih_l1", "recurrent.weight_hh_l1", "recurrent.bias_ih_l1", "recurrent.bias_hh_l1",
    "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _motions(lengths, joints=3, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(n, joints, 3)).astype(np.float32) for n in lengths]
    labels = np.arange(len(lengths)) % 2 if labels is None else labels
    return MotionSet.from_sequences(seqs, labels, [f"s{i}" for i in range(len(lengths))])


def test_architecture_matches_action2motion_names_and_shapes():
    clf = ActionClassifier(72, 12)
    sd = clf.state_dict()
    assert list(sd) == A2M_KEYS
    assert sd["recurrent.weight_ih_l0"].shape == (3 * 128, 72)
    assert sd["linear1.weight"].shape == (30, 128) and sd["linear2.weight"].shape == (12, 30)
    assert clf.recurrent.batch_first is False and clf.recurrent.num_layers == 2
    logits, feats = clf(torch.zeros(5, 60, 72))
    assert logits.shape == (5, 12) and feats.shape == (5, 30) and feats.abs().max() <= 1  # tanh features


@pytest.mark.parametrize("zipfile", [True, False])
def test_legacy_action2motion_checkpoint_loads(tmp_path, zipfile):
    torch.manual_seed(0)
    original = ActionClassifier(72, 12).eval()
    opt = torch.optim.Adam(original.parameters())
    original(torch.randn(2, 60, 72))[0].sum().backward()
    opt.step()
    legacy = {"model": original.state_dict(), "optimizer": opt.state_dict(), "iteration": 100000}
    path = tmp_path / "action_recognition_model_humanact12.tar"
    torch.save(legacy, path, _use_new_zipfile_serialization=zipfile)
    clf = load_classifier(path, num_joints=24, num_classes=12, device="cpu")
    x = torch.randn(4, 60, 72)
    assert torch.equal(clf(x)[0], original(x)[0])
    assert not clf.training


def test_legacy_checkpoint_with_numpy_scalars_loads_but_arbitrary_objects_are_refused(tmp_path):
    sd = ActionClassifier(9, 2, hidden_size=8).state_dict()
    torch.save({"model": sd, "iteration": np.int64(7), "lr": np.float64(1e-3)}, tmp_path / "np.tar")
    assert load_classifier(tmp_path / "np.tar").num_classes == 2
    torch.save({"model": sd, "extra": DataError("not a tensor")}, tmp_path / "evil.tar")
    with pytest.raises(EvaluatorError, match="refused to load with weights_only=True"):
        load_classifier(tmp_path / "evil.tar")


def test_bad_checkpoints_are_one_line_errors(tmp_path):
    with pytest.raises(EvaluatorError, match="not found"):
        load_classifier(tmp_path / "missing.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(EvaluatorError, match="not a readable torch checkpoint"):
        load_classifier(tmp_path / "garbage.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(EvaluatorError, match="unrecognised evaluator checkpoint"):
        load_classifier(tmp_path / "other.pt")
    sd = ActionClassifier(9, 2, hidden_size=8).state_dict()
    del sd["linear2.bias"]
    torch.save({"model": sd}, tmp_path / "partial.tar")
    with pytest.raises(EvaluatorError, match="lacks linear2.bias"):
        load_classifier(tmp_path / "partial.tar")


def test_input_size_and_class_count_are_validated(tmp_path):
    path = tmp_path / "a2m.tar"
    torch.save({"model": ActionClassifier(54, 13).state_dict(), "optimizer": {}, "iteration": 1}, path)
    assert load_classifier(path, num_joints=18, num_classes=13).input_size == 54
    with pytest.raises(EvaluatorError, match=r"takes 18 joints \(54 inputs\) but the dataset has 24 joints \(72 inputs\)"):
        load_classifier(path, num_joints=24)
    with pytest.raises(EvaluatorError, match="predicts 13 classes but the dataset has 12"):
        load_classifier(path, num_joints=18, num_classes=12)
    clf = load_classifier(path)
    with pytest.raises(DataError, match="motions have 3 joints"):
        extract_features(clf, _motions([70]))


def test_own_checkpoint_round_trip_is_weights_only(tmp_path):
    clf = ActionClassifier(9, 2, hidden_size=8)
    save_classifier(tmp_path / "evaluator.pt", clf, class_names=["a", "b"], heldout_accuracy=0.5)
    raw = torch.load(tmp_path / "evaluator.pt", weights_only=True)
    assert raw["format"] == "motioninr-evaluator-v1" and raw["num_joints"] == 3
    loaded = load_classifier(tmp_path / "evaluator.pt", num_joints=3, num_classes=2)
    x = torch.randn(2, 60, 9)
    assert torch.equal(loaded(x)[1], clf.eval()(x)[1])
    assert checkpoint_info(tmp_path / "evaluator.pt")["class_names"] == ["a", "b"]


def test_crop_pad_root_and_joint_major_flattening():
    ms = _motions([10, 60, 61, 100])
    clips = clips_from_motions(ms, rng=np.random.default_rng(0))
    assert clips.shape == (4, 60, 9) and clips.dtype == np.float32
    short = ms.sequence(0)
    expected = np.concatenate([short, np.repeat(short[-1:], 50, axis=0)])  # padded by repeating the last pose
    expected = expected - short[0, 0]                                      # minus the first-frame root
    assert np.allclose(clips[0], expected.reshape(60, 9))
    assert np.allclose(clips[0, :, 3:6], expected[:, 1, :])                # joint-major: joint 1 = columns 3..5
    assert np.allclose(clips[:, 0, :3], 0)                                 # every clip starts with the root at 0
    assert np.allclose(clips[1], (ms.sequence(1) - ms.sequence(1)[0, 0]).reshape(60, 9))


def test_random_crop_start_range_follows_the_reference_loaders():
    lengths = np.array([100] * 4000 + [61] * 10 + [60] * 10 + [20] * 10)
    starts = crop_starts(lengths, 60, np.random.default_rng(1))
    long = starts[:4000]
    assert long.min() == 0 and long.max() == 39  # [0, length - 60): the last start is never drawn
    assert len(np.unique(long)) == 40
    assert (starts[4000:] == 0).all()
    assert (crop_starts(lengths, 60, crop="start") == 0).all()
    ms = _motions([100])
    start = int(crop_starts(ms.lengths, 60, np.random.default_rng(3))[0])
    clip = clips_from_motions(ms, rng=np.random.default_rng(3))[0]
    seq = ms.sequence(0)
    assert np.allclose(clip, (seq[start:start + 60] - seq[start, 0]).reshape(60, 9))


def test_zero_hidden_state_is_deterministic_and_random_is_seeded():
    torch.manual_seed(0)
    clf = ActionClassifier(9, 2, hidden_size=16)
    ms = _motions([60, 60, 30])  # crops cannot vary: only the hidden state can change the output
    a, _ = extract_features(clf, ms, np.random.default_rng(0))
    b, _ = extract_features(clf, ms, np.random.default_rng(1))
    assert np.array_equal(a, b)
    clf.hidden_init = "random"
    # over 60 frames the GRU mostly forgets its initial state, so look at 3-frame clips too
    for crop_length, tol in ((60, 0.0), (3, 1e-3)):
        zero = ActionClassifier(9, 2, hidden_size=16)
        zero.load_state_dict(clf.state_dict())
        z, _ = extract_features(zero, ms, np.random.default_rng(0), crop_length=crop_length)
        c, _ = extract_features(clf, ms, np.random.default_rng(0), crop_length=crop_length)
        d, _ = extract_features(clf, ms, np.random.default_rng(1), crop_length=crop_length)
        e, _ = extract_features(clf, ms, np.random.default_rng(0), crop_length=crop_length)
        assert np.abs(c - z).max() > tol and np.abs(c - d).max() > tol
        assert np.array_equal(c, e)
    with pytest.raises(ValueError, match="hidden_init"):
        ActionClassifier(9, 2, hidden_init="ones")


def test_settings_are_validated():
    s = from_mapping(EvaluateSettings, {"replications": 3, "train": {"epochs": 2}}, "evaluate")
    assert s.replications == 3 and s.train.epochs == 2 and s.train.batch_size == 32
    with pytest.raises(SettingsError, match="evaluate.crop"):
        from_mapping(EvaluateSettings, {"crop": "middle"}, "evaluate")
    with pytest.raises(SettingsError, match="evaluate.train.epochs"):
        from_mapping(EvaluateSettings, {"train": {"epochs": 0}}, "evaluate")
    with pytest.raises(SettingsError, match="evaluate.hidden_init"):
        from_mapping(EvaluateSettings, {"hidden_init": "ones"}, "evaluate")


def test_length_bins():
    lengths = np.array([30, 40, 50, 60, 70, 80, 90, 100])
    edges = length_bin_edges(lengths, 4)
    assert edges[0] == 30 and edges[-1] == 101 and len(edges) == 5
    assert np.bincount(bin_index(lengths, edges)).tolist() == [2, 2, 2, 2]
    assert length_bin_edges(np.full(10, 60), 4).tolist() == [60, 61]  # one length: one bin
    assert bin_index(np.array([5, 500]), edges).tolist() == [0, 3]     # outside the range: nearest end bin


def test_protocol_copy_of_training_set_scores_zero_fid_and_mms(processed_dir):
    train = load_split(processed_dir)
    names = load_meta(processed_dir)["class_names"]
    torch.manual_seed(0)
    clf = ActionClassifier(train.num_joints * 3, len(names), hidden_size=16)
    fixed = MotionSet(train.frames[np.concatenate([o + np.minimum(np.arange(60), n - 1)
                                                   for o, n in zip(train.offsets[:-1], train.lengths)])],
                      np.full(len(train), 60), train.labels, train.ids)
    settings = EvaluateSettings(replications=3, crop="start", length_bins=2)
    result = evaluate_motions(clf, train, {"copy_variable": train, "copy_fixed": fixed}, names, settings)
    summary = result.summary()
    assert result.names == ["real", "copy_variable", "copy_fixed"] and result.replications == 3
    for name in result.names:
        assert summary[f"{name}/mms"] == 0.0 and summary[f"{name}/fid"] == pytest.approx(0.0, abs=1e-6)
    assert summary["copy_variable/accuracy"] == summary["real/accuracy"]
    assert "copy_variable" in result.bin_fid and "copy_fixed" not in result.bin_fid  # fixed length: no length bins
    assert result.confusion["copy_fixed"].sum() == 3 * len(train)


@pytest.mark.parametrize("hidden_init", ["zeros", "random"])
def test_cached_replications_equal_full_feature_passes(hidden_init):
    ms = _motions([30, 61, 62, 80, 100, 150, 45, 90], labels=np.array([0, 1] * 4))
    clf = ActionClassifier(9, 2, hidden_size=16)
    settings = EvaluateSettings(replications=2, length_bins=2, hidden_init=hidden_init)
    result = evaluate_motions(clf, ms, {}, ["a", "b"], settings)
    for r in range(2):
        rng = np.random.default_rng([0, r])
        clf.hidden_init = hidden_init
        feats_a, logits_a = extract_features(clf, ms, rng)
        feats_b, _ = extract_features(clf, ms, rng)
        clf.hidden_init = "zeros"
        assert result.values["real"]["fid"][r] == pytest.approx(fid(feats_a, feats_b), rel=1e-6)
        assert result.values["real"]["accuracy"][r] == accuracy(logits_a, ms.labels)
    assert clf.hidden_init == "zeros"  # the evaluation restores the classifier's own setting


def test_report_files_and_flat_metrics(processed_dir, tmp_path):
    train = load_split(processed_dir)
    names = load_meta(processed_dir)["class_names"]
    clf = ActionClassifier(train.num_joints * 3, len(names), hidden_size=16)
    result = evaluate_motions(clf, train, {"gmm_variable": train}, names, EvaluateSettings(replications=2, length_bins=2))
    rows = metrics_rows(result)
    assert set(rows) == {"real", "gmm_variable"}
    assert set(rows["gmm_variable"]) == {f"{m}{s}" for m in ("accuracy", "fid", "diversity", "multimodality", "mms")
                                         for s in ("", "_ci")}
    assert rows["gmm_variable"]["fid"] == pytest.approx(result.summary()["gmm_variable/fid"], abs=1e-6)
    files = write_report(tmp_path, result)
    assert {p.relative_to(tmp_path).as_posix() for p in files} >= {
        "confusion/gmm_variable.csv", "per_class/real.csv", "fid_by_length/gmm_variable.csv", "replications.csv"}
    rows = (tmp_path / "confusion" / "gmm_variable.csv").read_text().splitlines()
    assert rows[0] == "actual,predicted" and len(rows) == 1 + 2 * len(train)
    assert (tmp_path / "per_class" / "real.csv").read_text().splitlines()[1].startswith("class0,")


def _write_params(path, **evaluate):
    text = "evaluate:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in evaluate.items())
    path.write_text(text)


def test_train_evaluator_and_evaluate_stages(processed_dir, tmp_path):
    from stages.evaluate import app as evaluate_stage
    from stages.train_evaluator import app as train_stage

    runner = CliRunner()
    params = tmp_path / "params.yaml"
    _write_params(params, replications=2, train={"epochs": 2, "batch_size": 16})
    out, report = tmp_path / "models" / "evaluator.pt", tmp_path / "metrics" / "evaluator.json"
    args = ["--params", str(params), "--processed", str(processed_dir), "--out", str(out), "--metrics", str(report)]
    res = runner.invoke(train_stage, args)
    assert res.exit_code == 0, res.output
    numbers = json.loads(report.read_text())
    assert 0.0 <= numbers["heldout_accuracy"] <= 1.0 and numbers["heldout"] == "test split"
    assert numbers["heldout_sequences"] == 6 and numbers["source"] == "trained"
    clf = load_classifier(out, num_joints=24, num_classes=3)
    assert checkpoint_info(out)["class_names"] == ["class0", "class1", "class2"]

    # a pretrained file is validated and converted
    _write_params(params, classifier=str(out))
    out2 = tmp_path / "models" / "converted.pt"
    res = runner.invoke(train_stage, args[:4] + ["--out", str(out2), "--metrics", str(report)])
    assert res.exit_code == 0, res.output
    assert json.loads(report.read_text())["source"] == f"pretrained: {out}"
    x = torch.randn(2, 60, 72)
    assert torch.equal(load_classifier(out2)(x)[0], clf(x)[0])
    bad = tmp_path / "a2m_ntu.tar"
    torch.save({"model": ActionClassifier(54, 13).state_dict(), "optimizer": {}, "iteration": 1}, bad)
    _write_params(params, classifier=str(bad))
    res = runner.invoke(train_stage, args)
    assert res.exit_code == 1
    assert "takes 18 joints (54 inputs) but the dataset has 24 joints" in res.output

    # evaluate: generated folder in the contract's layout
    gen = tmp_path / "generated"
    gen.mkdir()
    train = load_split(processed_dir)
    train.save(gen / "memorize_variable.npz")
    (gen / "meta.json").write_text(json.dumps({"files": {"memorize_variable": {"path": "memorize_variable.npz",
                                                                               "sampler": "memorize"}},
                                               "class_names": ["class0", "class1", "class2"]}))
    _write_params(params, replications=2, length_bins=2)
    metrics, plots = tmp_path / "metrics" / "evaluate", tmp_path / "plots" / "evaluate"
    details = tmp_path / "metrics" / "details"
    paths = ["--evaluator", str(out), "--metrics", str(metrics), "--details", str(details), "--plots", str(plots)]
    res = runner.invoke(evaluate_stage, ["--params", str(params), "--processed", str(processed_dir), "--generated", str(gen),
                                         *paths])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in metrics.iterdir()) == ["memorize_variable.json", "real.json"]
    row = json.loads((metrics / "memorize_variable.json").read_text())
    assert list(row) == ["accuracy", "fid", "diversity", "multimodality", "mms"] and row["mms"] >= 0
    ci = json.loads((details / "ci" / "evaluate" / "real.json").read_text())
    assert ci["replications"] == 2 and ci["fid"] >= 0
    physics = json.loads((details / "physics" / "memorize_variable.json").read_text())
    assert physics["bone_error"] == json.loads((details / "physics" / "real.json").read_text())["bone_error"]
    assert json.loads((details / "coverage" / "memorize_variable.json").read_text())["copies"] == 1.0
    assert (plots / "fid_by_length" / "memorize_variable.csv").is_file()
    assert "memorize_variable" in res.output and "precision" in res.output
    assert "foot joints left_ankle, right_ankle, left_foot, right_foot" in res.output
    (gen / "meta.json").unlink()
    res = runner.invoke(evaluate_stage, ["--params", str(params), "--processed", str(processed_dir), "--generated", str(gen),
                                         *paths])
    assert res.exit_code == 1 and "run the generate stage first" in res.output


def test_replication_groups_use_one_draw_per_replication():
    real = _motions([30, 50, 61, 40], labels=np.array([0, 1, 0, 1]))  # <= 61 frames: crops are deterministic
    seqs = list(real.sequences())
    other = [s + 0.5 for s in seqs]
    stacked = MotionSet.from_sequences(seqs + other, [0, 1, 0, 1] * 2, [str(i) for i in range(8)])
    clf = ActionClassifier(9, 2, hidden_size=8)
    result = evaluate_motions(clf, real, {"g": stacked}, ["x", "y"], EvaluateSettings(replications=3, length_bins=2),
                              groups={"g": np.repeat([0, 1], 4)})
    assert result.confusion["g"].sum() == 3 * 4      # each replication scores one draw of 4 motions
    assert result.bin_counts["g"].sum() == 4
    # replications 0 and 2 use draw 0 (a copy of the real set), replication 1 uses draw 1
    mms = result.values["g"]["mms"]
    assert mms[0] == mms[2] == 0.0 and mms[1] > 0


def test_replication_groups_go_in_the_order_of_their_ids_and_wrap_around():
    real = _motions([30, 50, 61, 40], labels=np.array([0, 1, 0, 1]))
    seqs = list(real.sequences())
    draws = {7: [s + 0.5 for s in seqs], 3: seqs, 9: [s - 0.5 for s in seqs]}   # group 3 copies the real set
    stacked = MotionSet.from_sequences([s for g in (7, 3, 9) for s in draws[g]], [0, 1, 0, 1] * 3,
                                       [str(i) for i in range(12)])
    clf = ActionClassifier(9, 2, hidden_size=8)
    settings = EvaluateSettings(replications=4, length_bins=2)
    mms = evaluate_motions(clf, real, {"g": stacked}, ["x", "y"], settings,
                           groups={"g": np.repeat([7, 3, 9], 4)}).values["g"]["mms"]
    # ids sorted: replication 0 scores group 3, 1 group 7, 2 group 9, 3 group 3 again
    assert mms[0] == mms[3] == 0.0 and mms[1] > 0 and mms[2] > 0 and mms[1] != mms[2]
    fewer = evaluate_motions(clf, real, {"g": stacked}, ["x", "y"], EvaluateSettings(replications=2, length_bins=2),
                             groups={"g": np.repeat([7, 3, 9], 4)}).values["g"]["mms"]
    assert fewer == mms[:2]     # more groups than replications: the first ids, in order


def test_foot_joints_missing_from_the_skeleton_are_a_one_line_error(processed_dir):
    from stages.evaluate import skeleton_of

    meta = load_meta(processed_dir)
    train = load_split(processed_dir)
    skeleton = skeleton_of(processed_dir, meta, train, "dataset")
    assert [meta["joint_names"][j] for j in skeleton.feet] == meta["foot_joints"]
    assert skeleton.floor == pytest.approx(float(np.median([s[:, :, 1].min() for s in train.sequences()])))
    assert skeleton_of(processed_dir, meta, train, "sequence").floor is None
    meta["foot_joints"] = ["left_toe"]
    with pytest.raises(DataError, match=r"meta.json: foot_joints names 'left_toe', which is not in joint_names"):
        skeleton_of(processed_dir, meta, train, "dataset")
