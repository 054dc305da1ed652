"""Device selection: ``auto`` uses a GPU when one is present."""

from __future__ import annotations

import torch

from motioninr.errors import SettingsError


def resolve_device(name: str = "auto", where: str = "device") -> torch.device:
    """``auto`` -> ``cuda`` if available else ``cpu``; ``cpu``, ``cuda``, ``cuda:N`` and ``mps`` as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise SettingsError(f"{where}: got {name!r}, expected auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError(f"{where}: got {name!r}, but no CUDA device is available; use auto or cpu")
    return dev
