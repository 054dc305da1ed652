"""The action-recognition GRU used as feature extractor for every generation metric.

Architecture and parameter names follow Action2Motion's ``MotionDiscriminator``
so the published checkpoints (``action_recognition_model_humanact12.tar``,
``action_recognition_model_vibe_v2.tar``) load unchanged:

    recurrent  GRU(joints * 3, 128, 2 layers), time-major (not batch-first)
    linear1    Linear(128, 30) followed by tanh   -> the 30-d feature
    linear2    Linear(30, classes)                -> logits

Input convention (shared by training and evaluation): every motion becomes a
60-frame clip, cropped at a random start (or padded by repeating its last pose
when shorter), minus the clip's first-frame root position, flattened
joint-major to ``(60, joints * 3)``. The GRU reads the clip from a zero
initial hidden state (MotionINR's evaluation); the original Action2Motion and
ACTOR code draw it from N(0, 1) per call, available as ``hidden_init="random"``.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError, MotionINRError
from motioninr.io import one_line, save_torch

CROP_LENGTH = 60
FEATURE_DIM = 30
HIDDEN_SIZE = 128
NUM_LAYERS = 2
HIDDEN_INITS = ("zeros", "random")
FORMAT = "motioninr-evaluator-v1"


class EvaluatorError(MotionINRError):
    """An evaluator checkpoint is missing, unreadable or does not fit the dataset."""


class ActionClassifier(nn.Module):
    """Action2Motion's GRU action classifier.

    ``forward(x)`` takes clips ``(batch, frames, input_size)`` (see
    :func:`clips_from_motions`) and returns ``(logits (batch, classes), features (batch, 30))``.
    ``hidden_init`` chooses the GRU's initial hidden state: ``"zeros"`` (default,
    deterministic, as MotionINR evaluates) or ``"random"`` (standard normal, as
    Action2Motion and ACTOR evaluate; pass ``generator`` to make it reproducible).
    """

    def __init__(self, input_size: int, num_classes: int, hidden_size: int = HIDDEN_SIZE,
                 num_layers: int = NUM_LAYERS, hidden_init: str = "zeros") -> None:
        super().__init__()
        if hidden_init not in HIDDEN_INITS:
            raise ValueError(f"hidden_init must be one of {HIDDEN_INITS}, got {hidden_init!r}")
        self.input_size = input_size
        self.num_classes = num_classes
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.hidden_init = hidden_init
        self.recurrent = nn.GRU(input_size, hidden_size, num_layers)
        self.linear1 = nn.Linear(hidden_size, FEATURE_DIM)
        self.linear2 = nn.Linear(FEATURE_DIM, num_classes)

    @property
    def num_joints(self) -> int:
        return self.input_size // 3

    def initial_hidden(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(layers, batch, hidden)`` zeros or standard-normal draws, per ``hidden_init``."""
        device = self.linear1.weight.device
        shape = (self.num_layers, batch, self.hidden_size)
        if self.hidden_init == "zeros":
            return torch.zeros(shape, device=device)
        noise = torch.randn(shape, generator=generator)  # drawn on CPU so a CPU generator works everywhere
        return noise.to(device)

    def forward(self, clips: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if clips.ndim != 3 or clips.shape[-1] != self.input_size:
            raise ValueError(f"clips must be (batch, frames, {self.input_size}), got {tuple(clips.shape)}")
        x = clips.transpose(0, 1).float()  # time-major for the GRU
        out, _ = self.recurrent(x, self.initial_hidden(x.shape[1], generator))
        features = torch.tanh(self.linear1(out[-1]))
        return self.linear2(features), features


# --------------------------------------------------------------------------- input convention

def crop_starts(lengths: np.ndarray, crop_length: int = CROP_LENGTH, rng: np.random.Generator | None = None,
                crop: str = "random") -> np.ndarray:
    """First frame of each sequence's clip, ``(sequences,)`` int64.

    ``random``: uniform in ``[0, length - crop_length)``, the range Action2Motion's
    and MotionINR's loaders draw from (so a sequence exactly ``crop_length + 1``
    long always starts at 0); ``start``: always 0. Shorter sequences start at 0
    and are padded by :func:`clips_from_motions`.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if crop == "start":
        return np.zeros(len(lengths), dtype=np.int64)
    if crop != "random":
        raise ValueError(f"crop must be 'random' or 'start', got {crop!r}")
    rng = np.random.default_rng() if rng is None else rng
    gap = np.maximum(lengths - crop_length, 0)
    return (rng.random(len(lengths)) * np.maximum(gap, 1)).astype(np.int64) * (gap > 0)


def clips_from_motions(motions: MotionSet, crop_length: int = CROP_LENGTH, rng: np.random.Generator | None = None,
                       crop: str = "random", starts: np.ndarray | None = None,
                       index: np.ndarray | None = None) -> np.ndarray:
    """Classifier input ``(sequences, crop_length, joints * 3)`` float32 from a motion set.

    Each sequence is cropped to ``crop_length`` frames from ``starts`` (drawn by
    :func:`crop_starts` when not given) or padded by repeating its last pose,
    then the clip's first-frame root position is subtracted from every joint and
    the joints are flattened joint-major (``x0, y0, z0, x1, ...``). ``index``
    selects sequences (``starts`` then has one entry per selected sequence).
    One gather, no per-sequence loop.
    """
    index = np.arange(len(motions)) if index is None else np.arange(len(motions))[index]
    lengths = motions.lengths[index]
    if len(index) == 0:
        return np.zeros((0, crop_length, motions.num_joints * 3), np.float32)
    if (lengths < 1).any():
        raise DataError(f"motion set has empty sequences (lengths {lengths.min()}); expected at least 1 frame each")
    if starts is None:
        starts = crop_starts(lengths, crop_length, rng, crop)
    t = np.arange(crop_length)[None, :]
    frame = np.minimum(np.asarray(starts)[:, None] + t, lengths[:, None] - 1)  # clamping pads with the last pose
    clips = motions.frames[motions.offsets[index][:, None] + frame]  # (N, T, J, 3)
    clips = clips - clips[:, :1, :1, :]
    return np.ascontiguousarray(clips.reshape(len(index), crop_length, -1), dtype=np.float32)


# --------------------------------------------------------------------------- inference

def torch_generator(rng: np.random.Generator | None) -> torch.Generator | None:
    """A CPU torch generator seeded from ``rng`` (for the random initial hidden state), or None."""
    if rng is None:
        return None
    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


@torch.no_grad()
def classify_clips(clf: ActionClassifier, clips: np.ndarray, batch_size: int = 1024,
                   generator: torch.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(N, 30)`` and logits ``(N, classes)`` (float32 numpy) of clips ``(N, frames, input_size)``."""
    was_training = clf.training
    clf.eval()
    device = clf.linear1.weight.device
    feats, logits = [], []
    for start in range(0, len(clips), batch_size):
        x = torch.from_numpy(clips[start:start + batch_size]).to(device)
        lg, ft = clf(x, generator)
        feats.append(ft.cpu().numpy())
        logits.append(lg.cpu().numpy())
    clf.train(was_training)
    if not feats:
        return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, clf.num_classes), np.float32)
    return np.concatenate(feats), np.concatenate(logits)


def classify_motions(clf: ActionClassifier, motions: MotionSet, starts: np.ndarray, index: np.ndarray | None = None,
                     batch_size: int = 1024, generator: torch.Generator | None = None,
                     crop_length: int = CROP_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """Features and logits of the clips starting at ``starts`` of the sequences ``index`` (all by default).

    Clips are built one batch at a time, so memory stays at one batch of clips
    however many motions there are.
    """
    index = np.arange(len(motions)) if index is None else np.arange(len(motions))[index]
    starts = np.asarray(starts, dtype=np.int64)
    feats, logits = [], []
    for b in range(0, len(index), batch_size):
        clips = clips_from_motions(motions, crop_length, starts=starts[b:b + batch_size], index=index[b:b + batch_size])
        f, lg = classify_clips(clf, clips, batch_size, generator)
        feats.append(f)
        logits.append(lg)
    if not feats:
        return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, clf.num_classes), np.float32)
    return np.concatenate(feats), np.concatenate(logits)


def extract_features(clf: ActionClassifier, motions: MotionSet, rng: np.random.Generator | None = None,
                     crop: str = "random", batch_size: int = 1024,
                     crop_length: int = CROP_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """Classifier features ``(N, 30)`` and logits ``(N, classes)`` of every motion, float32 numpy.

    ``rng`` draws the crop starts (and the hidden state when the classifier's
    ``hidden_init`` is ``"random"``); see the module docstring for the input convention.
    """
    if motions.num_joints * 3 != clf.input_size:
        raise DataError(
            f"motions have {motions.num_joints} joints ({motions.num_joints * 3} inputs) but the evaluator "
            f"expects {clf.num_joints} joints ({clf.input_size} inputs)"
        )
    rng = np.random.default_rng() if rng is None else rng
    starts = crop_starts(motions.lengths, crop_length, rng, crop)
    generator = torch_generator(rng) if clf.hidden_init == "random" else None
    return classify_motions(clf, motions, starts, None, batch_size, generator, crop_length)


# --------------------------------------------------------------------------- checkpoints

def _numpy_safe_globals() -> list:
    """numpy scalar and dtype reconstructors, under the names old and new numpy pickle them with."""
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import scalar

    dtypes = [type(np.dtype(t)) for t in ("bool", "int32", "int64", "float32", "float64")]
    return [(scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"),
            (np.dtype, "numpy.dtype"), *dtypes]


def _load_file(path: Path, device: torch.device | str) -> object:
    """``torch.load`` with ``weights_only=True`` (never arbitrary unpickling).

    Checkpoints written by older training code may also hold numpy scalars
    (an iteration count, a learning rate); only those numpy reconstructors are
    allowed, on a second attempt. Anything else is refused with a one-line error.
    """
    try:
        try:
            return torch.load(path, map_location=device, weights_only=True)
        except pickle.UnpicklingError:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = " ".join(str(exc).split())
        found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        if found is None:
            detail = re.search(r"WeightsUnpickler error: (.*?)(?: Check the documentation|$)", text)
            reason = detail.group(1) if detail else one_line(text, 160)
            raise EvaluatorError(f"{path}: not a readable torch checkpoint ({reason})") from None
        raise EvaluatorError(
            f"{path}: refused to load with weights_only=True (it needs {found.group(1)}); expected an "
            "evaluator.pt or an Action2Motion .tar holding plain tensors"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        raise EvaluatorError(f"{path}: not a readable torch checkpoint ({one_line(exc)})") from None


def _architecture(state: dict, path: Path) -> tuple[int, int, int, int]:
    """``(input_size, hidden_size, num_layers, num_classes)`` read from a state dict."""
    required = ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "recurrent.weight_ih_l0"]
    missing = [k for k in required if k not in state]
    if missing:
        raise EvaluatorError(
            f"{path}: state dict lacks {', '.join(missing)}; expected Action2Motion GRU classifier keys "
            "(recurrent.weight_ih_l0 ..., linear1.*, linear2.*)"
        )
    layers = 0
    while f"recurrent.weight_ih_l{layers}" in state:
        layers += 1
    hidden_size = state["recurrent.weight_hh_l0"].shape[1]
    input_size = state["recurrent.weight_ih_l0"].shape[1]
    num_classes = state["linear2.weight"].shape[0]
    return int(input_size), int(hidden_size), layers, int(num_classes)


def classifier_from_state_dict(state: dict, path: str | Path = "<state dict>", hidden_init: str = "zeros") -> ActionClassifier:
    """Build an :class:`ActionClassifier` whose sizes are read from ``state`` and load it."""
    path = Path(path)
    input_size, hidden_size, layers, num_classes = _architecture(state, path)
    if input_size % 3:
        raise EvaluatorError(f"{path}: GRU input size {input_size} is not joints x 3")
    clf = ActionClassifier(input_size, num_classes, hidden_size, layers, hidden_init)
    expected = set(clf.state_dict())
    extra = sorted(set(state) - expected)
    if extra or expected - set(state):
        what = f"unexpected {extra[0]}" if extra else f"missing {sorted(expected - set(state))[0]}"
        raise EvaluatorError(f"{path}: state dict does not match the GRU classifier ({what})")
    clf.load_state_dict({k: v.float() for k, v in state.items()})
    return clf


def load_classifier(path: str | Path, num_joints: int | None = None, num_classes: int | None = None,
                    device: torch.device | str = "cpu", hidden_init: str = "zeros") -> ActionClassifier:
    """Load our ``evaluator.pt`` or a legacy Action2Motion ``.tar`` checkpoint, in eval mode.

    Legacy files hold ``{"model": state_dict, "optimizer": ..., "iteration": ...}``
    with tensors saved on ``cuda:0``; they are mapped to ``device``. When
    ``num_joints`` / ``num_classes`` are given, they must match the checkpoint
    (a clear :class:`EvaluatorError` otherwise).
    """
    path = Path(path)
    if not path.is_file():
        raise EvaluatorError(f"{path}: evaluator checkpoint not found")
    obj = _load_file(path, device)
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        state = obj["state_dict"]
    elif isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        state = obj["model"]  # Action2Motion / ACTOR layout
    elif isinstance(obj, dict) and "linear1.weight" in obj:
        state = obj  # a bare state dict
    else:
        keys = sorted(obj)[:5] if isinstance(obj, dict) else type(obj).__name__
        raise EvaluatorError(
            f"{path}: unrecognised evaluator checkpoint (found {keys}); expected {FORMAT!r} "
            "or an Action2Motion file with a 'model' state dict"
        )
    clf = classifier_from_state_dict(state, path, hidden_init)
    check_compatible(clf, num_joints, num_classes, str(path))
    return clf.to(device).eval()


def check_compatible(clf: ActionClassifier, num_joints: int | None, num_classes: int | None, where: str) -> None:
    """Raise :class:`EvaluatorError` unless the classifier's input size and class count fit the dataset."""
    if num_joints is not None and clf.input_size != num_joints * 3:
        raise EvaluatorError(
            f"{where}: evaluator takes {clf.num_joints} joints ({clf.input_size} inputs) but the dataset has "
            f"{num_joints} joints ({num_joints * 3} inputs); use an evaluator for this skeleton or set "
            "evaluate.classifier: null to train one"
        )
    if num_classes is not None and clf.num_classes != num_classes:
        raise EvaluatorError(
            f"{where}: evaluator predicts {clf.num_classes} classes but the dataset has {num_classes}; "
            "use an evaluator for these labels or set evaluate.classifier: null to train one"
        )


def save_classifier(path: str | Path, clf: ActionClassifier, **info) -> None:
    """Write ``evaluator.pt`` atomically: state dict plus sizes and plain ``info`` (class names, metrics...)."""
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in clf.state_dict().items()},
        "input_size": clf.input_size,
        "num_joints": clf.num_joints,
        "num_classes": clf.num_classes,
        "hidden_size": clf.hidden_size,
        "num_layers": clf.num_layers,
        "feature_dim": FEATURE_DIM,
        "crop_length": CROP_LENGTH,
        **info,
    }
    save_torch(path, payload)


def checkpoint_info(path: str | Path) -> dict:
    """The plain (non-tensor) entries of our ``evaluator.pt`` (class names, source, metrics...)."""
    obj = _load_file(Path(path), "cpu")
    if not (isinstance(obj, dict) and obj.get("format") == FORMAT):
        return {}
    return {k: v for k, v in obj.items() if k != "state_dict"}
