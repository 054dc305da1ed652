"""Run named groups of `dvc exp run` experiments, keep their metrics in git and write their tables.

Two plans:

- ``tradeoff``: the README's trade-off table: ``gmm.components`` 1, 5, 15 and the guard off (each
  re-runs only fit-gmm onward when the trained model is current). Files: ``docs/experiments/<name>/``.
- ``sweep``: the demo sweep of docs/fidelity.md: KL weight of beta x memorisation guard (each KL
  weight retrains). Files: ``docs/sweep/<name>/``.

For every experiment the script runs ``dvc exp run -S ...`` in the workspace (params.yaml as it is,
plus the experiment's overrides), then writes each evaluated set's metrics (the headline, coverage
and physics views with their intervals, :func:`set_records`) to ``<folder>/<name>/<set>.json``
and writes ``<folder>/<name>/summary.json`` (overrides, training
reconstruction error, code_sigma_ratio, mixture components per bin). Afterwards params.yaml,
dvc.lock and the metrics, plots and dvclive files are put back as they were. The cached outputs
(models, data) stay those of the last experiment: no ``dvc checkout``, which would also remove the
training checkpoint (a persistent output) that lets the next run skip training when only the
mixtures change; ``dvc checkout`` or ``dvc repro`` restores them.

Run it on a committed branch and do not commit while it runs: ``dvc exp run`` puts the branch back
on the commit it started from when each experiment ends (changes stay in the working tree).

    python benchmarks/tradeoff.py run tradeoff     # run the experiments, then write the table
    python benchmarks/tradeoff.py table tradeoff   # only rewrite the table from the committed files
    python benchmarks/tradeoff.py run sweep --only kl1e-4-guard-draws

The table goes between ``<!-- <plan>-table:start -->`` and ``<!-- <plan>-table:end -->`` of the
plan's document. ``tests/test_tradeoff.py`` fails when a document's table differs from
:func:`render_table` of the committed files. Columns: :data:`COLUMNS` (add a metric there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (heading, where from): ("summary", key) reads summary.json, (set, metric) reads <set>.json with
# its "<metric>_ci" interval when there is one.
COLUMNS: list[tuple[str, tuple[str, str]]] = [
    ("components / bin", ("summary", "components_per_bin")),
    ("code_sigma_ratio", ("summary", "code_sigma_ratio")),
    ("recon. cm", ("summary", "mpjpe_cm")),
    ("gmm FID", ("gmm_variable", "fid")),
    ("gmm MMS", ("gmm_variable", "mms")),
    ("gmm accuracy", ("gmm_variable", "accuracy")),
    ("gmm coverage", ("gmm_variable", "coverage")),
    ("gmm copies", ("gmm_variable", "copies")),
    ("gmm fixed-60 FID", ("gmm_fixed", "fid")),
    ("memorize FID", ("memorize_variable", "fid")),
    ("memorize MMS", ("memorize_variable", "mms")),
    ("memorize accuracy", ("memorize_variable", "accuracy")),
    ("memorize copies", ("memorize_variable", "copies")),
    ("real FID", ("real", "fid")),
    ("real MMS", ("real", "mms")),
    ("real accuracy", ("real", "accuracy")),
]

# The sweep's columns: COLUMNS without the metrics beyond FID, which its files do not hold.
HEADLINE_COLUMNS = [c for c in COLUMNS if c[1][1] not in ("coverage", "copies")]

PLANS: dict[str, dict] = {
    "tradeoff": {
        "folder": "docs/experiments",
        "document": "README.md",
        "experiments": {
            "components-1": {"gmm.components": 1},
            "components-5": {"gmm.components": 5},
            "components-15": {"gmm.components": 15},
            "guard-off": {"gmm.components": 15, "gmm.guard": 0},
        },
    },
    "sweep": {
        "folder": "docs/sweep",
        "columns": "headline",  # the sweep's files hold the headline metrics only
        "document": "docs/fidelity.md",
        # KL weight of beta (training) x memorisation guard (fit-gmm onward); the demo's default first
        "experiments": {
            "kl1.25e-4-guard-draws": {"train.kl_seq_weight": 1.25e-4, "gmm.guard_reference": "draws", "gmm.guard": 0.1},
            "kl1.25e-4-guard-means": {"train.kl_seq_weight": 1.25e-4, "gmm.guard_reference": "means", "gmm.guard": 0.1},
            "kl1.25e-4-guard-off": {"train.kl_seq_weight": 1.25e-4, "gmm.guard_reference": "draws", "gmm.guard": 0},
            "kl3e-5-guard-draws": {"train.kl_seq_weight": 3e-5, "gmm.guard_reference": "draws", "gmm.guard": 0.1},
            "kl3e-5-guard-off": {"train.kl_seq_weight": 3e-5, "gmm.guard_reference": "draws", "gmm.guard": 0},
            "kl5e-4-guard-draws": {"train.kl_seq_weight": 5e-4, "gmm.guard_reference": "draws", "gmm.guard": 0.1},
            "kl5e-4-guard-off": {"train.kl_seq_weight": 5e-4, "gmm.guard_reference": "draws", "gmm.guard": 0},
        },
    },
}

RESTORE = ["params.yaml", "dvc.lock", "metrics", "plots", "dvclive"]


# ----------------------------------------------------------------------------- running

def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"})


def _value(text: str):
    return json.dumps(text) if isinstance(text, str) else str(text)


def summary_of_workspace(overrides: dict) -> dict:
    """What the table needs beyond the evaluate metrics, read from the workspace's outputs."""
    live = json.loads((ROOT / "dvclive" / "train" / "metrics.json").read_text())
    report = json.loads((ROOT / "models" / "gmm" / "gmm_report.json").read_text())
    return {"overrides": overrides, "mpjpe_cm": live["reconstruction"]["mpjpe_cm"],
            "code_sigma_ratio": live.get("code_sigma_ratio"), "components_per_bin": report["components_per_bin"],
            "bins": report["bins"], "components": report["components"]}


def set_records(metrics: Path) -> dict[str, dict]:
    """One flat record per evaluated set from the evaluate stage's views: the headline metrics
    (``metrics/evaluate``), the coverage and physics views (``metrics/details/<view>``), each metric's
    interval as ``<metric>_ci`` (``metrics/details/ci/<view>``) and the number of replications."""
    records: dict[str, dict] = {}
    for path in sorted((metrics / "evaluate").glob("*.json")):
        record = dict(json.loads(path.read_text()))
        for view in ("coverage", "physics"):
            extra = metrics / "details" / view / path.name
            if extra.is_file():
                record.update(json.loads(extra.read_text()))
        for view in ("evaluate", "coverage", "physics"):
            ci = metrics / "details" / "ci" / view / path.name
            if ci.is_file():
                for key, value in json.loads(ci.read_text()).items():
                    record["replications" if key == "replications" else f"{key}_ci"] = value
        records[path.stem] = record
    return records


def run_plan(plan: str, only: list[str] | None = None) -> None:
    spec = PLANS[plan]
    folder = ROOT / spec["folder"]
    saved = ROOT / ".tradeoff-saved"
    if saved.exists():
        shutil.rmtree(saved)
    saved.mkdir()
    for name in RESTORE:  # the workspace as it was, put back at the end
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, saved / name)
        elif (ROOT / name).is_file():
            shutil.copy2(ROOT / name, saved / name)
    try:
        for name, overrides in spec["experiments"].items():
            if only and name not in only:
                continue
            shutil.copy2(saved / "params.yaml", ROOT / "params.yaml")  # every experiment from the same base
            cmd = [sys.executable, "-m", "dvc", "exp", "run", "-n", f"{plan}-{name}"]
            for key, value in overrides.items():
                cmd += ["-S", f"{key}={_value(value)}"]
            start = time.perf_counter()
            _run(cmd)
            print(f"{plan}/{name}: dvc exp run took {time.perf_counter() - start:.1f} s", flush=True)
            out = folder / name
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            for name_, record in set_records(ROOT / "metrics").items():
                (out / f"{name_}.json").write_text(json.dumps(record, indent=2) + "\n")
            (out / "summary.json").write_text(json.dumps(summary_of_workspace(overrides), indent=2) + "\n")
    finally:
        for name in RESTORE:
            target = ROOT / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            if (saved / name).is_dir():
                shutil.copytree(saved / name, target)
            elif (saved / name).is_file():
                shutil.copy2(saved / name, target)
        shutil.rmtree(saved)
    print("params.yaml, dvc.lock and the metrics, plots and dvclive files are back as they were; the cached "
          "outputs are the last experiment's (`dvc checkout` or `dvc repro` brings back the workspace's)", flush=True)
    write_table(plan)


# ----------------------------------------------------------------------------- the table

def _cell(data: dict, source: tuple[str, str]) -> str:
    where, key = source
    row = data.get(where, {})
    value = row.get(key)
    if value is None:
        return "-"
    if where == "summary":
        return f"{value:.2f}" if key != "components_per_bin" else f"{value:.1f}"
    ci = row.get(f"{key}_ci")
    return f"{value:.3f}" if ci is None else f"{value:.3f} ± {ci:.3f}"


def load_results(plan: str) -> dict[str, dict]:
    """``{experiment: {"summary": {...}, "<set>": {...}}}`` of the committed files, in plan order."""
    spec = PLANS[plan]
    out = {}
    for name in spec["experiments"]:
        folder = ROOT / spec["folder"] / name
        if not folder.is_dir():
            continue
        out[name] = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    return out


def render_table(plan: str) -> str:
    """The markdown table of the committed results of ``plan`` (intervals: 1.96 x std / sqrt(R))."""
    results = load_results(plan)
    columns = HEADLINE_COLUMNS if PLANS[plan].get("columns") == "headline" else COLUMNS
    lines = ["| experiment | " + " | ".join(h for h, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, data in results.items():
        overrides = ", ".join(f"`{k}={v}`" for k, v in data["summary"]["overrides"].items())
        lines.append(f"| {name} ({overrides}) | " + " | ".join(_cell(data, s) for _, s in columns) + " |")
    return "\n".join(lines)


def markers(plan: str) -> tuple[str, str]:
    return f"<!-- {plan}-table:start -->", f"<!-- {plan}-table:end -->"


def table_in_document(plan: str) -> str:
    text = (ROOT / PLANS[plan]["document"]).read_text()
    start, end = markers(plan)
    if start not in text or end not in text:
        raise SystemExit(f"{PLANS[plan]['document']}: no {start} ... {end} markers for the {plan} table")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def write_table(plan: str) -> None:
    path = ROOT / PLANS[plan]["document"]
    text = path.read_text()
    start, end = markers(plan)
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{render_table(plan)}\n{end}{tail}")
    print(f"wrote the {plan} table into {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["run", "table"])
    parser.add_argument("plan", choices=sorted(PLANS))
    parser.add_argument("--only", action="append", help="run only this experiment (repeatable)")
    args = parser.parse_args()
    if args.action == "run":
        run_plan(args.plan, args.only)
    else:
        write_table(args.plan)


if __name__ == "__main__":
    main()
