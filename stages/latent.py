"""Stage ``latent``: pictures of the code and feature spaces (``params.yaml: latent``), as DVC image plots.

Codes: the trained sequence codes (posterior means, from the draws file) and codes drawn
from the mixtures at the same actions and lengths. Features: the evaluator features of the
training motions and of one generated set (its first replication when the file holds several).
See :mod:`motioninr.latent`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import typer

from motioninr.codes import CodeDraws
from motioninr.data.dataset import MotionSet, load_meta, load_split
from motioninr.errors import DataError, exit_on_error
from motioninr.generation import make_sampler
from motioninr.gmm import LengthBinnedGMM
from motioninr.io import atomic_path, load_npz
from motioninr.latent import LatentSettings, PointSet, latent_pictures
from motioninr.settings import from_mapping
from stages.common import generated_file, read_params, section

app = typer.Typer(add_completion=False)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'latent')."),
    draws: Path = typer.Option(Path("data/codes/draws.npz"), help="Code draws (the trained sequence codes)."),
    gmm: Path = typer.Option(Path("models/gmm"), help="Fitted mixtures."),
    generated: Path = typer.Option(Path("data/generated"), help="Folder of generated motion sets."),
    processed: Path = typer.Option(Path("data/processed"), help="Processed dataset folder (training motions)."),
    evaluator: Path = typer.Option(Path("models/evaluator.pt"), help="Evaluator checkpoint (feature space)."),
    out: Path = typer.Option(Path("plots/latent"), help="Folder of PNGs to write."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Project codes and evaluator features to 2-D (PCA, t-SNE), coloured by action and by length."""
    with exit_on_error(debug):
        from motioninr.evaluation import extract_features, load_classifier

        from threadpoolctl import threadpool_limits

        settings = from_mapping(LatentSettings, section(read_params(params), "latent"), "latent")
        # One thread: the 128 x 128 products of mixture sampling and t-SNE are too small for BLAS
        # threads, which only spin (15 s instead of 0.04 s for the demo's mixture draws on a busy machine).
        torch.set_num_threads(1)
        threadpool_limits(limits=1)
        code_draws, mixtures = CodeDraws.load(draws), LengthBinnedGMM.load(gmm)
        if list(mixtures.class_names) != list(code_draws.class_names):
            raise DataError(f"{gmm}: mixtures for classes {mixtures.class_names}, but {draws} has "
                            f"{code_draws.class_names}")
        rng = np.random.default_rng(settings.seed)
        actions = np.repeat(code_draws.sample_labels, settings.gmm_samples)
        lengths = np.repeat(code_draws.sample_lengths, settings.gmm_samples)
        codes = PointSet("training sequence codes", code_draws.sample_codes, code_draws.sample_labels,
                         code_draws.sample_lengths)
        mixture = PointSet("mixture samples", make_sampler("gmm", gmm=mixtures).sample(actions, lengths, rng),
                           actions, lengths)

        meta = load_meta(processed)
        class_names = list(meta["class_names"])
        training = load_split(processed, "train")
        motions_file = generated_file(generated, settings.motions, "latent.motions")
        motions = MotionSet.load(motions_file)
        replication = load_npz(motions_file, "a generated motion set", only=("replication",)).get("replication")
        if replication is not None:  # the first of the independently generated sets: one set beside the training set
            motions = motions.subset(np.flatnonzero(replication == 0))
        clf = load_classifier(evaluator, num_joints=training.num_joints, num_classes=len(class_names))
        feats = {}
        for name, ms in (("training motions", training), (f"generated ({settings.motions})", motions)):
            values, _ = extract_features(clf, ms, rng=np.random.default_rng(settings.seed), crop="start")
            feats[name] = PointSet(name, values, ms.labels, ms.lengths)
        with atomic_path(out, directory=True) as tmp:
            written = latent_pictures(tmp, codes, mixture, *feats.values(), class_names, settings)
    typer.echo(f"drew {len(written)} latent-space pictures ({', '.join(p.name for p in written)}) -> {out}")


if __name__ == "__main__":
    app()
