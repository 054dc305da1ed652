"""Stage ``fit-gmm``: code draws -> one guarded Gaussian mixture per (class, length bin) (``params.yaml: gmm``)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from motioninr.codes import CodeDraws
from motioninr.errors import exit_on_error
from motioninr.gmm import CLASS_GMM, GMMSettings, fit_class_mixtures, fit_mixtures
from motioninr.gmm_files import report as mixture_report
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
        start = time.perf_counter()
        code_draws = CodeDraws.load(draws)
        gmm = fit_mixtures(code_draws, settings)
        class_gmm = fit_class_mixtures(code_draws, settings)
        seconds = time.perf_counter() - start  # logged only: the artifacts hold nothing time-dependent
        report = mixture_report(gmm)
        report["length_agnostic"] = {k: v for k, v in mixture_report(class_gmm).items() if k != "classes"}
        with atomic_path(out, directory=True) as tmp:
            gmm.save(tmp)
            class_gmm.save(tmp, CLASS_GMM)
            save_json(tmp / "gmm_report.json", report)
    ratio = report["code_sigma_ratio"]
    typer.echo(f"fitted {report['bins']} bins / {report['components']} components "
               f"({report['components_per_bin']:.2f} per bin after the guard) and {class_gmm.num_bins} "
               f"length-agnostic mixtures ({class_gmm.components_per_bin:.2f} components each) in {seconds:.1f} s; "
               f"code_sigma_ratio {'n/a' if ratio is None else f'{ratio:.3f}'} "
               f"({report['bins_failing_guard']} bins failing the guard, {report['bins_not_converged']} not converged)"
               f" -> {out}")


if __name__ == "__main__":
    app()
