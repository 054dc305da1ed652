import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motioninr.data.bvh import parse_bvh
from motioninr.data.loaders import SourceSettings, load_raw
from motioninr.data.loaders.generic import load
from motioninr.errors import DataError
from motioninr.skeleton import bone_lengths

ROOT = Path(__file__).resolve().parents[1]
JOINTS = ["pelvis", "spine", "neck", "head", "hand"]
PARENTS = [-1, 0, 1, 2, 1]

# A 5-joint chain in centimetres: name, OFFSET from the parent.
CHAIN = [("Hips", (0, 0, 0)), ("Spine", (0, 10, 0)), ("Chest", (4, 0, 0)), ("Neck", (0, 0, 6)), ("Head", (0, 3, 0))]
ROT = "Zrotation Xrotation Yrotation"


# ---------------------------------------------------------------- fixtures in the real layouts


def write_labels(folder: Path, rows: list[tuple], header: str = "id,action") -> None:
    (folder / "labels.csv").write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


def write_npz_layout(folder: Path, *, split: bool = False, up: str | None = None, seed: int = 0) -> dict:
    """Six motions of 5 joints, two actions; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    motions = {f"take_{k:02d}": rng.normal(size=(8 + 3 * k, 5, 3)).astype(np.float32) for k in range(6)}
    np.savez(folder / "motions.npz", **motions)
    actions = ["walk", "jump", "walk", "wave", "jump", "walk"]
    rows = [(i, a) + (("test" if k % 3 == 0 else "train"),) * split for k, (i, a) in enumerate(zip(motions, actions))]
    write_labels(folder, rows, "id,action,split" if split else "id,action")
    skel = {"joints": JOINTS, "parents": PARENTS, "fps": 30}
    if up:
        skel["up"] = up
    (folder / "skeleton.json").write_text(json.dumps(skel))
    return motions


def chain_bvh(motion: np.ndarray, frame_time: float | str = "0.0333333", rot: str = ROT, chain=CHAIN) -> str:
    """BVH text for a chain; ``motion`` is ``(frames, 6 + 3 * (joints - 1))``."""
    lines = ["HIERARCHY"]
    for depth, (name, off) in enumerate(chain):
        pad = "  " * depth
        lines += [f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}", f"{pad}{{", f"{pad}  OFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}"]
        chans = f"6 Xposition Yposition Zposition {rot}" if depth == 0 else f"3 {rot}"
        lines.append(f"{pad}  CHANNELS {chans}")
    pad = "  " * len(chain)
    lines += [f"{pad}End Site", f"{pad}{{", f"{pad}  OFFSET 0.000000 2.000000 0.000000", f"{pad}}}"]
    lines += ["  " * d + "}" for d in reversed(range(len(chain)))]
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {frame_time}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion]
    return "\n".join(lines) + "\n"


def write_bvh_layout(folder: Path, *, scale: float | None = 0.01, seed: int = 0) -> dict:
    """Four BVH takes of the chain with random angles; returns the channel arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    motions = {}
    for k, action in enumerate(["kick", "bow", "kick", "bow"]):
        m = rng.uniform(-60, 60, size=(5 + k, 18))
        m[:, :3] = rng.normal(scale=50, size=(5 + k, 3))
        motions[f"clip{k}"] = m
        (folder / f"clip{k}.bvh").write_text(chain_bvh(m))
    write_labels(folder, [(f"clip{k}", a) for k, a in enumerate(["kick", "bow", "kick", "bow"])])
    if scale is not None:
        (folder / "bvh.json").write_text(json.dumps({"scale": scale}))
    return motions


def reference_chain_positions(motion: np.ndarray, order: str = "ZXY", chain=CHAIN) -> np.ndarray:
    """Independent per-frame forward kinematics with scipy (intrinsic Euler = channel order)."""
    out = np.zeros((len(motion), len(chain), 3))
    for f, row in enumerate(motion):
        pos, rot = row[:3] + np.asarray(chain[0][1], float), np.eye(3)
        for j, (_, off) in enumerate(chain):
            angles = row[3 + 3 * j: 6 + 3 * j]
            if j > 0:
                pos = pos + rot @ np.asarray(off, float)
            rot = rot @ Rotation.from_euler(order, angles, degrees=True).as_matrix()
            out[f, j] = pos
    return out


def one_line_error(match: str, fn, *args) -> str:
    with pytest.raises(DataError, match=match) as info:
        fn(*args)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


# ---------------------------------------------------------------- npz layout


def test_npz_layout_round_trip(tmp_path):
    motions = write_npz_layout(tmp_path / "raw")
    raw = load(tmp_path / "raw", SourceSettings(source="generic"))
    assert raw.ids == list(motions)
    for seq, key in zip(raw.sequences, raw.ids):
        assert seq.dtype == np.float32 and np.array_equal(seq, motions[key])
    assert raw.class_names == ["jump", "walk", "wave"]
    assert [raw.class_names[c] for c in raw.labels] == ["walk", "jump", "walk", "wave", "jump", "walk"]
    assert raw.joint_names == JOINTS and raw.parents == PARENTS
    assert raw.fps == 30.0 and raw.up == "y" and raw.source == "generic"
    assert raw.split is None and raw.split_rule == "none"


def test_npz_split_column_and_load_raw(tmp_path):
    write_npz_layout(tmp_path / "raw", split=True)
    raw = load_raw(SourceSettings(source="generic", path=str(tmp_path / "raw")))
    assert raw.split == ["test", "train", "train", "test", "train", "train"]
    assert raw.split_rule == "labels.csv split column"


def test_z_up_is_rotated_to_y_up(tmp_path):
    motions = write_npz_layout(tmp_path / "raw", up="z")
    raw = load(tmp_path / "raw", SourceSettings())
    m = motions[raw.ids[0]]
    assert raw.up == "y" and raw.notes["up_in_files"] == "z"
    assert np.allclose(raw.sequences[0], np.stack([m[..., 0], m[..., 2], -m[..., 1]], -1))
    # a rotation: bone lengths unchanged
    assert np.allclose(bone_lengths(raw.sequences[0], PARENTS), bone_lengths(m, PARENTS), atol=1e-6)


def test_labels_csv_extra_columns_spaces_and_case(tmp_path):
    write_npz_layout(tmp_path / "raw")
    (tmp_path / "raw" / "labels.csv").write_text(
        "subject, id ,action,split\n" + "".join(
            f"s1, take_{k:02d} , {a} ,{s}\n" for k, (a, s) in enumerate(zip("abcabc", ["Train", "TEST"] * 3))))
    raw = load(tmp_path / "raw", SourceSettings())
    assert raw.class_names == ["a", "b", "c"] and raw.labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert raw.split == ["train", "test"] * 3


# ---------------------------------------------------------------- BVH parsing and forward kinematics


def test_bvh_forward_kinematics_hand_computed():
    motion = np.zeros((3, 18))
    motion[:, :3] = [100, 50, -20]          # root position (cm)
    motion[1, 6] = 90                        # frame 1: Spine Zrotation 90
    motion[2, 6:8] = 90                      # frame 2: Spine Zrotation 90 then Xrotation 90
    pos = parse_bvh(chain_bvh(motion)).positions(scale=0.01)
    hips, spine = np.array([1.0, 0.5, -0.2]), np.array([1.0, 0.6, -0.2])
    # rest pose: offsets add up
    assert np.allclose(pos[0], [hips, spine, spine + [0.04, 0, 0], spine + [0.04, 0, 0.06], spine + [0.04, 0.03, 0.06]])
    # Rz(90) turns the Chest offset (4, 0, 0) into (0, 4, 0), Neck (0, 0, 6) stays, Head (0, 3, 0) -> (-3, 0, 0)
    assert np.allclose(pos[1], [hips, spine, spine + [0, 0.04, 0], spine + [0, 0.04, 0.06], spine + [-0.03, 0.04, 0.06]])
    # Rz(90) @ Rx(90): Chest (0, 4, 0) (the reverse order would give (0, 0, 4)), Neck (0, 0, 6) -> (6, 0, 0)
    chest = spine + [0, 0.04, 0]
    neck = chest + [0.06, 0, 0]
    assert np.allclose(pos[2], [hips, spine, chest, neck, neck + [0, 0, 0.03]])


@pytest.mark.parametrize("rot, order", [(ROT, "ZXY"), ("Xrotation Yrotation Zrotation", "XYZ"), ("Yrotation Zrotation Xrotation", "YZX")])
def test_bvh_forward_kinematics_matches_reference_and_keeps_bone_lengths(rot, order):
    rng = np.random.default_rng(1)
    motion = rng.uniform(-180, 180, size=(12, 18))
    motion[:, :3] = rng.normal(scale=30, size=(12, 3))
    clip = parse_bvh(chain_bvh(motion, rot=rot))
    pos = clip.positions()
    assert pos.shape == (12, 5, 3)
    assert np.allclose(pos, reference_chain_positions(motion, order), atol=1e-4)  # text keeps 6 decimals
    lengths = bone_lengths(pos, [-1, 0, 1, 2, 3])
    assert np.allclose(lengths, [10, 4, 6, 3], atol=1e-6)


def test_bvh_skeleton_and_fps():
    clip = parse_bvh(chain_bvh(np.zeros((2, 18)), frame_time="0.0333333"))
    assert clip.skeleton.names == ("Hips", "Spine", "Chest", "Neck", "Head")  # End Site is not a joint
    assert clip.skeleton.parents == (-1, 0, 1, 2, 3)
    assert clip.skeleton.num_channels == 18 and clip.num_frames == 2
    assert clip.fps == 30.0
    assert parse_bvh(chain_bvh(np.zeros((2, 18)), frame_time="0.008")).fps == 125.0
    assert parse_bvh(chain_bvh(np.zeros((2, 18)), frame_time="0.0123")).fps == pytest.approx(1 / 0.0123)


def test_bvh_layout_loads_ids_labels_and_metres(tmp_path):
    motions = write_bvh_layout(tmp_path / "raw")
    raw = load(tmp_path / "raw", SourceSettings())
    assert raw.ids == ["clip0", "clip1", "clip2", "clip3"]
    assert raw.class_names == ["bow", "kick"] and raw.labels.tolist() == [1, 0, 1, 0]
    assert raw.joint_names == ["Hips", "Spine", "Chest", "Neck", "Head"] and raw.parents == [-1, 0, 1, 2, 3]
    assert raw.fps == 30.0 and raw.notes["bvh_scale"] == 0.01
    for seq, key in zip(raw.sequences, raw.ids):
        assert seq.dtype == np.float32 and seq.shape == (len(motions[key]), 5, 3)
        assert np.allclose(seq, 0.01 * reference_chain_positions(motions[key]), atol=1e-5)
        assert np.allclose(bone_lengths(seq, raw.parents), [0.10, 0.04, 0.06, 0.03], atol=1e-6)


def test_bvh_layout_without_bvh_json_keeps_file_unit_and_z_up(tmp_path):
    write_bvh_layout(tmp_path / "a", scale=None)
    raw = load(tmp_path / "a", SourceSettings())
    assert np.allclose(bone_lengths(raw.sequences[0], raw.parents), [10, 4, 6, 3], atol=1e-4)
    write_bvh_layout(tmp_path / "b", scale=None)
    (tmp_path / "b" / "bvh.json").write_text('{"up": "z"}')
    rot = load(tmp_path / "b", SourceSettings())
    s = raw.sequences[0]
    assert rot.notes["up_in_files"] == "z"
    assert np.allclose(rot.sequences[0], np.stack([s[..., 0], s[..., 2], -s[..., 1]], -1))


# ---------------------------------------------------------------- bad inputs


def _rewrite_npz(folder: Path, **changes) -> None:
    with np.load(folder / "motions.npz") as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(folder / "motions.npz", **arrays)


def _edit_json(folder: Path, **changes) -> None:
    skel = json.loads((folder / "skeleton.json").read_text())
    skel.update(changes)
    (folder / "skeleton.json").write_text(json.dumps(skel))


def _corrupt_member(path: Path) -> None:
    """Keep the zip directory intact but damage the first array's .npy header."""
    data = bytearray(path.read_bytes())
    at = data.index(b"\x93NUMPY")
    data[at: at + 6] = b"GARBAG"
    path.write_bytes(bytes(data))


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


NPZ_CASES = {
    "truncated npz": (lambda d: _truncate(d / "motions.npz"), r"motions\.npz: not an \.npz archive \(truncated or another format\)"),
    "npz is text": (lambda d: (d / "motions.npz").write_text("frames"), r"motions\.npz: not an \.npz archive"),
    "npz member corrupt": (lambda d: _corrupt_member(d / "motions.npz"), r"motions\.npz: unreadable \.npz"),
    "csv not utf-8": (lambda d: (d / "labels.csv").write_bytes(b"id,action\n\xff\xfe\x00bad\n"), r"labels\.csv: unreadable CSV"),
    "csv missing column": (lambda d: write_labels(d, [("take_00", "walk")], "id,label"), r"labels\.csv: header .* lacks column 'action'"),
    "csv empty": (lambda d: (d / "labels.csv").write_text(""), r"labels\.csv: header .* lacks column 'id'"),
    "csv no rows": (lambda d: (d / "labels.csv").write_text("id,action\n"), r"labels\.csv: no rows"),
    "empty action": (lambda d: write_labels(d, [(f"take_{k:02d}", "walk" if k else " ") for k in range(6)]),
                     r"labels\.csv: line 2: empty action label for id 'take_00'"),
    "missing action field": (lambda d: (d / "labels.csv").write_text("id,action\ntake_00\n"), r"labels\.csv: line 2: empty action label"),
    "too many fields": (lambda d: (d / "labels.csv").write_text("id,action\ntake_00,walk,extra\n"), r"labels\.csv: line 2 has more fields"),
    "bad split": (lambda d: write_labels(d, [(f"take_{k:02d}", "walk", "val") for k in range(6)], "id,action,split"),
                  r"labels\.csv: line 2: split 'val' for id 'take_00'; expected train or test"),
    "duplicate id": (lambda d: write_labels(d, [("take_00", "walk")] * 2), r"labels\.csv: id 'take_00' appears more than once"),
    "id without motion": (lambda d: _rewrite_npz(d, take_03=None), r"labels\.csv: id 'take_03' has no motion"),
    "motion without row": (lambda d: _rewrite_npz(d, extra=np.zeros((4, 5, 3))), r"motions\.npz: motion 'extra' has no row in labels\.csv"),
    "wrong rank": (lambda d: _rewrite_npz(d, take_02=np.zeros((4, 15))), r"motions\.npz\['take_02'\]: array of shape \(4, 15\); expected \(frames, joints, 3\)"),
    "2-d positions": (lambda d: _rewrite_npz(d, take_02=np.zeros((4, 5, 2))), r"motions\.npz\['take_02'\]: array of shape \(4, 5, 2\)"),
    "joint count vs skeleton": (lambda d: _rewrite_npz(d, **{f"take_{k:02d}": np.zeros((4, 6, 3)) for k in range(6)}),
                                r"motions\.npz: motions have 6 joints but skeleton\.json lists 5"),
    "inconsistent joints": (lambda d: _rewrite_npz(d, take_04=np.zeros((4, 6, 3))), r"motions\.npz: sample 'take_04' has 6 joints but 'take_00' has 5"),
    "nan": (lambda d: _rewrite_npz(d, take_01=np.full((4, 5, 3), np.nan)), r"motions\.npz\['take_01'\]: contains NaN or Inf"),
    "inf": (lambda d: _rewrite_npz(d, take_01=np.full((4, 5, 3), np.inf)), r"motions\.npz\['take_01'\]: contains NaN or Inf"),
    "implausible value": (lambda d: _rewrite_npz(d, take_02=np.where(np.arange(4)[:, None, None] == 3, 1e30, 0.1) * np.ones((4, 5, 3))),
                          r"motions\.npz\['take_02'\]: frame 3: coordinate 1e\+30; expected positions within 1000 m of the origin"),
    "parent out of range": (lambda d: _edit_json(d, parents=[-1, 0, 7, 1, 1]), r"skeleton\.json: parents .*: joint 2 has parent 7; expected a joint index in \[0, 2\)"),
    "zero length": (lambda d: _rewrite_npz(d, take_05=np.zeros((0, 5, 3))), r"motions\.npz\['take_05'\]: zero-length sequence"),
    "object array": (lambda d: _rewrite_npz(d, take_05=np.array([None, 1], dtype=object)), r"motions\.npz: unreadable \.npz"),
    "json truncated": (lambda d: _truncate(d / "skeleton.json"), r"skeleton\.json: not readable JSON"),
    "json not object": (lambda d: (d / "skeleton.json").write_text("[1, 2]"), r"skeleton\.json: holds a JSON list; expected skeleton\.json: an object"),
    "json unknown key": (lambda d: _edit_json(d, parent=[0]), r"skeleton\.json: unknown key 'parent'"),
    "json missing fps": (lambda d: (d / "skeleton.json").write_text(json.dumps({"joints": JOINTS, "parents": PARENTS})), r"skeleton\.json: missing key 'fps'"),
    "parents not a tree": (lambda d: _edit_json(d, parents=[-1, 0, 3, 1, 1]), r"skeleton\.json: parents \[-1, 0, 3, 1, 1\]: joint 2 has parent 3, which is not listed before it; expected parents before their children"),
    "root not first": (lambda d: _edit_json(d, parents=[0, -1, 1, 2, 1]), r"skeleton\.json: parents .*: the first joint must be the root"),
    "parents length": (lambda d: _edit_json(d, parents=[-1, 0, 1]), r"skeleton\.json: 3 parents for 5 joints"),
    "parents not ints": (lambda d: _edit_json(d, parents=[-1, 0, 1, 2, "1"]), r"skeleton\.json: parents .*expected a list of joint indices"),
    "duplicate joint names": (lambda d: _edit_json(d, joints=["a", "b", "a", "c", "d"]), r"skeleton\.json: joints has duplicate names"),
    "fps zero": (lambda d: _edit_json(d, fps=0), r"skeleton\.json: fps 0; expected a positive frame rate"),
    "fps negative": (lambda d: _edit_json(d, fps=-25.0), r"skeleton\.json: fps -25\.0; expected a positive frame rate"),
    "fps string": (lambda d: _edit_json(d, fps="30"), r"skeleton\.json: fps '30'; expected a positive frame rate"),
    "bad up": (lambda d: _edit_json(d, up="x"), r"skeleton\.json: up 'x'; expected one of 'y', 'z'"),
    "no skeleton.json": (lambda d: (d / "skeleton.json").unlink(), r"skeleton\.json: not found; expected skeleton\.json with joints, parents, fps"),
    "no labels.csv": (lambda d: (d / "labels.csv").unlink(), r"labels\.csv: not found; expected labels\.csv with columns id,action"),
    "both layouts": (lambda d: (d / "x.bvh").write_text("HIERARCHY\n"), r"raw: holds both motions\.npz and \.bvh files; expected one layout"),
}


@pytest.mark.parametrize("case", list(NPZ_CASES))
def test_npz_layout_bad_inputs(tmp_path, case):
    folder = tmp_path / "raw"
    write_npz_layout(folder)
    mutate, match = NPZ_CASES[case]
    mutate(folder)
    one_line_error(match, load, folder, SourceSettings())


def test_missing_or_empty_folder(tmp_path):
    one_line_error(r"nope: not found; expected a folder with motions\.npz \+ labels\.csv \+ skeleton\.json, or \.bvh files",
                   load, tmp_path / "nope", SourceSettings())
    (tmp_path / "empty").mkdir()
    one_line_error(r"empty: no motions\.npz nor \.bvh files", load, tmp_path / "empty", SourceSettings())
    (tmp_path / "file").write_text("x")
    one_line_error(r"file: not a folder", load, tmp_path / "file", SourceSettings())


def _bvh_text(folder: Path, name: str = "clip1.bvh") -> str:
    return (folder / name).read_text()


def _replace_in(folder: Path, old: str, new: str, name: str = "clip1.bvh") -> None:
    text = _bvh_text(folder, name)
    assert old in text
    (folder / name).write_text(text.replace(old, new, 1))


def _drop_last_row(folder: Path) -> None:
    lines = _bvh_text(folder).splitlines()
    (folder / "clip1.bvh").write_text("\n".join(lines[:-1]) + "\n")


def _short_row(folder: Path) -> None:
    lines = _bvh_text(folder).splitlines()
    lines[-2] = " ".join(lines[-2].split()[:-1])
    (folder / "clip1.bvh").write_text("\n".join(lines) + "\n")


def _set_first_value(folder: Path, token: str) -> None:
    lines = _bvh_text(folder).splitlines()
    lines[-1] = " ".join([token] + lines[-1].split()[1:])
    (folder / "clip1.bvh").write_text("\n".join(lines) + "\n")


def _other_hierarchy(folder: Path) -> None:
    chain = CHAIN[:3] + [("LeftArm", (0, 0, 6)), ("Head", (0, 3, 0))]
    (folder / "clip2.bvh").write_text(chain_bvh(np.zeros((3, 18)), chain=chain))


def _fewer_joints(folder: Path) -> None:
    (folder / "clip2.bvh").write_text(chain_bvh(np.zeros((3, 15)), chain=CHAIN[:4]))


BVH_CASES = {
    "truncated motion": (_drop_last_row, r"clip1\.bvh: declares Frames: 6 but has 5 motion rows \(truncated\?\)"),
    "truncated hierarchy": (lambda d: _truncate(d / "clip1.bvh", 0.2), r"clip1\.bvh: no MOTION section"),
    "row with fewer values": (_short_row, r"clip1\.bvh: line \d+: 17 values; expected 18 \(the channel count of the HIERARCHY\)"),
    "channel count declared wrong": (lambda d: _replace_in(d, f"CHANNELS 3 {ROT}", "CHANNELS 3 Zrotation Xrotation"),
                                     r"clip1\.bvh: line \d+: CHANNELS '3 Zrotation Xrotation'; expected a count followed by that many"),
    "hierarchy with fewer channels than rows": (lambda d: _replace_in(d, f"CHANNELS 3 {ROT}", "CHANNELS 2 Zrotation Xrotation"),
                                                r"clip1\.bvh: line \d+: 18 values; expected 17"),
    "unknown channel": (lambda d: _replace_in(d, f"CHANNELS 3 {ROT}", "CHANNELS 3 Zrotation Xrotation Wrotation"),
                        r"clip1\.bvh: line \d+: channels .*expected distinct names"),
    "frame time zero": (lambda d: _replace_in(d, "Frame Time: 0.0333333", "Frame Time: 0"), r"clip1\.bvh: Frame Time 0; expected a positive number"),
    "frame time negative": (lambda d: _replace_in(d, "Frame Time: 0.0333333", "Frame Time: -0.01"), r"clip1\.bvh: Frame Time -0\.01; expected a positive"),
    "zero frames": (lambda d: (d / "clip1.bvh").write_text(_bvh_text(d).split("Frames:")[0] + "Frames: 0\nFrame Time: 0.0333333\n"),
                    r"clip1\.bvh: Frames: 0; expected at least one frame \(zero-length sequence\)"),
    "not a number": (lambda d: _set_first_value(d, "abc"), r"clip1\.bvh: motion value 'abc' is not a number"),
    "nan value": (lambda d: _set_first_value(d, "nan"), r"clip1\.bvh: contains NaN or Inf"),
    "missing header": (lambda d: _replace_in(d, "HIERARCHY", "HIERARCHIES"), r"clip1\.bvh: line 1: got 'HIERARCHIES'; expected the BVH header"),
    "hierarchy differs": (_other_hierarchy, r"clip2\.bvh: hierarchy differs from clip0\.bvh \(joint 3 is 'LeftArm' \(parent 'Chest'\) vs 'Neck' \(parent 'Chest'\)\)"),
    "joint count differs": (_fewer_joints, r"clip2\.bvh: hierarchy differs from clip0\.bvh \(4 joints vs 5\)"),
    "fps differs": (lambda d: _replace_in(d, "Frame Time: 0.0333333", "Frame Time: 0.01", "clip3.bvh"),
                    r"clip3\.bvh: 100 fps \(Frame Time 0\.01\) but clip0\.bvh has 30 fps"),
    "bvh without row": (lambda d: (d / "clip9.bvh").write_text(_bvh_text(d)), r"clip9\.bvh: motion 'clip9' has no row in labels\.csv"),
    "row without bvh": (lambda d: (d / "clip2.bvh").unlink(), r"labels\.csv: id 'clip2' has no motion"),
    "bvh.json bad scale": (lambda d: (d / "bvh.json").write_text('{"scale": -1}'), r"bvh\.json: scale -1; expected a positive factor"),
    "bvh.json unknown key": (lambda d: (d / "bvh.json").write_text('{"units": "cm"}'), r"bvh\.json: unknown key 'units'"),
    "bvh.json truncated": (lambda d: (d / "bvh.json").write_text('{"scale": 0.'), r"bvh\.json: not readable JSON"),
}


@pytest.mark.parametrize("case", list(BVH_CASES))
def test_bvh_layout_bad_inputs(tmp_path, case):
    folder = tmp_path / "raw"
    write_bvh_layout(folder)
    mutate, match = BVH_CASES[case]
    mutate(folder)
    one_line_error(match, load, folder, SourceSettings())


# ---------------------------------------------------------------- the prepare stage on a generic dataset


def _run_prepare(tmp_path: Path, raw: Path) -> subprocess.CompletedProcess:
    (tmp_path / "params.yaml").write_text(f"data:\n  source: generic\n  path: {raw}\n  test_fraction: 0.0\n")
    return subprocess.run(
        [sys.executable, "-m", "stages.prepare", "--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "processed")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_prepare_stage_on_generic_dataset(tmp_path):
    write_npz_layout(tmp_path / "raw", split=True)
    good = _run_prepare(tmp_path, tmp_path / "raw")
    assert good.returncode == 0, good.stderr
    meta = json.loads((tmp_path / "processed" / "meta.json").read_text())
    assert meta["source"] == "generic" and meta["class_names"] == ["jump", "walk", "wave"]
    assert meta["split_rule"] == "labels.csv split column" and meta["splits"]["test"]["sequences"] == 2
    assert meta["joint_names"] == JOINTS and meta["fps"] == 30.0

    _rewrite_npz(tmp_path / "raw", take_01=np.full((4, 5, 3), np.nan))
    (tmp_path / "bad").mkdir()
    bad = subprocess.run(
        [sys.executable, "-m", "stages.prepare", "--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "bad" / "processed")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode != 0
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "motions.npz['take_01']" in lines[0], bad.stderr
    assert list((tmp_path / "bad").iterdir()) == []  # nothing written, no temporary folder left
