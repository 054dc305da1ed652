"""Shared by the model, training and multi-process tests: one torch thread and a tiny model to train."""

from __future__ import annotations

import pytest
import torch

from motioninr.data.dataset import load_meta, load_split
from motioninr.model.model import ModelSettings
from motioninr.model.train import TrainSettings, new_model
from motioninr.settings import from_mapping

TINY_MODEL = {"seq_code_dim": 8, "act_code_dim": 8, "time_dim": 8, "mlp": {"layers": [32, 32]},
              "transformer": {"layers": 1, "heads": 2, "ff": 16, "dropout": 0.1}}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids thread start-up costs dominating on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_training(processed_dir, model=None, base=TINY_MODEL, **train):
    """A fresh tiny model on the processed fixture, its training split and its train settings."""
    meta, data = load_meta(processed_dir), load_split(processed_dir)
    ms = from_mapping(ModelSettings, {**base, **(model or {})}, "model")
    ts = from_mapping(TrainSettings, {"batch_size": 4, "device": "cpu", **train}, "train")
    return new_model(ms, data, meta, seed=ts.seed), data, ts
