"""Artifact files: byte-reproducible saving, atomic replacement, stale temporaries, one-line load errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from motioninr.codes import CodeDraws
from motioninr.data.dataset import MotionSet, load_meta
from motioninr.errors import DataError
from motioninr.io import atomic_path, clean_stale, load_json, load_npz, one_line, save_json, save_torch


def _one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and "Traceback" not in text and "allow_pickle" not in text, text
    return text


# ------------------------------------------------------------------------------ saving

def test_save_torch_is_byte_identical_whatever_the_file_name(tmp_path):
    state = {"w": torch.arange(12.0).reshape(3, 4), "format": "x", "n": 3}
    save_torch(tmp_path / "a.pt", state)
    save_torch(tmp_path / "b" / "other.pt", state)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b" / "other.pt").read_bytes()
    back = torch.load(tmp_path / "a.pt", weights_only=True)
    assert torch.equal(back["w"], state["w"]) and back["n"] == 3
    # the plain torch.save to a temporary name, as before, records that name: the files differ
    torch.save(state, tmp_path / ".a.pt.x1.tmp")
    torch.save(state, tmp_path / ".a.pt.x2.tmp")
    assert (tmp_path / ".a.pt.x1.tmp").read_bytes() != (tmp_path / ".a.pt.x2.tmp").read_bytes()


def test_model_checkpoint_and_evaluator_writers_are_reproducible(tmp_path):
    from motioninr.evaluation.classifier import ActionClassifier, save_classifier
    from motioninr.model.checkpoint import write_checkpoint

    torch.manual_seed(0)
    clf = ActionClassifier(9, 2)
    for name in ("e1.pt", "e2.pt"):
        save_classifier(tmp_path / name, clf, class_names=["a", "b"])
    assert (tmp_path / "e1.pt").read_bytes() == (tmp_path / "e2.pt").read_bytes()
    for name in ("c1.pt", "c2.pt"):
        write_checkpoint(tmp_path / name, {"format": "f", "epoch": 3, "model": clf.state_dict()})
    assert (tmp_path / "c1.pt").read_bytes() == (tmp_path / "c2.pt").read_bytes()


def test_stale_temporaries_are_removed_on_the_next_write(tmp_path):
    stale_file = tmp_path / ".last.pt.k9x2.tmp"
    stale_dir = tmp_path / ".gmm.a1b2.tmp"
    stale_file.write_bytes(b"half a checkpoint")
    stale_dir.mkdir()
    (stale_dir / "gmm.npz").write_bytes(b"half")
    other = tmp_path / ".other.pt.zz.tmp"  # another target's temporary is left alone
    other.write_bytes(b"x")
    with atomic_path(tmp_path / "last.pt") as tmp:
        tmp.write_bytes(b"new")
    with atomic_path(tmp_path / "gmm", directory=True) as tmp:
        (tmp / "gmm.json").write_text("{}")
    assert not stale_file.exists() and not stale_dir.exists() and other.exists()
    assert (tmp_path / "last.pt").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.pt.zz.tmp", "gmm", "last.pt"]


def test_folder_replacement_keeps_the_old_folder_until_the_new_one_is_in_place(tmp_path, monkeypatch):
    target = tmp_path / "gmm"
    with atomic_path(target, directory=True) as tmp:
        (tmp / "v").write_text("old")

    # a failure while writing: the old folder is untouched and no temporary remains
    with pytest.raises(RuntimeError):
        with atomic_path(target, directory=True) as tmp:
            (tmp / "v").write_text("half")
            raise RuntimeError("killed")
    assert (target / "v").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["gmm"]

    # killed between moving the old folder aside and renaming the new one in
    real_replace = os.replace
    calls = []

    def replace_then_die(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies here
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target, directory=True) as tmp:
            (tmp / "v").write_text("new")
    monkeypatch.setattr(os, "replace", real_replace)
    assert not target.exists() and (tmp_path / ".gmm.old.tmp" / "v").read_text() == "old"
    clean_stale(target)  # what the next write does first: the last complete folder comes back
    assert (target / "v").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["gmm"]

    with atomic_path(target, directory=True) as tmp:
        (tmp / "v").write_text("new")
    assert (target / "v").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["gmm"]


def test_one_line_cuts_at_a_word():
    text = "word " * 100
    cut = one_line(text, 50)
    assert len(cut) <= 54 and cut.endswith(" ...") and "wor ..." not in cut
    assert one_line("a\n b") == "a b"


# ------------------------------------------------------------------------------ loading

def _motions(path):
    ms = MotionSet.from_sequences([np.zeros((400, 3, 3), np.float32), np.ones((2, 3, 3), np.float32)], [0, 1], ["a", "b"])
    ms.save(path)
    return path


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "bit-flipped":
        b = bytearray(data)
        b[len(b) // 3] ^= 0x10  # inside the first array's data: the zip's CRC check fails
        path.write_bytes(bytes(b))
    elif how == "text":
        path.write_text("frames,lengths\n1,2\n")
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize("how, message", [
    ("truncated", "not an .npz archive (truncated, or another format); expected a motion set"),
    ("bit-flipped", "damaged .npz archive (Bad CRC-32"),
    ("text", "not an .npz archive (truncated, or another format); expected a motion set"),
    ("empty", "not an .npz archive"),
])
def test_damaged_npz_gives_one_line_naming_the_file(tmp_path, how, message):
    path = _motions(tmp_path / "set.npz")
    _damage(path, how)
    with pytest.raises(DataError) as exc:
        MotionSet.load(path)
    text = _one_line(exc)
    assert text.startswith(f"{path}: ") and message in text


def test_npz_with_pickled_objects_or_missing_arrays(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, frames=np.array([None, 1], dtype=object))
    with pytest.raises(DataError) as exc:
        load_npz(path, "numbers")
    assert _one_line(exc) == f"{path}: holds pickled objects, which are refused; expected numbers"
    np.savez(path, frames=np.zeros((2, 1, 3)))
    with pytest.raises(DataError, match=r"lacks the arrays lengths, labels, ids; expected a motion set"):
        MotionSet.load(path)
    with pytest.raises(DataError, match=r"nothing\.npz: not found; expected"):
        load_npz(tmp_path / "nothing.npz")


def test_truncated_json_and_meta(tmp_path):
    (tmp_path / "meta.json").write_text('{"class_names": ["a", ')
    with pytest.raises(DataError) as exc:
        load_meta(tmp_path)
    assert _one_line(exc).startswith(f"{tmp_path / 'meta.json'}: not readable JSON (")
    (tmp_path / "meta.json").write_text("[1]")
    with pytest.raises(DataError, match="holds a JSON list; expected the processed dataset's meta.json"):
        load_meta(tmp_path)
    save_json(tmp_path / "ok.json", {"a": 1})
    assert load_json(tmp_path / "ok.json") == {"a": 1}


def test_motion_sets_with_implausible_values_are_refused(tmp_path):
    ms = MotionSet.from_sequences([np.zeros((4, 3, 3), np.float32), np.zeros((5, 3, 3), np.float32)], [0, 1],
                                  ["a", "b"])
    ms.frames[4 + 2, 1, 0] = 1e27  # sample b, frame 2
    ms.save(tmp_path / "gen.npz")
    with pytest.raises(DataError) as exc:
        MotionSet.load(tmp_path / "gen.npz")
    assert _one_line(exc) == (f"{tmp_path / 'gen.npz'}: sample 'b' frame 2: coordinate 1e+27; expected finite "
                              "positions within 1000 m of the origin (metres after scaling)")


def _draws(path):
    CodeDraws(codes=np.zeros((6, 2)), sample=[0, 0, 0, 1, 1, 1], sample_ids=["a", "b"], sample_labels=[0, 0],
              sample_lengths=[10, 12], sample_codes=np.zeros((2, 2)), class_names=["walk"]).save(path)
    return path


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "text"])
def test_fit_gmm_stage_on_damaged_draws_exits_with_one_line(tmp_path, how):
    from stages.fit_gmm import app

    draws = _draws(tmp_path / "draws.npz")
    _damage(draws, how)
    (tmp_path / "params.yaml").write_text("gmm:\n  n_jobs: 1\n")
    res = CliRunner().invoke(app, ["--params", str(tmp_path / "params.yaml"), "--draws", str(draws),
                                   "--out", str(tmp_path / "gmm")])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {draws}: "), res.output
    assert "expected the code draws written by the resample stage" in lines[0] and "allow_pickle" not in lines[0]
    assert not (tmp_path / "gmm").exists()


@pytest.mark.parametrize("damaged, how, message", [
    ("gmm.npz", "truncated", "gmm.npz: not an .npz archive (truncated, or another format); expected the mixture arrays"),
    ("gmm.npz", "bit-flipped", "gmm.npz: damaged .npz archive"),
    ("gmm.json", "truncated", "gmm.json: not readable JSON"),
])
def test_motioninr_generate_on_damaged_mixtures_exits_with_one_line(tmp_path, damaged, how, message):
    from motioninr.cli import app
    from motioninr.gmm import GMMSettings, fit_mixtures

    draws = CodeDraws(codes=np.random.default_rng(0).normal(size=(60, 2)), sample=np.repeat(np.arange(6), 10),
                      sample_ids=list("abcdef"), sample_labels=[0] * 6, sample_lengths=[10, 11, 12, 13, 14, 15],
                      sample_codes=np.zeros((6, 2)), class_names=["walk"])
    settings = GMMSettings(components=1, min_population=10, n_jobs=1, guard=0, space="composed")
    fit_mixtures(draws, settings).save(tmp_path / "gmm")
    _damage(tmp_path / "gmm" / damaged, how)
    (tmp_path / "model.pt").write_bytes(b"not read: the mixtures are loaded first")
    res = CliRunner().invoke(app, ["generate", "--model", str(tmp_path / "model.pt"), "--gmm", str(tmp_path / "gmm"),
                                   "--action", "walk", "--length", "12", "--out", str(tmp_path / "o.npz")])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.output


def test_gmm_files_hold_no_wall_clock_time(tmp_path):
    from motioninr.gmm import GMMSettings, LengthBinnedGMM, fit_mixtures
    from motioninr.gmm_files import report

    draws = CodeDraws(codes=np.random.default_rng(0).normal(size=(60, 2)), sample=np.repeat(np.arange(6), 10),
                      sample_ids=list("abcdef"), sample_labels=[0] * 6, sample_lengths=[10, 11, 12, 13, 14, 15],
                      sample_codes=np.zeros((6, 2)), class_names=["walk"])
    settings = GMMSettings(components=2, min_population=10, n_jobs=1, guard=0, space="composed")
    for name in ("a", "b"):
        bank = fit_mixtures(draws, settings)
        bank.save(tmp_path / name)
        save_json(tmp_path / name / "gmm_report.json", report(bank))
    for file in ("gmm.npz", "gmm.json", "gmm_report.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    assert "seconds" not in (tmp_path / "a" / "gmm.json").read_text()
    assert "seconds" not in json.dumps(report(bank))
    assert LengthBinnedGMM.load(tmp_path / "a").num_bins == bank.num_bins
