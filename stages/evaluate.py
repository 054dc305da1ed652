"""Stage ``evaluate``: accuracy, FID, diversity, multimodality and MMS of every generated set (``params.yaml: evaluate``),
with precision/recall, density/coverage, copies and physical plausibility beside them.

Writes ``metrics/evaluate/<set>.json`` (the five headline means, one file per set so
``dvc metrics show`` prints one row per set; ``real`` compares two independent crops of
the real motions), ``metrics/details/`` (the other views and every interval, see
:mod:`motioninr.evaluation.report`) and the per-class, confusion and FID-by-length
tables under ``plots/evaluate``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import typer

from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.device import resolve_device
from motioninr.errors import DataError, exit_on_error
from motioninr.evaluation import EvaluateSettings, evaluate_motions, load_classifier
from motioninr.evaluation.extra import ExtraMetrics
from motioninr.evaluation.physics import Skeleton, estimate_floor
from motioninr.evaluation.report import format_tables, metrics_views, write_report
from motioninr.io import atomic_path, load_json, load_npz, save_json
from motioninr.settings import from_mapping
from stages.common import read_params, section

app = typer.Typer(add_completion=False)


def load_generated(folder: Path, class_names: list[str]) -> tuple[dict[str, MotionSet], dict[str, np.ndarray]]:
    """The motion sets listed in ``<folder>/meta.json`` and, where a file has one, its ``replication`` array."""
    listing = folder / "meta.json"
    if not listing.is_file():
        raise DataError(f"{listing}: not found; run the generate stage first (dvc repro generate)")
    meta = load_json(listing, "the listing of generated sets written by the generate stage")
    if meta.get("class_names") not in (None, class_names):
        raise DataError(f"{listing}: class_names {meta['class_names']} differ from the processed dataset's {class_names}")
    sets, groups = {}, {}
    for name, entry in meta.get("files", {}).items():
        path = folder / entry.get("path", f"{name}.npz")
        sets[name] = MotionSet.load(path)
        extra = load_npz(path, "a generated motion set", only=("replication",))
        if "replication" in extra:
            groups[name] = extra["replication"]
    return sets, groups


def skeleton_of(processed: Path, meta: dict, train: MotionSet, floor: str) -> Skeleton:
    """Skeleton facts for the physical metrics; the floor from the training motions unless ``floor`` is sequence."""
    names = list(meta.get("joint_names", []))
    unknown = [n for n in meta.get("foot_joints") or [] if n not in names]
    if unknown:
        raise DataError(f"{processed / 'meta.json'}: foot_joints names {unknown[0]!r}, which is not in joint_names {names}")
    up = str(meta.get("up", "y"))
    return Skeleton.from_meta(meta, estimate_floor(train, up) if floor == "dataset" else None)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'evaluate')."),
    processed: Path = typer.Option(Path("data/processed"), help="Processed dataset folder (the real motions)."),
    generated: Path = typer.Option(Path("data/generated"), help="Folder of generated motion sets (meta.json lists them)."),
    evaluator: Path = typer.Option(Path("models/evaluator.pt"), help="Evaluator checkpoint."),
    metrics: Path = typer.Option(Path("metrics/evaluate"), help="Folder of per-set headline metrics files to write."),
    details: Path = typer.Option(Path("metrics/details"), help="Folder of the other metrics views and intervals to write."),
    plots: Path = typer.Option(Path("plots/evaluate"), help="Folder of per-class and per-length tables to write."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Score the generated motions against the real ones with the replicated Action2Motion/MotionINR protocol."""
    with exit_on_error(debug):
        t0 = time.perf_counter()
        settings = from_mapping(EvaluateSettings, section(read_params(params), "evaluate"), "evaluate")
        torch.set_num_threads(settings.threads)
        meta = load_meta(processed)
        class_names = list(meta["class_names"])
        if settings.real_split == "test" and not (processed / "test.npz").is_file():
            raise DataError(f"evaluate.real_split: got 'test', but {processed} has no test split; use train")
        real = load_split(processed, settings.real_split)
        train = None if settings.real_split == "train" else load_split(processed, "train")
        sets, groups = load_generated(generated, class_names)
        clf = load_classifier(evaluator, real.num_joints, len(class_names), resolve_device(settings.device, "evaluate.device"))
        skeleton = skeleton_of(processed, meta, real if train is None else train, settings.physics.floor)
        extra = ExtraMetrics(settings.neighbours, skeleton, settings.physics)
        result = evaluate_motions(clf, real, sets, class_names, settings, train=train, groups=groups, extra=extra)
        views = metrics_views(result)
        with atomic_path(metrics, directory=True) as tmp:
            for rel, row in views.items():
                if rel.startswith("evaluate/"):
                    save_json(tmp / rel.removeprefix("evaluate/"), row)
        with atomic_path(details, directory=True) as tmp:
            for rel, row in views.items():
                if rel.startswith("details/"):
                    save_json(tmp / rel.removeprefix("details/"), row)
        with atomic_path(plots, directory=True) as tmp:
            write_report(tmp, result)
    typer.echo(format_tables(result))
    feet = ", ".join(meta["joint_names"][j] for j in skeleton.feet) or "none (set data.foot_joints)"
    floor = "each motion's lowest point" if skeleton.floor is None else f"{skeleton.floor:.3f} m along {skeleton.up}"
    typer.echo(f"physics: floor {floor}, foot joints {feet}, {skeleton.fps:g} fps; k = {settings.neighbours}")
    typer.echo(f"{result.replications} replications on the {settings.real_split} split in "
               f"{time.perf_counter() - t0:.1f} s -> {metrics}, {plots}")


if __name__ == "__main__":
    app()
