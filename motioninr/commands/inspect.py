"""``motioninr inspect PATH``: a short summary of a processed dataset, a motion set, a model or fitted mixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from motioninr.errors import DataError, exit_on_error
from motioninr.io import load_json

DEFAULT_META = Path("data/processed/meta.json")


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


def _class_names_for(path: Path) -> tuple[list[str] | None, str | None]:
    """Class names of a motion set: ``meta.json`` beside it, else the processed dataset's; and where they came from."""
    for meta_path in (path.parent / "meta.json", DEFAULT_META):
        if meta_path.is_file():
            try:
                names = load_json(meta_path, "a meta.json listing class_names").get("class_names")
            except DataError:  # an unreadable meta.json only costs the names
                continue
            if isinstance(names, list) and names:
                return [str(n) for n in names], str(meta_path)
    return None, None


def describe_motions(path: Path) -> list[str]:
    from motioninr.data.dataset import MotionSet

    ms = MotionSet.load(path)
    names, source = _class_names_for(path)
    lines = [f"motion set {path}: {len(ms)} sequences, {len(ms.frames)} frames, {ms.num_joints} joints, "
             f"{_lengths_line(ms.lengths)}"]
    lines.append(f"  per class (names from {source}):" if names else
                 f"  per class (by label: no meta.json with class names beside the file or at {DEFAULT_META}):")
    for c in np.unique(ms.labels):
        name = names[c] if names and 0 <= c < len(names) else f"class {c}"
        sel = ms.lengths[ms.labels == c]
        lines.append(f"    {name:<20} {len(sel):>5} sequences, {_lengths_line(sel)}")
    return lines


def describe_model(path: Path) -> list[str]:
    from motioninr.model import load_model

    import torch

    from motioninr.codes import code_sigma_ratio

    model = load_model(path)
    s = model.settings
    params = sum(p.numel() for p in model.parameters())
    post = model.posteriors()
    sigma = torch.zeros_like(post["seq_mu"]) if post["seq_logvar"] is None else torch.exp(0.5 * post["seq_logvar"])
    ratio = code_sigma_ratio(post["seq_mu"].numpy(), sigma.numpy())
    return [f"model {path}: {s.decoder} decoder, {params:,} parameters, code {model.code_dim} "
            f"(beta {s.seq_code_dim} + alpha {s.act_code_dim}, {s.action_code}), time code {s.time_dim}",
            f"  {model.num_samples} training sequences, {model.num_classes} classes "
            f"({', '.join(model.class_names)}), {model.fps:g} fps",
            f"  code_sigma_ratio {ratio:.3f} (median posterior sigma of beta / mean spread of the beta means; "
            f"about 0 means point codes)"]


def describe_gmm(folder: Path) -> list[str]:
    """The fitted mixtures in words: how bins and components were chosen, then per class and bin what was kept."""
    from motioninr.gmm import CLASS_GMM, LengthBinnedGMM

    gmm = LengthBinnedGMM.load(folder)
    s, recs = gmm.settings, gmm.records
    most = s.components if s else None
    classes = sorted({int(a) for a in gmm.bin_action})
    lines = [f"mixtures {folder}: {gmm.num_bins} length bins over {len(classes)} of {len(gmm.class_names)} classes, "
             f"{len(gmm.weights)} Gaussian components in all ({gmm.covariance_type} covariance, "
             f"{gmm.code_dim}-d codes)"]
    if s:
        lines.append(f"  Each class's draws are cut into length bins of at least {s.min_population} draws "
                     f"spanning at least {s.min_window} frames; one mixture is fitted per bin, starting at "
                     f"{most} components.")
        if s.guard > 0:
            reference = ("the bin's own draws" if s.guard_reference == "draws"
                         else "the posterior means of the class's training sequences")
            lines.append(f"  The memorisation guard rejects a fit with a component mean closer than {s.guard:g} x "
                         f"the mean norm of {reference} to one of them; a rejected fit is retried with another seed "
                         f"({s.retries} per component count), then with one component fewer.")
        else:
            lines.append("  The memorisation guard is off (gmm.guard 0): every bin keeps its first fit.")
    fewer = sum(r["components"] < most for r in recs) if most else 0
    rejected = sum(r.get("retries", 0) for r in recs)
    failed = [r for r in recs if not r.get("guard_passed", True)]
    unconverged = [r for r in recs if not r.get("converged", True)]
    ratio = "unknown" if gmm.sigma_ratio is None else f"{gmm.sigma_ratio:.3f}"
    lines.append(f"  Mixtures over {s.space if s else 'composed'} codes; {round(gmm.components_per_bin, 3)} components "
                 f"per bin on average after the guard; code_sigma_ratio {ratio} (median posterior sigma over the "
                 f"spread of the sequences' code means: how far the draws scatter around each sequence).")
    lines.append(f"  In all: {fewer} of {len(recs)} bins kept fewer than {most} components; {rejected} fits were "
                 f"rejected by the guard; {len(failed)} bins found no fit passing it (they keep one component); "
                 f"{len(unconverged)} bins stopped before EM converged.")
    for c in classes:
        rows = [r for r in recs if int(r["action"]) == c]
        kept = sum(r["components"] for r in rows)
        lines.append(f"  {gmm.class_names[c]}: {len(rows)} bins, {kept} components kept after the guard, "
                     f"{sum(r.get('retries', 0) for r in rows)} fits rejected")
        lines.append(f"      {'lengths':<10} {'draws':>6} {'sequences':>9}  {'components kept':>15}  {'fits rejected':>13}")
        previous_high = None
        for r in sorted(rows, key=lambda r: r["low"]):
            notes = ([] if r.get("guard_passed", True) else ["no fit passed the guard"]) + (
                [] if r.get("converged", True) else ["EM not converged"])
            if previous_high is not None and r["low"] < previous_high:
                notes.append("last bin, widened back over the one before to hold enough draws")
            previous_high = r["high"]
            span = f"{r['low']}..{r['high'] - 1}"
            kept = f"{r['components']} of {most}"
            sequences = "" if r.get("samples") is None else r["samples"]  # None: fitted without sample ids
            lines.append(f"      {span:<10} {r.get('population', ''):>6} {sequences:>9}  {kept:>15}  "
                         f"{r.get('retries', 0):>13}" + (f"  ({'; '.join(notes)})" if notes else ""))
    if (folder / f"{CLASS_GMM}.npz").is_file():
        fixed = LengthBinnedGMM.load(folder, CLASS_GMM)
        lines.append(f"  Fixed-length protocol: {fixed.num_bins} length-agnostic mixtures (one per class), "
                     f"{fixed.components_per_bin:.2f} components each on average.")
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
