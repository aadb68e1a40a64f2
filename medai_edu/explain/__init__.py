"""Explanations of the course's models (XAIM-mini).

- :mod:`~medai_edu.explain.attribution`: attribution maps of every model through one call,
  :func:`explain`;
- :mod:`~medai_edu.explain.adapters`: which code explains which model family
  (:func:`register_adapter`, looked up along the model's class hierarchy);
- :mod:`~medai_edu.explain.metrics`: scores of explanations against the synthetic data's
  ground truth (localisation, faithfulness, concepts, sanity);
- :mod:`~medai_edu.explain.concepts`: concept bottlenecks, their textual explanations and
  test-time concept intervention;
- :mod:`~medai_edu.explain.concept_models`: the feature extractors of breast MRI and slides
  and the concept bottlenecks fitted on them;
- :mod:`~medai_edu.explain.concept_vectors`: TCAV, the concept sensitivity of models never
  taught concepts.
"""

from medai_edu.explain.adapters import ModelAdapter, register_adapter
from medai_edu.explain.attribution import METHODS, Explanation, explain, supported_methods
from medai_edu.explain.concept_models import (
    ALL_TILES,
    MRI_CHANNELS,
    ConceptModel,
    LesionConceptNet,
    fit_lesion_concept_net,
    fit_mri_concepts,
    fit_slide_concepts,
    mri_concept_features,
    slide_concept_features,
    slide_concept_labels,
)
from medai_edu.explain.concept_vectors import (
    concept_activation_vector,
    directional_derivatives,
    layer_activations,
    tcav,
    tcav_score,
)
from medai_edu.explain.concepts import (
    MIN_CONTRIBUTION,
    MRI_SPEC,
    SLIDE_SPEC,
    SLIDE_SPEC_WITH_PLEOMORPHISM,
    ConceptBottleneck,
    ConceptExplanation,
    ConceptSpec,
    explain_concepts,
    explain_text,
    text_agreement,
)
from medai_edu.explain.metrics import (
    concept_accuracy,
    curve_area,
    deletion_area,
    deletion_curve,
    insertion_area,
    insertion_curve,
    mask_overlap,
    pointing_game,
    pointing_game_accuracy,
    random_attribution,
    randomisation_check,
    randomise_weights,
    rank_correlation,
)

__all__ = [
    # attribution
    "METHODS",
    "Explanation",
    "explain",
    "supported_methods",
    # adapters
    "ModelAdapter",
    "register_adapter",
    # metrics
    "concept_accuracy",
    "curve_area",
    "deletion_area",
    "deletion_curve",
    "insertion_area",
    "insertion_curve",
    "mask_overlap",
    "pointing_game",
    "pointing_game_accuracy",
    "random_attribution",
    "randomisation_check",
    "randomise_weights",
    "rank_correlation",
    # concepts
    "MIN_CONTRIBUTION",
    "MRI_SPEC",
    "SLIDE_SPEC",
    "SLIDE_SPEC_WITH_PLEOMORPHISM",
    "ConceptBottleneck",
    "ConceptExplanation",
    "ConceptSpec",
    "explain_concepts",
    "explain_text",
    "text_agreement",
    # concept_models
    "ALL_TILES",
    "MRI_CHANNELS",
    "ConceptModel",
    "LesionConceptNet",
    "fit_lesion_concept_net",
    "fit_mri_concepts",
    "fit_slide_concepts",
    "mri_concept_features",
    "slide_concept_features",
    "slide_concept_labels",
    # tcav
    "concept_activation_vector",
    "directional_derivatives",
    "layer_activations",
    "tcav",
    "tcav_score",
]
