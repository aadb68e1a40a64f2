"""Figures for labs and the book. Every plot function returns a matplotlib Figure (the
figure of ``ax`` when given one) with a title and axis labels with units; the book adds
each figure's alt text and caption where it shows it.

Import from here: ``from medai_edu.viz import plot_roc_curves``.
"""

from medai_edu.viz.concepts import plot_concept_explanation, plot_intervention
from medai_edu.viz.demo import plot_latencies, plot_probabilities
from medai_edu.viz.evaluation import (
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_roc_curves,
    plot_threshold_tradeoff,
)
from medai_edu.viz.explanation_quality import (
    explanation_scores,
    plot_deletion_curves,
    plot_method_scores,
)
from medai_edu.viz.explorer import explanation_explorer
from medai_edu.viz.fusion import (
    plot_auroc_intervals,
    plot_expert_usage,
    plot_fusion_auroc,
    plot_modality_contributions,
)
from medai_edu.viz.meddr import (
    plot_accuracy_by_setting,
    plot_attention_mask,
    plot_hallucination_by_temperature,
    plot_instruction_images,
    plot_parameter_counts,
)
from medai_edu.viz.mri import (
    lesion_enhancement,
    plot_breast_mri_case,
    plot_cohort_kinetics,
    plot_kinetic_curves,
    plot_lesion_adc,
)
from medai_edu.viz.mri_explanations import (
    plot_method_comparison,
    plot_modality_maps,
    plot_mri_overlay,
)
from medai_edu.viz.mstar import (
    plot_few_shot_curves,
    plot_kaplan_meier,
    plot_pretraining_losses,
    plot_search_results,
    plot_similarity_matrix,
)
from medai_edu.viz.pathology import (
    plot_geojson_tiles,
    plot_mean_colours,
    plot_mil_attention,
    plot_normalisation_grid,
    plot_pyramid,
    plot_region_at_levels,
    plot_stain_channels,
    plot_tile_counts,
    plot_tile_grid,
    plot_tissue_mask,
)
from medai_edu.viz.slide_explanations import plot_slide_overlay
from medai_edu.viz.slide_viewer import plot_slide_view, slide_viewer
from medai_edu.viz.training import plot_history
from medai_edu.viz.viewer import plot_slice, slice_viewer

__all__ = [
    # evaluating a classifier, training
    "plot_confusion_matrix",
    "plot_history",
    "plot_reliability_diagram",
    "plot_roc_curves",
    "plot_threshold_tradeoff",
    # breast MRI
    "lesion_enhancement",
    "plot_breast_mri_case",
    "plot_cohort_kinetics",
    "plot_kinetic_curves",
    "plot_lesion_adc",
    "plot_slice",
    "slice_viewer",
    # multimodal fusion (MOME-mini)
    "plot_expert_usage",
    "plot_auroc_intervals",
    "plot_fusion_auroc",
    "plot_modality_contributions",
    # explanations (XAIM-mini)
    "explanation_explorer",
    "explanation_scores",
    "plot_concept_explanation",
    "plot_deletion_curves",
    "plot_intervention",
    "plot_method_comparison",
    "plot_method_scores",
    "plot_modality_maps",
    "plot_mri_overlay",
    "plot_slide_overlay",
    # vision-language model (MedDr-mini)
    "plot_accuracy_by_setting",
    "plot_attention_mask",
    "plot_hallucination_by_temperature",
    "plot_instruction_images",
    "plot_parameter_counts",
    # whole-slide images
    "plot_geojson_tiles",
    "plot_mean_colours",
    "plot_mil_attention",
    "plot_normalisation_grid",
    "plot_pyramid",
    "plot_region_at_levels",
    "plot_slide_view",
    "plot_stain_channels",
    "plot_tile_counts",
    "plot_tile_grid",
    "plot_tissue_mask",
    "slide_viewer",
    # pathology foundation model (mSTAR-mini)
    "plot_few_shot_curves",
    "plot_kaplan_meier",
    "plot_pretraining_losses",
    "plot_search_results",
    "plot_similarity_matrix",
    # serving a demo
    "plot_latencies",
    "plot_probabilities",
]
