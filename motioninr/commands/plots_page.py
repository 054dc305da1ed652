"""``motioninr plots-page``: the page template that lets ``dvc plots show`` and ``dvc plots diff`` draw offline.

DVC's own page loads vega, vega-lite and vega-embed from a CDN, so on a machine without
internet every chart is blank. This writes an HTML template (DVC's ``plots.html_template``,
``.dvc/plots_page.html`` in this repository) that carries the three libraries inline, taken
from the bundle that the ``vl-convert-python`` package ships, and leaves out DVC's
``{scripts}`` placeholder so no remote script is added.
"""

from __future__ import annotations

from pathlib import Path

import typer

from motioninr.errors import DataError, exit_on_error
from motioninr.io import atomic_path

VEGA_LITE_MAJOR = 5  # DVC's chart templates declare Vega-Lite v5 specs
DEFAULT_OUT = Path(".dvc/plots_page.html")
PLACEHOLDERS = ("{plot_divs}", "{refresh_tag}", "{scripts}")  # what DVC substitutes in a template

STYLE = """
    body { font-family: sans-serif; margin: 16px; }
    table { border-spacing: 15px; }
    img { max-width: 100%; height: auto; }
"""


def vega_bundle() -> tuple[str, str]:
    """The inline JavaScript defining ``vegaEmbed``, ``vegaLite`` and ``vega`` globally, and a line naming versions."""
    try:
        import vl_convert
    except ImportError:
        raise DataError("the vl-convert-python package is not installed; `pip install vl-convert-python` "
                        "(bash run.sh installs it)") from None
    versions = [v for v in vl_convert.get_vegalite_versions() if v.split(".")[0] == str(VEGA_LITE_MAJOR)]
    if not versions:
        raise DataError(f"vl-convert-python {getattr(vl_convert, '__version__', '?')} bundles no Vega-Lite "
                        f"{VEGA_LITE_MAJOR}.x; expected one of its versions to start with {VEGA_LITE_MAJOR}")
    newest = max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
    bundle = vl_convert.javascript_bundle(vl_version=newest)
    about = (f"vega {vl_convert.get_vega_version()}, vega-lite {newest}, vega-embed "
             f"{vl_convert.get_vega_embed_version()} (bundled by vl-convert-python "
             f"{getattr(vl_convert, '__version__', '?')})")
    return bundle, about


def page_template(bundle: str, about: str, title: str = "motioninr plots") -> str:
    """A DVC HTML template with ``bundle`` inline: ``{refresh_tag}`` and ``{plot_divs}``, no ``{scripts}``."""
    found = [p for p in PLACEHOLDERS if p in bundle]
    if found:
        raise DataError(f"the vega bundle contains DVC's placeholder {found[0]}; it cannot be inlined in a template")
    script = bundle.replace("</script", "<\\/script")  # a literal end tag would end the inline script early
    return (f"<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n{{refresh_tag}}\n<title>{title}</title>\n"
            f"<!-- {about}, inline so the charts draw without network -->\n"
            f"<script type=\"text/javascript\">\n{script}\n</script>\n<style>{STYLE}</style>\n</head>\n"
            f"<body>\n{{plot_divs}}\n</body>\n</html>\n")


def plots_page(out: Path = typer.Option(DEFAULT_OUT, "--out", "-o",
                                        help="Template to write (DVC's plots.html_template; relative to the repository)."),
               debug: bool = typer.Option(False, help="Show tracebacks.")) -> None:
    """Write the offline page template used by `dvc plots show` / `dvc plots diff` (see .dvc/config)."""
    with exit_on_error(debug):
        bundle, about = vega_bundle()
        with atomic_path(out) as tmp:
            tmp.write_text(page_template(bundle, about), encoding="utf-8")
    typer.echo(f"wrote {out}: {about}")
