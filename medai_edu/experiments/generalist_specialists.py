"""The specialists MedDr-mini consults (GSCo): MOME-mini on breast MRI, mSTAR-mini on slides.

Each gives its predictions on a set of cases and, by its own features, the diagnoses of the
most similar training cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from medai_edu.data.instructions import ImageCases
from medai_edu.models import create_model
from medai_edu.retrieval import EmbeddingIndex


@dataclass
class Specialist:
    """A specialist's predictions for a set of cases: ``probabilities`` (N, C) over the
    cases' diagnoses, and the specialist's ``name``. ``embeddings`` (N, D): its own features
    of each case, with which it finds similar cases; ``neighbours``: the diagnoses of each
    case's ``k`` most similar training cases by those features (see :func:`consult`)."""

    name: str
    probabilities: np.ndarray
    embeddings: np.ndarray | None = None
    neighbours: list[list[str]] | None = None

    def subset(self, index) -> Specialist:
        index = np.asarray(index)
        embeddings = None if self.embeddings is None else self.embeddings[index]
        neighbours = None if self.neighbours is None else [self.neighbours[i] for i in index]
        return Specialist(self.name, self.probabilities[index], embeddings, neighbours)

    def hint(self, i: int, diagnoses) -> tuple[str, str, float]:
        k = int(self.probabilities[i].argmax())
        return self.name, diagnoses[k].lower(), float(self.probabilities[i, k])


def consult(train: Specialist, train_cases: ImageCases, query: Specialist | None = None, k=5):
    """GSCo's second kind of guidance: the specialist also finds the visually similar cases,
    by its own features. Returns ``query`` (or ``train``, leave-one-out) with ``neighbours``:
    the diagnoses of the ``k`` nearest training cases in the specialist's embedding space."""
    names = np.array([train_cases.diagnoses[d].lower() for d in train_cases.diagnosis])
    index = EmbeddingIndex().fit(train.embeddings, names)
    target = train if query is None else query
    result = index.search(target.embeddings, k, exclude_self=query is None)
    neighbours = [list(names[row]) for row in result.index]
    return Specialist(target.name, target.probabilities, target.embeddings, neighbours)


@torch.no_grad()
def mome_specialist(n: int, seed: int) -> Specialist:
    """MOME-mini's malignancy probability and features (``MOMEMini.features``) for the
    breast-MRI cases ``make_image_cases("breast-mri", n, seed)`` makes: the specialist sees
    the full 3D mpMRI of the same cases (the same cohort, regenerated), the generalist one
    2D slice."""
    from torch.utils.data import DataLoader

    from medai_edu.data.breast_mri import make_breast_mri_cohort
    from medai_edu.data.datasets import BreastMRIDataset

    model = create_model("mome-mini", pretrained=True)
    loader = DataLoader(BreastMRIDataset(make_breast_mri_cohort(n, seed=seed)), batch_size=64)
    malignant, features = [], []
    for inputs, _ in loader:
        malignant.append(model(inputs)["malignant"].sigmoid())
        features.append(model.features(inputs))
    malignant = torch.cat(malignant).numpy()
    probabilities = np.stack([1 - malignant, malignant], axis=1)
    return Specialist("mome-mini", probabilities, torch.cat(features).numpy())


def mstar_specialists(n_train: int, n_test: int, train_seed: int, test_seed: int):
    """mSTAR-mini (the shipped stage-2 encoder and its aggregator) with a logistic
    regression on its slide embeddings: the whole slide's tumour type. Returns
    (out-of-fold predictions on the training slides, predictions on the test slides), each
    with the slide embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from medai_edu.data.pathology import make_slide_bags
    from medai_edu.experiments.slide_pretraining import slide_embeddings

    encoder = create_model("mstar-mini", pretrained="stage2")
    train = make_slide_bags(n_train, seed=train_seed)
    x_train = slide_embeddings(encoder, train, "aggregator")
    y = train.tumour_type.numpy()
    classifier = LogisticRegression(C=0.5, max_iter=1000)
    out_of_fold = cross_val_predict(classifier, x_train, y, cv=5, method="predict_proba")
    classifier.fit(x_train, y)
    on_test, x_test = np.zeros((0, 3)), np.zeros((0, x_train.shape[1]))
    if n_test:
        test = make_slide_bags(n_test, seed=test_seed)
        x_test = slide_embeddings(encoder, test, "aggregator")
        on_test = classifier.predict_proba(x_test)
    return (
        Specialist("mstar-mini", out_of_fold, np.asarray(x_train)),
        Specialist("mstar-mini", on_test, np.asarray(x_test)),
    )
