"""``motioninr render``: GIFs and filmstrips of the motions in a motion set file."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import numpy as np
import typer

from motioninr.data.dataset import MotionSet
from motioninr.errors import DataError, SettingsError, exit_on_error
from motioninr.render import RenderSettings, SkeletonMeta, motion_title, render_filmstrip, render_gif

DEFAULT_META = Path("data/processed/meta.json")


class Format(str, Enum):
    gif = "gif"
    png = "png"
    both = "both"


class Camera(str, Enum):
    follow = "follow"
    fixed = "fixed"


def _read_json(path: Path) -> dict:
    from motioninr.io import load_json

    return load_json(path, "a meta.json object with parents, class_names, fps and up")


def skeleton_meta_for(file: Path, meta: Path | None) -> SkeletonMeta:
    """The skeleton of ``file``'s motions: ``--meta`` if given, else ``meta.json`` beside ``file``.

    A ``meta.json`` beside the file without ``parents`` (a generated folder's
    listing) contributes its class names and fps; the skeleton then comes from
    ``data/processed/meta.json``.
    """
    if meta is not None:
        if not meta.is_file():
            raise DataError(f"{meta}: meta file not found; expected a processed dataset meta.json (--meta)")
        return SkeletonMeta.from_meta(_read_json(meta), str(meta))
    beside = file.parent / "meta.json"
    local = _read_json(beside) if beside.is_file() else {}
    if "parents" in local:
        return SkeletonMeta.from_meta(local, str(beside))
    if not DEFAULT_META.is_file():
        raise DataError(
            f"{file}: no skeleton metadata: neither {beside} (with parents) nor {DEFAULT_META} exists; pass --meta PATH"
        )
    merged = {**_read_json(DEFAULT_META), **{k: local[k] for k in ("class_names", "fps") if k in local}}
    return SkeletonMeta.from_meta(merged, f"{DEFAULT_META} (+ {beside})" if local else str(DEFAULT_META))


def select_ids(motions: MotionSet, ids: str | None, limit: int, file: Path) -> np.ndarray:
    """Indices of the comma-separated ``ids`` (in that order), or the first ``limit`` sequences."""
    if ids is None:
        return np.arange(min(limit, len(motions)))
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    if not wanted:
        raise SettingsError(f"--ids: got {ids!r}, expected comma-separated motion ids")
    position = {str(k): n for n, k in enumerate(motions.ids)}
    missing = [i for i in wanted if i not in position]
    if missing:
        examples = ", ".join(map(str, motions.ids[:5])) + (", ..." if len(motions) > 5 else "")
        raise DataError(f"{file}: unknown id {missing[0]!r}; valid ids include {examples} ({len(motions)} in total)")
    return np.array([position[i] for i in wanted])


def _file_stem(motion_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", motion_id).strip("._") or "motion"


def render(
    file: Path = typer.Argument(..., help="Motion set .npz (frames, lengths, labels, ids), e.g. data/generated/gmm_variable.npz."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the pictures (created if missing)."),
    ids: str = typer.Option(None, "--ids", help="Comma-separated motion ids; default: the first --limit motions."),
    format: Format = typer.Option(Format.both, "--format", help="gif (animation), png (filmstrip) or both."),
    meta: Path = typer.Option(None, "--meta", help=f"meta.json with the skeleton; default: meta.json beside FILE, then {DEFAULT_META}."),
    limit: int = typer.Option(8, "--limit", min=1, help="How many motions to draw when --ids is not given."),
    frames: int = typer.Option(6, "--frames", min=1, max=50, help="Frames per filmstrip."),
    size: int = typer.Option(200, "--size", min=32, max=2000, help="Panel height in pixels."),
    camera: Camera = typer.Option(Camera.follow, "--camera",
                                  help="follow: panels centred on the ground under the root; fixed: the whole path in view."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Draw motions of FILE as GIF animations and/or filmstrip PNGs into --out (one file per motion and format)."""
    with exit_on_error(debug):
        motions = MotionSet.load(file)
        if len(motions) == 0:
            raise DataError(f"{file}: the motion set is empty")
        skeleton = skeleton_meta_for(file, meta)
        if motions.num_joints != skeleton.num_joints:
            raise DataError(
                f"{file}: motions have {motions.num_joints} joints but the skeleton metadata has "
                f"{skeleton.num_joints}; pass the matching --meta"
            )
        chosen = select_ids(motions, ids, limit, file)
        settings = RenderSettings(panel_px=size, filmstrip_frames=frames, camera=camera.value)
        written = []
        for i in chosen:
            seq, label, mid = motions.sequence(i), int(motions.labels[i]), str(motions.ids[i])
            title = motion_title(skeleton, label, len(seq))
            stem = _file_stem(mid)
            if format in (Format.gif, Format.both):
                written.append(out / f"{stem}.gif")
                render_gif(written[-1], [seq], skeleton, labels=[mid], title=title, settings=settings)
            if format in (Format.png, Format.both):
                written.append(out / f"{stem}.png")
                render_filmstrip(written[-1], [seq], skeleton, labels=[mid], title=title, settings=settings)
    more = f" (first {len(chosen)} of {len(motions)}; choose with --ids)" if ids is None and len(motions) > len(chosen) else ""
    typer.echo(f"wrote {len(written)} files for {len(chosen)} motions to {out}{more}")
