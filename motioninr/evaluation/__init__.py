"""Evaluation: the Action2Motion GRU feature extractor, the generation metrics and the replicated protocol.

    from motioninr.evaluation import ActionClassifier, load_classifier, extract_features
    clf = load_classifier("models/evaluator.pt", num_joints=24, num_classes=12)
    feats, logits = extract_features(clf, motions, rng=np.random.default_rng(0))   # (N, 30), (N, C)
"""

from motioninr.evaluation.classifier import (
    CROP_LENGTH,
    FEATURE_DIM,
    ActionClassifier,
    EvaluatorError,
    check_compatible,
    checkpoint_info,
    classify_clips,
    classify_motions,
    clips_from_motions,
    crop_starts,
    extract_features,
    load_classifier,
    save_classifier,
)
from motioninr.evaluation.metrics import accuracy, diversity, fid, mean_ci, mms, multimodality
from motioninr.evaluation.protocol import EvaluateSettings, evaluate_motions
from motioninr.evaluation.results import EvaluationResult
from motioninr.evaluation.training import EvaluatorTrainSettings, fit_and_score, train_classifier

__all__ = [
    "CROP_LENGTH", "FEATURE_DIM", "ActionClassifier", "EvaluatorError", "EvaluateSettings", "EvaluationResult",
    "EvaluatorTrainSettings", "accuracy", "check_compatible", "checkpoint_info", "classify_clips",
    "classify_motions", "clips_from_motions", "crop_starts", "diversity", "evaluate_motions", "extract_features",
    "fid", "fit_and_score", "load_classifier", "mean_ci", "mms", "multimodality", "save_classifier", "train_classifier",
]
