"""Stage ``render``: a gallery of generated motions beside their nearest training motions (``params.yaml: render``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.errors import DataError, exit_on_error
from motioninr.gallery import GallerySettings, pick_examples, render_gallery
from motioninr.io import atomic_path, load_json
from motioninr.render import RenderSettings, SkeletonMeta
from stages.common import read_params, section, settings_from

app = typer.Typer(add_completion=False)


def generated_file(folder: Path, name: str) -> Path:
    """``<folder>/<name>.npz``, as listed in ``<folder>/meta.json`` when there is one."""
    listing = folder / "meta.json"
    files = load_json(listing, "the listing of generated sets").get("files", {}) if listing.is_file() else {}
    path = folder / files.get(name, {}).get("path", f"{name}.npz")
    if not path.is_file():
        known = ", ".join(sorted(files)) or "none listed"
        raise DataError(f"render.motions: got {name!r}, but {path} does not exist; generated files: {known}")
    return path


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'render')."),
    generated: Path = typer.Option(Path("data/generated"), help="Folder of generated motion sets."),
    processed: Path = typer.Option(Path("data/processed"), help="Processed dataset folder (training motions, skeleton)."),
    evaluator: Path = typer.Option(Path("models/evaluator.pt"), help="Evaluator checkpoint (feature space for nearest neighbours)."),
    out: Path = typer.Option(Path("plots/gallery"), help="Gallery folder to write (PNGs and GIFs)."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Per action, generated motions at a few lengths, each beside its nearest training motion in evaluator features."""
    with exit_on_error(debug):
        from motioninr.evaluation import extract_features, load_classifier
        from motioninr.evaluation.metrics import nearest_distances

        gallery, look = settings_from(section(read_params(params), "render"), "render", GallerySettings, RenderSettings)
        meta = SkeletonMeta.from_meta(load_meta(processed), str(processed / "meta.json"))
        motions = MotionSet.load(generated_file(generated, gallery.motions))
        training = load_split(processed, "train")
        clf = load_classifier(evaluator, num_joints=meta.num_joints, num_classes=len(meta.class_names))
        examples = pick_examples(motions.lengths, motions.labels, gallery.lengths)
        picked = motions.subset(np.array([e.index for e in examples]))
        gen_features, _ = extract_features(clf, picked, crop="start")
        train_features, _ = extract_features(clf, training, crop="start")
        distances, nearest = nearest_distances(gen_features, train_features)
        with atomic_path(out, directory=True) as tmp:
            written = render_gallery(tmp, examples, motions, training, nearest, distances, meta, gallery, look)
    gifs = sum(p.suffix == ".gif" for p in written)
    typer.echo(f"rendered {len(written) - gifs} comparisons and {gifs} animations of {gallery.motions} -> {out} "
               f"(mean nearest-training distance {float(np.mean(distances)):.3f})")


if __name__ == "__main__":
    app()
