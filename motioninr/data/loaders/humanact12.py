"""HumanAct12 as released by Action2Motion: a flat folder of ``.npy`` clips.

Each clip ``P{subject:02}G{group:02}R{rep:02}F{start:04}T{end:04}A{action:04}.npy``
holds ``(frames, 24, 3)`` SMPL joint positions in metres, y up. The release
states no frame rate; later work treats it as 20 fps. The 4-digit action code
is the fine label; its first two digits are the coarse action (1..12).

Labels (``settings.labels``):

- ``coarse``: 12 classes, label = first two digits - 1.
- ``fine``: 34 classes, label = position of the code in :data:`FINE_CODES`
  (the official fine action list of the release, in code order). Action2Motion
  encodes fine labels as the sorted distinct codes found in the folder; on the
  full release, where every code occurs, the two encodings are identical.

Clips are read in sorted file-name order (as Action2Motion and ACTOR do) and
the known bad clip ``P05G02R01F1886T1941A0901`` is dropped, as in the official
MotionINR code.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from motioninr.data.dataset import RawDataset
from motioninr.data.loaders._validate import check_motion, read_npy, require_dir
from motioninr.errors import DataError
from motioninr.skeleton import SMPL_JOINTS, SMPL_PARENTS

FPS = 20.0
NUM_JOINTS = 24
NAME_PATTERN = "P{subject:02}G{group:02}R{rep:02}F{start:04}T{end:04}A{action:04}.npy"
_NAME = re.compile(r"P\d{2}G\d{2}R\d{2}F\d{4}T\d{4}A(\d{4})\.npy")

# Dropped by the official MotionINR code.
BAD_CLIPS: tuple[str, ...] = ("P05G02R01F1886T1941A0901",)

COARSE_CLASSES: tuple[str, ...] = (
    "warm_up", "walk", "run", "jump", "drink", "lift_dumbbell",
    "sit", "eat", "turn_steering_wheel", "phone", "boxing", "throw",
)

# The 34 fine actions of the release: code -> name.
FINE_CLASSES: dict[int, str] = {
    101: "warm_up_wrist_ankle",
    102: "warm_up_pectoral",
    103: "warm_up_elbow_back",
    104: "warm_up_body_lean_right_arm",
    105: "warm_up_body_lean_left_arm",
    106: "warm_up_bow_right",
    107: "warm_up_bow_left",
    201: "walk",
    301: "run",
    401: "jump_hands_up",
    402: "jump_vertical",
    501: "drink_bottle_right_hand",
    502: "drink_bottle_left_hand",
    503: "drink_cup_right_hand",
    504: "drink_cup_left_hand",
    505: "drink_both_hands",
    601: "lift_dumbbell_right_hand",
    602: "lift_dumbbell_left_hand",
    603: "lift_dumbbells_both_hands",
    604: "lift_dumbbell_over_head",
    605: "lift_dumbbells_both_hands_bend_legs",
    701: "sit",
    801: "eat_finger_right",
    802: "eat_pie_or_hamburger",
    803: "eat_left_hand",
    901: "turn_steering_wheel",
    1001: "phone_take_out_call_put_back",
    1002: "phone_call_left_hand",
    1101: "boxing_left_right",
    1102: "boxing_left_upwards",
    1103: "boxing_right_upwards",
    1104: "boxing_right_left",
    1201: "throw_right_hand",
    1202: "throw_both_hands",
}
FINE_CODES: tuple[int, ...] = tuple(sorted(FINE_CLASSES))


def label_of(code: int, labels: str) -> int | None:
    """Class index of a 4-digit action code under ``labels`` (``coarse``/``fine``); ``None`` if unknown."""
    if labels == "fine":
        return FINE_CODES.index(code) if code in FINE_CLASSES else None
    coarse = code // 100 - 1
    return coarse if 0 <= coarse < len(COARSE_CLASSES) else None


def load(path: Path, settings) -> RawDataset:
    """Read every clip of the folder ``path`` into a :class:`RawDataset` of ``(frames, 24, 3)`` sequences."""
    require_dir(path, f"the HumanAct12 folder of .npy clips named {NAME_PATTERN}")
    files = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    if not files:
        raise DataError(f"{path}: empty folder; expected the HumanAct12 .npy clips named {NAME_PATTERN}")

    mode = settings.labels
    sequences, labels, ids, dropped = [], [], [], []
    for file in files:
        match = _NAME.fullmatch(file.name)
        if match is None or not file.is_file():
            raise DataError(f"{file}: file name does not match {NAME_PATTERN}, e.g. P01G01R01F0069T0143A0102.npy")
        if file.stem in BAD_CLIPS:
            dropped.append(file.stem)
            continue
        code = int(match.group(1))
        label = label_of(code, mode)
        if label is None:
            known = "01..12 as the first two digits" if mode == "coarse" else "one of the 34 fine codes of the release"
            raise DataError(f"{file}: unknown action code A{code:04d} for {mode} labels; expected {known}")
        sequences.append(check_motion(read_npy(file), str(file), NUM_JOINTS))
        labels.append(label)
        ids.append(file.stem)
    if not sequences:
        raise DataError(f"{path}: no usable clip (only known bad clips); expected the HumanAct12 .npy clips")

    class_names = list(COARSE_CLASSES) if mode == "coarse" else [FINE_CLASSES[c] for c in FINE_CODES]
    return RawDataset(
        sequences=sequences, labels=np.asarray(labels), ids=ids, class_names=class_names,
        joint_names=list(SMPL_JOINTS), parents=list(SMPL_PARENTS), fps=FPS, source="humanact12", up="y",
        notes={"labels": mode, "dropped_bad_clips": dropped} if dropped else {"labels": mode},
    )
