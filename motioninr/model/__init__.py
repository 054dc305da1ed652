"""The variational auto-decoder (``model.py``) and its training (``train.py``).

``from motioninr.model import load_model, MotionINR`` is all that later stages need.
"""

from motioninr.model.model import (
    CodeTable,
    MLPSettings,
    ModelSettings,
    MotionINR,
    TimeCode,
    TransformerSettings,
    load_model,
    save_model,
)

__all__ = ["CodeTable", "MLPSettings", "ModelSettings", "MotionINR", "TimeCode", "TransformerSettings",
           "load_model", "save_model"]
