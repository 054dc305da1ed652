"""Stage ``prepare``: raw dataset (``params.yaml: data``) -> canonical processed dataset folder."""

from __future__ import annotations

from pathlib import Path

import typer

from motioninr.data.dataset import save_processed
from motioninr.data.loaders import SourceSettings, load_raw
from motioninr.data.prepare import PrepareSettings, prepare
from motioninr.errors import exit_on_error
from stages.common import read_params, section, settings_from

app = typer.Typer(add_completion=False)


@app.command()
def main(
    params: Path = typer.Option(Path("params.yaml"), help="Parameters file (section 'data')."),
    out: Path = typer.Option(Path("data/processed"), help="Processed dataset folder to write."),
    debug: bool = typer.Option(False, help="Show tracebacks."),
) -> None:
    """Read the raw dataset chosen in params.yaml and write train/test splits plus meta.json."""
    with exit_on_error(debug):
        source, prep = settings_from(section(read_params(params), "data"), "data", SourceSettings, PrepareSettings)
        raw = load_raw(source)
        splits, meta = prepare(raw, prep)
        save_processed(out, splits, meta)
    summary = ", ".join(f"{k}: {v['sequences']} sequences / {v['frames']} frames" for k, v in meta["splits"].items())
    typer.echo(f"prepared {meta['source']} ({meta['num_classes']} classes, {meta['num_joints']} joints) -> {out} [{summary}]")


if __name__ == "__main__":
    app()
