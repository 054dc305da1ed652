"""``motioninr generate``: motions of one action and length from the pipeline's trained model and mixtures."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import typer

from motioninr.errors import DataError, SettingsError, exit_on_error


def generate(
    action: str = typer.Option(..., "--action", "-a", help="Action name or index (as in the processed dataset)."),
    length: int = typer.Option(..., "--length", "-l", help="Frames per motion."),
    count: int = typer.Option(1, "--count", "-n", help="Number of motions."),
    out: Path = typer.Option(None, "--out", "-o", help="Motion set .npz to write (default: <action>_<length>.npz)."),
    seed: int = typer.Option(0, help="Random seed of the sampled codes."),
    sampler: str = typer.Option("gmm", help="gmm (the method) | memorize | gaussian (baselines)."),
    model: Path = typer.Option(Path("models/model.pt"), help="Trained model (stage train)."),
    gmm: Path = typer.Option(Path("models/gmm"), help="Fitted mixtures folder (stage fit-gmm)."),
    draws: Path = typer.Option(Path("data/codes/draws.npz"), help="Code draws (stage resample; baselines only)."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N | mps."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Generate COUNT motions of ACTION, LENGTH frames each, as a motion set (frames in metres)."""
    with exit_on_error(debug):
        from motioninr.codes import CodeDraws
        from motioninr.device import resolve_device
        from motioninr.generation import SAMPLERS, generate_motions, make_sampler, parse_action
        from motioninr.gmm import LengthBinnedGMM
        from motioninr.model import load_model

        if length < 1:
            raise SettingsError(f"--length: got {length}, expected a positive number of frames")
        if count < 1:
            raise SettingsError(f"--count: got {count}, expected a positive number of motions")
        if sampler not in SAMPLERS:
            raise SettingsError(f"--sampler: got {sampler!r}, expected one of {', '.join(SAMPLERS)}")
        if not model.is_file():
            raise DataError(f"{model} not found; run `dvc repro train` (or pass --model)")
        if sampler == "gmm":
            for name in ("gmm.npz", "gmm.json"):
                if not (gmm / name).is_file():
                    raise DataError(f"{gmm / name} not found; run `dvc repro fit-gmm` (or pass --gmm)")
            mixtures, code_draws = LengthBinnedGMM.load(gmm), None
            class_names = mixtures.class_names
        else:
            if not draws.is_file():
                raise DataError(f"{draws} not found; run `dvc repro resample` (or pass --draws)")
            mixtures, code_draws = None, CodeDraws.load(draws)
            class_names = code_draws.class_names
        index = parse_action(action, class_names, "--action")
        net = load_model(model, device=resolve_device(device, "--device"))
        if list(net.class_names) != list(class_names):
            stage = "fit-gmm" if sampler == "gmm" else "resample"
            raise DataError(f"{gmm if sampler == 'gmm' else draws}: made for classes {class_names}, but {model} has "
                            f"{list(net.class_names)}; run `dvc repro {stage}`")
        out = out or Path(f"{class_names[index]}_{length}.npz")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            motions = generate_motions(net, make_sampler(sampler, mixtures, code_draws), np.full(count, index),
                                       np.full(count, length), np.random.default_rng(seed),
                                       prefix=f"{class_names[index]}_{length}")
        for w in caught:
            typer.echo(f"warning: {w.message}", err=True)
        motions.save(out)
    typer.echo(f"wrote {count} x {class_names[index]} ({length} frames at {net.fps:g} fps, {sampler}) -> {out}")

