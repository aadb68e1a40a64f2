"""The MOME-mini demo: one breast mpMRI case in, its diagnosis and each modality's part out."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure

from medai_edu.data.breast_mri import SUBTYPES
from medai_edu.data.datasets import MRI_SEQUENCES, normalised_modalities

#: What each of MOME's inputs is called on screen.
MODALITY_NAMES = {"dce": "DCE", "t2": "T2", "dwi": "DWI"}
#: Voxel size (slice, row, column) in mm of the synthetic cases, the grid MOME-mini reads:
#: an upload of another shape is resampled to the grid's shape and drawn at this spacing.
GRID_SPACING_MM = (3.0, 2.0, 2.0)


@dataclass
class MRIPrediction:
    """MOME-mini's answer for one case; every probability dict sums to 1."""

    malignancy: dict[str, float]
    subtype: dict[str, float]
    pcr: dict[str, float]
    contributions: dict[str, float]  # modality -> malignancy logit with it minus without it
    present: tuple[str, ...]
    switched_off: str | None = None
    malignancy_without: dict[str, float] | None = None

    def as_dict(self) -> dict:
        return dict(vars(self))


def head_quality(model) -> dict[str, str]:
    """How good each of MOME-mini's answers is, in words, from the test figures its
    checkpoint records (``medai-edu train breast-fusion`` measures them on held-out cases):
    keys "malignancy", "subtype", "pcr". Empty strings for a model without them."""
    metadata = getattr(model, "pretrained_cfg", {}).get("metadata", {})
    figures = metadata.get("test_figures")
    if not figures:
        return dict.fromkeys(("malignancy", "subtype", "pcr"), "")
    f = json.loads(figures) if isinstance(figures, str) else figures
    n = f.get("n_test", "?")
    return {
        "malignancy": (
            f"test AUROC {f['internal_auroc']:.2f} on {n} cases of the training hospitals, "
            f"{f['hospital_c_auroc']:.2f} at an unseen hospital (0.5 = chance)"
        ),
        "subtype": (
            f"test balanced accuracy {f['subtype_balanced_accuracy']:.2f} over 4 subtypes "
            f"(0.25 = chance); triple-negative vs the rest AUROC "
            f"{f['triple_negative_auroc']:.2f}"
        ),
        "pcr": (
            f"test AUROC {f['pcr_auroc']:.2f} on a neoadjuvant cohort (0.5 = chance; the "
            f"subtype and size allow at most about 0.74): weak, not for any decision"
        ),
    }


def example_inputs(cohort, i: int) -> dict[str, torch.Tensor]:
    """Case ``i`` of a synthetic cohort as MOME-mini's batch of one, every modality present."""
    volumes = normalised_modalities(cohort, i)
    inputs = {m: torch.from_numpy(volumes[m])[None] for m in MRI_SEQUENCES}
    inputs["present"] = torch.ones(1, len(MRI_SEQUENCES), dtype=torch.bool)
    return inputs


def _binary(p: float, negative: str, positive: str) -> dict[str, float]:
    return {negative: 1.0 - p, positive: p}


def _switch_off(inputs: dict, modality: str) -> dict:
    if modality not in MRI_SEQUENCES:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MRI_SEQUENCES}")
    present = inputs["present"].clone()
    index = MRI_SEQUENCES.index(modality)
    if not present[0, index]:
        raise ValueError(f"{MODALITY_NAMES[modality]} is not in this case, so it cannot be off")
    present[0, index] = False
    if not present.any():
        raise ValueError(f"{MODALITY_NAMES[modality]} is the case's only modality")
    return {**inputs, "present": present}


def _variants(inputs: dict, switch_off: str | None) -> tuple[dict, list[str | None]]:
    """One batch holding the case as given, then without each modality that has a partner
    (for its contribution), then without ``switch_off``: one forward pass instead of five,
    which matters when a class shares two cores."""
    present = inputs["present"][0]
    dropped: list[str | None] = [None]
    for index, m in enumerate(MRI_SEQUENCES):
        if present[index] and present.sum() > 1:
            dropped.append(m)
    if switch_off:
        _switch_off(inputs, switch_off)  # the clear errors
        dropped.append(switch_off)
    rows = present.repeat(len(dropped), 1)
    for row, m in enumerate(dropped):
        if m is not None:
            rows[row, MRI_SEQUENCES.index(m)] = False
    batch = {m: inputs[m].expand(len(dropped), *inputs[m].shape[1:]) for m in MRI_SEQUENCES}
    return {**batch, "present": rows}, dropped


@torch.inference_mode()
def predict_mri(model, inputs: dict, switch_off: str | None = None) -> MRIPrediction:
    """Malignancy, subtype and pCR probabilities, each modality's contribution (as
    :func:`medai_edu.models.mome.modality_contributions` defines it) and, when
    ``switch_off`` names a modality, the malignancy without it."""
    model.eval()
    batch, dropped = _variants(inputs, switch_off)
    out = model(batch)
    logits = out["malignant"]
    present = tuple(
        m for m, p in zip(MRI_SEQUENCES, inputs["present"][0].tolist(), strict=True) if p
    )
    contributions = dict.fromkeys(present, 0.0)  # alone, a modality has nothing to compare
    for row, m in enumerate(dropped[1 : len(dropped) - bool(switch_off)], start=1):
        contributions[m] = float(logits[0] - logits[row])
    prediction = MRIPrediction(
        malignancy=_binary(float(logits[0].sigmoid()), "benign", "malignant"),
        subtype=dict(zip(SUBTYPES, out["subtype"][0].softmax(-1).tolist(), strict=True)),
        pcr=_binary(float(out["pcr"][0].sigmoid()), "no pCR", "pCR"),
        contributions=contributions,
        present=present,
    )
    if switch_off:
        prediction.switched_off = switch_off
        prediction.malignancy_without = _binary(float(logits[-1].sigmoid()), "benign", "malignant")
    return prediction


def _views(inputs: dict) -> dict[str, np.ndarray]:
    """What a radiologist looks at, per modality: the peak relative enhancement, T2, ADC."""
    return {
        "dce": inputs["dce"][0, 1:].amax(0).numpy(),
        "t2": inputs["t2"][0, 0].numpy(),
        "dwi": inputs["dwi"][0, 2].numpy() * 3.0,  # ADC back in 10^-3 mm^2/s
    }


VIEW_LABELS = {
    "dce": ("DCE: peak enhancement", "relative enhancement"),
    "t2": ("T2", "signal / 99th percentile"),
    "dwi": ("DWI: ADC map", "ADC (10$^{-3}$ mm$^2$/s)"),
}


def plot_mri_case(inputs: dict, title: str = "Breast MRI case"):
    """One axial slice per modality, at the slice where contrast enhances most (the lesion
    in nearly every case); a missing modality's panel says so."""
    views = _views(inputs)
    z = int(views["dce"].reshape(views["dce"].shape[0], -1).max(1).argmax())
    depth, rows, cols = views["t2"].shape
    extent = (0, cols * GRID_SPACING_MM[2], rows * GRID_SPACING_MM[1], 0)
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, m in zip(axes, MRI_SEQUENCES, strict=True):
        name, unit = VIEW_LABELS[m]
        present = bool(inputs["present"][0, MRI_SEQUENCES.index(m)])
        if present:
            shown = ax.imshow(views[m][z], cmap="gray", extent=extent)
            fig.colorbar(shown, ax=ax, shrink=0.8, label=unit)
        else:
            ax.text(0.5, 0.5, "missing", ha="center", va="center", transform=ax.transAxes)
        ax.set(title=f"{name} (slice {z + 1}/{depth})", xlabel="x (mm)", ylabel="y (mm)")
    fig.suptitle(title)
    return fig
