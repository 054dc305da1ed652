"""Stage ``train``: processed dataset + ``params.yaml: model, train`` -> ``models/model.pt``.

Resumes from ``models/checkpoints/last.pt`` when an earlier run with the same settings and
data was interrupted; logs per-epoch curves with dvclive (``dvc plots show``).

With ``train.nproc > 1`` the stage starts itself again under
``torchrun --standalone --nproc-per-node <nproc>``; started by torchrun (any number of machines),
it trains as one process of torchrun's world, and only rank 0 writes files.
"""

from __future__ import annotations

from pathlib import Path

import torch
import typer

from motioninr.codes import code_sigma_ratio
from motioninr.data.dataset import load_meta, load_split
from motioninr.errors import exit_on_error
from motioninr.model.distributed import ParallelSettings, in_launched_world, launch, process_device, training_world
from motioninr.model.model import ModelSettings, save_model, settings_dict
from motioninr.model.objective import LossSettings
from motioninr.model.progress import TrainingProgress
from motioninr.model.train import TrainSettings, fit, new_model, reconstruction_error
from motioninr.settings import from_mapping
from stages.common import read_params, section, settings_from

app = typer.Typer(add_completion=False)
CURVES = ("loss", "recon", "kl_seq", "kl_act", "mpjpe_cm")


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (sections 'model' and 'train')."),
    data: Path = typer.Option(Path("data/processed"), help="Processed dataset folder."),
    out: Path = typer.Option(Path("models/model.pt"), help="Trained model to write."),
    checkpoints: Path = typer.Option(Path("models/checkpoints"), help="Checkpoint folder (kept between runs)."),
    live: Path = typer.Option(Path("dvclive/train"), help="dvclive folder for metrics and curves."),
    curve_every: int = typer.Option(10, min=1, help="Epochs between points of the training curves (the first and "
                                    "last epochs always count); dvclive writes its files at every point."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Train the auto-decoder on the training split and write the model."""
    with exit_on_error(debug):
        values = read_params(params)
        model_settings = from_mapping(ModelSettings, section(values, "model"), "model")
        settings, parallel, loss = settings_from(section(values, "train"), "train", TrainSettings, ParallelSettings,
                                                 LossSettings)
        if parallel.nproc > 1 and not in_launched_world():  # start nproc processes running this stage
            process_device(settings.device, parallel.nproc - 1, "train.device")  # one GPU each when on GPUs
            load_meta(data)  # a missing dataset is reported once, not by every process
            status = launch(parallel.nproc, "stages.train", [
                "--params", str(params), "--data", str(data), "--out", str(out), "--checkpoints", str(checkpoints),
                "--live", str(live), "--curve-every", str(curve_every), "--debug" if debug else "--no-debug"])
            if status:  # the failing process printed its error
                raise SystemExit(status)
            return
        with training_world(settings.device, "train.device") as world:
            if settings.threads:
                torch.set_num_threads(settings.threads)
            meta, train = load_meta(data), load_split(data, "train")
            model = new_model(model_settings, train, meta, seed=settings.seed)
            if not world.is_main:  # the same training (and checkpoint gathering); rank 0 writes every file
                fit(model, train, settings, checkpoint_dir=checkpoints, world=world, loss=loss)
                return
            history, errors, ratio = train_and_log(model, train, settings, world, checkpoints, live, loss,
                                                   curve_every)
            save_model(model.cpu(), out, extra={"training": {"settings": settings_dict(settings),
                                                             "last_epoch": history[-1], "reconstruction": errors,
                                                             "code_sigma_ratio": ratio}})
    typer.echo(f"trained {settings.epochs} epochs -> {out}; training-set reconstruction error "
               f"{errors['mpjpe_cm']:.2f} cm per joint (pose {errors['pose_cm']:.2f} cm, root {errors['root_cm']:.2f} cm); "
               f"code_sigma_ratio {ratio:.3f}")


def train_and_log(model, train, settings: TrainSettings, world, checkpoints: Path, live: Path, loss=None,
                  curve_every: int = 1):
    """``fit`` with a progress bar and dvclive curves (a point every ``curve_every`` epochs, the first and
    the last); returns the history, the reconstruction errors and the code_sigma_ratio."""
    from dvclive import Live

    where = str(world.device) + (f", {world.size} processes" if world.size > 1 else "")
    with TrainingProgress(settings.epochs) as progress, Live(str(live), dvcyaml=None, save_dvc_exp=False) as curves:
        progress.log(f"training a {model.settings.decoder} decoder on {len(train)} sequences ({where})")

        def on_epoch(record: dict, restored: bool) -> None:
            epoch = record["epoch"]
            if epoch == 1 or epoch % curve_every == 0 or epoch == settings.epochs:
                curves.step = epoch
                for name in CURVES:
                    curves.log_metric(name, record[name])
                curves.next_step()
            progress.update(record, restored)

        history = fit(model, train, settings, checkpoint_dir=checkpoints, on_epoch=on_epoch, log=progress.log,
                      world=world, loss=loss)
        errors = reconstruction_error(model, train)
        for name, value in errors.items():
            curves.log_metric(f"reconstruction/{name}", round(value, 4), plot=False)
        ratio = model_sigma_ratio(model)
        curves.log_metric("code_sigma_ratio", round(ratio, 4), plot=False)
    return history, errors, ratio


def model_sigma_ratio(model) -> float:
    """:func:`~motioninr.codes.code_sigma_ratio` of the model's sequence codes (0 for point codes)."""
    post = model.posteriors()
    sigma = torch.zeros_like(post["seq_mu"]) if post["seq_logvar"] is None else torch.exp(0.5 * post["seq_logvar"])
    return code_sigma_ratio(post["seq_mu"].cpu().numpy(), sigma.cpu().numpy())


if __name__ == "__main__":
    app()
