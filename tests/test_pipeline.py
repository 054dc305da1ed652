"""End to end: the real `dvc repro` in a temporary git repository, on tiny settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(cwd)}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _set(params: dict, dotted: str, value) -> None:
    node = params
    *head, last = dotted.split(".")
    for key in head:
        node = node[key]
    assert last in node, f"{dotted} is not a setting in params.yaml"
    node[last] = value


def make_repo(tmp_path: Path, overrides: dict) -> Path:
    """Copy the pipeline into a fresh git + dvc repository with ``overrides`` applied to params.yaml."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "params.yaml", ".gitignore"):
        shutil.copy(ROOT / name, repo / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("stages", "motioninr", "data/raw"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for key, value in overrides.items():
        _set(params, key, value)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["git", "init", "-q"], repo)
    _run(["git", "config", "user.email", "ci@example.com"], repo)
    _run(["git", "config", "user.name", "ci"], repo)
    _run(["dvc", "init", "-q"], repo)
    _run(["dvc", "config", "core.analytics", "false"], repo)
    _run(["git", "add", "-A"], repo)
    _run(["git", "commit", "-qm", "pipeline"], repo)
    return repo


TINY = {"data.demo.samples_per_class": 6}


def test_prepare_is_cached_and_reruns_on_data_change(tmp_path):
    repo = make_repo(tmp_path, TINY)
    first = _run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'prepare'" in first.stdout
    assert (repo / "data/processed/train.npz").is_file() and (repo / "data/processed/meta.json").is_file()

    again = _run(["dvc", "repro", "prepare"], repo)
    assert "Running stage" not in again.stdout, again.stdout

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"]["demo"]["seed"] = 1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    changed = _run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'prepare'" in changed.stdout


def test_prepare_bad_setting_fails_cleanly(tmp_path):
    repo = make_repo(tmp_path, {**TINY, "data.min_length": 0})
    proc = _run([sys.executable, "-m", "stages.prepare"], repo, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: data.min_length: got 0"), proc.stderr
    assert not (repo / "data/processed").exists()
