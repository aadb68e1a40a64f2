"""Retrieval for MedDr-mini: the training cases most similar to an image, by its visual tokens."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from medai_edu.data.instructions import ImageCases
from medai_edu.models.meddr import MedDrMini
from medai_edu.retrieval import EmbeddingIndex


@torch.no_grad()
def image_embeddings(model: MedDrMini, images: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(N, vision_dim): the mean of each image's visual tokens, the retrieval key (the
    model runs where its parameters are)."""
    model.eval()
    device = next(model.parameters()).device
    tensors = torch.as_tensor(images, dtype=torch.float32)
    parts = [
        model.vision(tensors[i : i + chunk].to(device)).mean(1).cpu()
        for i in range(0, len(tensors), chunk)
    ]
    return torch.cat(parts).numpy()


@dataclass
class RetrievalIndex:
    """One :class:`EmbeddingIndex` per modality over the training cases' images, with their
    diagnosis names."""

    indexes: dict[str, EmbeddingIndex]
    k: int = 5

    @classmethod
    def build(cls, model: MedDrMini, cases: dict[str, ImageCases], k: int = 5):
        indexes = {}
        for modality, c in cases.items():
            names = np.array([c.diagnoses[d].lower() for d in c.diagnosis])
            indexes[modality] = EmbeddingIndex().fit(image_embeddings(model, c.images), names)
        return cls(indexes, k)

    def retrieve(self, model, modality: str, images: np.ndarray, exclude_self=False):
        """Diagnoses of the ``k`` nearest training cases of each image: a list of lists."""
        index = self.indexes[modality]
        result = index.search(image_embeddings(model, images), self.k, exclude_self)
        return [list(index.labels[row]) for row in result.index]
