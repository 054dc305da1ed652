import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from motioninr.cli import app
from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError
from motioninr.canvas import clip_segments
from motioninr.render import (
    RenderSettings, SkeletonMeta, filmstrip_indices, fit_view, motion_title, render_comparison, render_filmstrip,
    render_gif, to_z_up,
)
from motioninr.settings import from_mapping
from motioninr.skeleton import SMPL_JOINTS, SMPL_PARENTS, VIBE18_JOINTS, VIBE18_PARENTS
from tests.conftest import synthetic_raw

SMALL = RenderSettings(panel_px=64, filmstrip_frames=4, dpi=50)


def _smpl_meta(**kw):
    return SkeletonMeta(parents=SMPL_PARENTS, joint_names=SMPL_JOINTS, fps=20.0, class_names=("walk", "jump"), **kw)


def _motion(frames=12, joints=24, seed=0, drift=0.0):
    raw = synthetic_raw(n_classes=1, per_class=1, joints=joints, seed=seed, min_len=frames, max_len=frames)
    seq = raw.sequences[0]
    seq[..., 0] += drift * np.arange(frames)[:, None]
    return seq


def _gif_frames(path):
    with Image.open(path) as im:
        return im.n_frames, im.size, im.info.get("duration")


def test_gif_has_one_frame_per_pose_and_expected_timing(tmp_path):
    n = render_gif(tmp_path / "a.gif", [_motion(12)], _smpl_meta(), labels=["m0"], title="walk", settings=SMALL)
    frames, size, duration = _gif_frames(tmp_path / "a.gif")
    assert n == frames == 12
    assert size == (52, 64 + 26)  # one panel of 64 x 0.8 (rounded to even) + title
    assert duration == 50  # 20 fps


def test_static_motion_keeps_every_frame(tmp_path):
    still = np.repeat(_motion(1), 9, axis=0)  # identical poses: the progress bar keeps frames distinct
    render_gif(tmp_path / "s.gif", [still], _smpl_meta(), settings=SMALL)
    assert _gif_frames(tmp_path / "s.gif")[0] == 9


def test_side_by_side_gif_runs_to_the_longest_motion(tmp_path):
    n = render_gif(tmp_path / "pair.gif", [_motion(8), _motion(15, seed=1)], _smpl_meta(), settings=SMALL)
    frames, (w, _), _ = _gif_frames(tmp_path / "pair.gif")
    assert n == frames == 15
    single = render_gif(tmp_path / "one.gif", [_motion(8)], _smpl_meta(), settings=SMALL)
    assert single == 8 and w > _gif_frames(tmp_path / "one.gif")[1][0]


def test_filmstrip_dimensions_follow_panels(tmp_path):
    w, h = render_filmstrip(tmp_path / "f.png", [_motion(30)], _smpl_meta(), labels=["m0"], settings=SMALL)
    with Image.open(tmp_path / "f.png") as im:
        assert im.size == (w, h)
    assert h == 64 + 0  # one row, no title
    w2, h2 = render_filmstrip(tmp_path / "f2.png", [_motion(30)], _smpl_meta(), title="t",
                              settings=RenderSettings(panel_px=64, filmstrip_frames=8, dpi=50))
    assert h2 == 64 + 26
    assert abs(w2 / w - 2.0) < 0.1  # twice the panels, same camera


def test_comparison_has_two_rows_and_draws_something(tmp_path):
    w, h = render_comparison(tmp_path / "c.png", _motion(20), _motion(25, seed=3), _smpl_meta(),
                             label=1, distance=1.5, generated_id="g", nearest_id="t", settings=SMALL)
    assert h == 2 * 64 + 26
    pixels = np.asarray(Image.open(tmp_path / "c.png").convert("RGB"))
    # bones are drawn in blue/red/dark ink on a white background in both rows
    for row in (pixels[26 : 26 + 64], pixels[26 + 64 :]):
        assert (row.min(axis=-1) < 120).sum() > 20


def test_filmstrip_indices_even_and_inclusive():
    assert filmstrip_indices(60, 4).tolist() == [0, 20, 39, 59]
    assert filmstrip_indices(3, 6).tolist() == [0, 1, 2]


def test_any_skeleton_vibe18_and_up_axes(tmp_path):
    meta = SkeletonMeta(parents=VIBE18_PARENTS, joint_names=VIBE18_JOINTS, up="-y", fps=30.0)
    seq = _motion(10, joints=18)
    seq[..., 1] *= -1  # y points down
    assert render_gif(tmp_path / "v.gif", [seq], meta, settings=SMALL) == 10
    render_filmstrip(tmp_path / "v.png", [seq], meta, settings=SMALL)
    # y up, -y up and z up describe the same body: the camera fitted to each is the same picture
    base = _motion(10)
    views = [
        fit_view([to_z_up(base, "y")]),
        fit_view([to_z_up(base * np.array([1, -1, -1], np.float32), "-y")]),
        fit_view([to_z_up(base[..., [0, 2, 1]] * np.array([1, -1, 1], np.float32), "z")]),
    ]
    for v in views[1:]:
        assert np.allclose(v.limits, views[0].limits, atol=1e-4)
        assert np.isclose(v.ground, views[0].ground, atol=1e-5)


@pytest.mark.parametrize("camera", ["follow", "fixed"])
def test_ground_is_lowest_joint_and_body_fits_the_panel(camera):
    seq = to_z_up(_motion(30, drift=0.05), "y")
    view = fit_view([seq], RenderSettings(camera=camera, panel_aspect=0.8))
    assert np.isclose(view.ground, seq[..., 2].min())
    proj = view.project(seq) - view.anchor(seq)[:, None]  # every frame drawn around its anchor
    x0, x1, y0, y1 = view.limits
    assert proj[..., 0].min() >= x0 and proj[..., 0].max() <= x1
    assert proj[..., 1].min() >= y0 and proj[..., 1].max() <= y1
    assert np.isclose(view.width / view.height, 0.8)


def test_follow_camera_keeps_a_long_walk_at_body_scale():
    short, long = to_z_up(_motion(30, drift=0.01), "y"), to_z_up(_motion(30, drift=0.3), "y")  # 0.3 m vs 9 m
    follow = [fit_view([m], RenderSettings(camera="follow")) for m in (short, long)]
    fixed = [fit_view([m], RenderSettings(camera="fixed")) for m in (short, long)]
    # following the root, the panel spans about one body whatever the distance walked ...
    assert follow[1].width < 1.3 * follow[0].width
    # ... while a fixed camera must zoom out to keep the whole walk in view
    assert fixed[1].width > 3 * fixed[0].width
    # the root stays at the same place of the panel, the ground under it at the anchor
    anchor = follow[1].anchor(long)
    assert np.allclose(anchor, follow[1].project(np.c_[long[:, 0, :2], np.full(30, follow[1].ground)]))


@pytest.mark.parametrize("camera", ["follow", "fixed"])
def test_pictures_have_one_size_however_far_the_motion_travels(tmp_path, camera):
    settings = RenderSettings(panel_px=64, filmstrip_frames=4, dpi=50, camera=camera)
    sizes = set()
    for i, drift in enumerate((0.0, 0.02, 0.2, 0.6)):  # standing still ... 17 m in 30 frames
        gen, ref = _motion(30, drift=drift), _motion(22, seed=1, drift=drift / 2)
        size = render_comparison(tmp_path / f"c{i}.png", gen, ref, _smpl_meta(), label=0, distance=0.5,
                                 settings=settings)
        with Image.open(tmp_path / f"c{i}.png") as im:
            assert im.size == size
        sizes.add(size)
        render_gif(tmp_path / f"g{i}.gif", [gen, ref], _smpl_meta(), settings=settings)
        sizes.add(_gif_frames(tmp_path / f"g{i}.gif")[1])
    assert sizes == {(4 * 51, 2 * 64 + 26), (2 * 51, 64)}  # panels 64 x 0.8 px: filmstrips 4 wide, GIFs 2


def test_clip_segments_to_rectangle():
    seg = np.array([[[-1, 0.5], [2, 0.5]], [[5, 5], [6, 6]], [[0.2, 0.2], [0.4, 0.4]]], np.float64)
    out = clip_segments(seg, (0, 1, 0, 1))
    assert out.shape == (2, 2, 2)
    assert np.allclose(out[0], [[0, 0.5], [1, 0.5]]) and np.allclose(out[1], seg[2])


def test_bad_skeleton_and_joint_mismatch_are_clear(tmp_path):
    with pytest.raises(DataError, match="up: got 'x'"):
        SkeletonMeta(parents=SMPL_PARENTS, up="x")
    with pytest.raises(DataError, match="meta.json: no 'parents'"):
        SkeletonMeta.from_meta({"fps": 20})
    with pytest.raises(DataError, match="18 joints but the skeleton has 24"):
        render_gif(tmp_path / "x.gif", [_motion(5, joints=18)], _smpl_meta(), settings=SMALL)
    assert not (tmp_path / "x.gif").exists()


def test_settings_validation_and_title():
    with pytest.raises(Exception, match="render.filmstrip_frames"):
        from_mapping(RenderSettings, {"filmstrip_frames": 0}, "render")
    assert motion_title(_smpl_meta(), 1, 30) == "jump · 30 frames (1.5 s)"


# ---------------------------------------------------------------- CLI


@pytest.fixture
def motion_file(tmp_path):
    ms = MotionSet.from_sequences([_motion(10), _motion(14, seed=1), _motion(6, seed=2)], [0, 1, 0], ["a", "b/1", "c"])
    ms.save(tmp_path / "set.npz")
    meta = {"parents": list(SMPL_PARENTS), "joint_names": list(SMPL_JOINTS), "fps": 20.0, "up": "y",
            "class_names": ["walk", "jump"]}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    return tmp_path / "set.npz"


def _run(*args):
    return CliRunner().invoke(app, ["render", *map(str, args)])


def test_cli_writes_gif_and_filmstrip_per_id(motion_file, tmp_path):
    out = tmp_path / "out"
    res = _run(motion_file, "--ids", "b/1,a", "--out", out, "--size", 48, "--frames", 3)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["a.gif", "a.png", "b_1.gif", "b_1.png"]
    assert _gif_frames(out / "b_1.gif")[0] == 14
    with Image.open(out / "a.png") as im:
        assert im.size[1] == 48 + 26


def test_cli_camera_keeps_the_picture_size(motion_file, tmp_path):
    sizes = []
    for camera in ("follow", "fixed"):
        out = tmp_path / camera
        res = _run(motion_file, "--ids", "a", "--format", "png", "--out", out, "--size", 40, "--frames", 3,
                   "--camera", camera)
        assert res.exit_code == 0, res.output
        with Image.open(next(out.glob("*.png"))) as im:
            sizes.append(im.size)
    assert sizes[0] == sizes[1] == (3 * 32, 40 + 26)  # three 40 x 0.8 panels and a title


def test_cli_format_and_limit(motion_file, tmp_path):
    out = tmp_path / "gifs"
    res = _run(motion_file, "--out", out, "--format", "gif", "--limit", 2, "--size", 40)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["a.gif", "b_1.gif"]


def test_cli_meta_falls_back_to_processed_meta(motion_file, tmp_path, monkeypatch):
    # a generated folder's meta.json lists files but no skeleton: parents come from data/processed/meta.json
    skeleton = json.loads((tmp_path / "meta.json").read_text())
    (tmp_path / "meta.json").write_text(json.dumps({"files": {}, "class_names": ["w", "j"], "fps": 10.0}))
    work = tmp_path / "work"
    (work / "data" / "processed").mkdir(parents=True)
    (work / "data" / "processed" / "meta.json").write_text(json.dumps(skeleton))
    monkeypatch.chdir(work)
    res = _run(motion_file, "--ids", "a", "--format", "gif", "--out", tmp_path / "o", "--size", 40)
    assert res.exit_code == 0, res.output
    assert _gif_frames(tmp_path / "o" / "a.gif")[2] == 100  # fps 10 from the generated meta


@pytest.mark.parametrize(
    "setup, args, message",
    [
        ("unknown_id", ["--ids", "zzz"], "unknown id 'zzz'; valid ids include a, b/1, c (3 in total)"),
        ("truncated", [], "set.npz: not an .npz archive (truncated, or another format)"),
        ("missing", [], "nothing.npz: not found; expected a motion set .npz"),
        ("no_meta", [], "no skeleton metadata"),
        ("bad_meta", ["--meta", "META"], "bad.json: not readable JSON"),
        ("wrong_joints", [], "motions have 18 joints but the skeleton metadata has 24"),
    ],
)
def test_cli_errors_are_one_line(motion_file, tmp_path, monkeypatch, setup, args, message):
    monkeypatch.chdir(tmp_path)  # no data/processed/meta.json here
    target = motion_file
    if setup == "truncated":
        data = motion_file.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    elif setup == "missing":
        target = tmp_path / "nothing.npz"
    elif setup == "no_meta":
        (tmp_path / "meta.json").unlink()
    elif setup == "bad_meta":
        (tmp_path / "bad.json").write_text("{not json")
        args = ["--meta", tmp_path / "bad.json"]
    elif setup == "wrong_joints":
        MotionSet.from_sequences([_motion(5, joints=18)], [0], ["x"]).save(target)
    res = _run(target, "--out", tmp_path / "o", *args)
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
