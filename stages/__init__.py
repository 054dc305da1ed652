"""One Typer command per DVC stage: parse settings, call the library, write artifacts atomically.

Importing this package pins the numerical libraries to CPU-independent code paths before any of
them loads (see :mod:`motioninr.numerics`), so a stage gives the same artifacts on every machine.
"""

from motioninr.numerics import pin_cpu_kernels

pin_cpu_kernels()
