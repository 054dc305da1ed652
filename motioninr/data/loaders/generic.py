"""Your own motion capture (``data.source: generic``): joint positions in npz, or BVH files.

The folder ``data.path`` holds ONE of two layouts, each with a ``labels.csv``:

1. ``motions.npz``   one array per sample id, ``(frames, joints, 3)`` positions in metres
   ``skeleton.json`` ``{"joints": [names], "parents": [ints, -1 for the root], "fps": 30, "up": "y"}``
                     (``up`` optional: ``"y"`` default or ``"z"``)
   optional, for rotations (both or neither):
   ``rotations.npz`` one array per sample id, ``(frames, joints, 6)`` local joint rotations in the 6D
                     representation (first two columns of each matrix; see motioninr/rotations.py)
   ``"offsets"``     in skeleton.json: ``(joints, 3)`` rest offsets from each joint's parent, metres
2. ``*.bvh``         one file per sample, id = file stem; every file shares one hierarchy and frame rate
   ``bvh.json``      optional, ``{"scale": 0.01, "up": "y"}``: positions are the file's unit times
                     ``scale`` (default 1.0, i.e. the files are in metres; use 0.01 for centimetres)
   Rotations come from the rotation channels (any order), offsets from each file's OFFSETs.

``labels.csv`` has a header with columns ``id,action`` and optionally ``split`` (``train``/``test``);
other columns are ignored. Class names are the sorted distinct actions. Z-up data is rotated to the
processed data's y-up frame: ``(x, y, z) -> (x, z, -y)``.
"""

from __future__ import annotations

import csv
import json
import math
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from motioninr.data.bvh import BvhSkeleton, has_joint_translation, local_rotations, read_bvh
from motioninr.data.dataset import RawDataset
from motioninr.data.loaders._validate import _short, check_motion, check_same_joints, require_dir, require_file
from motioninr.errors import DataError
from motioninr.io import load_json
from motioninr.skeleton import check_parents

if TYPE_CHECKING:
    from motioninr.data.loaders import SourceSettings

LAYOUTS = "motions.npz + labels.csv + skeleton.json, or .bvh files + labels.csv"
UP_AXES = ("y", "z")
SPLIT_RULE = "labels.csv split column"


def load(path: Path, settings: SourceSettings | None = None) -> RawDataset:
    """Load a generic dataset folder (either layout) into a :class:`RawDataset` (metres, y up).

    ``settings`` is unused: everything is described by the files in ``path``.
    """
    folder = require_dir(Path(path), f"a folder with {LAYOUTS}")
    npz = folder / "motions.npz"
    bvhs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".bvh" and p.is_file())
    if npz.exists() and bvhs:
        raise DataError(f"{folder}: holds both motions.npz and .bvh files; expected one layout ({LAYOUTS})")
    if not npz.exists() and not bvhs:
        raise DataError(f"{folder}: no motions.npz nor .bvh files; expected {LAYOUTS}")
    ids, actions, split = read_labels(require_file(folder / "labels.csv", "labels.csv with columns id,action[,split]"))

    rotations, skeletons, rotation_notes = None, None, {}
    if npz.exists():
        motions, skel = _load_npz_layout(npz, require_file(folder / "skeleton.json", "skeleton.json with joints, parents, fps"))
        joint_names, parents, fps, up = skel["joints"], skel["parents"], skel["fps"], skel["up"]
        sources = {k: npz for k in motions}
        notes = {"layout": "motions.npz"}
        rot_file = folder / "rotations.npz"
        if rot_file.exists() != (skel.get("offsets") is not None):
            raise DataError(f"{folder}: rotations.npz and the 'offsets' of skeleton.json come together; "
                            f"found {'only rotations.npz' if rot_file.exists() else 'only offsets'}")
        if rot_file.exists():
            rotations = _load_rotations(rot_file, motions)
            skeletons = {k: skel["offsets"] for k in motions}
            rotation_notes = {"origin": "rotations.npz supplied with the data", "exact": False}
    else:
        options = _read_bvh_options(folder / "bvh.json")
        motions, joint_names, parents, fps, rotations, skeletons, moving = _load_bvh_layout(bvhs, options["scale"])
        up = options["up"]
        sources = {f.stem: f for f in bvhs}
        notes = {"layout": "bvh", "bvh_scale": options["scale"]}
        rotation_notes = {"origin": "BVH rotation channels (each joint's channels composed in their listed order)",
                          "exact": not moving}
        if moving:
            rotation_notes["joint_translation"] = "non-root joints have position channels: bones change length"

    _match_ids(ids, sources, folder / "labels.csv")
    sequences = [motions[i] for i in ids]
    if rotations is not None:
        rotations = [rotations[i] for i in ids]
        skeletons = [skeletons[i] for i in ids]
    if up == "z":
        sequences = [to_y_up(s) for s in sequences]
        notes["up_in_files"] = "z"
        if rotations is not None:
            for r in rotations:
                r[:, 0] = Z_TO_Y @ r[:, 0]
    class_names = sorted(set(actions))
    index = {name: c for c, name in enumerate(class_names)}
    labels = np.array([index[a] for a in actions], dtype=np.int64)
    return RawDataset(
        sequences=sequences, labels=labels, ids=ids, class_names=class_names,
        joint_names=list(joint_names), parents=list(parents), fps=float(fps), source="generic",
        up="y", split=split, split_rule=SPLIT_RULE if split is not None else "none", notes=notes,
        rotations=rotations, sequence_offsets=skeletons, rotation_notes=rotation_notes,
    )


Z_TO_Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # the rotation of to_y_up


def to_y_up(seq: np.ndarray) -> np.ndarray:
    """Rotate z-up positions ``(..., 3)`` to y-up: ``(x, y, z) -> (x, z, -y)`` (a proper rotation about x)."""
    return np.stack([seq[..., 0], seq[..., 2], -seq[..., 1]], axis=-1).astype(seq.dtype)


def read_labels(path: Path) -> tuple[list[str], list[str], list[str] | None]:
    """Read ``labels.csv``: ids, actions and the split column (``None`` when there is none)."""
    ids, actions, split = [], [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, skipinitialspace=True)
            header = [(h or "").strip() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            missing = [c for c in ("id", "action") if c not in header]
            if missing:
                raise DataError(f"{path}: header {','.join(header) or '(empty)'!r} lacks column {missing[0]!r}; "
                                "expected columns id,action[,split]")
            has_split = "split" in header
            for row in reader:
                line = reader.line_num
                if None in row:
                    raise DataError(f"{path}: line {line} has more fields than the header; expected columns {','.join(header)}")
                sid, action = (row["id"] or "").strip(), (row["action"] or "").strip()
                if not sid:
                    raise DataError(f"{path}: line {line}: empty id; expected the sample id")
                if not action:
                    raise DataError(f"{path}: line {line}: empty action label for id {sid!r}; expected an action name")
                ids.append(sid)
                actions.append(action)
                if has_split:
                    value = (row["split"] or "").strip().lower()
                    if value not in ("train", "test"):
                        raise DataError(f"{path}: line {line}: split {row['split']!r} for id {sid!r}; expected train or test")
                    split.append(value)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: unreadable CSV ({_short(exc)}); expected a header id,action[,split]") from None
    if not ids:
        raise DataError(f"{path}: no rows; expected one row per motion")
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise DataError(f"{path}: id {dupes[0]!r} appears more than once; expected one row per motion")
    return ids, actions, (split if has_split else None)


def read_skeleton(path: Path) -> dict:
    """Read and check ``skeleton.json``: ``joints`` names, ``parents`` (a tree), ``fps`` > 0, ``up`` y|z."""
    raw = load_json(path, "skeleton.json: an object with joints, parents, fps and up")
    allowed = ("joints", "parents", "fps", "up", "offsets")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise DataError(f"{path}: unknown key {unknown[0]!r}; expected keys {', '.join(allowed)}")
    for key in ("joints", "parents", "fps"):
        if key not in raw:
            raise DataError(f"{path}: missing key {key!r}; expected keys joints, parents, fps (up optional)")
    joints, parents = raw["joints"], raw["parents"]
    if not isinstance(joints, list) or not joints or not all(isinstance(j, str) and j.strip() for j in joints):
        raise DataError(f"{path}: joints {joints!r}; expected a non-empty list of joint names")
    if len(set(joints)) != len(joints):
        raise DataError(f"{path}: joints has duplicate names; expected one name per joint")
    if not isinstance(parents, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in parents):
        raise DataError(f"{path}: parents {parents!r}; expected a list of joint indices (-1 for the root)")
    if len(parents) != len(joints):
        raise DataError(f"{path}: {len(parents)} parents for {len(joints)} joints; expected one parent per joint")
    try:
        check_parents(parents)
    except ValueError as exc:
        raise DataError(f"{path}: parents {parents}: {exc}") from None
    fps = _positive_number(raw["fps"], path, "fps", "a positive frame rate (frames per second)")
    up = raw.get("up", "y")
    if up not in UP_AXES:
        raise DataError(f"{path}: up {up!r}; expected one of {', '.join(map(repr, UP_AXES))}")
    offsets = raw.get("offsets")
    if offsets is not None:
        try:
            offsets = np.asarray(offsets, dtype=np.float64)
        except (TypeError, ValueError):
            offsets = np.zeros(0)
        if offsets.shape != (len(joints), 3) or not np.isfinite(offsets).all():
            raise DataError(f"{path}: offsets of shape {offsets.shape}; expected {len(joints)} rows of 3 finite "
                            "numbers (rest offset of each joint from its parent, metres)")
    return {"joints": list(joints), "parents": list(parents), "fps": fps, "up": up, "offsets": offsets}


def _load_npz_layout(npz: Path, skeleton_path: Path) -> tuple[dict[str, np.ndarray], dict]:
    skel = read_skeleton(skeleton_path)
    if not zipfile.is_zipfile(npz):
        raise DataError(f"{npz}: not an .npz archive (truncated or another format); expected one (frames, joints, 3) "
                        "array per sample id, written with numpy.savez")
    try:
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # truncated zip, pickled objects, not an npz at all
        raise DataError(f"{npz}: unreadable .npz ({_short(exc)}); expected one (frames, joints, 3) array per sample id") from None
    if not arrays:
        raise DataError(f"{npz}: holds no arrays; expected one (frames, joints, 3) array per sample id")
    motions = {k: check_motion(a, f"{npz}[{k!r}]") for k, a in arrays.items()}
    keys = list(motions)
    check_same_joints([motions[k] for k in keys], keys, str(npz))
    joints = len(skel["joints"])
    if motions[keys[0]].shape[1] != joints:
        raise DataError(f"{npz}: motions have {motions[keys[0]].shape[1]} joints but {skeleton_path.name} lists "
                        f"{joints}; expected (frames, {joints}, 3) arrays")
    return motions, skel


def _load_rotations(path: Path, motions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``rotations.npz``: one ``(frames, joints, 6)`` array per motion id -> rotation matrices per id."""
    from motioninr.rotations import rot6d_to_matrix_np

    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # truncated zip, pickled objects, not an npz at all
        raise DataError(f"{path}: unreadable .npz ({_short(exc)}); expected one (frames, joints, 6) array per sample id") from None
    out = {}
    for key, motion in motions.items():
        if key not in arrays:
            raise DataError(f"{path}: no entry {key!r}; expected one (frames, joints, 6) array per motion of motions.npz")
        r = check_motion(arrays[key], f"{path}[{key!r}]", motion.shape[1], dims=6)
        if len(r) != len(motion):
            raise DataError(f"{path}[{key!r}]: {len(r)} frames but motions.npz has {len(motion)}; expected one rotation per frame")
        out[key] = rot6d_to_matrix_np(r)
    extra = sorted(set(arrays) - set(motions))
    if extra:
        raise DataError(f"{path}: entry {extra[0]!r} has no motion in motions.npz; expected the same ids")
    return out


def _read_bvh_options(path: Path) -> dict:
    """Optional ``bvh.json``: ``scale`` (file unit -> metres, default 1.0) and ``up`` (y|z, default y)."""
    if not path.exists():
        return {"scale": 1.0, "up": "y"}
    raw = load_json(path, "bvh.json: an object with scale and up")
    unknown = sorted(set(raw) - {"scale", "up"})
    if unknown:
        raise DataError(f"{path}: unknown key {unknown[0]!r}; expected keys scale, up")
    scale = _positive_number(raw.get("scale", 1.0), path, "scale", "a positive factor from the file unit to metres (0.01 for cm)")
    up = raw.get("up", "y")
    if up not in UP_AXES:
        raise DataError(f"{path}: up {up!r}; expected one of {', '.join(map(repr, UP_AXES))}")
    return {"scale": scale, "up": up}


def _load_bvh_layout(files: list[Path], scale: float):
    """Positions, joint names, parents, fps, local rotations and offsets (per id) and whether joints translate."""
    motions: dict[str, np.ndarray] = {}
    rotations: dict[str, np.ndarray] = {}
    offsets: dict[str, np.ndarray] = {}
    moving = False
    first = None
    for f in files:
        clip = read_bvh(f)
        sk = clip.skeleton
        if first is None:
            first = (f, clip)
        else:
            f0, c0 = first
            if sk.names != c0.skeleton.names or sk.parents != c0.skeleton.parents:
                raise DataError(f"{f}: hierarchy differs from {f0.name} ({_difference(sk, c0.skeleton)}); "
                                "expected all .bvh files to share one skeleton")
            if not math.isclose(clip.fps, c0.fps, rel_tol=1e-3):
                raise DataError(f"{f}: {clip.fps:.4g} fps (Frame Time {clip.frame_time:g}) but {f0.name} has "
                                f"{c0.fps:.4g} fps; expected one frame rate for all files")
        if f.stem in motions:
            raise DataError(f"{f}: a second file with id {f.stem!r}; expected one file per id")
        motions[f.stem] = check_motion(clip.positions(scale), str(f), sk.num_joints)
        rotations[f.stem] = local_rotations(sk, clip.motion)
        offsets[f.stem] = sk.offsets * scale
        moving = moving or has_joint_translation(sk)
    _, c0 = first
    return motions, list(c0.skeleton.names), list(c0.skeleton.parents), c0.fps, rotations, offsets, moving


def _difference(sk: BvhSkeleton, ref: BvhSkeleton) -> str:
    """Where two hierarchies first differ, for the error message."""
    if sk.num_joints != ref.num_joints:
        return f"{sk.num_joints} joints vs {ref.num_joints}"

    def label(s: BvhSkeleton, j: int) -> str:
        parent = s.names[s.parents[j]] if s.parents[j] >= 0 else "none"
        return f"{s.names[j]!r} (parent {parent!r})"

    j = next(j for j in range(sk.num_joints) if (sk.names[j], sk.parents[j]) != (ref.names[j], ref.parents[j]))
    return f"joint {j} is {label(sk, j)} vs {label(ref, j)}"


def _match_ids(ids: list[str], sources: dict[str, Path], labels_csv: Path) -> None:
    """Every labels.csv row needs a motion and every motion a row; ``sources`` maps id -> its file."""
    missing = [i for i in ids if i not in sources]
    if missing:
        more = f" ({len(missing)} such ids)" if len(missing) > 1 else ""
        raise DataError(f"{labels_csv}: id {missing[0]!r} has no motion{more}; expected a motion "
                        f"(motions.npz entry or <id>.bvh) for every row")
    known = set(ids)
    extra = [k for k in sources if k not in known]
    if extra:
        more = f" ({len(extra)} such motions)" if len(extra) > 1 else ""
        raise DataError(f"{sources[extra[0]]}: motion {extra[0]!r} has no row in {labels_csv.name}{more}; "
                        "expected a label for every motion")


def _positive_number(value: Any, path: Path, key: str, expected: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise DataError(f"{path}: {key} {value!r}; expected {expected}")
    return float(value)
