"""The same floating-point results on every x86-64 CPU with AVX2.

MKL (torch's matrix products), ATen's vectorised kernels, oneDNN and OpenBLAS (numpy, scipy,
scikit-learn) each pick their code path from the CPU they run on: AVX-512 on one machine, AVX2
on another. The paths round differently in the last bits, and training amplifies such
differences (the demo's training curves agree to the bit for eight epochs, then drift), so a
model or evaluator trained on one machine could not be reproduced on another. Pinning every
library to its AVX2 path, which every such CPU runs, removes the differences seen between
AVX-512 and AVX2 machines; it is not enough on every CPU (README, Reproducibility).

The pins are environment defaults (set before the libraries load, never overriding a value the
user chose); set for instance ``MKL_CBWR=AUTO`` and ``ATEN_CPU_CAPABILITY=default`` to let the
libraries choose again (faster on some CPUs, not reproducible across them).
"""

from __future__ import annotations

import os
from pathlib import Path

PINS = {
    "MKL_CBWR": "AVX2",              # MKL conditional numerical reproducibility: the AVX2 branch
    "ATEN_CPU_CAPABILITY": "avx2",   # torch's own vectorised kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",    # oneDNN (mkldnn) kernels
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS kernels (numpy, scipy, scikit-learn): the AVX2 ones
}


def _has_avx2() -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(line.startswith("flags") and " avx2" in line for line in text.splitlines())


def pin_cpu_kernels() -> dict[str, str]:
    """Set :data:`PINS` as environment defaults on CPUs with AVX2; returns what was set.

    Must run before torch and numpy are imported (the stages package does it first thing).
    """
    if not _has_avx2():
        return {}
    applied = {}
    for name, value in PINS.items():
        if name not in os.environ:
            os.environ[name] = value
            applied[name] = value
    return applied
