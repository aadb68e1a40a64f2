"""Figures for labs and the book. Every figure has a title, axis labels and units."""

from medai_edu.viz.evaluation import (
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_roc_curves,
    plot_threshold_tradeoff,
)
from medai_edu.viz.fusion import (
    plot_expert_usage,
    plot_fusion_auroc,
    plot_modality_contributions,
)
from medai_edu.viz.mri import plot_breast_mri_case, plot_kinetic_curves
from medai_edu.viz.training import plot_history

__all__ = [
    "plot_breast_mri_case",
    "plot_confusion_matrix",
    "plot_expert_usage",
    "plot_fusion_auroc",
    "plot_modality_contributions",
    "plot_history",
    "plot_kinetic_curves",
    "plot_reliability_diagram",
    "plot_roc_curves",
    "plot_threshold_tradeoff",
]
