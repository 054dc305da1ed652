"""Evaluation results as files: metrics views, per-class, confusion and FID-by-length tables.

``metrics_views(result)`` gives the metrics files, one record per set and view, each view a
table of at most a dozen columns so ``dvc metrics show <folder>`` reads at a glance::

    evaluate/<set>.json              accuracy, fid, diversity, multimodality, mms (means; the default view)
    details/coverage/<set>.json      precision, recall, density, coverage, copies (means)
    details/physics/<set>.json       skating, skating_distance, penetration, floating, jitter, bone_error
    details/ci/<view>/<set>.json     the same keys: half-widths 1.96 x std / sqrt(R), and replications

``write_report(folder, result)`` writes, per set (``real`` and each generated set)::

    confusion/<set>.csv      actual,predicted class names, one row per classified motion (all replications)
    per_class/<set>.csv      class, accuracy, mms, count (and copies: share of near-copies of training motions)
    fid_by_length/<set>.csv  length bins: length (midpoint), length_min, length_max, fid, fid_ci,
                             real_fid (two real crops: the small-sample floor), motions, real_motions
    replications.csv         set, replication, accuracy, fid, diversity, multimodality, mms (and the extra metrics)

``fid_by_length`` is written for the real set and for generated sets whose lengths vary.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from motioninr.evaluation import metrics as M
from motioninr.evaluation.extra import COVERAGE_METRICS
from motioninr.evaluation.physics import PHYSICS_METRICS
from motioninr.evaluation.results import METRICS, REAL, EvaluationResult

VIEWS = {"evaluate": METRICS, "coverage": COVERAGE_METRICS, "physics": PHYSICS_METRICS}


def metrics_rows(result: EvaluationResult) -> dict[str, dict]:
    """One flat record per set (``real`` and each generated set): ``<metric>`` and ``<metric>_ci``, NaN as null."""
    summary = result.summary()
    return {
        name: {key: _finite(summary[f"{name}/{key}"]) for m in METRICS + result.extra for key in (m, f"{m}_ci")}
        for name in result.names
    }


def metrics_views(result: EvaluationResult) -> dict[str, dict]:
    """The metrics files described in the module docstring: relative path -> flat record (NaN as null)."""
    rows = metrics_rows(result)
    files: dict[str, dict] = {}
    for view, keys in VIEWS.items():
        keys = [k for k in keys if k in METRICS or k in result.extra]
        if not keys:
            continue
        folder = view if view == "evaluate" else f"details/{view}"
        for name in result.names:
            files[f"{folder}/{name}.json"] = {k: rows[name][k] for k in keys}
            files[f"details/ci/{view}/{name}.json"] = {**{k: rows[name][f"{k}_ci"] for k in keys},
                                                       "replications": result.replications}
    return files


def _finite(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 6)


def per_class_rows(result: EvaluationResult, name: str) -> list[dict]:
    """One row per class: name, accuracy over all replications, MMS, motions per replication (and copies)."""
    conf = result.confusion[name]
    counts = conf.sum(axis=1)
    rows = []
    for c, cls in enumerate(result.class_names):
        rows.append({
            "class": cls,
            "accuracy": float(conf[c, c] / counts[c]) if counts[c] else float("nan"),
            "mms": float(result.class_mms[name][c]),
            "count": int(counts[c] // max(result.replications, 1)),
            **({"copies": float(result.class_copies[name][c])} if name in result.class_copies else {}),
        })
    return rows


def confusion_rows(result: EvaluationResult, name: str) -> list[dict]:
    """``actual``/``predicted`` class-name records (one per classified motion, all replications)."""
    conf = result.confusion[name]
    actual, predicted = np.nonzero(conf)
    reps = conf[actual, predicted]
    names = np.asarray(result.class_names)
    return [{"actual": a, "predicted": p} for a, p in zip(np.repeat(names[actual], reps), np.repeat(names[predicted], reps))]


def length_bin_rows(result: EvaluationResult, name: str) -> list[dict]:
    """One row per length bin: range, midpoint, FID mean and half-width, real and generated counts."""
    edges = result.bin_edges
    rows = []
    for b in range(len(edges) - 1):
        mean, ci = M.mean_ci(result.bin_fid[name][:, b])
        rows.append({
            "length": float((edges[b] + edges[b + 1] - 1) / 2),
            "length_min": int(edges[b]),
            "length_max": int(edges[b + 1] - 1),
            "fid": mean,
            "fid_ci": ci,
            "real_fid": M.mean_ci(result.bin_fid[REAL][:, b])[0],
            "motions": int(result.bin_counts[name][b]),
            "real_motions": int(result.bin_counts[REAL][b]),
        })
    return rows


# Printed decimals of the extra metrics (metres to the millimetre, jerk to 1 m/s^3); others .3f.
FORMATS = {"skating_distance": ".4f", "penetration": ".4f", "floating": ".4f", "bone_error": ".4f", "jitter": ".0f"}


def format_table(result: EvaluationResult, metrics: tuple[str, ...] = METRICS) -> str:
    """A plain-text table: one row per set, ``mean ± ci`` per metric."""
    summary = result.summary()
    header = ["set"] + list(metrics)
    rows = [header]
    for name in result.names:
        rows.append([name] + [f"{summary[f'{name}/{m}']:{FORMATS.get(m, '.3f')}} ± "
                              f"{summary[f'{name}/{m}_ci']:{FORMATS.get(m, '.3f')}}" for m in metrics])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_tables(result: EvaluationResult) -> str:
    """The protocol's table, then one table per view of the extra metrics."""
    tables = [format_table(result)]
    for view in ("coverage", "physics"):
        keys = tuple(k for k in VIEWS[view] if k in result.extra)
        if keys:
            tables.append(format_table(result, keys))
    return "\n\n".join(tables)


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(v):
    if isinstance(v, (float, np.floating)):
        return "" if not math.isfinite(v) else round(float(v), 6)
    return v


def write_report(folder: str | Path, result: EvaluationResult) -> list[Path]:
    """Write the per-set tables described in the module docstring into ``folder``; returns the files."""
    folder = Path(folder)
    written = []
    for name in result.names:
        path = folder / "confusion" / f"{name}.csv"
        _write_csv(path, confusion_rows(result, name), ["actual", "predicted"])
        written.append(path)
        path = folder / "per_class" / f"{name}.csv"
        rows = per_class_rows(result, name)
        _write_csv(path, rows, list(rows[0]))
        written.append(path)
        if name in result.bin_fid:
            path = folder / "fid_by_length" / f"{name}.csv"
            rows = length_bin_rows(result, name)
            _write_csv(path, rows, list(rows[0]))
            written.append(path)
    columns = [*METRICS, *result.extra]
    rows = [{"set": name, "replication": r, **{m: result.values[name][m][r] for m in columns}}
            for name in result.names for r in range(result.replications)]
    path = folder / "replications.csv"
    _write_csv(path, rows, ["set", "replication", *columns])
    written.append(path)
    return written
