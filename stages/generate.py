"""Stage ``generate``: trained model + mixtures -> generated motion sets (``params.yaml: generate``)."""

from __future__ import annotations

from pathlib import Path

import typer

from motioninr.codes import CodeDraws
from motioninr.device import resolve_device
from motioninr.errors import exit_on_error
from motioninr.generation import GenerateSettings, generate_outputs
from motioninr.gmm import CLASS_GMM, LengthBinnedGMM
from motioninr.io import atomic_path, save_json
from motioninr.settings import from_mapping
from stages.common import read_params, section

app = typer.Typer(add_completion=False)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'generate')."),
    model: Path = typer.Option(Path("models/model.pt"), help="Trained model."),
    gmm: Path = typer.Option(Path("models/gmm"), help="Mixtures written by the fit-gmm stage."),
    draws: Path = typer.Option(Path("data/codes/draws.npz"), help="Code draws (for the memorize/gaussian baselines)."),
    out: Path = typer.Option(Path("data/generated"), help="Folder of <sampler>_<protocol>.npz files + meta.json."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Write the method's sampler under each protocol, plus the baselines under the variable protocol."""
    with exit_on_error(debug):
        from motioninr.model import load_model

        settings = from_mapping(GenerateSettings, section(read_params(params), "generate"), "generate")
        names = {s for s, _ in settings.plan()}
        mixtures = LengthBinnedGMM.load(gmm) if "gmm" in names else None
        class_mixtures = None
        if ("gmm", "fixed") in settings.plan() and settings.fixed_mixture == "class":
            class_mixtures = LengthBinnedGMM.load(gmm, CLASS_GMM)
        code_draws = CodeDraws.load(draws) if names & {"memorize", "gaussian"} else None
        net = load_model(model, device=resolve_device(settings.device, "generate.device"))
        outputs = generate_outputs(net, settings, mixtures, code_draws, class_mixtures)
        meta = {"files": {}, "class_names": net.class_names, "joint_names": net.joint_names,
                "parents": net.parents, "fps": net.fps, "units": "m", "seed": settings.seed}
        with atomic_path(out, directory=True) as tmp:
            for name, (motions, replication, info) in outputs.items():
                extra = {"replication": replication} if settings.replications > 1 else {}
                motions.save(tmp / info["path"], **extra)
                meta["files"][name] = info
            save_json(tmp / "meta.json", meta)
    summary = ", ".join(f"{n}: {i['sequences']}" for n, (_, _, i) in outputs.items())
    typer.echo(f"generated {summary} -> {out}")


if __name__ == "__main__":
    app()
