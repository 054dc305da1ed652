"""Time ``prepare`` on a HumanAct12-sized folder in the real release layout.

Writes 1191 synthetic ``.npy`` clips (24 joints, 35..200 frames, about 90k
poses in all, the known bad clip included) to a temporary folder, then times
``load_raw + prepare + save_processed`` and loading the processed train split.

    python benchmarks/prepare_speed.py

The last line is ``prepare_seconds=<s>``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from motioninr.data.dataset import load_split, save_processed
from motioninr.data.loaders import SourceSettings, load_raw
from motioninr.data.loaders.humanact12 import BAD_CLIPS, FINE_CODES
from motioninr.data.prepare import PrepareSettings, prepare

CLIPS = 1191
POSES = 90_099


def clip_lengths(rng: np.random.Generator) -> np.ndarray:
    """``CLIPS`` lengths in 35..200 summing to about ``POSES`` (a skewed spread like the real set)."""
    lengths = 35 + rng.gamma(2.0, (POSES / CLIPS - 35) / 2.0, size=CLIPS)
    return np.clip(np.round(lengths), 35, 200).astype(int)


def write_release(folder: Path, seed: int = 0) -> int:
    """Write the synthetic clips; return the number of poses written."""
    rng = np.random.default_rng(seed)
    lengths = clip_lengths(rng)
    rest = rng.normal(scale=0.3, size=(24, 3)).astype(np.float32)
    names = {f"{BAD_CLIPS[0]}.npy"}
    while len(names) < CLIPS:
        p, g, r = rng.integers(1, 13), rng.integers(1, 4), rng.integers(1, 4)
        start = int(rng.integers(0, 9000))
        names.add(f"P{p:02d}G{g:02d}R{r:02d}F{start:04d}T{start + 199:04d}A{rng.choice(FINE_CODES):04d}.npy")
    for name, n in zip(sorted(names), lengths):
        t = np.arange(n, dtype=np.float32)[:, None, None]
        np.save(folder / name, (rest + 0.1 * np.sin(0.2 * t + rest)).astype(np.float64))  # float64, the costlier case to read
    return int(lengths.sum())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw_dir, out = Path(tmp) / "humanact12", Path(tmp) / "processed"
        raw_dir.mkdir()
        poses = write_release(raw_dir)
        print(f"wrote {CLIPS} clips, {poses} poses to {raw_dir}")

        start = time.perf_counter()
        raw = load_raw(SourceSettings(source="humanact12", path=str(raw_dir)))
        loaded = time.perf_counter()
        splits, meta = prepare(raw, PrepareSettings())
        prepared = time.perf_counter()
        save_processed(out, splits, meta)
        saved = time.perf_counter()
        train = load_split(out, "train")
        read = time.perf_counter()

        print(f"load_raw {loaded - start:.3f}s, prepare {prepared - loaded:.3f}s, save_processed {saved - prepared:.3f}s")
        print(f"load_split(train) {read - saved:.3f}s ({len(train)} sequences, {len(train.frames)} frames)")
        print(f"prepare_seconds={saved - start:.3f}")


if __name__ == "__main__":
    main()
