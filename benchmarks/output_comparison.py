"""Compare ``model.output: positions`` and ``rot6d`` on two finished pipeline runs of the same data.

Run the pipeline twice (e.g. two copies of the repository, or two ``dvc exp run`` workspaces), once
with each output, then:

    python benchmarks/output_comparison.py RUN_POSITIONS RUN_ROT6D [--out docs/output_comparison.json]

Per run it reads the training-set reconstruction error (``models/model.pt``), the metrics of the
method's variable-length set (``metrics/evaluate/gmm_variable.json``), and measures on the generated
``data/generated/gmm_variable.npz``:

- bone-length error: mean |bone length - the dataset skeleton's| over frames and bones (mm), and the
  mean over motions of each bone's std over time (mm, 0 for a rigid skeleton); the real training
  motions' values are given as the reference (the demo's bodies differ in size by up to 15 %);
- the joint-position error of exporting the set to BVH (rotations directly, or IK for positions).

Prints one ``name=value`` line per number and writes them as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.export import dataset_skeleton, export_motion
from motioninr.skeleton import bone_lengths


def bone_errors(motions: MotionSet, skeleton_lengths: np.ndarray, parents) -> dict:
    lengths = bone_lengths(motions.frames, parents)  # (frames, bones)
    seq = motions.sequence_index()
    counts = np.bincount(seq)
    mean = np.stack([np.bincount(seq, lengths[:, b]) / counts for b in range(lengths.shape[1])], axis=1)
    square = np.stack([np.bincount(seq, lengths[:, b] ** 2) / counts for b in range(lengths.shape[1])], axis=1)
    std = np.sqrt(np.maximum(square - mean ** 2, 0.0))
    return {"bone_error_mm": float(np.abs(lengths - skeleton_lengths).mean() * 1000),
            "bone_std_mm": float(std.mean() * 1000)}


def measure(run: Path) -> dict:
    art = torch.load(run / "models/model.pt", map_location="cpu", weights_only=True)
    metrics = json.loads((run / "metrics/evaluate/gmm_variable.json").read_text())
    meta = load_meta(run / "data/processed")
    train = load_split(run / "data/processed", "train")
    skeleton = dataset_skeleton(meta, train)
    skeleton_lengths = np.linalg.norm(skeleton.offsets[1:], axis=-1)
    generated = MotionSet.load(run / "data/generated/gmm_variable.npz")
    exported = [export_motion(generated, i, skeleton, float(meta["fps"])) for i in range(len(generated))]
    frames = sum(e.frames for e in exported)
    rec = art["training"]["reconstruction"]
    return {
        "output": art["config"].get("output", "positions"),
        "reconstruction_mpjpe_cm": rec["mpjpe_cm"], "reconstruction_pose_cm": rec["pose_cm"],
        "reconstruction_root_cm": rec["root_cm"],
        **{k: metrics[k] for k in ("fid", "fid_ci", "mms", "mms_ci", "accuracy")},
        **{f"generated_{k}": v for k, v in bone_errors(generated, skeleton_lengths, meta["parents"]).items()},
        **{f"real_{k}": v for k, v in bone_errors(train, skeleton_lengths, meta["parents"]).items()},
        "export_ik": any(e.ik for e in exported),
        "export_error_mean_mm": sum(e.error_mean_m * e.frames for e in exported) / frames * 1000,
        "export_error_max_mm": max(e.error_max_m for e in exported) * 1000,
        "fk_residual": meta.get("rotations", {}).get("residual_m", {}),
    }


def table(results: dict) -> str:
    """The README table of :func:`measure`'s rows (``results[output]``)."""
    lines = ["| `model.output` | reconstruction (cm per joint) | gmm FID | gmm MMS | bone-length error (mm) "
             "| bone-length std over a motion (mm) | BVH export error (mm, mean / max) |",
             "|---|---|---|---|---|---|---|"]
    for name in ("positions", "rot6d"):
        r = results[name]
        how = "IK" if r["export_ik"] else "direct"
        lines.append(f"| `{name}` | {r['reconstruction_mpjpe_cm']:.2f} | {r['fid']:.3f} ± {r['fid_ci']:.3f} "
                     f"| {r['mms']:.3f} ± {r['mms_ci']:.3f} | {r['generated_bone_error_mm']:.1f} "
                     f"| {r['generated_bone_std_mm']:.1f} | {how}: {r['export_error_mean_mm']:.3f} / "
                     f"{r['export_error_max_mm']:.3f} |")
    r = results["positions"]
    lines.append(f"| real training motions | - | - | - | {r['real_bone_error_mm']:.1f} | {r['real_bone_std_mm']:.1f} | - |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = {}
    for run in args.runs:
        row = measure(run)
        results[row["output"]] = row
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    if {"positions", "rot6d"} <= set(results):
        print(table(results))
    for name, row in results.items():  # one name=value line per number, last
        for key, value in row.items():
            if isinstance(value, (int, float)):
                print(f"{name}_{key}={value:.4f}")


if __name__ == "__main__":
    main()
