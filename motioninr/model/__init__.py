"""The variational auto-decoder and its training.

- ``model.py``: the model (code tables, decoder, the ``models/model.pt`` artifact);
  ``decoders.py``: the time code and the MLP and Transformer decoders; ``objective.py``: what a
  decoded frame is compared with (``model.output``).
- ``train.py``: one epoch of alternating code and decoder passes, and ``fit``; beside it
  ``train_settings.py`` (``params.yaml: train``), ``frames.py`` (which frames a step decodes),
  ``code_optimizer.py`` (Adam over code tables), ``checkpoint.py`` (resuming) and, for several
  processes, ``sharding.py`` and ``distributed.py``.

``from motioninr.model import load_model, MotionINR`` is all that later stages need.
"""

from motioninr.model.decoders import MLPSettings, TimeCode, TransformerSettings
from motioninr.model.model import CodeTable, ModelSettings, MotionINR, load_model, save_model

__all__ = ["CodeTable", "MLPSettings", "ModelSettings", "MotionINR", "TimeCode", "TransformerSettings",
           "load_model", "save_model"]
