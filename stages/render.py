"""Stage ``render``: a gallery of generated motions beside their nearest training motions (``params.yaml: render``).

Each generated example is also written as ``<stem>.bvh`` for animation tools, in the sibling folder
``<out>_bvh`` (same stems as the images): inside the gallery folder DVC would try to read them as plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.errors import DataError, exit_on_error
from motioninr.export import dataset_skeleton, write_named
from motioninr.gallery import GallerySettings, example_stem, pick_examples, render_gallery
from motioninr.io import atomic_path
from motioninr.render import RenderSettings, SkeletonMeta
from stages.common import generated_file, read_params, section, settings_from

app = typer.Typer(add_completion=False)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'render')."),
    generated: Path = typer.Option(Path("data/generated"), help="Folder of generated motion sets."),
    processed: Path = typer.Option(Path("data/processed"), help="Processed dataset folder (training motions, skeleton)."),
    evaluator: Path = typer.Option(Path("models/evaluator.pt"), help="Evaluator checkpoint (feature space for nearest neighbours)."),
    out: Path = typer.Option(Path("plots/gallery"), help="Gallery folder to write (PNGs and GIFs)."),
    bvh: Path = typer.Option(None, help="Folder for the examples as BVH files (default: <out>_bvh)."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Per action, generated motions at a few lengths, each beside its nearest training motion in evaluator features."""
    with exit_on_error(debug):
        from motioninr.evaluation import extract_features, load_classifier
        from motioninr.evaluation.metrics import nearest_distances

        gallery, look = settings_from(section(read_params(params), "render"), "render", GallerySettings, RenderSettings)
        raw_meta = load_meta(processed)
        meta = SkeletonMeta.from_meta(raw_meta, str(processed / "meta.json"))
        motions = MotionSet.load(generated_file(generated, gallery.motions, "render.motions"))
        training = load_split(processed, "train")
        clf = load_classifier(evaluator, num_joints=meta.num_joints, num_classes=len(meta.class_names))
        examples = pick_examples(motions.lengths, motions.labels, gallery.lengths)
        picked = motions.subset(np.array([e.index for e in examples]))
        gen_features, _ = extract_features(clf, picked, crop="start")
        train_features, _ = extract_features(clf, training, crop="start")
        distances, nearest = nearest_distances(gen_features, train_features)
        with atomic_path(out, directory=True) as tmp:
            written = render_gallery(tmp, examples, motions, training, nearest, distances, meta, gallery, look)
        bvh = bvh or out.with_name(out.name + "_bvh")
        with atomic_path(bvh, directory=True) as tmp:
            files = write_named(tmp, {example_stem(e, meta): e.index for e in examples}, motions,
                                dataset_skeleton(raw_meta, training), float(raw_meta["fps"]))
    gifs = sum(p.suffix == ".gif" for p in written)
    typer.echo(f"rendered {len(written) - gifs} comparisons, {gifs} animations of {gallery.motions} -> {out} and {len(files)} BVH files -> {bvh} "
               f"(mean nearest-training distance {float(np.mean(distances)):.3f})")


if __name__ == "__main__":
    app()
