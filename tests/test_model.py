import math

import numpy as np
import pytest
import torch

from motioninr.data.dataset import load_meta, load_split
from motioninr.data.representation import normalize
from motioninr.errors import MotionINRError, SettingsError
from motioninr.model import CodeTable, ModelSettings, MotionINR, TimeCode, load_model, save_model
from motioninr.model.model import FORMAT
from motioninr.model.train import new_model
from motioninr.settings import from_mapping
from tests.model_helpers import one_thread  # noqa: F401 (fixture)


def tiny_settings(**overrides) -> ModelSettings:
    values = {"seq_code_dim": 8, "act_code_dim": 8, "time_dim": 8, "mlp": {"layers": [16, 16]},
              "transformer": {"layers": 2, "heads": 2, "ff": 16, "dropout": 0.1}}
    values.update(overrides)
    return from_mapping(ModelSettings, values, "model")


def tiny_model(processed_dir, **overrides) -> MotionINR:
    return new_model(tiny_settings(**overrides), load_split(processed_dir), load_meta(processed_dir), seed=0)


# ----------------------------------------------------------------------------- codes

def test_code_table_shapes_kl_and_mean_vs_sample():
    torch.manual_seed(0)
    table = CodeTable(rows=5, dim=3, variational=True, init_std=0.1)
    with torch.no_grad():
        table.mu.copy_(torch.randn(5, 3))
        table.logvar.copy_(torch.randn(5, 3))
    index = torch.tensor([4, 0, 4])
    mean, kl = table(index, sample=False)
    assert mean.shape == (3, 3) and kl.shape == (3,)
    assert torch.equal(mean, table.mu[index])
    mu, lv = table.mu[index].detach().double(), table.logvar[index].detach().double()
    by_hand = [0.5 * sum(mu[i, d] ** 2 + math.exp(lv[i, d]) - 1 - lv[i, d] for d in range(3)) for i in range(3)]
    assert np.allclose(kl.detach().numpy(), by_hand, rtol=1e-5)

    g = torch.Generator().manual_seed(1)
    drawn, _ = table(index, sample=True, generator=g)
    assert not torch.allclose(drawn, mean)
    again, _ = table(index, sample=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(drawn, again)  # reproducible with the same generator
    # many draws of one row: mean mu, std exp(logvar / 2)
    many, _ = table(torch.full((20000,), 2), sample=True, generator=g)
    assert torch.allclose(many.mean(0), table.mu[2].detach(), atol=0.1)
    assert torch.allclose(many.std(0), torch.exp(0.5 * table.logvar[2].detach()), rtol=0.05)


def test_non_variational_table_is_a_point_with_mean_penalty():
    table = CodeTable(rows=4, dim=2, variational=False, init_std=0.5)
    assert table.logvar is None
    index = torch.tensor([1, 3])
    drawn, kl = table(index, sample=True)
    assert torch.equal(drawn, table.mu[index])
    assert torch.allclose(kl, 0.5 * table.mu[index].pow(2).sum(-1))


def test_compose_posteriors_and_code_dim(processed_dir):
    model = tiny_model(processed_dir, act_code_dim=4, act_variational=False)
    post = model.posteriors()
    assert post["seq_mu"].shape == (model.num_samples, 8) and post["seq_logvar"].shape == (model.num_samples, 8)
    assert post["act_mu"].shape == (model.num_classes, 4) and post["act_logvar"] is None
    assert model.code_dim == 12
    beta, alpha = torch.randn(5, 8), torch.randn(5, 4)
    assert torch.equal(model.compose(beta, alpha), torch.cat([beta, alpha], 1))
    added = tiny_model(processed_dir, action_code="add")
    assert added.code_dim == 8
    assert torch.equal(added.compose(beta, beta * 2), beta * 3)
    c, kl_seq, kl_act = model.codes(torch.tensor([0, 1]), model.train_labels[:2], sample=False)
    assert c.shape == (2, 12) and kl_seq.shape == kl_act.shape == (2,)


def test_time_code_at_real_valued_times():
    tau = TimeCode(dim=6, base=100.0)
    t = torch.tensor([0.0, 1.5, 7.25])
    out = tau(t)
    freqs = [100.0 ** (-2 * k / 6) for k in range(3)]
    by_hand = [[math.sin(x * f) for f in freqs] + [math.cos(x * f) for f in freqs] for x in t.tolist()]
    assert out.shape == (3, 6)
    assert np.allclose(out.numpy(), by_hand, atol=1e-6)


# ----------------------------------------------------------------------------- decoders

@pytest.mark.parametrize("decoder", ["mlp", "transformer"])
def test_ragged_batch_equals_one_at_a_time(processed_dir, decoder):
    model = tiny_model(processed_dir, decoder=decoder).eval()
    lengths = torch.tensor([7, 1, 12, 4])
    codes = torch.randn(4, model.code_dim)
    times = torch.cat([torch.arange(n).float() * 0.5 + 3 for n in lengths.tolist()])
    with torch.no_grad():
        batch = model(codes, times, lengths)
        alone = torch.cat([model(codes[i:i + 1], t, lengths[i:i + 1])
                           for i, t in enumerate(times.split(lengths.tolist()))])
    assert batch.shape == (int(lengths.sum()), model.num_joints * 3)
    assert torch.allclose(batch, alone, atol=1e-5)


def test_mlp_equals_the_plain_network_on_concatenated_inputs(processed_dir):
    model = tiny_model(processed_dir)
    lengths = torch.tensor([3, 5])
    codes = torch.randn(2, model.code_dim)
    times = torch.tensor([0.0, 1.0, 2.0, 4.0, 0.5, 1.0, 1.0, 9.0])
    plain = model.decoder.net(torch.cat([codes.repeat_interleave(lengths, 0), model.time_code(times)], 1))
    assert torch.allclose(model(codes, times, lengths), plain, atol=1e-5)


def test_transformer_padding_does_not_leak(processed_dir):
    """A sequence decodes the same whatever the lengths of the others in its padded batch."""
    model = tiny_model(processed_dir, decoder="transformer").eval()
    c = torch.randn(3, model.code_dim)
    with torch.no_grad():
        queries = torch.randn(5 + 30 + 40, model.code_dim)
        together = model.decoder.padded(c, queries, torch.tensor([5, 30, 40]))
        alone = model.decoder.padded(c[:1], queries[:5], torch.tensor([5]))
        short = model.decode(c[:2], torch.tensor([5, 3]))
        long = model.decode(c[:2], torch.tensor([5, 40]))
    assert torch.allclose(together[:5], alone, atol=1e-5)
    assert torch.allclose(short[:5], long[:5], atol=1e-5)


def test_decode_returns_metres_in_order_and_in_chunks(processed_dir):
    model = tiny_model(processed_dir)
    train = load_split(processed_dir)
    meta = load_meta(processed_dir)
    x = torch.from_numpy(normalize(train.frames[:10], meta["normalization"]).reshape(10, -1))
    assert torch.allclose(model.to_metres(x), torch.from_numpy(train.frames[:10]), atol=1e-5)

    c = torch.randn(3, model.code_dim)
    lengths = torch.tensor([4, 9, 2])
    whole = model.decode(c, lengths)
    assert whole.shape == (15, model.num_joints, 3) and whole.device.type == "cpu"
    assert torch.allclose(model.decode(c, lengths, max_frames=5), whole, atol=1e-6)
    assert torch.allclose(model.decode(c[1:2], lengths[1:2]), whole[4:13], atol=1e-6)


def test_decode_at_another_frame_rate(processed_dir):
    model = tiny_model(processed_dir)
    c = torch.randn(2, model.code_dim)
    base = model.decode(c, torch.tensor([6, 3]))
    double = model.decode(c, torch.tensor([11, 5]), fps=2 * model.fps)
    # at twice the rate, every other frame falls on a training-rate frame
    assert torch.allclose(double[0:11:2], base[:6], atol=1e-5)
    assert torch.allclose(double[11::2], base[6:], atol=1e-5)
    assert not torch.allclose(double[1], base[0], atol=1e-5)


def test_reconstruct_uses_training_lengths(processed_dir):
    model = tiny_model(processed_dir)
    out = model.reconstruct(torch.tensor([2, 0]))
    assert out.shape == (int(model.train_lengths[[2, 0]].sum()), model.num_joints, 3)
    half = model.reconstruct(torch.tensor([2]), fps=model.fps / 2)
    assert len(half) == int(torch.round(model.train_lengths[2] / 2))


# ----------------------------------------------------------------------------- the artifact

@pytest.mark.parametrize("decoder", ["mlp", "transformer"])
def test_model_file_round_trip(processed_dir, tmp_path, decoder):
    model = tiny_model(processed_dir, decoder=decoder, act_variational=False)
    with torch.no_grad():
        model.seq_codes.mu.add_(1.0)
    path = tmp_path / "model.pt"
    save_model(model, path, extra={"training": {"epochs": 3}})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == FORMAT and raw["training"] == {"epochs": 3}
    assert raw["train_labels"].dtype == torch.long and raw["train_lengths"].shape == (model.num_samples,)
    assert np.array(raw["normalization"]["std"]).shape == (model.num_joints, 3)

    loaded = load_model(path)
    assert not loaded.training
    assert loaded.class_names == model.class_names and loaded.train_ids == model.train_ids
    assert loaded.parents == model.parents and loaded.fps == model.fps
    assert torch.equal(loaded.train_lengths, model.train_lengths)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert loaded.posteriors()["act_logvar"] is None
    c = torch.randn(2, model.code_dim)
    assert torch.equal(loaded.decode(c, torch.tensor([3, 5])), model.eval().decode(c, torch.tensor([3, 5])))


def test_load_model_errors_name_the_file(tmp_path):
    with pytest.raises(MotionINRError, match="missing.pt: model file not found"):
        load_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_text("not a model")
    with pytest.raises(MotionINRError, match="junk.pt: not a readable model file"):
        load_model(junk)
    other = tmp_path / "other.pt"
    torch.save({"format": "something-else"}, other)
    with pytest.raises(MotionINRError, match="other.pt: got format 'something-else'"):
        load_model(other)


# ----------------------------------------------------------------------------- settings

@pytest.mark.parametrize("values, message", [
    ({"decoder": "lstm"}, "model.decoder: got 'lstm', expected one of 'mlp', 'transformer'"),
    ({"seq_code_dim": -4}, "model.seq_code_dim: got -4, expected an integer >= 1"),
    ({"mlp": {"layers": [64, 0]}}, r"model.mlp.layers\[1\]: got 0, expected a positive layer size"),
    ({"mlp": {"layers": []}}, "model.mlp.layers: got .*, expected at least one hidden layer size"),
    ({"time_dim": 7}, "model.time_dim: got 7, expected an even integer"),
    ({"action_code": "add", "act_code_dim": 4}, "model.act_code_dim: got 4, expected the same size as seq_code_dim"),
    ({"decoder": "transformer", "transformer": {"heads": 5}}, "model.transformer.heads: got 5, expected a divisor"),
    ({"transformer": {"dropout": 1.5}}, r"model.transformer.dropout: got 1.5, expected a number in \[0, 1\)"),
    ({"transformer": {"layers": 0}}, "model.transformer.layers: got 0, expected an integer >= 1"),
    ({"code_size": 3}, "model.code_size: unknown setting"),
])
def test_bad_model_settings_are_rejected(values, message):
    with pytest.raises(SettingsError, match=message):
        from_mapping(ModelSettings, values, "model")


def test_positions_within_segments():
    from motioninr.model.decoders import positions_within

    assert positions_within(torch.tensor([2, 3, 1])).tolist() == [0, 1, 0, 1, 2, 0]
    assert positions_within(torch.tensor([0, 2])).tolist() == [0, 1]
