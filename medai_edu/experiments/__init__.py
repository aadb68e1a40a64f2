"""Experiments that reproduce the shape of the seed papers' comparisons.

- :mod:`.breast_fusion`: MOME's breast mpMRI fusion comparison (single modalities, early and
  late fusion, MOME-mini), internal and external test sets, missing modalities;
  :mod:`.breast_heads`: pCR and subtype heads fitted on the frozen backbone;
- :mod:`.slide_pretraining`: mSTAR-mini's two pretraining stages; :mod:`.slide_evaluation`:
  the fair comparison (the same slide heads for every encoder: few-shot with paired draws,
  survival by repeated cross-validation, zero-shot by class prompts);
  :mod:`.slide_probes`: the downstream tests (retrieval, survival, MIL, attention);
- :mod:`.generalist`: MedDr-mini end to end (prompts, pretraining, LoRA instruction tuning,
  retrieval, specialists, scores), in the ``generalist_*`` modules;
- :mod:`.explanations`: how faithful each explanation method is, on MOME-mini and mSTAR-mini.

Labs, notes and assignments import these names from here: ``from medai_edu.experiments
import load_encoders``. The modules load lazily, on the first use of one of their names:
each pulls in its own heavy dependencies (MONAI, scikit-learn, peft), and importing them all
would make every import of one name take several seconds longer.
"""

from __future__ import annotations

from medai_edu.lazy import lazy_exports

#: Where each public name lives (module of this package).
_MODULES = {
    # breast mpMRI fusion (MOME-mini)
    "auroc_table": "breast_fusion",
    "case_scores": "breast_fusion",
    "compare_contenders": "breast_fusion",
    "load_contenders": "breast_fusion",
    "make_fusion_data": "breast_fusion",
    "malignancy_auroc": "breast_fusion",
    "run_fusion_experiment": "breast_fusion",
    "train_model": "breast_fusion",
    "baseline_head_scores": "breast_heads",
    "fit_task_heads": "breast_heads",
    "frozen_features": "breast_heads",
    # whole-slide pretraining (mSTAR-mini)
    "ENCODER_NAMES": "slide_pretraining",
    "attention_heatmap": "slide_probes",
    "CLASS_PROMPTS": "slide_evaluation",
    "cindex_summary": "slide_evaluation",
    "cohort_oracle_cindex": "slide_evaluation",
    "encoder_features": "slide_evaluation",
    "few_shot_draws": "slide_evaluation",
    "fit_penalised_cox": "slide_probes",
    "mean_pool": "slide_evaluation",
    "paired_cindex_difference": "slide_evaluation",
    "paired_difference": "slide_evaluation",
    "summarise_draws": "slide_evaluation",
    "survival_cross_validation": "slide_evaluation",
    "zero_shot_accuracy": "slide_evaluation",
    "zero_shot_predict": "slide_evaluation",
    "few_shot_table": "slide_pretraining",
    "load_encoders": "slide_pretraining",
    "patch_features": "slide_probes",
    "predict_slides": "slide_probes",
    "pretrain_all": "slide_pretraining",
    "retrieval_recall": "slide_probes",
    "slide_embeddings": "slide_probes",
    "survival_cindex": "slide_probes",
    "train_mil": "slide_probes",
    "train_stage1": "slide_pretraining",
    "train_stage2": "slide_pretraining",
    # the generalist (MedDr-mini)
    "RetrievalIndex": "generalist_retrieval",
    "accuracy_table": "generalist",
    "build_prompt": "generalist_prompts",
    "consult": "generalist_specialists",
    "context": "generalist_prompts",
    "diagnose": "generalist_inference",
    "diagnosis_question": "generalist_prompts",
    "encode_example": "generalist_prompts",
    "fit_tokenizer": "generalist_prompts",
    "load_generalist": "generalist",
    "make_generalist_data": "generalist",
    "mome_specialist": "generalist_specialists",
    "pretrain": "generalist_training",
    "report_scores": "generalist_scoring",
    "train_generalist": "generalist",
    "write_reports": "generalist_inference",
    # faithfulness of explanations
    "MRICases": "explanations",
    "SPATIAL": "explanations",
    "SlideCases": "explanations",
    "fit_slide_classifier": "explanations",
    "make_mri_cases": "explanations",
    "make_slide_cases": "explanations",
    "mri_method_table": "explanations",
    "mri_score": "explanations",
    "score_method": "explanations",
    "slide_method_table": "explanations",
    "slide_score": "explanations",
}

__all__ = list(_MODULES)  # grouped by module, as above

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
