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


def _committed_values(plan: str) -> list[float]:
    """Every number in the committed experiment files of ``plan``."""
    values = []
    for data in tradeoff.load_results(plan).values():
        for record in data.values():
            values += [float(v) for v in record.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return values


def _block(text: str, start: str, end: str) -> str:
    return text[text.index(start) + len(start):text.index(end)]


def _decimals(text: str) -> list[str]:
    import re

    return re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", text)


def test_numbers_in_the_readme_findings_and_exp_show_output_are_committed_values():
    """The prose under the trade-off table and the `dvc exp show` output quote the committed runs."""
    readme = (ROOT / "README.md").read_text()
    values = _committed_values("tradeoff")
    findings = _block(readme, "<!-- tradeoff-findings:start -->", "<!-- tradeoff-findings:end -->")
    exp_show = _block(readme, "Its output after the three `dvc exp run` above", "Swap `gmm_variable`")
    quoted = [(n, "decimals") for n in _decimals(findings)]
    quoted += [(n, "significant") for line in exp_show.splitlines() if line.startswith("| ")
               for n in _decimals(" ".join(line.split("|")[2:4]))]
    assert len(quoted) >= 15
    for number, rounding in quoted:
        if rounding == "decimals":
            places = len(number.split(".")[1])
            found = any(round(v, places) == float(number) for v in values)
        else:  # dvc prints five significant digits
            found = any(float(f"{v:.5g}") == float(number) for v in values)
        assert found, f"README quotes {number}, which no committed experiment file holds"


def test_the_number_check_fails_for_a_number_no_file_holds():
    values = _committed_values("tradeoff")
    assert not any(round(v, 3) == 0.123456 for v in values)
    assert all(_decimals(text) == [] for text in ("version 1.2.3", "abc0.5x"))


def test_numbers_comparing_the_sweep_with_the_current_run_are_committed_values():
    text = (ROOT / "docs" / "fidelity.md").read_text()
    paragraph = _block(text, "The sweep ran before", "repeats it.")
    values = _committed_values("tradeoff") + _committed_values("sweep")
    numbers = _decimals(paragraph)
    assert len(numbers) >= 6
    for number in numbers:
        places = len(number.split(".")[1])
        assert any(round(v, places) == float(number) for v in values), f"docs/fidelity.md quotes {number}"
