#!/usr/bin/env bash
# Set up a virtual environment and run the demo pipeline or the test suite.
#   bash run.sh pipeline   # install, then `dvc repro` on the built-in demo dataset
#   bash run.sh test       # install, then the test suite
set -euo pipefail
cd "$(dirname "$0")"
VENV=${MOTIONINR_VENV:-.venv}
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac  # absolute, so PATH below works for either form
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
# torch first, pinned: on CPU machines this takes the local CPU build instead of the CUDA wheels.
"$PY" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
"$PY" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
export PATH="$VENV/bin:$PATH" DVC_NO_ANALYTICS=1
# The page template that lets `dvc plots show` draw without network (vega libraries inline; see .dvc/config).
[ -s .dvc/plots_page.html ] || motioninr plots-page --out .dvc/plots_page.html
case "${1:-}" in
  pipeline)
    dvc repro
    dvc metrics show 2>/dev/null || true
    ;;
  test)
    shift
    python -m pytest -q "$@"
    ;;
  *)
    echo "usage: bash run.sh pipeline|test" >&2
    exit 2
    ;;
esac
