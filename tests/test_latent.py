import hashlib

import numpy as np
import pytest
from PIL import Image

from motioninr.errors import DataError, SettingsError
from motioninr.latent import LatentSettings, PointSet, latent_pictures, project
from motioninr.settings import from_mapping

CLASSES = ["walk", "run", "jump"]


def _points(name, n, dim, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    lengths = rng.integers(20, 90, size=n)
    # classes apart, and the code moves with the length along one direction
    values = rng.normal(size=(n, dim)) * 0.3 + labels[:, None] * 2.0 + shift
    values[:, 0] += lengths / 30.0
    return PointSet(name, values, labels, lengths)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pictures_are_fixed_size_and_byte_identical_on_a_second_run(tmp_path):
    sets = (_points("training codes", 60, 16, 0), _points("mixture samples", 60, 16, 1, 0.1),
            _points("training motions", 50, 8, 2), _points("generated", 40, 8, 3, 0.2))
    settings = LatentSettings(perplexity=10.0, dpi=50)
    first = latent_pictures(tmp_path / "a", *sets, CLASSES, settings)
    second = latent_pictures(tmp_path / "b", *sets, CLASSES, settings)
    assert [p.name for p in first] == ["codes_pca.png", "codes_tsne.png", "features_pca.png", "features_tsne.png"]
    for a, b in zip(first, second):
        assert _digest(a) == _digest(b)
        with Image.open(a) as im:
            assert im.size == (600, 250)  # 12 x 5 inches at 50 dpi
            assert not {"Software", "Creation Time", "date:create"} & set(im.info)
            pixels = np.asarray(im.convert("RGB"))
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # points in several colours were drawn


def test_pca_uses_the_reference_plane_and_tsne_embeds_both_sets():
    ref = _points("r", 40, 6, 0)
    other = _points("o", 30, 6, 1)
    a, b = project(ref.values, other.values, "pca")
    assert a.shape == (40, 2) and b.shape == (30, 2)
    assert np.allclose(a.mean(0), 0.0, atol=1e-9)  # centred on the reference points only
    c, d = project(ref.values, other.values, "tsne", perplexity=30.0, seed=0)  # perplexity lowered for 70 points
    assert c.shape == (40, 2) and d.shape == (30, 2) and np.isfinite(c).all()
    c2, _ = project(ref.values, other.values, "tsne", perplexity=30.0, seed=0)
    assert np.array_equal(c, c2)


def test_subsets_are_bounded_and_in_order():
    pts = _points("p", 100, 4, 0)
    sub = pts.subset(30, np.random.default_rng(0))
    assert len(sub.values) == 30
    rows = [int(np.flatnonzero((pts.values == v).all(1))[0]) for v in sub.values]
    assert rows == sorted(rows)


def test_bad_points_and_settings_are_clear():
    with pytest.raises(DataError, match="generated: non-finite"):
        PointSet("generated", np.full((3, 2), np.nan), [0, 1, 2], [10, 20, 30])
    with pytest.raises(DataError, match="codes: no points"):
        PointSet("codes", np.zeros((0, 2)), [], [])
    with pytest.raises(SettingsError, match="latent.methods"):
        from_mapping(LatentSettings, {"methods": ["umap"]}, "latent")
    with pytest.raises(SettingsError, match="latent.gmm_samples: got 0"):
        from_mapping(LatentSettings, {"gmm_samples": 0}, "latent")
