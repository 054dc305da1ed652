import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from motioninr.data.dataset import load_meta, load_split
from motioninr.errors import SettingsError
from motioninr.evaluation import ActionClassifier, save_classifier
from motioninr.data.bvh import read_bvh
from motioninr.gallery import GallerySettings, pick_examples
from motioninr.settings import from_mapping
from stages.render import app as render_stage


def test_pick_examples_takes_length_quantiles_per_class():
    lengths = np.array([30, 10, 50, 20, 40, 5, 7])
    labels = np.array([0, 0, 0, 0, 0, 1, 1])
    ex = pick_examples(lengths, labels, {"short": 0.0, "typical": 0.5, "long": 1.0})
    got = [(e.label, e.tag, int(lengths[e.index])) for e in ex]
    # class 1 has two motions: the median rank rounds up onto the long one, which is listed once
    assert got == [(0, "short", 10), (0, "typical", 30), (0, "long", 50), (1, "short", 5), (1, "typical", 7)]


def test_gallery_settings_are_checked():
    with pytest.raises(SettingsError, match="render.lengths.long"):
        from_mapping(GallerySettings, {"lengths": {"short": 0.1, "long": 1.5}}, "render")
    with pytest.raises(SettingsError, match="render.gifs"):
        from_mapping(GallerySettings, {"gifs": -1}, "render")


def test_render_stage_writes_comparisons_and_gifs(processed_dir, tmp_path):
    meta = load_meta(processed_dir)
    train = load_split(processed_dir, "train")
    generated = tmp_path / "generated"
    generated.mkdir()
    # "generated" motions: training motions with a little noise, under new ids
    fake = load_split(processed_dir, "test")
    fake.frames = fake.frames + np.random.default_rng(0).normal(scale=0.01, size=fake.frames.shape).astype(np.float32)
    fake.ids = np.array([f"gen_{i:03d}" for i in range(len(fake))])
    fake.save(generated / "gmm_variable.npz")
    (generated / "meta.json").write_text(json.dumps({"files": {"gmm_variable": {"path": "gmm_variable.npz"}}}))
    torch.manual_seed(0)
    save_classifier(tmp_path / "evaluator.pt", ActionClassifier(train.num_joints * 3, meta["num_classes"], hidden_size=16))
    (tmp_path / "params.yaml").write_text(
        "render:\n  lengths: {short: 0.0, long: 1.0}\n  gifs: 1\n  panel_px: 48\n  filmstrip_frames: 3\n  dpi: 50\n"
    )
    out = tmp_path / "plots" / "gallery"
    args = ["--params", tmp_path / "params.yaml", "--generated", generated, "--processed", processed_dir,
            "--evaluator", tmp_path / "evaluator.pt", "--out", out]
    res = CliRunner().invoke(render_stage, list(map(str, args)))
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    # 3 classes x 2 test motions each: short and long are distinct motions; one GIF (class 0, the middle tag)
    assert names == sorted([f"{c:02d}_class{c}_{t}.png" for c in range(3) for t in ("short", "long")]
                           + ["00_class0_long.gif"])
    # the examples as files animation tools open, named like their images (a sibling folder: DVC reads
    # every file of a plots folder as a plot)
    assert sorted(p.stem for p in (out.parent / "gallery_bvh").iterdir()) == sorted(p.removesuffix(".png") for p in names
                                                                                   if p.endswith(".png"))
    clip = read_bvh(out.parent / "gallery_bvh" / "00_class0_long.bvh")
    assert clip.num_frames == fake.lengths[fake.labels == 0].max() and clip.fps == meta["fps"]
    long0 = fake.lengths[fake.labels == 0].max()
    with Image.open(out / "00_class0_long.gif") as im:  # runs to the longer of the pair
        assert im.n_frames in {max(long0, n) for n in train.lengths} and im.n_frames >= long0
    with Image.open(out / "01_class1_short.png") as im:
        assert im.size[1] == 2 * 48 + 26

    # an unknown generated file name is a one-line error naming the setting and listing what exists
    (tmp_path / "params.yaml").write_text("render:\n  motions: nope_variable\n")
    res = CliRunner().invoke(render_stage, list(map(str, args)))
    assert res.exit_code == 1
    assert "render.motions: got 'nope_variable'" in res.output and "gmm_variable" in res.output
