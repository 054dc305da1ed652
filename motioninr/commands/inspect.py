"""``motioninr inspect PATH``: a short summary of a processed dataset, a motion set, a model or fitted mixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from motioninr.errors import DataError, exit_on_error


def _lengths_line(lengths: np.ndarray) -> str:
    return f"lengths {int(lengths.min())}..{int(lengths.max())} (median {float(np.median(lengths)):g})"


def describe_processed(folder: Path) -> list[str]:
    from motioninr.data.dataset import load_meta

    meta = load_meta(folder)
    lines = [f"processed dataset {folder}: source {meta['source']}, {meta['num_classes']} classes, "
             f"{meta['num_joints']} joints, {meta['fps']:g} fps, up {meta['up']}, split: {meta['split_rule']}"]
    for split, info in meta["splits"].items():
        lines.append(f"  {split}: {info['sequences']} sequences, {info['frames']} frames, "
                     f"lengths {info['length_min']}..{info['length_max']}")
        for name, cls in info["per_class"].items():
            if cls.get("count"):
                lines.append(f"    {name:<20} {cls['count']:>5}  lengths {cls['min']}..{cls['max']} (median {cls['median']:g})")
    return lines


def describe_motions(path: Path) -> list[str]:
    from motioninr.data.dataset import MotionSet

    ms = MotionSet.load(path)
    names = None
    meta_path = path.parent / "meta.json"
    if meta_path.is_file():
        from motioninr.io import load_json

        names = load_json(meta_path, "a meta.json listing class_names").get("class_names")
    counts = np.bincount(ms.labels)
    per_class = ", ".join(f"{names[c] if names and c < len(names) else c}: {n}" for c, n in enumerate(counts) if n)
    return [f"motion set {path}: {len(ms)} sequences, {len(ms.frames)} frames, {ms.num_joints} joints, "
            f"{_lengths_line(ms.lengths)}", f"  per class: {per_class}"]


def describe_model(path: Path) -> list[str]:
    from motioninr.model import load_model

    model = load_model(path)
    s = model.settings
    params = sum(p.numel() for p in model.parameters())
    return [f"model {path}: {s.decoder} decoder, {params:,} parameters, code {model.code_dim} "
            f"(beta {s.seq_code_dim} + alpha {s.act_code_dim}, {s.action_code}), time code {s.time_dim}",
            f"  {model.num_samples} training sequences, {model.num_classes} classes "
            f"({', '.join(model.class_names)}), {model.fps:g} fps"]


def describe_gmm(folder: Path) -> list[str]:
    from motioninr.gmm import MixtureBank

    report = MixtureBank.load(folder).report()
    lines = [f"mixtures {folder}: " + ", ".join(f"{k} {v}" for k, v in report.items() if not isinstance(v, (list, dict)))]
    return lines


def inspect(path: Path = typer.Argument(..., help="data/processed, a motion set .npz, models/model.pt or models/gmm."),
            debug: bool = typer.Option(False, help="Show tracebacks.")) -> None:
    """Summarise a pipeline artifact: what it holds, its classes, lengths and sizes."""
    with exit_on_error(debug):
        if path.is_dir() and (path / "meta.json").is_file() and (path / "train.npz").is_file():
            lines = describe_processed(path)
        elif path.is_dir() and (path / "gmm.npz").is_file():
            lines = describe_gmm(path)
        elif path.is_file() and path.suffix == ".npz":
            lines = describe_motions(path)
        elif path.is_file() and path.suffix in (".pt", ".pth"):
            lines = describe_model(path)
        else:
            raise DataError(f"{path}: not a processed dataset folder, motion set .npz, model .pt or mixtures folder")
    typer.echo("\n".join(lines))
