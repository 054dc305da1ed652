"""Raw dataset loaders. Each module exposes ``load(path: Path, settings: SourceSettings) -> RawDataset``.

Sources: ``demo`` (procedural, no files), ``humanact12``, ``humanact12poses``,
``ntu13``, ``uestc`` and ``generic`` (your own motion capture: npz or BVH).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from motioninr.data.dataset import RawDataset
from motioninr.data.loaders.demo import DemoSettings

SOURCES = ("demo", "humanact12", "humanact12poses", "ntu13", "uestc", "generic")


@dataclass(frozen=True)
class SourceSettings:
    """Which raw dataset to read (``params.yaml: data``, loader fields).

    labels:    humanact12 only: ``coarse`` (12 classes) or ``fine`` (34 classes).
    list_file: ntu13 only: the list of pickles, relative to ``path`` (default: the single ``.txt`` there).
    demo:      settings of the procedural demo dataset.
    """

    source: Literal["demo", "humanact12", "humanact12poses", "ntu13", "uestc", "generic"] = "demo"
    path: str = "data/raw"
    labels: Literal["coarse", "fine"] = "coarse"
    list_file: str | None = None
    demo: DemoSettings = field(default_factory=DemoSettings)


def load_raw(settings: SourceSettings) -> RawDataset:
    """Load the raw dataset named by ``settings.source`` from ``settings.path``."""
    module = importlib.import_module(f"motioninr.data.loaders.{settings.source}")
    return module.load(Path(settings.path), settings)
