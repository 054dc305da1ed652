"""``motioninr export --format bvh``: files our reader and a third-party reader (bvhio) pose like the motions."""

from __future__ import annotations

import re

import bvhio  # noqa: E402 - the third-party reader the files are checked with
import numpy as np
import pytest
from typer.testing import CliRunner

from motioninr.cli import app
from motioninr.data.bvh import read_bvh
from motioninr.data.dataset import MotionSet, load_meta, load_split, save_processed
from motioninr.data.loaders.demo import DemoSettings, generate
from motioninr.data.prepare import PrepareSettings, prepare


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    raw, _ = generate(DemoSettings(samples_per_class=2, classes=("walk", "wave", "jump")))
    splits, meta = prepare(raw, PrepareSettings())
    save_processed(root / "processed", splits, meta)
    train = splits["train"]
    subset = train.subset(np.arange(4))
    subset.save(root / "rotations.npz")
    MotionSet(subset.frames, subset.lengths, subset.labels, subset.ids).save(root / "positions.npz")
    noisy = subset.frames + np.random.default_rng(0).normal(scale=0.01, size=subset.frames.shape).astype(np.float32)
    MotionSet(noisy, subset.lengths, subset.labels, subset.ids).save(root / "stretching.npz")
    return root


def run(*args):
    return CliRunner().invoke(app, ["export", *map(str, args)])


def ours(path, names, unit_scale):
    clip = read_bvh(path)
    return clip.positions(unit_scale)[:, [clip.skeleton.names.index(n) for n in names]], clip


def third_party(path, names, unit_scale):
    root = bvhio.readAsHierarchy(str(path))
    layout = root.layout()
    order = [[j.Name for j, _, _ in layout].index(n) for n in names]
    frames = []
    for f in range(len(root.Keyframes)):
        root.loadPose(f)
        frames.append([np.array(layout[k][0].PositionWorld) for k in order])
    return np.array(frames, dtype=np.float64) * unit_scale


@pytest.mark.parametrize("unit, scale", [("m", 1.0), ("cm", 0.01)])
def test_rotations_export_directly_within_a_millimetre(processed, tmp_path, unit, scale):
    result = run(processed / "rotations.npz", "--format", "bvh", "--out", tmp_path / "bvh", "--unit", unit,
                 "--processed", processed / "processed")
    assert result.exit_code == 0, result.output
    assert "from their rotations" in result.stdout
    motions = MotionSet.load(processed / "rotations.npz")
    meta = load_meta(processed / "processed")
    names = meta["joint_names"]
    assert sorted(p.stem for p in (tmp_path / "bvh").iterdir()) == sorted(motions.ids)
    for i, sid in enumerate(motions.ids):
        path = tmp_path / "bvh" / f"{sid}.bvh"
        pos, clip = ours(path, names, scale)
        truth = motions.sequence(i)
        assert np.abs(pos - truth).max() < 1e-3
        assert np.abs(third_party(path, names, scale) - truth).max() < 1e-3
        assert clip.fps == meta["fps"] and set(clip.skeleton.names) == set(names)
        # the hierarchy is the dataset's
        parents = [names.index(clip.skeleton.names[p]) if p >= 0 else -1 for p in clip.skeleton.parents]
        assert [parents[clip.skeleton.names.index(n)] for n in names] == meta["parents"]


def ik_export(processed, tmp_path, name):
    result = run(processed / name, "--out", tmp_path / "bvh", "--ids", "walk_000,wave_001",
                 "--processed", processed / "processed")
    assert result.exit_code == 0, result.output
    found = re.search(r"inverse kinematics .*mean ([\d.]+) mm, max ([\d.]+) mm", result.stdout)
    assert found, result.stdout
    return tuple(map(float, found.groups()))


def test_positions_of_a_rigid_skeleton_go_through_ik_exactly(processed, tmp_path):
    mean_mm, max_mm = ik_export(processed, tmp_path, "positions.npz")
    assert max_mm < 0.1  # the demo's bones never stretch: swing IK with the motion's bone lengths is exact
    motions = MotionSet.load(processed / "positions.npz")
    names = load_meta(processed / "processed")["joint_names"]
    pos, _ = ours(tmp_path / "bvh" / "wave_001.bvh", names, 1.0)
    assert np.abs(pos - motions.sequence(list(motions.ids).index("wave_001"))).max() < 1e-3


def test_stretching_positions_go_through_ik_within_the_reported_error(processed, tmp_path):
    mean_mm, max_mm = ik_export(processed, tmp_path, "stretching.npz")
    motions = MotionSet.load(processed / "stretching.npz")
    names = load_meta(processed / "processed")["joint_names"]
    assert sorted(p.name for p in (tmp_path / "bvh").iterdir()) == ["walk_000.bvh", "wave_001.bvh"]
    errors = []
    for sid in ("walk_000", "wave_001"):
        i = list(motions.ids).index(sid)
        pos, _ = ours(tmp_path / "bvh" / f"{sid}.bvh", names, 1.0)
        err = np.linalg.norm(pos - motions.sequence(i), axis=-1)
        third = np.linalg.norm(third_party(tmp_path / "bvh" / f"{sid}.bvh", names, 1.0) - motions.sequence(i), axis=-1)
        assert np.abs(err - third).max() < 1e-3
        errors.append(err)
    errors = np.concatenate([e.ravel() for e in errors])
    assert errors.max() * 1000 <= max_mm + 0.1
    assert 3 < mean_mm and errors.mean() * 1000 == pytest.approx(mean_mm, abs=0.5)


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_input_gets_one_line_errors_and_writes_nothing(processed, tmp_path):
    p = processed / "processed"
    msg = one_line_error(run(processed / "rotations.npz", "--out", tmp_path / "a", "--ids", "walk_000,nobody",
                             "--processed", p))
    assert "--ids: 'nobody' is not a motion of" in msg and "rotations.npz" in msg
    assert not (tmp_path / "a").exists()
    train = load_split(p, "train")
    train.subset(np.array([], dtype=int)).save(tmp_path / "empty.npz")
    msg = one_line_error(run(tmp_path / "empty.npz", "--out", tmp_path / "b", "--processed", p))
    assert "empty.npz: holds no motions" in msg and not (tmp_path / "b").exists()
    (tmp_path / "file").write_text("not a folder")
    msg = one_line_error(run(processed / "rotations.npz", "--out", tmp_path / "file" / "bvh", "--processed", p))
    assert "--out" in msg and "cannot write there" in msg
    msg = one_line_error(run(processed / "rotations.npz", "--out", tmp_path / "c", "--format", "fbx", "--processed", p))
    assert "--format: got 'fbx'" in msg
    msg = one_line_error(run(processed / "rotations.npz", "--out", tmp_path / "c", "--unit", "mm", "--processed", p))
    assert "--unit: got 'mm'" in msg and not (tmp_path / "c").exists()
