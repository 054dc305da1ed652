"""End to end: the real `dvc repro` in a temporary git repository, on tiny settings."""

from __future__ import annotations

import os
import shlex
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
    shutil.copy(ROOT / ".dvcignore", repo / ".dvcignore")
    _run(["dvc", "config", "core.analytics", "false"], repo)
    _run(["git", "add", "-A"], repo)
    _run(["git", "commit", "-qm", "pipeline"], repo)
    return repo


TINY = {"data.demo.samples_per_class": 6}

# The whole chain on tiny settings: a few seconds per stage.
TINY_PIPELINE = {
    **TINY,
    "data.demo.classes": ["walk", "jump", "wave"],
    "model.mlp.layers": [64, 64],
    "train.epochs": 6,
    "train.checkpoint_every": 3,
    "evaluate.train.epochs": 2,
    "evaluate.replications": 2,
    "generate.replications": 2,
    "resample.draws": 5,
    "gmm.components": 3,
    "gmm.retries": 2,
    "gmm.min_population": 5,
    "gmm.n_jobs": 1,
    "gmm.guard": 0.0,  # on tiny data the guard lowers every bin to one component, hiding a components change
    "render.gifs": 1,
    "render.panel_px": 64,
}
STAGES = ("prepare", "train", "train-evaluator", "resample", "fit-gmm", "generate", "evaluate", "render", "latent")


def _ran(output: str) -> set[str]:
    return {s for s in STAGES if f"Running stage '{s}'" in output}


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


def test_whole_pipeline_experiments_and_metrics(tmp_path):
    import json

    repo = make_repo(tmp_path, TINY_PIPELINE)
    first = _run(["dvc", "repro"], repo)
    assert _ran(first.stdout) == set(STAGES), first.stdout

    rows = {p.stem: json.loads(p.read_text()) for p in (repo / "metrics/evaluate").glob("*.json")}
    assert set(rows) == {"real", "gmm_variable", "gmm_fixed", "memorize_variable"}
    for row in rows.values():
        assert set(row) == {"accuracy", "fid", "diversity", "multimodality", "mms"}
    # The default view is the MMS table at a glance: one row per set, the five metrics, within 160 columns.
    shown = _run(["dvc", "metrics", "show"], repo).stdout
    lines = shown.strip().splitlines()
    assert len(lines) == 5 and all(f"metrics/evaluate/{name}.json" in shown for name in rows), shown
    assert lines[0].split() == ["Path", "accuracy", "diversity", "fid", "mms", "multimodality"], shown
    assert max(map(len, lines)) <= 160, shown
    # Everything else stays one command away: the evaluation's other views within 160 columns too,
    # the evaluator's and the training's figures out of the default table but shown on request.
    views = {"metrics/details/coverage": "precision", "metrics/details/physics": "skating",
             "metrics/details/ci/evaluate": "replications", "metrics/details/ci/coverage": "copies",
             "metrics/details/ci/physics": "jitter"}
    for target, column in views.items():
        view = _run(["dvc", "metrics", "show", target], repo).stdout
        assert column in view.splitlines()[0] and max(map(len, view.strip().splitlines())) <= 160, view
        assert view.count(f"{target}/") == 4, view  # one row per set
    assert "heldout_accuracy" in _run(["dvc", "metrics", "show", "metrics/evaluator.json"], repo).stdout
    assert "mpjpe_cm" in _run(["dvc", "metrics", "show", "dvclive/train/metrics.json"], repo).stdout
    assert any((repo / "plots/gallery").glob("*.png"))
    assert sorted(p.name for p in (repo / "plots/latent").iterdir()) == [
        "codes_pca.png", "codes_tsne.png", "features_pca.png", "features_tsne.png"]
    generated = json.loads((repo / "data/generated/meta.json").read_text())
    assert set(generated["files"]) == {"gmm_variable", "gmm_fixed", "memorize_variable"}

    # Commit the baseline, then an experiment on the GMM re-runs only what follows the GMM.
    _run(["git", "add", "-A"], repo)
    _run(["git", "commit", "-qm", "baseline"], repo)
    exp = _run(["dvc", "exp", "run", "-S", "gmm.components=2"], repo)
    assert _ran(exp.stdout) == {"fit-gmm", "generate", "evaluate", "render", "latent"}, exp.stdout
    diff = _run(["dvc", "params", "diff"], repo).stdout
    assert "gmm.components" in diff and "3" in diff and "2" in diff
    # The README's experiment comparison: one screen, no pager, the method's FID and MMS per component count.
    command = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("dvc exp show "))
    table = _run(shlex.split(command), repo).stdout.strip().splitlines()
    assert max(map(len, table)) <= 160, "\n".join(table)
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header == ["Experiment", "metrics/evaluate/gmm_variable.json:fid", "metrics/evaluate/gmm_variable.json:mms",
                      "gmm.components", "gmm.guard"], header
    components = sorted(row.split("|")[4].strip() for row in table[2:])
    assert components == ["2", "3"], table  # the baseline commit and the experiment

    # An evaluation setting re-runs only evaluate.
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["evaluate"]["replications"] = 3
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    again = _run(["dvc", "repro"], repo)
    assert _ran(again.stdout) == {"evaluate"}, again.stdout
    assert json.loads((repo / "metrics/details/ci/evaluate/real.json").read_text())["replications"] == 3


def _out_hashes(repo: Path) -> dict[str, str]:
    """Every out of every stage in dvc.lock: path -> md5."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


def test_two_runs_in_two_repositories_give_byte_identical_outs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_repo(tmp_path / "a", TINY_PIPELINE)
    second = make_repo(tmp_path / "b", TINY_PIPELINE)
    _run(["dvc", "repro"], first)
    _run(["dvc", "repro"], second)
    a, b = _out_hashes(first), _out_hashes(second)
    expected = {"data/params-checked.txt", "data/processed", "models/model.pt", "models/checkpoints",
                "dvclive/train/metrics.json", "dvclive/train/plots/metrics", "models/evaluator.pt",
                "metrics/evaluator.json", "data/codes/draws.npz", "models/gmm", "data/generated", "metrics/evaluate",
                "metrics/details", "plots/evaluate", "plots/gallery", "plots/gallery_bvh", "plots/latent"}
    assert set(a) == expected
    different = sorted(path for path in a if a[path] != b[path])
    assert not different, f"outs that differ between two identical runs: {different}"
    assert not list(first.rglob(".*.tmp")), "temporaries left behind"


def test_a_bad_setting_stops_before_any_stage_deletes_its_outputs(tmp_path):
    repo = make_repo(tmp_path, TINY)
    _run(["dvc", "repro", "prepare"], repo)
    before = (repo / "data/processed/train.npz").read_bytes()

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["data"]["demo"]["seed"] = 1  # prepare would run again ...
    params["gmm"]["tol"] = float("inf")  # ... but a later section is wrong
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = _run(["dvc", "repro"], repo, check=False)
    assert proc.returncode != 0
    assert "error: gmm.tol: got inf, expected a finite number" in proc.stderr + proc.stdout
    assert "Running stage 'prepare'" not in proc.stdout
    assert (repo / "data/processed/train.npz").read_bytes() == before

    params["gmm"]["tol"] = 0.001  # fixed: the check passes and its unchanged output re-runs nothing on its own
    params["data"]["demo"]["seed"] = 0
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    again = _run(["dvc", "repro", "prepare"], repo)
    assert "Running stage 'prepare'" not in again.stdout, again.stdout


def test_a_missing_data_path_names_the_setting(tmp_path):
    repo = make_repo(tmp_path, {**TINY, "data.source": "generic", "data.path": "/nonexistent"})
    proc = _run(["dvc", "repro"], repo, check=False)
    assert proc.returncode != 0
    assert "error: data.path: got '/nonexistent', which does not exist" in proc.stderr + proc.stdout


def test_temporaries_of_killed_writes_are_invisible_to_dvc(tmp_path):
    repo = make_repo(tmp_path, TINY)
    _run(["dvc", "repro", "prepare"], repo)
    (repo / "data/processed/.train.npz.k2x9.tmp").write_bytes(b"half an array")  # a kill during a write
    (repo / "data/.processed.a8b1.tmp").mkdir()
    status = _run(["dvc", "status", "prepare"], repo).stdout
    assert "up to date" in status, status
