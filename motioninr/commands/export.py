"""``motioninr export``: motions of a motion set as BVH files for animation tools (Blender, ...)."""

from __future__ import annotations

from pathlib import Path

import typer

from motioninr.errors import SettingsError, exit_on_error

FORMATS = ("bvh",)


def export(
    file: Path = typer.Argument(..., help="Motion set .npz (from `motioninr generate`, data/generated or data/processed)."),
    format: str = typer.Option("bvh", "--format", "-f", help="Output format: bvh."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write one file per motion into."),
    ids: list[str] = typer.Option(None, "--ids", help="Motion ids to export (repeat or comma-separate); default all."),
    unit: str = typer.Option("m", help="Length unit of the file: m | cm."),
    processed: Path = typer.Option(Path("data/processed"), help="Processed dataset: joint names, hierarchy, fps, rest skeleton."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Write each motion of FILE as <id>.bvh in OUT. Motions without rotations go through IK (lossy)."""
    with exit_on_error(debug):
        from motioninr.data.dataset import MotionSet, load_meta, load_split
        from motioninr.export import UNITS, dataset_skeleton, export_motion, select, write_all

        if format not in FORMATS:
            raise SettingsError(f"--format: got {format!r}, expected one of {', '.join(FORMATS)}")
        if unit not in UNITS:
            raise SettingsError(f"--unit: got {unit!r}, expected one of {', '.join(UNITS)}")
        motions = MotionSet.load(file)
        wanted = [k.strip() for item in (ids or []) for k in item.split(",") if k.strip()]
        index = select(motions, wanted, str(file))
        meta = load_meta(processed)
        if motions.num_joints != len(meta["joint_names"]):
            raise SettingsError(f"{file}: motions of {motions.num_joints} joints but {processed / 'meta.json'} has "
                                f"{len(meta['joint_names'])}; pass --processed of the dataset they come from")
        skeleton = dataset_skeleton(meta, load_split(processed, "train"))
        exported = [export_motion(motions, int(i), skeleton, float(meta["fps"]), unit) for i in index]
        paths = write_all(exported, out)
    ik = [e for e in exported if e.ik]
    how = "their rotations"
    if ik:
        mean_mm = 1000 * sum(e.error_mean_m * e.frames for e in ik) / sum(e.frames for e in ik)
        max_mm = 1000 * max(e.error_max_m for e in ik)
        how = (f"inverse kinematics (positions only; lossy): joint-position error mean {mean_mm:.1f} mm, "
               f"max {max_mm:.1f} mm")
    typer.echo(f"exported {len(paths)} motions from {how} -> {out} ({unit}, {meta['fps']:g} fps)")
