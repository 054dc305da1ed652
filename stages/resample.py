"""Stage ``resample``: trained model -> code draws from each training sample's posterior (``resample``)."""

from __future__ import annotations

from pathlib import Path

import typer

from motioninr.codes import ResampleSettings, draw_codes
from motioninr.device import resolve_device
from motioninr.errors import exit_on_error
from motioninr.settings import from_mapping
from stages.common import read_params, section

app = typer.Typer(add_completion=False)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'resample')."),
    model: Path = typer.Option(Path("models/model.pt"), help="Trained model."),
    out: Path = typer.Option(Path("data/codes/draws.npz"), help="Code draws file to write."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Draw `resample.draws` composed codes per training sample, with its class, length and id."""
    with exit_on_error(debug):
        from motioninr.model import load_model

        settings = from_mapping(ResampleSettings, section(read_params(params), "resample"), "resample")
        net = load_model(model, device=resolve_device(settings.device, "resample.device"))
        draws = draw_codes(net, settings.draws, settings.seed)
        draws.save(out)
    typer.echo(f"drew {settings.draws} codes x {len(draws.sample_ids)} samples ({draws.code_dim}-d) -> {out}")


if __name__ == "__main__":
    app()
