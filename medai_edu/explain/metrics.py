"""Scores for explanations: does an attribution map point at what the synthetic data say
caused the label, is it faithful to the model, and does it depend on the model at all?

An *attribution* is a numpy array or torch tensor of any spatial shape: (Z, Y, X) for an MRI
volume, (rows, cols) for a slide's tile grid, (N,) for a bag of tiles; higher means more
important. The ground truth comes from the synthetic generators: a lesion ``mask`` (bool, the
same shape) and the clinical concepts behind each label.

- localisation: :func:`pointing_game`, :func:`pointing_game_accuracy`, :func:`mask_overlap`,
  against the chance level of :func:`random_attribution`;
- faithfulness: :func:`deletion_curve` and :func:`insertion_curve` (Petsiuk et al., RISE,
  2018) and their areas;
- concept explanations: :func:`concept_accuracy`;
- sanity: :func:`randomisation_check`, the model-parameter randomisation test of Adebayo et
  al., "Sanity checks for saliency maps" (NeurIPS 2018), with :func:`randomise_weights`.

NaNs in an attribution (e.g. a 0/0 in an explainer) rank below every number; an attribution
that is all NaN ranks nothing and raises ``ValueError``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

import numpy as np
import torch
from scipy import ndimage, stats

__all__ = [
    "concept_accuracy",
    "curve_area",
    "deletion_area",
    "deletion_curve",
    "insertion_area",
    "insertion_curve",
    "mask_overlap",
    "pointing_game",
    "pointing_game_accuracy",
    "randomisation_check",
    "randomise_weights",
    "random_attribution",
    "rank_correlation",
]


def _numpy(x, dtype=float) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _attribution(attribution) -> np.ndarray:
    """Float copy with NaN -> -inf; ValueError when nothing is a number."""
    a = _numpy(attribution)
    nan = np.isnan(a)
    if a.size == 0 or nan.all():
        raise ValueError(f"the attribution of shape {a.shape} holds no numbers (empty or all NaN)")
    return np.where(nan, -np.inf, a)


def _mask(mask, shape: tuple[int, ...]) -> np.ndarray:
    m = _numpy(mask, dtype=bool)
    if m.shape != shape:
        raise ValueError(f"attribution has shape {shape} but mask has shape {m.shape}")
    if not m.any():
        raise ValueError("the mask is empty: there is no lesion to point at")
    return m


def _ranking(a: np.ndarray) -> np.ndarray:
    """Flat indices, most attributed first; ties keep index order (a stable sort)."""
    return np.argsort(-a.ravel(), kind="stable")


def pointing_game(attribution, mask, tolerance: int = 0) -> bool:
    """Whether the attribution's maximum lies in the lesion (Zhang et al., 2018).

    Parameters
    ----------
    attribution : array or tensor, any shape S
        Importance per element; NaNs are ignored.
    mask : bool array or tensor, shape S
        The lesion (ground truth).
    tolerance : int, default 0
        Elements by which the mask is grown first (``scipy.ndimage.binary_dilation`` with
        its cross-shaped structuring element, ``iterations=tolerance``), so that a maximum
        just beside the lesion counts.

    Returns
    -------
    bool
        True for a hit. With ties at the maximum the first one in flat (C) order counts
        (``np.argmax``).

    Raises
    ------
    ValueError
        Shapes differ, the mask is empty, the attribution is all NaN, or tolerance < 0.
    """
    a = _attribution(attribution)
    m = _mask(mask, a.shape)
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if tolerance > 0:  # iterations=0 would mean "until nothing changes" in scipy
        m = ndimage.binary_dilation(m, iterations=int(tolerance))
    return bool(m.ravel()[np.argmax(a.ravel())])


def pointing_game_accuracy(attributions, masks, tolerance: int = 0) -> float:
    """Fraction (0-1) of cases hit by :func:`pointing_game`.

    ``attributions`` and ``masks``: sequences of per-case arrays, or arrays (N, *S) with the
    case axis first. Chance level is about the mean fraction of the image the mask covers.
    """
    if len(attributions) != len(masks):
        raise ValueError(f"{len(attributions)} attributions but {len(masks)} masks")
    if len(attributions) == 0:
        raise ValueError("no cases to score")
    hits = [pointing_game(a, m, tolerance) for a, m in zip(attributions, masks, strict=True)]
    return float(np.mean(hits))


def mask_overlap(attribution, mask) -> float:
    """Intersection over union (0-1) of the top-attributed region and the lesion.

    The region is the k most attributed elements, k = the lesion's size, so 1.0 means the
    top region is exactly the lesion. Ties are broken by flat index (stable sort); NaNs rank
    last. A random attribution scores about f / (2 - f), f the fraction the mask covers.
    Raises ValueError as :func:`pointing_game`.
    """
    a = _attribution(attribution)
    m = _mask(mask, a.shape).ravel()
    k = int(m.sum())
    top = np.zeros(m.size, dtype=bool)
    top[_ranking(a)[:k]] = True
    return float((top & m).sum() / (top | m).sum())


def random_attribution(shape, seed: int = 0) -> np.ndarray:
    """Uniform [0, 1) noise of ``shape``: the attribution of an explainer that knows nothing."""
    return np.random.default_rng(seed).uniform(size=shape)


def _curve(score: Callable, attribution, steps: int, deleting: bool):
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    a = _attribution(attribution)
    rank = np.empty(a.size, dtype=np.int64)
    rank[_ranking(a)] = np.arange(a.size)  # 0 = most attributed
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.round(fractions * a.size).astype(np.int64)
    touched = rank[None, :] < counts[:, None]  # (K, n): the top counts[k] elements
    keep = ~touched if deleting else touched
    scores = _numpy(score(keep.reshape(len(fractions), *a.shape))).ravel()
    if scores.size != len(fractions):
        raise ValueError(
            f"score returned {scores.size} values for {len(fractions)} keep-masks; "
            "it must return one score per mask"
        )
    return fractions, scores


def deletion_curve(score: Callable, attribution, steps: int = 20):
    """Model score as the most attributed elements are removed first.

    A faithful attribution makes the score fall fast: a small area under the curve.

    Parameters
    ----------
    score : callable
        ``score(keep)`` with ``keep`` bool (K, *S): K masks at once, True = element kept.
        Returns K floats, e.g. the probability of the originally predicted class with the
        removed elements replaced by a baseline (how to remove is the caller's choice).
    attribution : array or tensor, shape S
        NaNs count as least important; ties are removed in flat index order.
    steps : int, default 20
        The curve has ``steps + 1`` points: fractions ``np.linspace(0, 1, steps + 1)``, at
        each of which the ``round(fraction * n)`` top elements are removed (n = size of S).

    Returns
    -------
    fractions : ndarray (steps + 1,)
        Fraction of elements removed, 0 to 1.
    scores : ndarray (steps + 1,)
        ``score`` at each fraction: the full input first, the empty input last.
    """
    return _curve(score, attribution, steps, deleting=True)


def insertion_curve(score: Callable, attribution, steps: int = 20):
    """Model score as the most attributed elements are added first to an empty input.

    The reverse of :func:`deletion_curve` (same arguments): ``fractions`` are the fraction
    of elements kept; scores go from the empty input to the full one. A faithful
    attribution makes the score rise fast: a large area.
    """
    return _curve(score, attribution, steps, deleting=False)


def curve_area(fractions, scores) -> float:
    """Area under a deletion or insertion curve, trapezoid rule on the fraction axis [0, 1]."""
    fractions, scores = _numpy(fractions).ravel(), _numpy(scores).ravel()
    if len(fractions) != len(scores) or len(fractions) < 2:
        raise ValueError(
            f"need matching fractions and scores, at least 2 points; "
            f"got {len(fractions)} and {len(scores)}"
        )
    return float(np.trapezoid(scores, fractions))


def deletion_area(score: Callable, attribution, steps: int = 20) -> float:
    """Area under :func:`deletion_curve`: lower is more faithful."""
    return curve_area(*deletion_curve(score, attribution, steps))


def insertion_area(score: Callable, attribution, steps: int = 20) -> float:
    """Area under :func:`insertion_curve`: higher is more faithful."""
    return curve_area(*insertion_curve(score, attribution, steps))


def _accuracy(predicted, true, name: str = "") -> float:
    p, t = _numpy(predicted, dtype=None).ravel(), _numpy(true, dtype=None).ravel()
    if len(p) != len(t) or len(p) == 0:
        raise ValueError(f"{name or 'concept'}: {len(p)} predictions for {len(t)} true values")
    return float(np.mean(p == t))


def concept_accuracy(predicted, true) -> dict[str, float] | float:
    """Accuracy (0-1) of predicted clinical concepts, e.g. from a concept bottleneck.

    Parameters
    ----------
    predicted, true : dict name -> int array (N,), or int arrays (N,)
        The same concept names in both dicts.

    Returns
    -------
    dict name -> float, plus "mean" (the unweighted mean over concepts), for dicts;
    float for arrays.
    """
    if isinstance(predicted, Mapping) != isinstance(true, Mapping):
        raise ValueError("give predicted and true both as dicts or both as arrays")
    if not isinstance(predicted, Mapping):
        return _accuracy(predicted, true)
    if set(predicted) != set(true) or not predicted or "mean" in predicted:
        raise ValueError(
            f"concepts differ or are reserved: predicted {sorted(predicted)}, true {sorted(true)}"
        )
    scores = {name: _accuracy(predicted[name], true[name], name) for name in true}
    return scores | {"mean": float(np.mean(list(scores.values())))}


def rank_correlation(a, b, absolute: bool = True) -> float:
    """Spearman rank correlation (-1 to 1) between two attributions of the same shape.

    With ``absolute`` (the default) both are compared as ``np.abs``, as Adebayo et al. do
    for saliency, whose sign is often arbitrary. A constant attribution has no ranking:
    the correlation is then 0.0, not NaN.
    """
    a, b = _numpy(a), _numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"attributions differ in shape: {a.shape} and {b.shape}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("attributions with NaN cannot be ranked against each other")
    a, b = (np.abs(a), np.abs(b)) if absolute else (a, b)
    a, b = a.ravel(), b.ravel()
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(stats.spearmanr(a, b).statistic)


def randomise_weights(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """A copy of ``model`` with freshly initialised weights; the model itself is untouched.

    Every submodule with ``reset_parameters()`` is reset (PyTorch's own initialisation);
    parameters registered directly on a module without one (a CLS token, an attention's
    ``in_proj_weight``) are redrawn from N(0, 0.02²). The global torch RNG is left as it
    was. ``seed`` goes through ``np.random.SeedSequence`` first, so that seed 0 does not
    rebuild the very weights of a model created after ``torch.manual_seed(0)``.
    """
    copied = copy.deepcopy(model)
    cuda = sorted({p.device.index or 0 for p in copied.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
        for module in copied.modules():
            if callable(getattr(module, "reset_parameters", None)):
                module.reset_parameters()
            else:
                for parameter in module.parameters(recurse=False):
                    torch.nn.init.normal_(parameter, std=0.02)
    return copied


def randomisation_check(
    explain_fn: Callable, model, randomise: Callable, threshold: float = 0.5
) -> dict:
    """The model-parameter randomisation test (Adebayo et al., 2018).

    An explanation of a model should change when the model's weights are replaced by random
    ones. An "explanation" that survives (an edge map of the input, the input itself) shows
    the image, not the model.

    Parameters
    ----------
    explain_fn : callable
        ``explain_fn(model)`` -> attribution (array or tensor) for a fixed input.
    model : the trained model.
    randomise : callable
        ``randomise(model)`` -> a copy with re-initialised weights, e.g.
        :func:`randomise_weights`.
    threshold : float, default 0.5
        Largest rank correlation that still counts as "changed".

    Returns
    -------
    dict
        "correlation": :func:`rank_correlation` (absolute values) between the explanations
        of the model and of its randomised copy; "passed": correlation < threshold, i.e.
        the explanation depends on the weights and the explainer passes the check.
    """
    before = _numpy(explain_fn(model))
    after = _numpy(explain_fn(randomise(model)))
    correlation = rank_correlation(before, after)
    return {"correlation": correlation, "passed": bool(correlation < threshold)}
