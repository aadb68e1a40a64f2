"""Evaluation metrics, computed by well-kept libraries (scikit-learn, torchmetrics, torchsurv).

Every function takes array-likes (numpy or torch) and returns Python floats (a tuple or a dict
where it returns several numbers). Labels equal to
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


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier estimate of survival.

    time: (N,) follow-up (any unit); event: (N,) 1 = death observed, 0 = censored.
    Returns (times, survival): the distinct event times, with 0 first, and the estimated
    probability of surviving past each (1.0 at time 0), a step function.
    """
    time, event = _numpy(time).astype(float).reshape(-1), _numpy(event).astype(int).reshape(-1)
    if len(time) != len(event) or len(time) == 0:
        raise ValueError("time and event must be non-empty and of the same length")
    times, survival, current = [0.0], [1.0], 1.0
    for t in np.unique(time[event == 1]):
        at_risk = np.count_nonzero(time >= t)
        deaths = np.count_nonzero((time == t) & (event == 1))
        current *= 1 - deaths / at_risk
        times.append(float(t))
        survival.append(current)
    return np.array(times), np.array(survival)


def classification_report(y_true, y_score, ignore_label: int = IGNORE_LABEL) -> dict[str, float]:
    """AUROC, accuracy, balanced accuracy and calibration error in one dict."""
    return {
        "auroc": auroc(y_true, y_score, ignore_label),
        "accuracy": accuracy(y_true, y_score, ignore_label),
        "balanced_accuracy": balanced_accuracy(y_true, y_score, ignore_label),
        "calibration_error": calibration_error(y_true, y_score, ignore_label=ignore_label),
    }


# --------------------------------------------------------------------------------------
# Operating points: a threshold turns a probability into a decision
# --------------------------------------------------------------------------------------
#
# Convention (scikit-learn's ``roc_curve``): a case is called positive when its predicted
# probability is >= the threshold. Logits (scores outside [0, 1]) are squashed first, so a
# threshold is always a probability.


def _binary_scores(y_true, y_prob, ignore_label=IGNORE_LABEL):
    """Labels in {0, 1} and positive-class probabilities (N,), ignored labels dropped."""
    y_true, y_prob = _drop_ignored(y_true, y_prob, ignore_label)
    p = _probabilities(y_prob)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim != 1:
        raise ValueError(f"expected (N,) positive-class probabilities, got shape {p.shape}")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("labels must be 0 (negative) or 1 (positive)")
    return y_true, p


def confusion_counts(
    y_true, y_prob, threshold: float, ignore_label: int = IGNORE_LABEL
) -> dict[str, int]:
    """True/false positives and negatives when cases with probability >= threshold are
    called positive: ``{"tp": .., "fp": .., "tn": .., "fn": ..}``."""
    y_true, p = _binary_scores(y_true, y_prob, ignore_label)
    called = p >= threshold
    positive = y_true == 1
    return {
        "tp": int(np.sum(called & positive)),
        "fp": int(np.sum(called & ~positive)),
        "tn": int(np.sum(~called & ~positive)),
        "fn": int(np.sum(~called & positive)),
    }


def sensitivity_specificity(
    y_true, y_prob, threshold: float, ignore_label: int = IGNORE_LABEL
) -> tuple[float, float]:
    """(sensitivity, specificity) at a threshold; NaN where a class is absent.

    Sensitivity = TP / (TP + FN), the fraction of diseased cases called positive;
    specificity = TN / (TN + FP), the fraction of healthy cases called negative.
    """
    c = confusion_counts(y_true, y_prob, threshold, ignore_label)
    n_pos, n_neg = c["tp"] + c["fn"], c["tn"] + c["fp"]
    sens = c["tp"] / n_pos if n_pos else float("nan")
    spec = c["tn"] / n_neg if n_neg else float("nan")
    return float(sens), float(spec)


def threshold_for_sensitivity(
    y_true, y_prob, target: float = 0.95, ignore_label: int = IGNORE_LABEL
) -> float:
    """The highest threshold whose sensitivity is >= ``target``, read off the ROC curve.

    The highest such threshold keeps specificity as high as the sensitivity target allows.
    It is one of the predicted probabilities (the score of the case that brings sensitivity
    up to the target). Choose it on validation data, then report it on a test set: on new
    cases the achieved sensitivity scatters around the target.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target sensitivity must be in (0, 1], got {target}")
    y_true, p = _binary_scores(y_true, y_prob, ignore_label)
    if not np.any(y_true == 1):
        raise ValueError("sensitivity is undefined without positive cases")
    if not np.any(y_true == 0):
        # roc_curve needs both classes; with positives only, the lowest score catches all
        sens = np.mean(p[:, None] >= p[None, :], axis=0)
        return float(p[sens >= target - 1e-12].max())
    _, tpr, thresholds = skm.roc_curve(y_true, p, drop_intermediate=False)
    # tpr rises as the threshold falls; the first index reaching the target is the answer
    # (a tolerance absorbs rounding: 19 / 20 must count as 0.95)
    first = int(np.argmax(tpr >= target - 1e-12))
    return float(thresholds[first])


def _auroc_rows(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """AUROC of every row of (n, N) arrays at once (Mann-Whitney U from mid-ranks, so ties
    count one half, as in ``roc_auc_score``); NaN where a row lacks a class."""
    from scipy.stats import rankdata

    ranks = rankdata(y_score, axis=1)
    n_pos = y_true.sum(axis=1).astype(float)
    n_neg = y_true.shape[1] - n_pos
    u = (ranks * y_true).sum(axis=1) - n_pos * (n_pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)


def bootstrap_ci(
    metric_fn,
    y_true,
    y_score,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    ignore_label: int = IGNORE_LABEL,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``metric_fn(y_true, y_score)``.

    Cases are resampled with replacement ``n`` times (all index draws in one array);
    resamples where the metric is undefined (NaN, e.g. no positives drawn) are skipped.
    ``metric_fn`` is any ``f(y_true, y_score) -> float``; for :func:`auroc` (or sklearn's
    ``roc_auc_score``) all resamples are scored in one vectorised pass.
    The interval says how much the number would move with another sample of patients
    from the same population, not how it transfers to another population.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    y_true, y_score = _drop_ignored(y_true, y_score, ignore_label)
    if len(y_true) == 0:
        raise ValueError("no cases to resample")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y_true), size=(n, len(y_true)))
    if metric_fn in (auroc, skm.roc_auc_score) and y_score.ndim == 1:
        values = _auroc_rows(y_true[draws], y_score[draws])  # same numbers, one pass
    else:
        values = np.array([metric_fn(y_true[idx], y_score[idx]) for idx in draws], dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("the metric was undefined in every bootstrap resample")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_bootstrap_difference(
    metric_fn,
    y_true,
    score_a,
    score_b,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """``(difference, low, high)``: ``metric_fn`` of model A minus model B on the same cases,
    with a percentile bootstrap interval that resamples the cases once for both models.

    Pairing is what makes a small gap measurable: the two models' scores on one resample rise
    and fall together with its difficulty, so their difference varies far less than either
    score does. An interval above 0 says A is better on patients like these.
    y_true: (N,) labels; score_a, score_b: (N,) scores of the two models for the same cases.
    """
    y_true, score_a, score_b = (_numpy(v) for v in (y_true, score_a, score_b))
    if not (len(y_true) == len(score_a) == len(score_b)):
        raise ValueError(
            f"y_true, score_a and score_b must score the same cases, got lengths "
            f"{len(y_true)}, {len(score_a)}, {len(score_b)}"
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n < 1 or len(y_true) == 0:
        raise ValueError(f"need n >= 1 resamples of at least one case, got n={n}")
    draws = np.random.default_rng(seed).integers(0, len(y_true), size=(n, len(y_true)))
    if metric_fn is auroc and score_a.ndim == 1:
        values = _auroc_rows(y_true[draws], score_a[draws]) - _auroc_rows(
            y_true[draws], score_b[draws]
        )
    else:
        values = np.array(
            [metric_fn(y_true[i], score_a[i]) - metric_fn(y_true[i], score_b[i]) for i in draws]
        )
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("the metric was undefined in every bootstrap resample")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    difference = metric_fn(y_true, score_a) - metric_fn(y_true, score_b)
    return float(difference), float(low), float(high)


def seed_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of one figure measured with several seeds: a Student-t interval
    for the mean over the seeds (training noise: initialisation, batch order, dropout).

    values: (S,) the figure from S >= 2 independent runs.
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.isfinite(values).all():
        raise ValueError(f"need at least 2 finite values, one per seed, got {values}")
    mean = float(values.mean())
    half = stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, float(mean - half), float(mean + half)
