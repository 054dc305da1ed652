"""Stage ``fit-gmm``: code draws -> one guarded Gaussian mixture per (class, length bin) (``params.yaml: gmm``)."""

from __future__ import annotations

from pathlib import Path

import typer

from motioninr.codes import CodeDraws
from motioninr.errors import exit_on_error
from motioninr.gmm import GMMSettings, fit_mixtures
from motioninr.io import atomic_path, save_json
from motioninr.settings import from_mapping
from stages.common import read_params, section

app = typer.Typer(add_completion=False)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'gmm')."),
    draws: Path = typer.Option(Path("data/codes/draws.npz"), help="Code draws written by the resample stage."),
    out: Path = typer.Option(Path("models/gmm"), help="Folder to write gmm.npz, gmm.json and gmm_report.json into."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Bin each class's draws by length and fit the mixtures (in parallel over bins)."""
    with exit_on_error(debug):
        settings = from_mapping(GMMSettings, section(read_params(params), "gmm"), "gmm")
        bank = fit_mixtures(CodeDraws.load(draws), settings)
        report = bank.report()
        with atomic_path(out, directory=True) as tmp:
            bank.save(tmp)
            save_json(tmp / "gmm_report.json", report)
    typer.echo(f"fitted {report['bins']} bins / {report['components']} components in {bank.fit_seconds:.2f} s "
               f"({report['bins_failing_guard']} bins failing the guard, {report['bins_not_converged']} not converged)"
               f" -> {out}")


if __name__ == "__main__":
    app()
