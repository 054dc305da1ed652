"""Motion datasets: loaders for raw formats and the canonical processed format."""

from motioninr.data.dataset import MotionSet, RawDataset, load_meta, load_split, save_processed

__all__ = ["MotionSet", "RawDataset", "load_meta", "load_split", "save_processed"]
