"""The Wisconsin Diagnostic Breast Cancer table, with 1 = malignant."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medai_edu.data.samples.cache import sample_path

_WDBC_NUCLEAR_FEATURES = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
)

#: The 30 WDBC columns, in file order: 10 means, 10 standard errors, 10 "worst" values
#: (scikit-learn's spelling).
WDBC_FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"mean {f}" for f in _WDBC_NUCLEAR_FEATURES)
    + tuple(f"{f} error" for f in _WDBC_NUCLEAR_FEATURES)
    + tuple(f"worst {f}" for f in _WDBC_NUCLEAR_FEATURES)
)


@dataclass(frozen=True)
class WDBC:
    """The Wisconsin Diagnostic Breast Cancer table.

    Attributes
    ----------
    X : ndarray, shape (569, 30), float64
        Nuclear features of each fine-needle aspirate; units are pixels of the digitised
        image (radius, perimeter), pixels squared (area) or unitless.
    y : ndarray, shape (569,), int64
        1 = malignant (212 cases), 0 = benign (357 cases).
    feature_names : tuple of 30 str
    target_names : tuple of 2 str
        ``target_names[y]`` names a label: ``("benign", "malignant")``.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, str] = ("benign", "malignant")


def load_wdbc() -> WDBC:
    """Load WDBC from the checksummed copy of scikit-learn's ``breast_cancer.csv``.

    Note the label: scikit-learn's ``load_breast_cancer`` has **0 = malignant**; here
    ``y = 1`` means malignant, the usual convention for "positive = disease", so that
    sensitivity, ROC curves and positive predictive value read as clinicians expect.

    Returns
    -------
    WDBC
        ``X`` (569, 30) float64, ``y`` (569,) int64 with 1 = malignant, feature names.
    """
    path = sample_path("wdbc")
    with open(path) as handle:
        header = handle.readline().strip().split(",")
    # The header is "n_samples,n_features,<name of label 0>,<name of label 1>".
    if header[2:] != ["malignant", "benign"]:
        raise ValueError(f"{path}: unexpected header {header}; expected label 0 = malignant")
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    X = table[:, :-1]
    sklearn_target = table[:, -1].astype(np.int64)
    y = 1 - sklearn_target  # sklearn: 0 = malignant  ->  here: 1 = malignant
    return WDBC(X=X, y=y, feature_names=WDBC_FEATURE_NAMES)
