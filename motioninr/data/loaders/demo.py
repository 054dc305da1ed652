"""Procedural demo dataset (placeholder; filled in by the demo generator)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSettings:
    samples_per_class: int = 40
    seed: int = 0
