"""Evaluation results as files: flat metrics, per-class, confusion and FID-by-length tables.

``write_report(folder, result)`` writes, per set (``real`` and each generated set)::

    confusion/<set>.csv      actual,predicted class names, one row per classified motion (all replications)
    per_class/<set>.csv      class, accuracy, mms, count
    fid_by_length/<set>.csv  length bins: length (midpoint), length_min, length_max, fid, fid_ci,
                             real_fid (two real crops: the small-sample floor), motions, real_motions
    replications.csv         set, replication, accuracy, fid, diversity, multimodality, mms

``fid_by_length`` is written for the real set and for generated sets whose lengths vary.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from motioninr.evaluation import metrics as M
from motioninr.evaluation.protocol import METRICS, REAL, EvaluationResult


def metrics_rows(result: EvaluationResult) -> dict[str, dict]:
    """One flat record per set (``real`` and each generated set): ``<metric>`` and ``<metric>_ci``, NaN as null.

    Written as ``metrics/evaluate/<set>.json``, so ``dvc metrics show`` prints one row per set
    with the metrics as columns: the MMS table at a glance.
    """
    summary = result.summary()
    return {
        name: {key: _finite(summary[f"{name}/{key}"]) for m in METRICS for key in (m, f"{m}_ci")}
        for name in result.names
    }


def _finite(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 6)


def per_class_rows(result: EvaluationResult, name: str) -> list[dict]:
    """One row per class: name, accuracy over all replications, MMS, motions per replication."""
    conf = result.confusion[name]
    counts = conf.sum(axis=1)
    rows = []
    for c, cls in enumerate(result.class_names):
        rows.append({
            "class": cls,
            "accuracy": float(conf[c, c] / counts[c]) if counts[c] else float("nan"),
            "mms": float(result.class_mms[name][c]),
            "count": int(counts[c] // max(result.replications, 1)),
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


def format_table(result: EvaluationResult) -> str:
    """A plain-text table: one row per set, ``mean ± ci`` per metric."""
    summary = result.summary()
    header = ["set"] + list(METRICS)
    rows = [header]
    for name in result.names:
        rows.append([name] + [f"{summary[f'{name}/{m}']:.3f} ± {summary[f'{name}/{m}_ci']:.3f}" for m in METRICS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
        _write_csv(path, per_class_rows(result, name), ["class", "accuracy", "mms", "count"])
        written.append(path)
        if name in result.bin_fid:
            path = folder / "fid_by_length" / f"{name}.csv"
            rows = length_bin_rows(result, name)
            _write_csv(path, rows, list(rows[0]))
            written.append(path)
    rows = [{"set": name, "replication": r, **{m: result.values[name][m][r] for m in METRICS}}
            for name in result.names for r in range(result.replications)]
    path = folder / "replications.csv"
    _write_csv(path, rows, ["set", "replication", *METRICS])
    written.append(path)
    return written
