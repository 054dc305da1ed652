"""The README's map of where the method lives names modules and definitions that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def code_map_rows() -> list[tuple[list[str], list[str]]]:
    text = (ROOT / "README.md").read_text()
    table = text.split("Where the paper's method lives", 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((re.findall(r"`([^`]+)`", cells[1]), re.findall(r"`([^`]+)`", cells[2])))
    return rows


def test_every_module_and_name_of_the_code_map_exists():
    rows = code_map_rows()
    assert len(rows) >= 6
    for modules, names in rows:
        folder = Path(modules[0]).parent
        paths = [ROOT / m if "/" in m else ROOT / folder / m for m in modules]
        assert all(p.is_file() for p in paths), paths
        module = importlib.import_module(str(paths[0].relative_to(ROOT).with_suffix("")).replace("/", "."))
        owner = None
        for name in names:
            if "." in name:
                owner_name, name = name.split(".")
                owner = getattr(module, owner_name)
            target = owner if owner is not None and not hasattr(module, name) else module
            assert hasattr(target, name), (paths[0], name)
