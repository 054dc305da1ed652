"""The files of fitted length-binned mixtures (:class:`~motioninr.gmm.LengthBinnedGMM`).

``<name>.npz`` holds the arrays (:data:`ARRAYS`, plus ``alphas`` when the mixtures model beta
only), ``<name>.json`` the description: format, covariance type, classes, settings and one
record per bin; :func:`report` is the summary fit-gmm writes beside them (``gmm_report.json``).
No pickles, and nothing time-dependent: the same fit gives byte-identical files.

The arrays (attributes of the fitted mixtures):

bin_action, bin_low, bin_high: ``(bins,)``; bin ``b`` covers lengths ``[low, high)`` of class ``action``
offsets:     ``(bins + 1,)``; bin ``b`` owns components ``offsets[b]:offsets[b + 1]``
weights:     ``(components,)``, summing to one within each bin
means:       ``(components, code_dim)`` float32
covariances: float32, lower triangles for full ``(components, D (D + 1) / 2)`` and tied
             ``(bins, D (D + 1) / 2)``; diag ``(components, D)``; spherical ``(components,)``
             (:func:`~motioninr.covariance.pack_covariances`)
length_min, length_max: ``(classes,)`` training length range per class (-1 when a class has no draws)
alphas:      ``(classes, act_code_dim)`` class mean alphas when the mixtures model beta only, else
             absent; the description's ``compose`` (concat | add | none) says how they compose
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from motioninr.errors import DataError
from motioninr.io import atomic_path, load_json, load_npz

FORMAT = "motioninr-gmm-v1"
COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")
COMPOSE = ("none", "concat", "add")
ARRAYS = ("bin_action", "bin_low", "bin_high", "offsets", "weights", "means", "covariances",
          "length_min", "length_max")
_INTEGERS = ("bin_action", "bin_low", "bin_high", "offsets", "length_min", "length_max")


def checked_arrays(covariance_type: str, compose: str, arrays: dict) -> dict:
    """:data:`ARRAYS` and ``alphas`` (None unless given) in their stored dtypes; a ``ValueError`` unless
    they describe one consistent set of mixtures (the layout above)."""
    out = {name: np.asarray(arrays[name], dtype=np.int64) for name in _INTEGERS}
    out["weights"] = np.asarray(arrays["weights"], dtype=np.float64)
    out["means"] = np.asarray(arrays["means"], dtype=np.float32)
    out["covariances"] = np.asarray(arrays["covariances"], dtype=np.float32)
    alphas = arrays.get("alphas")
    out["alphas"] = None if alphas is None else np.asarray(alphas, dtype=np.float32)
    if compose not in COMPOSE or (alphas is None) != (compose == "none"):
        raise ValueError(f"compose {compose!r} needs class alphas exactly when it is concat or add")
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance type {covariance_type!r}; expected one of {', '.join(COVARIANCE_TYPES)}")
    nb, k = len(out["bin_action"]), len(out["weights"])
    if not (len(out["bin_low"]) == len(out["bin_high"]) == nb and len(out["offsets"]) == nb + 1):
        raise ValueError("bin_action, bin_low, bin_high need one entry per bin and offsets one more")
    offsets = out["offsets"]
    if offsets[0] != 0 or offsets[-1] != k or np.any(np.diff(offsets) < 1):
        raise ValueError("offsets must rise from 0 to the number of components, at least one per bin")
    if out["means"].ndim != 2 or len(out["means"]) != k:
        raise ValueError(f"means must be ({k}, code_dim), got {out['means'].shape}")
    d = out["means"].shape[1]
    tri = d * (d + 1) // 2
    expected = {"full": (k, tri), "diag": (k, d), "spherical": (k,), "tied": (nb, tri)}[covariance_type]
    if out["covariances"].shape != expected:
        raise ValueError(f"{covariance_type} covariances must be {expected}, got {out['covariances'].shape}")
    return out


def write(folder: str | Path, name: str, arrays: dict, info: dict) -> None:
    """Write ``arrays`` (:data:`ARRAYS` and ``alphas`` unless None) to ``<name>.npz`` and ``info`` after the
    format to ``<name>.json``, each file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored = {key: arrays[key] for key in ARRAYS}
    if arrays.get("alphas") is not None:
        stored["alphas"] = arrays["alphas"]
    with atomic_path(folder / f"{name}.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **stored)
    with atomic_path(folder / f"{name}.json") as tmp:
        tmp.write_text(json.dumps({"format": FORMAT, **info}, indent=2) + "\n")


def read(folder: str | Path, name: str) -> tuple[dict, dict]:
    """``(arrays, info)`` as :func:`write` wrote them; a missing file or another format is a one-line DataError."""
    folder = Path(folder)
    npz, js = folder / f"{name}.npz", folder / f"{name}.json"
    for path in (npz, js):
        if not path.is_file():
            raise DataError(f"{path}: not found; run `dvc repro fit-gmm`")
    info = load_json(js, f"the {FORMAT} mixture description written by fit-gmm")
    if info.get("format") != FORMAT:
        raise DataError(f"{js}: format {info.get('format')!r}, expected {FORMAT!r}")
    arrays = load_npz(npz, "the mixture arrays written by fit-gmm", ARRAYS)
    return {key: value for key, value in arrays.items() if key in ARRAYS + ("alphas",)}, info


def report(gmm) -> dict:
    """A human-readable summary of fitted mixtures: totals and, per class, one line of facts per bin."""
    recs = gmm.records
    per_class: dict[str, list] = {}
    for r in recs:
        per_class.setdefault(r["class_name"], []).append({
            "lengths": f"[{r['low']}, {r['high']})", "population": r["population"], "samples": r["samples"],
            "components": r["components"], "retries": r["retries"], "converged": r["converged"],
            "guard_passed": r["guard_passed"], "mean_log_likelihood": round(r["mean_log_likelihood"], 3),
        })
    most = gmm.settings.components if gmm.settings is not None else 0
    return {
        "bins": gmm.num_bins,
        "components": int(len(gmm.weights)),
        "components_per_bin": round(gmm.components_per_bin, 3),
        "code_sigma_ratio": None if gmm.sigma_ratio is None else round(float(gmm.sigma_ratio), 4),
        "space": "composed" if gmm.compose == "none" else "beta",
        "covariance_type": gmm.covariance_type,
        "code_dim": gmm.code_dim,
        "bins_not_converged": sum(not r["converged"] for r in recs),
        "bins_failing_guard": sum(not r["guard_passed"] for r in recs),
        "bins_with_fewer_components": sum(r["components"] < most for r in recs),
        "retries": sum(r["retries"] for r in recs),
        "classes": per_class,
    }
