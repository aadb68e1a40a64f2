"""The breast mpMRI fusion experiment: single modalities, early and late fusion, MOME-mini.

It reproduces the shape of MOME's comparison (arXiv 2408.12606) on synthetic data: train on
two hospitals, test on held-out cases of the same hospitals (internal) and on a third
hospital (external), with every modality and with each one missing at test time. The
fidelity benchmark and the "fusing modalities" lab both call :func:`run_fusion_experiment`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from medai_edu import metrics
from medai_edu.data import BreastMRIConfig, BreastMRIDataset, make_breast_mri_cohort
from medai_edu.data.datasets import MODALITIES
from medai_edu.models import create_model
from medai_edu.models.baselines import LateFusion, malignancy_loss
from medai_edu.models.mome import mome_loss
from medai_edu.train import fit, predict

INTERNAL_SITES = (0.5, 0.5, 0.0)  # hospitals A and B; C is kept for external validation


@dataclass
class FusionData:
    """Train/validation/test loaders; ``external`` holds cases from the unseen hospital."""

    train: DataLoader
    val: DataLoader
    test: DataLoader
    external: DataLoader


def make_fusion_data(n_train=600, n_val=150, n_test=300, seed=0, batch_size=32) -> FusionData:
    """Cohorts with disjoint seeds: internal from hospitals A/B, external from hospital C."""
    internal = BreastMRIConfig(site_probs=INTERNAL_SITES)

    def loader(n, offset, shuffle=False, **kwargs):
        cohort = make_breast_mri_cohort(n, seed=seed * 1000 + offset, **kwargs)
        return DataLoader(BreastMRIDataset(cohort), batch_size=batch_size, shuffle=shuffle)

    return FusionData(
        train=loader(n_train, 1, shuffle=True, config=internal),
        val=loader(n_val, 2, config=internal),
        test=loader(n_test, 3, config=internal),
        external=loader(n_test, 4, site=2),
    )


def malignancy_auroc(outputs, targets) -> dict[str, float]:
    return {"auroc": metrics.auroc(targets["malignant"], outputs["malignant"])}


@dataclass
class TrainedModel:
    name: str
    model: torch.nn.Module
    seconds: float
    history: object = None


def train_model(name, data: FusionData, epochs=30, time_budget_s=60.0, lr=2e-3, progress=True):
    """Train one contender on the fusion data, keeping the best validation AUROC."""
    builders = {
        "mome-mini": lambda: (create_model("mome-mini"), mome_loss),
        "early fusion": lambda: (create_model("mri-cnn"), malignancy_loss),
        "densenet121-3d": lambda: (create_model("densenet121-3d"), malignancy_loss),
        **{
            m: (lambda m=m: (create_model("mri-cnn", modalities=(m,)), malignancy_loss))
            for m in MODALITIES
        },
    }
    model, loss_fn = builders[name]()
    start = time.perf_counter()
    history = fit(
        model,
        data.train,
        data.val,
        loss_fn=loss_fn,
        metrics_fn=malignancy_auroc,
        monitor="val_auroc",
        epochs=epochs,
        lr=lr,
        weight_decay=0.05,
        time_budget_s=time_budget_s,
        progress=progress,
    )
    return TrainedModel(name, model, time.perf_counter() - start, history)


def late_fusion(single: dict[str, TrainedModel]) -> TrainedModel:
    """Late fusion of already trained single-modality models (no extra training)."""
    members = {m: single[m].model for m in MODALITIES}
    seconds = sum(single[m].seconds for m in MODALITIES)
    return TrainedModel("late fusion", LateFusion(members), seconds)


def without(inputs: dict, modality: str | None) -> dict:
    return {k: v for k, v in inputs.items() if k != modality}


class _DropModality(torch.nn.Module):
    """Wraps a model so that one modality is missing at test time."""

    def __init__(self, model, modality):
        super().__init__()
        self.model, self.modality = model, modality

    def forward(self, inputs):
        return self.model(without(inputs, self.modality))


def auroc_table(trained: dict[str, TrainedModel], data: FusionData) -> list[dict]:
    """AUROC of every model on internal and external test sets, with each modality missing.

    A single-modality model cannot lose another modality; its rows for the others repeat its
    full AUROC, and losing its own modality leaves it nothing (reported as NaN).
    """
    rows = []
    for name, entry in trained.items():
        for missing in (None, *MODALITIES):
            row = {"model": name, "missing": missing or "none"}
            for split in ("test", "external"):
                loader = getattr(data, split)
                if name == missing:
                    row[split] = float("nan")
                    continue
                model = _DropModality(entry.model, missing if name not in MODALITIES else None)
                outputs, targets = predict(model, loader, device=_device_of(entry.model))
                row[split] = malignancy_auroc(outputs, targets)["auroc"]
            rows.append(row)
    return rows


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def run_fusion_experiment(
    data: FusionData | None = None, contenders=None, time_budget_s=60.0, progress=True
):
    """Train the contenders and return (trained models, AUROC rows)."""
    data = data or make_fusion_data()
    contenders = contenders or (*MODALITIES, "early fusion", "mome-mini")
    trained = {
        name: train_model(name, data, time_budget_s=time_budget_s, progress=progress)
        for name in contenders
    }
    if all(m in trained for m in MODALITIES):
        trained["late fusion"] = late_fusion(trained)
    return trained, auroc_table(trained, data)
