"""Evaluation set-up: stratified train / validation / test splits.

The split is made once, by case index, before any model sees the data: the model is fitted
on ``train``, every choice (model, calibration, threshold) is made on ``val``, and ``test``
is looked at once, at the end, to report what a new patient can expect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split


@dataclass(frozen=True)
class Split:
    """Sorted case indices of the three parts; ``X[split.train]`` selects the training rows."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def stratified_split(y, fractions=(0.6, 0.2, 0.2), seed: int = 0) -> Split:
    """Split cases into train / validation / test, keeping each class's share in every part.

    y: (N,) class labels (a case's row index is its position in ``y``).
    fractions: (train, val, test) shares of the cases, each > 0, summing to 1.
    seed: the same seed gives the same split.

    Stratification matters most for small sets and rare classes: a random 20 % of 569
    cases can hold noticeably more or fewer cancers than the whole table, and then the
    validation and test numbers describe a different mix of patients.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one label per case, got shape {y.shape}")
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be three shares > 0 summing to 1, got {fractions}")
    f_train, f_val, f_test = fractions
    index = np.arange(len(y))
    rest, test = train_test_split(index, test_size=f_test, stratify=y, random_state=seed)
    train, val = train_test_split(
        rest, test_size=f_val / (f_train + f_val), stratify=y[rest], random_state=seed
    )
    return Split(train=np.sort(train), val=np.sort(val), test=np.sort(test))
