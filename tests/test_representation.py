import numpy as np

from motioninr.data.representation import denormalize, normalization_stats, normalize


def travelling_body(rng, frames=50, joints=5):
    """A body of small random poses whose root walks 5 m along x."""
    root = np.zeros((frames, 1, 3))
    root[:, 0, 0] = np.linspace(0.0, 5.0, frames)
    pose = rng.normal(scale=[0.1, 0.2, 0.3], size=(frames, joints - 1, 3))
    return np.concatenate([root, root + pose], axis=1).astype(np.float32)


def test_root_is_scaled_like_the_body_not_by_its_travel():
    frames = travelling_body(np.random.default_rng(0))
    stats = normalization_stats(frames)
    std = np.array(stats["std"])
    relative = (frames[:, 1:] - frames[:, :1]).std(axis=0)
    assert np.allclose(std[1:], relative, atol=1e-5)
    assert np.allclose(std[0], relative.mean(axis=0), atol=1e-5)
    assert std[0, 0] < 0.5 < frames[:, 0, 0].std()  # the 5 m walk does not set the root's scale
    assert np.allclose(denormalize(normalize(frames, stats), stats), frames, atol=1e-5)


def test_static_root_gets_the_floor_only_where_the_body_is_flat():
    frames = travelling_body(np.random.default_rng(1))
    frames[:, :, 1] = 0.0  # a flat body: no spread on y anywhere
    std = np.array(normalization_stats(frames)["std"])
    assert np.allclose(std[:, 1], 1e-3)
    assert (std[:, [0, 2]] > 1e-2).all()
