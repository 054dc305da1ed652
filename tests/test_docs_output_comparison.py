"""The README's positions-vs-rot6d table is the committed measurement (docs/output_comparison.json)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_table_matches_the_committed_measurement():
    spec = importlib.util.spec_from_file_location("output_comparison", ROOT / "benchmarks" / "output_comparison.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = json.loads((ROOT / "docs" / "output_comparison.json").read_text())
    assert set(results) == {"positions", "rot6d"}
    assert results["rot6d"]["export_ik"] is False and results["positions"]["export_ik"] is True
    readme = (ROOT / "README.md").read_text()
    assert module.table(results) in readme
    residual = results["rot6d"]["fk_residual"]["train"]["dataset_rms_m"] * 100
    assert f"the training motions by {residual:.1f} cm RMS before any learning" in " ".join(readme.split())
