"""MotionINR: implicit neural representations for variable-length, action-conditioned human motion."""

from motioninr.errors import MotionINRError

__all__ = ["MotionINRError"]
__version__ = "0.1.0"
