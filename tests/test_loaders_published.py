"""Loaders of the published datasets, on tiny fixtures written in the releases' real layouts."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from motioninr.data.loaders import SourceSettings, humanact12, humanact12poses, load_raw, ntu13, uestc
from motioninr.errors import DataError
from motioninr.skeleton import SMPL_PARENTS, VIBE18_JOINTS, VIBE18_PARENTS, VIBE18_SELECTION

ROOT = Path(__file__).resolve().parents[1]


def motion(frames: int, joints: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(frames, joints, 3)).astype(np.float32)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# --- HumanAct12 (Action2Motion folder of .npy clips) -----------------------------------------

HA12_CLIPS = {  # file stem -> frames
    "P02G01R01F0001T0040A0201": 40,
    "P01G01R01F0069T0143A0102": 75,
    "P05G02R01F1886T1941A0901": 56,  # the known bad clip
    "P03G02R02F0100T0130A1202": 31,
    "P01G01R02F0200T0259A0101": 60,
}


@pytest.fixture
def ha12(tmp_path) -> Path:
    folder = tmp_path / "HumanAct12"
    folder.mkdir()
    for k, (stem, frames) in enumerate(HA12_CLIPS.items()):
        np.save(folder / f"{stem}.npy", motion(frames, 24, k).astype(np.float64))
    (folder / ".DS_Store").write_bytes(b"\0")  # hidden files are ignored
    return folder


def test_humanact12_coarse(ha12):
    raw = humanact12.load(ha12, SourceSettings(source="humanact12", labels="coarse"))
    assert raw.ids == ["P01G01R01F0069T0143A0102", "P01G01R02F0200T0259A0101",
                       "P02G01R01F0001T0040A0201", "P03G02R02F0100T0130A1202"]  # sorted, bad clip dropped
    assert raw.labels.tolist() == [0, 0, 1, 11]
    assert [len(s) for s in raw.sequences] == [75, 60, 40, 31]
    assert all(s.dtype == np.float32 and s.shape[1:] == (24, 3) for s in raw.sequences)
    assert np.allclose(raw.sequences[0], np.load(ha12 / "P01G01R01F0069T0143A0102.npy"))
    assert len(raw.class_names) == 12 and raw.class_names[0] == "warm_up" and raw.class_names[11] == "throw"
    assert raw.class_names[8] == "turn_steering_wheel"
    assert raw.fps == 20.0 and raw.up == "y" and raw.split is None and raw.parents == list(SMPL_PARENTS)
    assert raw.notes["dropped_bad_clips"] == ["P05G02R01F1886T1941A0901"]


def test_humanact12_fine(ha12):
    raw = humanact12.load(ha12, SourceSettings(source="humanact12", labels="fine"))
    assert len(raw.class_names) == 34
    codes = humanact12.FINE_CODES
    assert [codes[label] for label in raw.labels] == [102, 101, 201, 1202]
    assert raw.class_names[raw.labels[3]] == "throw_both_hands"
    # the fine list is in code order, so sorted distinct codes (Action2Motion's encoding) give the same indices
    assert list(codes) == sorted(codes) and codes[0] == 101 and codes[-1] == 1202


@pytest.mark.parametrize("case, message", [
    ("missing", "not found"),
    ("empty", "empty folder"),
    ("bad_name", "does not match P{subject:02}G"),
    ("truncated", "unreadable .npy"),
    ("object_array", "unreadable .npy"),
    ("rank", "shape (40, 72)"),
    ("joints", "22 joints; expected 24"),
    ("nan", "NaN or Inf"),
    ("zero_length", "zero-length"),
    ("unknown_coarse", "unknown action code A1301"),
])
def test_humanact12_bad_inputs(ha12, tmp_path, case, message):
    target = ha12 / "P02G01R01F0001T0040A0201.npy"
    path = ha12
    if case == "missing":
        path = tmp_path / "nowhere"
    elif case == "empty":
        path = tmp_path / "empty"
        path.mkdir()
    elif case == "bad_name":
        target = ha12 / "clip_01.npy"
        np.save(target, motion(10, 24))
    elif case == "truncated":
        truncate(target)
    elif case == "object_array":
        np.save(target, np.array([motion(3, 24)], dtype=object), allow_pickle=True)
    elif case == "rank":
        np.save(target, motion(40, 24).reshape(40, 72))
    elif case == "joints":  # inconsistent with the other clips
        np.save(target, motion(40, 22))
    elif case == "nan":
        bad = motion(40, 24)
        bad[5, 3, 1] = np.nan
        np.save(target, bad)
    elif case == "zero_length":
        np.save(target, np.zeros((0, 24, 3), np.float32))
    elif case == "unknown_coarse":
        target = ha12 / "P02G01R01F0001T0040A1301.npy"
        np.save(target, motion(10, 24))
    with pytest.raises(DataError) as err:
        humanact12.load(path, SourceSettings(source="humanact12"))
    text = str(err.value)
    assert message in text and "\n" not in text
    assert (path.name if case in ("missing", "empty") else target.name) in text


def test_humanact12_unknown_fine_code(ha12):
    np.save(ha12 / "P01G01R01F0001T0009A0108.npy", motion(9, 24))
    humanact12.load(ha12, SourceSettings(source="humanact12", labels="coarse"))  # 01 is a valid coarse action
    with pytest.raises(DataError, match=r"P01G01R01F0001T0009A0108.npy: unknown action code A0108 for fine"):
        humanact12.load(ha12, SourceSettings(source="humanact12", labels="fine"))


# --- HumanAct12Poses (ACTOR's pickle) ---------------------------------------------------------

def write_ha12poses(file: Path, lengths=(30, 45, 12), ys=(3, 0, 11), **override) -> dict:
    data = {
        "poses": [np.zeros((t, 72)) for t in lengths],
        "joints3D": [motion(t, 24, k).astype(np.float64) for k, t in enumerate(lengths)],
        "y": list(ys),
    }
    data.update(override)
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file, "wb") as fh:
        pickle.dump(data, fh)
    return data


def test_humanact12poses_file_and_folder(tmp_path):
    file = tmp_path / "HumanAct12Poses" / "humanact12poses.pkl"
    data = write_ha12poses(file)
    for path in (file, file.parent):
        raw = humanact12poses.load(path, SourceSettings(source="humanact12poses"))
        assert raw.ids == ["humanact12poses_0000", "humanact12poses_0001", "humanact12poses_0002"]
        assert raw.labels.tolist() == [3, 0, 11] and len(raw.class_names) == 12
        assert [s.shape for s in raw.sequences] == [(30, 24, 3), (45, 24, 3), (12, 24, 3)]
        assert np.allclose(raw.sequences[1], data["joints3D"][1]) and raw.sequences[1].dtype == np.float32
        assert raw.split is None and raw.fps == 20.0 and raw.up == "y"


def test_humanact12poses_reads_joblib_dump(tmp_path):
    file = tmp_path / "humanact12poses.pkl"
    joblib.dump({"joints3D": [motion(5, 24)], "y": [np.int64(4)], "poses": [np.zeros((5, 72))]}, file)
    raw = humanact12poses.load(file, SourceSettings(source="humanact12poses"))
    assert raw.labels.tolist() == [4]


@pytest.mark.parametrize("case, message", [
    ("missing", "humanact12poses.pkl: not found"),
    ("truncated", "unreadable pickle"),
    ("not_dict", "holds a list"),
    ("no_joints", "no 'joints3D' entry"),
    ("y_length", "y: 2 entries; expected 3"),
    ("label", "y[1] is 12; expected an integer label in 0..11"),
    ("joints", "joints3D[2]: 25 joints; expected 24"),
    ("rank", "joints3D[0]: array of shape (30, 72)"),
    ("nan", "joints3D[0]: contains NaN"),
    ("zero_length", "joints3D[1]: zero-length"),
])
def test_humanact12poses_bad_inputs(tmp_path, case, message):
    file = tmp_path / "humanact12poses.pkl"
    if case == "truncated":
        write_ha12poses(file)
        truncate(file)
    elif case == "not_dict":
        with open(file, "wb") as fh:
            pickle.dump([1, 2], fh)
    elif case == "no_joints":
        with open(file, "wb") as fh:
            pickle.dump({"poses": [], "y": []}, fh)
    elif case == "y_length":
        write_ha12poses(file, ys=(0, 1))
    elif case == "label":
        write_ha12poses(file, ys=(0, 12, 1))
    elif case == "joints":
        write_ha12poses(file, joints3D=[motion(30, 24), motion(45, 24), motion(12, 25)])
    elif case == "rank":
        write_ha12poses(file, joints3D=[motion(30, 24).reshape(30, 72), motion(45, 24), motion(12, 24)])
    elif case == "nan":
        bad = motion(30, 24)
        bad[0, 0, 0] = np.inf
        write_ha12poses(file, joints3D=[bad, motion(45, 24), motion(12, 24)])
    elif case == "zero_length":
        write_ha12poses(file, joints3D=[motion(30, 24), np.zeros((0, 24, 3)), motion(12, 24)])
    path = tmp_path if case == "missing" else file
    with pytest.raises(DataError) as err:
        humanact12poses.load(path, SourceSettings(source="humanact12poses"))
    assert message in str(err.value) and "humanact12poses.pkl" in str(err.value)


# --- NTU13 (Action2Motion's VIBE pickles + list file) -----------------------------------------

NTU_FILES = {  # list entry -> (frames, tracks present)
    "S001C001P001R001A006.pkl": (20, (1,)),
    "S001C002P003R002A102.pkl": (33, (1, 2)),
    "S002C001P001R001A022.pkl": (25, (2,)),  # no track 1: skipped
    "S003C003P008R002A080.pkl": (18, (1,)),
}


def vibe_track(frames: int, seed: int) -> dict:
    return {"pose": np.zeros((frames, 72), np.float32), "joints3d": motion(frames, 49, seed),
            "frame_ids": np.arange(frames)}


@pytest.fixture
def ntu(tmp_path) -> Path:
    folder = tmp_path / "ntu13"
    (folder / "ntu_vibe").mkdir(parents=True)
    lines = []
    for k, (name, (frames, tracks)) in enumerate(NTU_FILES.items()):
        joblib.dump({t: vibe_track(frames, 10 * k + t) for t in tracks}, folder / "ntu_vibe" / name)
        lines.append(f"ntu_vibe/{name}")
    (folder / "ntu_vibe_list.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_ntu13_loads_track_one_with_selection(ntu):
    raw = ntu13.load(ntu, SourceSettings(source="ntu13"))
    assert raw.ids == ["S001C001P001R001A006", "S001C002P003R002A102", "S003C003P008R002A080"]
    assert raw.labels.tolist() == [0, 12, 8]
    assert len(raw.class_names) == 13 and raw.class_names[8] == "squat_down"
    assert [s.shape for s in raw.sequences] == [(20, 18, 3), (33, 18, 3), (18, 18, 3)]
    track1 = joblib.load(ntu / "ntu_vibe" / "S001C002P003R002A102.pkl")[1]["joints3d"]
    assert np.array_equal(raw.sequences[1], track1[:, list(VIBE18_SELECTION)])  # coordinates untouched
    assert raw.notes["skipped_without_track_1"] == 1
    assert raw.notes["skipped_examples"] == ["ntu_vibe/S002C001P001R001A022.pkl"]
    assert raw.up == "-y" and raw.fps == 30.0 and raw.split is None
    assert raw.joint_names == list(VIBE18_JOINTS) and raw.parents == list(VIBE18_PARENTS)


def test_ntu13_selection_puts_mid_hip_first(ntu):
    raw = ntu13.load(ntu, SourceSettings(source="ntu13"))
    track1 = joblib.load(ntu / "ntu_vibe" / "S001C001P001R001A006.pkl")[1]["joints3d"]
    assert np.array_equal(raw.sequences[0][:, 0], track1[:, 8]) and np.array_equal(raw.sequences[0][:, 8], track1[:, 0])
    assert np.array_equal(raw.sequences[0][:, 17], track1[:, 38])


def test_ntu13_explicit_list_file(ntu):
    (ntu / "other.txt").write_text("ntu_vibe/S003C003P008R002A080.pkl\n")
    with pytest.raises(DataError, match=r"found 2 .txt files \(ntu_vibe_list.txt, other.txt\)"):
        ntu13.load(ntu, SourceSettings(source="ntu13"))
    raw = ntu13.load(ntu, SourceSettings(source="ntu13", list_file="other.txt"))
    assert raw.ids == ["S003C003P008R002A080"] and raw.labels.tolist() == [8]


def _rewrite_first(ntu: Path, tracks: dict) -> Path:
    file = ntu / "ntu_vibe" / "S001C001P001R001A006.pkl"
    joblib.dump(tracks, file)
    return file


@pytest.mark.parametrize("case, message", [
    ("missing_dir", "not found"),
    ("no_list", "found 0 .txt files"),
    ("named_list_missing", "missing.txt: not found"),
    ("empty_list", "empty list"),
    ("missing_pickle", "S009C001P001R001A006.pkl: not found"),
    ("truncated", "unreadable pickle"),
    ("not_dict", "holds a ndarray"),
    ("no_joints3d", "track 1: no 'joints3d' entry"),
    ("joints", "track 1 joints3d: 25 joints; expected 49"),
    ("rank", "track 1 joints3d: array of shape (20, 147)"),
    ("nan", "track 1 joints3d: contains NaN"),
    ("zero_length", "track 1 joints3d: zero-length"),
    ("unknown_action", "action A001 is not an NTU13 action"),
    ("no_action", "no action id A###"),
    ("all_skipped", "none of the 1 listed pickles has track 1"),
])
def test_ntu13_bad_inputs(ntu, tmp_path, case, message):
    settings = SourceSettings(source="ntu13")
    path, name = ntu, "S001C001P001R001A006.pkl"
    if case == "missing_dir":
        path, name = tmp_path / "nowhere", "nowhere"
    elif case == "no_list":
        (ntu / "ntu_vibe_list.txt").unlink()
        name = "ntu13"
    elif case == "named_list_missing":
        settings, name = SourceSettings(source="ntu13", list_file="missing.txt"), "missing.txt"
    elif case == "empty_list":
        (ntu / "ntu_vibe_list.txt").write_text("\n\n")
        name = "ntu_vibe_list.txt"
    elif case == "missing_pickle":
        (ntu / "ntu_vibe_list.txt").write_text("ntu_vibe/S009C001P001R001A006.pkl\n")
        name = "S009C001P001R001A006.pkl"
    elif case == "truncated":
        truncate(ntu / "ntu_vibe" / name)
    elif case == "not_dict":
        _rewrite_first(ntu, motion(20, 49))
    elif case == "no_joints3d":
        _rewrite_first(ntu, {1: {"pose": np.zeros((20, 72))}})
    elif case == "joints":
        _rewrite_first(ntu, {1: {"joints3d": motion(20, 25)}})
    elif case == "rank":
        _rewrite_first(ntu, {1: {"joints3d": motion(20, 49).reshape(20, 147)}})
    elif case == "nan":
        bad = motion(20, 49)
        bad[3, 40, 2] = np.nan
        _rewrite_first(ntu, {1: {"joints3d": bad}})
    elif case == "zero_length":
        _rewrite_first(ntu, {1: {"joints3d": np.zeros((0, 49, 3))}})
    elif case == "unknown_action":
        (ntu / "ntu_vibe_list.txt").write_text("ntu_vibe/S001C001P001R001A001.pkl\n")
        name = "S001C001P001R001A001.pkl"
    elif case == "no_action":
        (ntu / "ntu_vibe_list.txt").write_text("ntu_vibe/clip.pkl\n")
        name = "clip.pkl"
    elif case == "all_skipped":
        (ntu / "ntu_vibe_list.txt").write_text("ntu_vibe/S002C001P001R001A022.pkl\n")
        name = "ntu_vibe_list.txt"
    with pytest.raises(DataError) as err:
        ntu13.load(path, settings)
    text = str(err.value)
    assert message in text and name in text and "\n" not in text


# --- UESTC (ACTOR's preparation) --------------------------------------------------------------

UESTC_VIDEOS = [  # name, joints3d frames, num_frames_min
    ("a0_d1_p001_c1_color.avi", 30, 30),    # front camera, training subject
    ("a1_d2_p001_c2_color.avi", 25, 20),    # moving camera, view 2: rotated by -90 degrees; trimmed
    ("a2_d8_p002_c2_color.avi", 22, 22),    # view 8 of side 2: skipped
    ("a3_d3_p003_c1_color.avi", 16, 40),    # test subject; VIBE gives fewer frames than the count
    ("a39_d4_p118_c2_color.avi", 28, 28),   # last action, last subject, view 4 (180 degrees)
]


def write_uestc(folder: Path, videos=UESTC_VIDEOS, counts=None, joints=None, globtrans=None) -> dict:
    (folder / "info").mkdir(parents=True, exist_ok=True)
    (folder / "info" / "names.txt").write_text("\n".join(v[0] for v in videos) + "\n")
    counts = [v[2] for v in videos] if counts is None else counts
    (folder / "info" / "num_frames_min.txt").write_text("\n".join(map(str, counts)) + "\n")
    joints = [motion(v[1], 49, k) for k, v in enumerate(videos)] if joints is None else joints
    globtrans = ([np.random.default_rng(50 + k).normal(size=(v[1], 3)) for k, v in enumerate(videos)]
                 if globtrans is None else globtrans)
    vibe = {"pose": [np.zeros((v[1], 72), np.float32) for v in videos], "joints3d": joints,
            "orig_cam": [np.ones((v[1], 4)) for v in videos]}
    with open(folder / "vibe_cache_refined.pkl", "wb") as fh:
        pickle.dump(vibe, fh)
    with open(folder / "globtrans_usez.pkl", "wb") as fh:
        pickle.dump(globtrans, fh)
    return {"joints": joints, "globtrans": globtrans}


def test_uestc_split_trim_rotation(tmp_path):
    folder = tmp_path / "uestc"
    data = write_uestc(folder)
    raw = uestc.load(folder, SourceSettings(source="uestc"))
    assert raw.ids == ["a0_d1_p001_c1", "a1_d2_p001_c2", "a3_d3_p003_c1", "a39_d4_p118_c2"]
    assert raw.labels.tolist() == [0, 1, 3, 39] and len(raw.class_names) == 40
    assert raw.split == ["train", "train", "test", "test"] and "cross-subject" in raw.split_rule
    assert [len(s) for s in raw.sequences] == [30, 20, 16, 28]  # min(num_frames_min, VIBE frames)
    assert raw.notes["skipped_side2_view8"] == 1 and raw.up == "-y" and raw.fps == 30.0
    sel = list(VIBE18_SELECTION)

    def unrotated(k, frames):
        return data["joints"][k][:frames, sel] + data["globtrans"][k][:frames, None]

    assert np.allclose(raw.sequences[0], unrotated(0, 30), atol=1e-5)  # side 1: translation only
    # view 2 of side 2: -90 degrees about y, i.e. (x, y, z) -> (-z, y, x)
    p = unrotated(1, 20)
    assert np.allclose(raw.sequences[1], np.stack([-p[..., 2], p[..., 1], p[..., 0]], -1), atol=1e-5)
    # view 4: 180 degrees, (x, y, z) -> (-x, y, -z)
    p = unrotated(4, 28)
    assert np.allclose(raw.sequences[3], np.stack([-p[..., 0], p[..., 1], -p[..., 2]], -1), atol=1e-5)


def test_uestc_train_subjects_and_empty_videos(tmp_path):
    assert len(uestc.TRAIN_SUBJECTS) == 51 and uestc.TRAIN_SUBJECTS[-1] == 113
    folder = tmp_path / "uestc"
    videos = [("a5_d1_p113_c1_color.avi", 10, 10), ("a6_d1_p114_c1_color.avi", 10, 0),
              ("a7_d1_p004_c1_color.avi", 0, 5)]
    write_uestc(folder, videos, joints=[motion(10, 49), motion(10, 49), np.zeros((0, 49, 3))])
    raw = uestc.load(folder, SourceSettings(source="uestc"))
    assert raw.ids == ["a5_d1_p113_c1"] and raw.split == ["train"] and raw.notes["skipped_empty"] == 2


@pytest.mark.parametrize("case, message, name", [
    ("missing", "not found", "nowhere"),
    ("no_names", "not found", "names.txt"),
    ("empty_names", "empty", "names.txt"),
    ("count_mismatch", "4 frame counts; expected 5", "num_frames_min.txt"),
    ("count_text", "count 3 is 'ten'; expected an integer", "num_frames_min.txt"),
    ("bad_name", "does not match a{action}_d{view}", "names.txt: line 2"),
    ("action", "action a40", "names.txt: line 1"),
    ("subject", "subject p119", "names.txt: line 1"),
    ("no_globtrans", "not found", "globtrans_usez.pkl"),
    ("truncated", "unreadable pickle", "vibe_cache_refined.pkl"),
    ("no_joints3d", "no 'joints3d' entry", "vibe_cache_refined.pkl"),
    ("list_length", "joints3d: 4 entries; expected 5", "vibe_cache_refined.pkl"),
    ("joints", "25 joints; expected 49", "joints3d[3] (a3_d3_p003_c1_color.avi)"),
    ("nan", "contains NaN", "joints3d[0]"),
    ("short_globtrans", "array of shape (10, 3); expected (30 or more, 3)", "globtrans_usez.pkl: entry 0"),
])
def test_uestc_bad_inputs(tmp_path, case, message, name):
    folder = tmp_path / "uestc"
    write_uestc(folder)
    path = folder
    names = [v[0] for v in UESTC_VIDEOS]
    joints = [motion(v[1], 49, k) for k, v in enumerate(UESTC_VIDEOS)]
    if case == "missing":
        path = tmp_path / "nowhere"
    elif case == "no_names":
        (folder / "info" / "names.txt").unlink()
    elif case == "empty_names":
        (folder / "info" / "names.txt").write_text("")
    elif case == "count_mismatch":
        (folder / "info" / "num_frames_min.txt").write_text("1\n2\n3\n4\n")
    elif case == "count_text":
        (folder / "info" / "num_frames_min.txt").write_text("30\n20\nten\n40\n28\n")
    elif case in ("bad_name", "action", "subject"):
        if case == "bad_name":
            names[1] = "video_0002.avi"
        else:
            names[0] = "a40_d1_p001_c1_color.avi" if case == "action" else "a0_d1_p119_c1_color.avi"
        (folder / "info" / "names.txt").write_text("\n".join(names) + "\n")
    elif case == "no_globtrans":
        (folder / "globtrans_usez.pkl").unlink()
    elif case == "truncated":
        truncate(folder / "vibe_cache_refined.pkl")
    elif case == "no_joints3d":
        with open(folder / "vibe_cache_refined.pkl", "wb") as fh:
            pickle.dump({"pose": []}, fh)
    elif case == "list_length":
        write_uestc(folder, joints=joints[:4])
    elif case == "joints":
        joints[3] = motion(16, 25)
        write_uestc(folder, joints=joints)
    elif case == "nan":
        joints[0][2, 2, 2] = np.nan
        write_uestc(folder, joints=joints)
    elif case == "short_globtrans":
        write_uestc(folder, globtrans=[np.zeros((10, 3))] + [np.zeros((v[1], 3)) for v in UESTC_VIDEOS[1:]])
    with pytest.raises(DataError) as err:
        uestc.load(path, SourceSettings(source="uestc"))
    text = str(err.value)
    assert message in text and name in text and "\n" not in text


# --- the prepare stage on a published layout --------------------------------------------------

def run_prepare(tmp_path: Path, data_path: Path) -> subprocess.CompletedProcess:
    params = tmp_path / "params.yaml"
    params.write_text(f"data:\n  source: humanact12\n  path: {data_path}\n  test_fraction: 0.0\n")
    return subprocess.run(
        [sys.executable, "-m", "stages.prepare", "--params", str(params), "--out", str(tmp_path / "processed")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_prepare_stage_on_broken_and_good_release(ha12, tmp_path):
    truncate(ha12 / "P03G02R02F0100T0130A1202.npy")
    broken = run_prepare(tmp_path, ha12)
    lines = broken.stderr.strip().splitlines()
    assert broken.returncode != 0
    assert len(lines) == 1 and lines[0].startswith("error: ") and "P03G02R02F0100T0130A1202.npy" in lines[0]
    assert not (tmp_path / "processed").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".processed")]

    np.save(ha12 / "P03G02R02F0100T0130A1202.npy", motion(31, 24))
    good = run_prepare(tmp_path, ha12)
    assert good.returncode == 0, good.stderr
    meta = json.loads((tmp_path / "processed" / "meta.json").read_text())
    assert meta["source"] == "humanact12" and meta["num_classes"] == 12 and meta["fps"] == 20.0
    assert meta["splits"]["train"]["sequences"] == 4 and "test" not in meta["splits"]
    assert meta["notes"]["dropped_bad_clips"] == ["P05G02R01F1886T1941A0901"]
    with np.load(tmp_path / "processed" / "train.npz", allow_pickle=False) as z:
        assert z["frames"].shape == (75 + 60 + 40 + 31, 24, 3) and "P05G02R01F1886T1941A0901" not in z["ids"]


def test_load_raw_dispatches_to_published_loaders(ntu):
    raw = load_raw(SourceSettings(source="ntu13", path=str(ntu)))
    assert raw.source == "ntu13" and len(raw.sequences) == 3
