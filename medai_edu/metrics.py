"""Evaluation metrics, computed by well-kept libraries (scikit-learn, torchmetrics, torchsurv).

Every function takes array-likes (numpy or torch) and returns a Python float. Labels equal to
``ignore_label`` (default -1, "not applicable", e.g. the subtype of a benign lesion) are
dropped first.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn import metrics as skm

IGNORE_LABEL = -1


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy() if x.is_floating_point() else x.cpu().numpy()
    return np.asarray(x)


def _drop_ignored(y_true, y_score, ignore_label=IGNORE_LABEL):
    y_true, y_score = _numpy(y_true), _numpy(y_score)
    if len(y_true) != len(y_score):
        raise ValueError(f"{len(y_true)} labels but {len(y_score)} predictions")
    keep = y_true != ignore_label
    return y_true[keep].astype(int), y_score[keep]


def _probabilities(y_score: np.ndarray) -> np.ndarray:
    """Scores to probabilities: (N,) positive-class probability or (N, C) rows summing to 1.

    Accepts probabilities, or logits (anything outside [0, 1]), which are squashed by a
    sigmoid (1-D) or softmax (2-D).
    """
    y_score = y_score.astype(float)
    if y_score.ndim == 2 and y_score.shape[1] == 1:
        y_score = y_score[:, 0]
    if y_score.size and (y_score.min() < 0 or y_score.max() > 1):
        if y_score.ndim == 1:
            return 1 / (1 + np.exp(-y_score))
        z = np.exp(y_score - y_score.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    return y_score


def predicted_labels(y_score) -> np.ndarray:
    """Class decisions: threshold 0.5 for (N,) probabilities, argmax for (N, C) scores."""
    p = _probabilities(_numpy(y_score))
    return (p >= 0.5).astype(int) if p.ndim == 1 else p.argmax(axis=1)


def auroc(y_true, y_score, ignore_label: int = IGNORE_LABEL) -> float:
    """Area under the ROC curve; one-vs-rest macro average for more than two classes."""
    y_true, y_score = _drop_ignored(y_true, y_score, ignore_label)
    p = _probabilities(y_score)
    if len(np.unique(y_true)) < 2:
        return float("nan")  # undefined with one class present
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim == 1:
        return float(skm.roc_auc_score(y_true, p))
    return float(
        skm.roc_auc_score(y_true, p, multi_class="ovr", average="macro", labels=range(p.shape[1]))
    )


def accuracy(y_true, y_score, ignore_label: int = IGNORE_LABEL) -> float:
    y_true, y_score = _drop_ignored(y_true, y_score, ignore_label)
    return float(skm.accuracy_score(y_true, predicted_labels(y_score)))


def balanced_accuracy(y_true, y_score, ignore_label: int = IGNORE_LABEL) -> float:
    """Mean recall over classes: accuracy that a majority-class guess cannot inflate."""
    y_true, y_score = _drop_ignored(y_true, y_score, ignore_label)
    return float(skm.balanced_accuracy_score(y_true, predicted_labels(y_score)))


def calibration_error(y_true, y_score, n_bins: int = 10, ignore_label: int = IGNORE_LABEL) -> float:
    """Expected calibration error (ECE, L1) of the top-label confidence, in [0, 1]."""
    from torchmetrics.functional.classification import (
        binary_calibration_error,
        multiclass_calibration_error,
    )

    y_true, y_score = _drop_ignored(y_true, y_score, ignore_label)
    p = torch.as_tensor(_probabilities(y_score), dtype=torch.float32)
    target = torch.as_tensor(y_true)
    if p.ndim == 1:
        return float(binary_calibration_error(p, target, n_bins=n_bins))
    return float(multiclass_calibration_error(p, target, num_classes=p.shape[1], n_bins=n_bins))


def concordance_index(risk, event, time) -> float:
    """Harrell's C: the fraction of comparable patient pairs whose predicted risk orders
    their observed survival correctly (0.5 = chance, 1 = perfect).

    risk: (N,) higher means earlier death; event: (N,) 1 = death observed, 0 = censored;
    time: (N,) follow-up time (any unit).
    """
    from torchsurv.metrics.cindex import ConcordanceIndex

    risk = torch.as_tensor(_numpy(risk), dtype=torch.float32).reshape(-1)
    event = torch.as_tensor(_numpy(event)).reshape(-1).bool()
    time = torch.as_tensor(_numpy(time), dtype=torch.float32).reshape(-1)
    if not (len(risk) == len(event) == len(time)):
        raise ValueError("risk, event and time must have the same length")
    if not event.any():
        raise ValueError("concordance needs at least one observed event")
    return float(ConcordanceIndex()(risk, event, time))


def classification_report(y_true, y_score, ignore_label: int = IGNORE_LABEL) -> dict[str, float]:
    """AUROC, accuracy, balanced accuracy and calibration error in one dict."""
    return {
        "auroc": auroc(y_true, y_score, ignore_label),
        "accuracy": accuracy(y_true, y_score, ignore_label),
        "balanced_accuracy": balanced_accuracy(y_true, y_score, ignore_label),
        "calibration_error": calibration_error(y_true, y_score, ignore_label=ignore_label),
    }
