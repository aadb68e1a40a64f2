"""XAIM-mini's benchmark: every explanation method of MOME-mini and mSTAR-mini, scored
against the ground truth of the synthetic data.

For each method: the pointing game and the overlap of the top-attributed region with the
lesion (MRI) or the tumour tiles (slides); deletion and insertion areas, beside those of a
random attribution; the model-randomisation sanity check (Adebayo et al., 2018: the rank
correlation between the explanation of the trained model and of the same model with its
weights re-drawn; an explanation that does not change is not explaining the model); and
the time per explanation.

Deleting a voxel sets it to 0 in every modality (no signal, no enhancement); deleting a
tile drops it from the slide's bag (with no tile left, the score is chance, 1 / classes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from medai_edu.explain.attribution import METHODS, blurred_baseline, explain
from medai_edu.explain.metrics import (
    deletion_area,
    insertion_area,
    mask_overlap,
    pointing_game,
    random_attribution,
    randomisation_check,
    randomise_weights,
)

#: Methods whose output is a map that can be scored (not the read-outs per modality).
SPATIAL = {
    "mome-mini": ("gradcam", "integrated_gradients", "occlusion", "attention_rollout"),
    "mstar-mini": METHODS["mstar-mini"],
}


@dataclass
class MRICases:
    """A batch of breast-MRI cases: network inputs and the lesion masks (B, Z, Y, X)."""

    inputs: dict[str, torch.Tensor]
    masks: np.ndarray

    def case(self, i: int) -> dict[str, torch.Tensor]:
        return {m: v[i : i + 1] for m, v in self.inputs.items()}


def make_mri_cases(n: int = 40, seed: int = 11) -> MRICases:
    """``n`` synthetic breast-MRI cases for explanation (seed apart from the training ones)."""
    from medai_edu.data.breast_mri import make_breast_mri_cohort
    from medai_edu.data.datasets import BreastMRIDataset

    cohort = make_breast_mri_cohort(n, seed=seed)
    inputs, targets = next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=n)))
    return MRICases(inputs, targets["mask"].numpy() > 0.5)


def mri_score(model, case: dict[str, torch.Tensor], target: int):
    """A score function for the deletion / insertion curves of one case: keep (K, Z, Y, X)
    bool -> (K,) probability of ``target`` with the other voxels blurred out
    (:func:`~medai_edu.explain.attribution.blurred_baseline`)."""
    baseline = {m: blurred_baseline(v) for m, v in case.items()}

    @torch.no_grad()
    def score(keep: np.ndarray) -> np.ndarray:
        keep_t = torch.as_tensor(keep)[:, None]  # (K, 1, Z, Y, X)
        masked = {m: torch.where(keep_t, v, baseline[m]) for m, v in case.items()}
        p = model(masked)["malignant"].sigmoid()
        return (p if target == 1 else 1 - p).numpy()

    return score


def score_method(attributions, masks, scores, seconds: float) -> dict:
    """Localisation and faithfulness of one method's attributions (one per case, with its
    ground-truth mask and deletion score function), beside a random attribution's deletion
    and insertion areas on the same cases."""
    randoms = [  # the chance level, with the same padding (NaN) as the explanation
        np.where(np.isnan(a), np.nan, random_attribution(a.shape, seed=i))
        for i, a in enumerate(attributions)
    ]
    zipped = list(zip(attributions, masks, strict=True))
    return {
        "pointing_game": float(np.mean([pointing_game(a, m) for a, m in zipped])),
        "mask_overlap": float(np.mean([mask_overlap(a, m) for a, m in zipped])),
        "deletion_area": _mean_area(deletion_area, scores, attributions),
        "insertion_area": _mean_area(insertion_area, scores, attributions),
        "random_deletion_area": _mean_area(deletion_area, scores, randoms),
        "random_insertion_area": _mean_area(insertion_area, scores, randoms),
        "seconds_per_explanation": seconds / len(attributions),
    }


def _mean_area(area, scores, attributions) -> float:
    return float(np.mean([area(s, a) for s, a in zip(scores, attributions, strict=True)]))


def mri_method_table(model, cases: MRICases, methods=SPATIAL["mome-mini"], sanity_cases=4):
    """Rows {method, pointing_game, mask_overlap, deletion/insertion areas (and random),
    sanity_correlation, seconds_per_explanation} for MOME-mini (or another MRI model).

    Each case's predicted class is explained, and its probability is the score of the
    deletion and insertion curves.
    """
    rows = []
    for method in tqdm(methods, desc="MRI explanations", leave=False):
        start = time.perf_counter()
        e = explain(model, cases.inputs, method)
        seconds = time.perf_counter() - start
        scores = [mri_score(model, cases.case(i), int(t)) for i, t in enumerate(e.target)]
        row = {"model": "mome-mini", "method": method}
        row |= score_method(list(e.attribution), list(cases.masks), scores, seconds)
        few = {m: v[:sanity_cases] for m, v in cases.inputs.items()}
        check = randomisation_check(
            lambda mdl, few=few, method=method: explain(mdl, few, method).attribution,
            model,
            randomise_weights,
        )
        row["sanity_correlation"] = check["correlation"]
        rows.append(row)
    return rows
