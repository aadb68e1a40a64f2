"""The XAIM-mini demo: why did a model decide, in pictures and in words, and what if a
concept were read differently?

The picture comes from :func:`medai_edu.explain.explain` on the model itself; the words from
the concept bottleneck of the same kind of case (:mod:`medai_edu.explain.concept_models`),
which a user can correct concept by concept (a test-time intervention).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from medai_edu.explain import METHODS, explain, explain_concepts

#: The models the XAIM tab explains, and the kind of case each reads.
EXPLAINED = {"mome-mini": "breast MRI", "mstar-mini": "slide"}
#: Methods that draw a map over the image (modality contributions and routing are bars).
MAP_METHODS = {
    "mome-mini": ("gradcam", "integrated_gradients", "occlusion", "attention_rollout"),
    "mstar-mini": METHODS["mstar-mini"],
}
# Attribution methods put hooks on the model while they run: one explanation at a time, on
# copies of the models that no prediction goes through (DemoModels.explained).
_LOCK = threading.Lock()


@dataclass
class _OneSlide:
    """One slide in the shape :func:`slide_concept_features` reads (a SlideBags of one)."""

    tiles: torch.Tensor  # (1, N, 3, t, t) in [0, 1]
    tile_mask: torch.Tensor
    grid: torch.Tensor

    def __len__(self) -> int:
        return 1

    def float_tiles(self, index=slice(None)) -> torch.Tensor:
        return self.tiles[index]


def methods_for(model_name: str) -> tuple[str, ...]:
    if model_name not in MAP_METHODS:
        raise ValueError(f"the demo explains {tuple(EXPLAINED)}, not {model_name!r}")
    return MAP_METHODS[model_name]


def concept_values(models, model_name: str) -> dict[str, tuple[str, ...]]:
    """Concept name -> its value names, for the correction menus."""
    model = models.mri_concepts if model_name == "mome-mini" else models.slide_concepts
    return dict(model.bottleneck.spec.concepts)


def _features(models, model_name: str, case) -> np.ndarray:
    if model_name == "mome-mini":
        return models.mri_concepts.features(case)
    one = _OneSlide(**case)
    return models.slide_concepts.features(one)


def concept_text(models, model_name: str, case, corrections: dict | None = None):
    """The textual explanation of a case, with ``corrections`` (concept -> value) imposed."""
    methods_for(model_name)
    model = models.mri_concepts if model_name == "mome-mini" else models.slide_concepts
    features = _features(models, model_name, case)
    spec = model.bottleneck.spec
    for name, value in (corrections or {}).items():
        if name not in spec.concepts or value not in spec.concepts[name]:
            raise ValueError(f"{name!r} = {value!r} is not a concept value of {model_name}")
    explanation = explain_concepts(model.bottleneck, features, corrections or None)[0]
    with torch.no_grad():
        logits = model.bottleneck(torch.as_tensor(features), corrections or None)["logits"]
    probabilities = dict(zip(spec.classes, logits.softmax(-1)[0].tolist(), strict=True))
    return explanation, probabilities


def explain_case(models, model_name: str, case: dict, method: str):
    """:func:`medai_edu.explain.explain` of one case (a batch of one), one at a time."""
    if method not in methods_for(model_name):
        raise ValueError(
            f"{method!r} is not one of {model_name}'s methods {methods_for(model_name)}"
        )
    with _LOCK:
        return explain(models.explained[model_name], case, method)


def plot_explanation(model_name: str, case: dict, result, title: str, mask=None, slide=None):
    """The explanation over the case: an MRI slice (over the peak contrast enhancement, the
    lesion outlined when ``mask`` (Z, Y, X) is known) or the slide (``slide``: its
    :class:`~medai_edu.demos.slides.SlideCase`), axes in mm or µm."""
    from matplotlib.figure import Figure

    from medai_edu.viz import plot_mri_overlay, plot_slide_overlay

    method = result.method.replace("_", " ")
    # A Figure of its own, not pyplot's: the server draws in many threads at once.
    ax = Figure(figsize=(5.5, 4.6), layout="constrained").subplots()
    if model_name == "mome-mini":
        enhancement = case["dce"][0, 1:].amax(0).numpy()
        title = f"{method}: {title}"
        return plot_mri_overlay(enhancement, result.attribution[0], mask, title=title, ax=ax)
    tile_um = slide.tiles.tile_size_level0 * slide.mpp
    width, height = slide.tiles.dimensions
    return plot_slide_overlay(
        slide.tiles.thumbnail,
        result,
        0,
        tile_size_um=tile_um,
        ax=ax,
        extent_um=(width * slide.mpp, height * slide.mpp),
        title=f"{method}: {title}",
    )
