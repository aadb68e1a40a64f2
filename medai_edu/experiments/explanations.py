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

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
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
from medai_edu.train import device_of, train_steps

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
    ground-truth mask and deletion score function), beside a random attribution's
    pointing game and deletion and insertion areas on the same cases.

    ``deletion_p``: one-sided Wilcoxon signed-rank test, over cases, that the method's
    deletion area is below the random attribution's ("clearly below" when p < 0.05).
    """
    from scipy.stats import wilcoxon

    randoms = [  # the chance level, with the same padding (NaN) as the explanation
        np.where(np.isnan(a), np.nan, random_attribution(a.shape, seed=i))
        for i, a in enumerate(attributions)
    ]
    areas = {
        name: [area(s, a) for s, a in zip(scores, maps, strict=True)]
        for name, area, maps in [
            ("deletion_area", deletion_area, attributions),
            ("insertion_area", insertion_area, attributions),
            ("random_deletion_area", deletion_area, randoms),
            ("random_insertion_area", insertion_area, randoms),
        ]
    }
    zipped = list(zip(attributions, masks, strict=True))
    return {
        "pointing_game": float(np.mean([pointing_game(a, m) for a, m in zipped])),
        "random_pointing_game": float(
            np.mean([pointing_game(r, m) for r, m in zip(randoms, masks, strict=True)])
        ),
        "mask_overlap": float(np.mean([mask_overlap(a, m) for a, m in zipped])),
        **{name: float(np.mean(values)) for name, values in areas.items()},
        "deletion_p": float(
            wilcoxon(
                areas["deletion_area"], areas["random_deletion_area"], alternative="less"
            ).pvalue
        ),
        "seconds_per_explanation": seconds / len(attributions),
    }


def mri_method_table(
    model, cases: MRICases, methods=SPATIAL["mome-mini"], explanations=None, sanity_cases=4
):
    """Rows {method, pointing_game, mask_overlap, deletion/insertion areas (and random),
    sanity_correlation, seconds_per_explanation} for MOME-mini (or another MRI model).

    Each case's predicted class is explained, and its probability is the score of the
    deletion and insertion curves. ``explanations`` (method -> Explanation of ``cases``)
    are reused where given.
    """
    # every method explains the same predicted class: one score function per case
    score_of = functools.cache(lambda i, t: mri_score(model, cases.case(i), t))
    rows = []
    for method in tqdm(methods, desc="MRI explanations", leave=False):
        e = (explanations or {}).get(method) or explain(model, cases.inputs, method)
        scores = [score_of(i, int(t)) for i, t in enumerate(e.target)]
        row = {"model": "mome-mini", "method": method}
        row |= score_method(list(e.attribution), list(cases.masks), scores, e.seconds)
        few = {m: v[:sanity_cases] for m, v in cases.inputs.items()}
        row["sanity_correlation"] = _sanity(model, lambda mdl, f=few, m=method: explain(mdl, f, m))
        rows.append(row)
    return rows


def _sanity(model, explain_fn) -> float:
    """The randomisation check's rank correlation for ``explain_fn(model) -> Explanation``."""
    check = randomisation_check(
        lambda mdl: np.nan_to_num(explain_fn(mdl).attribution), model, randomise_weights
    )
    return check["correlation"]


# --------------------------------------------------------------------------- slides


@dataclass
class SlideCases:
    """Slides as bags of tiles (``SlideBags``) and, per slide, which tiles show tumour
    (S, N) bool: the ground truth a slide-level explanation should point at."""

    bags: object
    tumour_tiles: np.ndarray
    seed: int = 0

    def tumour_grid(self, i: int) -> np.ndarray:
        """(rows, cols) bool: slide ``i``'s tumour tiles on its whole tile grid."""
        config = self.bags.recipe["config"]
        tile = self.bags.tiles.shape[-1]
        grid = np.zeros((config.height // tile, config.width // tile), bool)
        rows, cols = self.bags.grid[i, torch.as_tensor(self.tumour_tiles[i])].T.numpy()
        grid[rows, cols] = True
        return grid

    def thumbnail(self, i: int) -> np.ndarray:
        """Slide ``i``'s level-0 RGB image (H, W, 3) uint8, drawn again from its seed."""
        return self.bags.render(i).image

    def batch(self, index=slice(None)) -> dict[str, torch.Tensor]:
        return {
            "tiles": self.bags.float_tiles(index),
            "tile_mask": self.bags.tile_mask[index],
            "grid": self.bags.grid[index],
        }


def make_slide_cases(n: int = 40, seed: int = 11, max_tiles: int = 64) -> SlideCases:
    """``n`` synthetic lung slides for explanation (seed apart from the pretraining ones).

    Only slides with at least one tumour tile are kept: an explanation is scored by whether
    it points at tumour, which a slide whose small focus fell between the tiles lacks."""
    from medai_edu.data.pathology import TUMOUR
    from medai_edu.experiments.slide_pretraining import make_slide_bags

    bags = make_slide_bags(n + n // 3 + 3, seed=seed, max_tiles=max_tiles)
    tumour = (bags.tile_region == TUMOUR).numpy()
    keep = np.flatnonzero(tumour.any(1))[:n]
    if len(keep) < n:
        raise RuntimeError(f"only {len(keep)} of the slides drawn show tumour; ask for fewer")
    bags = bags.subset(keep)
    return SlideCases(bags, tumour[keep], seed)


def fit_slide_classifier(
    encoder,
    bags,
    steps: int = 300,
    lr: float = 1e-2,
    seed: int = 0,
    device: torch.device | str | None = None,
):
    """A copy of mSTAR-mini (pretrained ``encoder``) whose classifier head has learned the
    tumour type from the frozen slide embeddings: the model the slide explanations explain.

    device: where the copy runs and trains (None: the CPU); it is returned there (the
    explanations and score functions run it where it is)."""
    import copy

    from medai_edu.experiments.slide_pretraining import patch_features

    device = torch.device(device or "cpu")
    torch.manual_seed(seed)
    model = copy.deepcopy(encoder).eval().to(device)
    with torch.no_grad():
        features = patch_features(model, bags)
        inputs = {"features": features, "tile_mask": bags.tile_mask, "grid": bags.grid}
        slides = model({k: v.to(device) for k, v in inputs.items()})
    head = model.classifier
    head.reset_parameters()
    train_steps(  # the head alone, full batch, on the frozen slide embeddings
        head,
        lambda step: (slides["slide"], bags.tumour_type),
        lambda layer, batch: F.cross_entropy(layer(batch[0]), batch[1]),
        steps=steps,
        optimizer=torch.optim.Adam(head.parameters(), lr=lr),
        device=device,
        progress=False,
        desc="slide classifier head",
    )
    return model.eval()


def slide_score(model, cases: SlideCases, i: int, target: int):
    """A score function for the deletion / insertion curves of slide ``i``: keep (K, N)
    bool -> (K,) probability of ``target`` with only the kept tiles in the bag (chance,
    1 / classes, when none is left)."""
    from medai_edu.experiments.slide_pretraining import patch_features

    one = cases.bags.subset([i])
    device = device_of(model)  # the model runs where it is
    with torch.no_grad():
        features = patch_features(model, one).to(device)
    grid = one.grid.to(device)

    @torch.no_grad()
    def score(keep: np.ndarray) -> np.ndarray:
        keep = torch.as_tensor(keep) & one.tile_mask
        out = np.full(len(keep), 1 / model.config.n_classes)
        some = keep.any(1)
        if some.any():
            k = int(some.sum())
            logits = model(
                {
                    "features": features.expand(k, -1, -1),
                    "tile_mask": keep[some].to(device),
                    "grid": grid.expand(k, -1, -1),
                }
            )["logits"]
            out[some.numpy()] = logits.softmax(-1)[:, target].cpu().numpy()
        return out

    return score


def slide_method_table(
    model, cases: SlideCases, methods=SPATIAL["mstar-mini"], explanations=None, sanity_cases=4
):
    """Rows like :func:`mri_method_table` for mSTAR-mini's tumour-type decision; the ground
    truth is the slide's tumour tiles."""
    score_of = functools.cache(lambda i, t: slide_score(model, cases, i, t))
    rows = []
    for method in tqdm(methods, desc="slide explanations", leave=False):
        e = (explanations or {}).get(method) or explain(model, cases.batch(), method)
        scores = [score_of(i, int(t)) for i, t in enumerate(e.target)]
        row = {"model": "mstar-mini", "method": method}
        row |= score_method(list(e.attribution), list(cases.tumour_tiles), scores, e.seconds)
        few = cases.batch(slice(0, sanity_cases))
        row["sanity_correlation"] = _sanity(model, lambda mdl, f=few, m=method: explain(mdl, f, m))
        rows.append(row)
    return rows
