"""Stage ``check``: every section of ``params.yaml`` validated before any other stage runs.

DVC deletes a stage's outputs before running it, and each stage reads only its own section, so
a typo in a late section (``gmm``) used to surface only after the earlier stages had re-run and
their outputs (with the uncached metrics, plots and training curves) were gone. Every stage
depends on this one (through ``prepare``), which tracks the whole ``params.yaml``: a bad value
stops ``dvc repro`` here, with one line naming the setting, before anything is deleted.

Its output lists the sections checked, not their values, so it is the same file whatever the
settings are and changing a setting re-runs only the stages that read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import typer

from motioninr.errors import SettingsError, exit_on_error
from motioninr.settings import from_mapping
from stages.common import read_params, section, settings_from

app = typer.Typer(add_completion=False)


def _data(values: dict[str, Any]) -> None:
    from motioninr.data.loaders import SourceSettings
    from motioninr.data.prepare import PrepareSettings

    source, _ = settings_from(values, "data", SourceSettings, PrepareSettings)
    if source.source != "demo" and not Path(source.path).exists():
        raise SettingsError(f"data.path: got {source.path!r}, which does not exist; expected the raw "
                            f"{source.source} dataset (folder or file) for data.source {source.source!r}")


def _model(values: dict[str, Any]) -> None:
    from motioninr.model.model import ModelSettings

    from_mapping(ModelSettings, values, "model")


def _train(values: dict[str, Any]) -> None:
    from motioninr.model.distributed import ParallelSettings
    from motioninr.model.objective import LossSettings
    from motioninr.model.train_settings import TrainSettings

    settings_from(values, "train", TrainSettings, ParallelSettings, LossSettings)


def _evaluate(values: dict[str, Any]) -> None:
    from motioninr.evaluation import EvaluateSettings

    settings = from_mapping(EvaluateSettings, values, "evaluate")
    if settings.classifier is not None and not Path(settings.classifier).is_file():
        raise SettingsError(f"evaluate.classifier: got {settings.classifier!r}, which is not a file; expected a "
                            "pretrained evaluator (.pt or Action2Motion .tar), or null to train one")


def _resample(values: dict[str, Any]) -> None:
    from motioninr.codes import ResampleSettings

    from_mapping(ResampleSettings, values, "resample")


def _gmm(values: dict[str, Any]) -> None:
    from motioninr.gmm import GMMSettings

    from_mapping(GMMSettings, values, "gmm")


def _generate(values: dict[str, Any]) -> None:
    from motioninr.generation import GenerateSettings

    from_mapping(GenerateSettings, values, "generate")


def _render(values: dict[str, Any]) -> None:
    from motioninr.gallery import GallerySettings
    from motioninr.render import RenderSettings

    settings_from(values, "render", GallerySettings, RenderSettings)


def _latent(values: dict[str, Any]) -> None:
    from motioninr.latent import LatentSettings

    from_mapping(LatentSettings, values, "latent")


# Every section of params.yaml and how its stage reads it. A new section needs an entry here.
SECTIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "data": _data, "model": _model, "train": _train, "evaluate": _evaluate, "resample": _resample,
    "gmm": _gmm, "generate": _generate, "render": _render, "latent": _latent,
}


def check_params(params: dict[str, Any]) -> list[str]:
    """Validate every section of a parsed ``params.yaml``; returns the section names checked."""
    unknown = sorted(set(params) - set(SECTIONS))
    if unknown:
        raise SettingsError(f"{unknown[0]}: unknown section of params.yaml; expected sections "
                            f"{', '.join(SECTIONS)}")
    for name, check in SECTIONS.items():
        check(section(params, name))
    return list(SECTIONS)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (every section)."),
    out: Path = typer.Option(Path("data/params-checked.txt"), help="Record of the sections checked."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Validate every section of params.yaml; a bad setting stops the pipeline before any stage runs."""
    from motioninr.io import write_bytes

    with exit_on_error(debug):
        names = check_params(read_params(params))
        write_bytes(out, ("params.yaml sections checked: " + ", ".join(names) + "\n").encode())
    typer.echo(f"params.yaml: {len(names)} sections valid ({', '.join(names)})")


if __name__ == "__main__":
    app()
