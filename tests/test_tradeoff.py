"""The README's trade-off table and the sweep table of docs/fidelity.md are the committed experiment files."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("tradeoff", ROOT / "benchmarks" / "tradeoff.py")
tradeoff = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tradeoff)


@pytest.mark.parametrize("plan", sorted(tradeoff.PLANS))
def test_document_table_matches_the_committed_experiment_files(plan):
    results = tradeoff.load_results(plan)
    assert results, f"no committed results under {tradeoff.PLANS[plan]['folder']}"
    for name, data in results.items():
        assert {"summary", "real", "gmm_variable", "memorize_variable"} <= set(data), name
    assert tradeoff.table_in_document(plan) == tradeoff.render_table(plan)


def test_the_table_changes_when_a_committed_number_changes(tmp_path, monkeypatch):
    """The check above can fail: a different metric value renders a different table."""
    plan = "tradeoff"
    results = tradeoff.load_results(plan)
    name = next(iter(results))
    before = tradeoff.render_table(plan)
    changed = {k: dict(v) for k, v in results[name].items()}
    changed["gmm_variable"]["fid"] = changed["gmm_variable"]["fid"] + 1.0
    monkeypatch.setattr(tradeoff, "load_results", lambda p: {**results, name: changed})
    assert tradeoff.render_table(plan) != before


def test_columns_are_one_list_of_known_sources():
    for heading, (where, key) in tradeoff.COLUMNS:
        assert where == "summary" or where in {"real", "gmm_variable", "gmm_fixed", "memorize_variable"}, heading
