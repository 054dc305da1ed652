"""The stages pin the numerical libraries to CPU-independent code paths; a user's own choice wins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from motioninr.numerics import PINS, _has_avx2

ROOT = Path(__file__).resolve().parents[1]
PROBE = "import stages, os, torch; print(torch.backends.cpu.get_cpu_capability(), os.environ['MKL_CBWR'])"


def _probe(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in PINS}
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, check=True)
    return proc.stdout.strip()


@pytest.mark.skipif(not _has_avx2(), reason="the pins apply to CPUs with AVX2 only")
def test_stages_pin_the_avx2_code_paths_unless_the_user_chose():
    assert _probe() == "AVX2 AVX2"
    assert _probe(MKL_CBWR="AUTO", ATEN_CPU_CAPABILITY="default") == "DEFAULT AUTO"
