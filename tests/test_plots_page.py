"""The offline page: `dvc plots show` with the repository's config draws from inline libraries only."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from motioninr.cli import app
from motioninr.commands.plots_page import page_template
from motioninr.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=", re.IGNORECASE)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page") / "plots_page.html"
    res = CliRunner().invoke(app, ["plots-page", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "vega-lite 5." in res.output
    return out


def test_template_carries_the_libraries_and_no_remote_script(page):
    html = page.read_text(encoding="utf-8")
    assert "{plot_divs}" in html and "{refresh_tag}" in html
    assert "{scripts}" not in html  # DVC would put its CDN <script src=...> tags there
    assert not REMOTE_SCRIPT.search(html)
    for name in ("window.vegaEmbed=", "window.vega=", "window.vegaLite="):
        assert name in html
    # exactly one inline script: the bundle's own text never closes it early
    assert html.count("<script") == 1 and html.count("</script>") == 1


def test_a_bundle_containing_a_dvc_placeholder_is_refused():
    with pytest.raises(DataError, match=r"\{plot_divs\}"):
        page_template("var s = '{plot_divs}';", "test")
    assert "<\\/script>" in page_template("var s = '</script>';", "test")


def test_dvc_plots_show_with_the_repository_config_references_no_remote_script(page, tmp_path):
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc" / "config")
    template = config.get("plots", "html_template")  # relative to .dvc/, written by `bash run.sh`
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, repo / name)
    for name in ("plots/evaluate", "dvclive/train/plots"):
        shutil.copytree(ROOT / name, repo / name)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=repo, env=env, check=True)
    shutil.copy(ROOT / ".dvc" / "config", repo / ".dvc" / "config")
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc" / "plots")
    shutil.copy(page, repo / ".dvc" / template)
    proc = subprocess.run(["dvc", "plots", "show", "-o", "out"], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (repo / "out" / "index.html").read_text(encoding="utf-8")
    assert not REMOTE_SCRIPT.search(html)
    assert "cdn.jsdelivr" not in html and "window.vegaEmbed=" in html
    charts = set(re.findall(r"vegaEmbed\('#(\w+)'", html))
    # every committed table is a chart: 4 confusion + 3 FID-by-length + 4 per-class + 5 training curves
    # (the gallery, not in this copy, is an image plot)
    assert len({c for c in charts if c.startswith(("plots_evaluate_", "dvclive_train_"))}) == 16
    assert '"title": "y"' not in html  # every axis has a real title
    assert html.count("(log scale)") == 5
