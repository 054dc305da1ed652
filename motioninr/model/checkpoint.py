"""Training checkpoints: the full state of a run, resumed only by a run it belongs to.

A checkpoint carries a fingerprint of what it must match to be continued (:func:`fingerprint`);
a damaged checkpoint, or one of other settings, data or code, is not resumed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from motioninr.data.dataset import MotionSet
from motioninr.io import save_torch
from motioninr.model.model import MotionINR, settings_dict
from motioninr.model.objective import LossSettings

CHECKPOINT_FORMAT = "motioninr-checkpoint-v1"
CHECKPOINT_NAME = "last.pt"


def fingerprint(model: MotionINR, train: MotionSet, settings, loss: LossSettings | None = None) -> str:
    """What a checkpoint must match to be resumed: architecture, training settings (except the
    number of epochs, the checkpoint interval, the device and the threads), the training data
    and the source of the model and of training (every module of this package, so a module added
    to either is covered without being listed)."""
    train_settings = {k: v for k, v in settings_dict(settings).items()
                      if k not in ("epochs", "checkpoint_every", "device", "threads")}
    h = hashlib.sha256(json.dumps({"model": settings_dict(model.settings), "train": train_settings,
                                   "classes": model.class_names}, sort_keys=True).encode())
    if model.settings.output != "positions":
        h.update(json.dumps(settings_dict(loss or LossSettings()), sort_keys=True).encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.read_bytes())
    for a in (train.frames, train.lengths, train.labels, model.mean.cpu().numpy(), model.std.cpu().numpy()):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def write_checkpoint(path: str | Path, state: dict) -> None:
    save_torch(path, state)


def read_checkpoint(path: str | Path) -> dict | None:
    """The checkpoint at ``path`` (tensors on the CPU), or None if it is not a readable checkpoint."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged checkpoint means starting over, whatever the cause
        return None
    return state if isinstance(state, dict) and state.get("format") == CHECKPOINT_FORMAT else None


def resumable(path: Path, key: str, epochs: int, log: Callable[[str], None]) -> dict | None:
    """The checkpoint at ``path`` if training with fingerprint ``key`` for ``epochs`` epochs can continue
    it; otherwise None, saying why through ``log`` (a missing checkpoint says nothing)."""
    if not path.is_file():
        return None
    state = read_checkpoint(path)
    if state is None:
        log(f"{path}: unreadable checkpoint; training from scratch")
    elif state.get("fingerprint") != key:
        log(f"{path}: written with other settings or data; training from scratch")
    elif int(state["epoch"]) > epochs:
        log(f"{path}: already at epoch {int(state['epoch'])} > train.epochs={epochs}; training from scratch")
    else:
        return state
    return None
