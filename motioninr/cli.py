"""The user-facing command line: ``motioninr generate``, ``render``, ``inspect``, ``export`` and ``plots-page``."""

from __future__ import annotations

import importlib

from motioninr.numerics import pin_cpu_kernels

pin_cpu_kernels()  # the same CPU code paths as the stages, before numpy and torch load

import typer  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def _main() -> None:
    # A callback keeps `motioninr <command>` a command group even while only one subcommand is installed.
    pass

# Each subcommand lives in motioninr/commands/<name>.py as a function of the same name.
for _name in ("generate", "render", "inspect", "export", "plots_page"):
    try:
        _module = importlib.import_module(f"motioninr.commands.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"motioninr.commands.{_name}":
            raise
        continue
    app.command(name=_name.replace("_", "-"))(getattr(_module, _name))


if __name__ == "__main__":
    app()
