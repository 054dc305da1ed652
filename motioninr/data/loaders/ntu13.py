"""NTU13: Action2Motion's VIBE re-estimation of 13 NTU RGB+D actions.

Layout: a folder with one joblib pickle per NTU video (``...A###.pkl``) and a
text file listing them, one path per line relative to the folder
(``ntu_vibe_list.txt`` in the release; ``settings.list_file``, default the
single ``.txt`` in the folder). Each pickle is VIBE's output, a dict of
tracks; track ``1`` holds ``joints3d`` ``(T, 49, 3)``. Files without track 1
are skipped, as Action2Motion and ACTOR do (counted in ``notes``).

Joints: the 18 of :data:`motioninr.skeleton.VIBE18_SELECTION`, mid-hip first.

Coordinates are kept exactly as VIBE wrote them and as the published NTU13
evaluators (Action2Motion's GRU classifier, reused by ACTOR and MotionINR)
saw them: VIBE's camera frame, x right, **y down**, z away from the camera, in
metres. No axis is flipped, because the pretrained classifier was trained on
these coordinates; ``up`` is therefore recorded as ``"-y"``.

Rotations: when every kept track also has VIBE's ``pose`` (SMPL axis-angle, ``(T, 72)``), each
of the 18 joints gets the rotation of the SMPL joint that carries its bones (``_smpl.py``). The 18
joints are regressed from the SMPL mesh, not SMPL joints, so only the limb bones follow those
rotations exactly; the torso bones are approximate and the FK residual in ``meta.json`` says by how
much. If any kept track lacks ``pose`` the dataset stays positions-only (noted in ``notes``).

Frame rate: VIBE estimates one pose per video frame and Action2Motion uses
every frame, so sequences keep the NTU RGB+D video rate of 30 fps.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from motioninr.data.dataset import RawDataset
from motioninr.data.loaders._smpl import smpl_local_rotations, vibe18_rotations
from motioninr.data.loaders._validate import check_motion, read_lines, read_pickle, require_dir, require_keys
from motioninr.errors import DataError
from motioninr.skeleton import VIBE18_JOINTS, VIBE18_PARENTS, VIBE18_SELECTION

FPS = 30.0
VIBE_JOINTS = 49
TRACK = 1
# NTU RGB+D action ids kept by Action2Motion; label = index in this list.
ACTIONS: tuple[int, ...] = (6, 7, 8, 9, 22, 23, 24, 38, 80, 93, 99, 100, 102)
CLASS_NAMES: tuple[str, ...] = (
    "pick_up", "throw", "sitting_down", "standing_up", "cheer_up", "hand_waving", "kicking_something",
    "salute", "squat_down", "shake_fist", "running_on_the_spot", "butt_kicks", "side_kick",
)
_ACTION = re.compile(r"A(\d{3})")
_EXPECTED_PKL = "a VIBE joblib pickle: a dict of tracks, track 1 holding 'joints3d' (frames, 49, 3)"


def find_list_file(path: Path, list_file: str | None) -> Path:
    """The list of pickles: ``path / list_file``, or the single ``.txt`` in ``path``."""
    if list_file is not None:
        return path / list_file
    candidates = sorted(path.glob("*.txt"))
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise DataError(
            f"{path}: found {len(candidates)} .txt files ({found}); expected exactly one list of pickles "
            "(e.g. ntu_vibe_list.txt), or set data.list_file"
        )
    return candidates[0]


def action_label(entry: str, where: str) -> int:
    """Class index of a list entry from its ``A###`` NTU action id."""
    match = _ACTION.search(Path(entry).stem)
    if match is None:
        raise DataError(f"{where}: no action id A### in the file name {entry!r}; expected names like S001C001P001R001A006.pkl")
    action = int(match.group(1))
    if action not in ACTIONS:
        raise DataError(f"{where}: action A{action:03d} is not an NTU13 action; expected one of {', '.join(f'A{a:03d}' for a in ACTIONS)}")
    return ACTIONS.index(action)


def load(path: Path, settings) -> RawDataset:
    """Read every listed pickle that has track 1 into ``(frames, 18, 3)`` sequences."""
    require_dir(path, "the NTU13 folder of VIBE pickles with their list file")
    list_path = find_list_file(path, settings.list_file)
    entries = read_lines(list_path, "a text file listing the VIBE pickles, one per line")
    if not entries:
        raise DataError(f"{list_path}: empty list; expected one VIBE pickle path per line")

    selection = list(VIBE18_SELECTION)
    sequences, labels, ids, skipped, rotations = [], [], [], [], []
    for entry in entries:
        file = path / entry
        label = action_label(entry, f"{list_path}: {entry}")
        tracks = require_keys(read_pickle(file, _EXPECTED_PKL), (), str(file), _EXPECTED_PKL)
        if TRACK not in tracks:
            skipped.append(entry)
            continue
        track = require_keys(tracks[TRACK], ("joints3d",), f"{file}: track {TRACK}", _EXPECTED_PKL)
        joints = check_motion(track["joints3d"], f"{file}: track {TRACK} joints3d", VIBE_JOINTS)
        sequences.append(joints[:, selection])
        rotations.append(None if "pose" not in track else
                         vibe18_rotations(smpl_local_rotations(track["pose"], f"{file}: track {TRACK} pose", len(joints))))
        labels.append(label)
        ids.append(Path(entry).stem)
    if not sequences:
        raise DataError(f"{list_path}: none of the {len(entries)} listed pickles has track {TRACK}; expected VIBE outputs")

    rotation_notes: dict = {}
    if all(r is not None for r in rotations):
        rotation_notes = {"origin": "VIBE SMPL axis-angle pose, mapped to the 18 joints (torso approximate)",
                          "exact": False,
                          "root_frame": "VIBE's camera frame, the frame of joints3d (no alignment needed)"}
    else:
        rotations = None
    return RawDataset(
        sequences=sequences, labels=np.asarray(labels), ids=ids, class_names=list(CLASS_NAMES),
        joint_names=list(VIBE18_JOINTS), parents=list(VIBE18_PARENTS), fps=FPS, source="ntu13", up="-y",
        rotations=rotations, rotation_notes=rotation_notes,
        notes={
            "coordinates": "VIBE camera frame as the published NTU13 evaluators saw it (x right, y down)",
            "skipped_without_track_1": len(skipped),
            **({} if rotations is not None else {"rotations": "none: some kept track has no 'pose'"}),
            **({"skipped_examples": skipped[:10]} if skipped else {}),
        },
    )
