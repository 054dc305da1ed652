"""What one run of the evaluation protocol produced (:class:`EvaluationResult`), and its row and metric names."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motioninr.evaluation import metrics as M

METRICS = ("accuracy", "fid", "diversity", "multimodality", "mms")
REAL = "real"


@dataclass
class EvaluationResult:
    """Everything one evaluation produced. Sets are ``"real"`` then the generated sets in input order."""

    names: list[str]
    class_names: list[str]
    values: dict[str, dict[str, list[float]]]      # set -> metric -> one value per replication
    confusion: dict[str, np.ndarray]               # set -> (classes, classes) counts over all replications
    class_mms: dict[str, np.ndarray]               # set -> (classes,) mean nearest-training distance (NaN if absent)
    bin_edges: np.ndarray                          # (bins + 1,) frame counts; bin b is [edges[b], edges[b+1])
    bin_fid: dict[str, np.ndarray] = field(default_factory=dict)     # set -> (replications, bins)
    bin_counts: dict[str, np.ndarray] = field(default_factory=dict)  # set -> (bins,) motions per replication
    extra: tuple[str, ...] = ()                    # names of the metrics beyond METRICS (see .extra)
    class_copies: dict[str, np.ndarray] = field(default_factory=dict)  # set -> (classes,) share of copies

    @property
    def replications(self) -> int:
        return len(self.values[REAL]["fid"])

    def summary(self) -> dict[str, float]:
        """Flat ``{"<set>/<metric>": mean, "<set>/<metric>_ci": half-width}`` for metrics.json."""
        out: dict[str, float] = {}
        for name in self.names:
            for metric in METRICS + self.extra:
                mean, ci = M.mean_ci(self.values[name][metric])
                if metric in self.extra and len(set(self.values[name][metric])) == 1:
                    mean, ci = float(self.values[name][metric][0]), 0.0  # one motion set in every replication
                out[f"{name}/{metric}"] = mean
                out[f"{name}/{metric}_ci"] = ci
        return out
