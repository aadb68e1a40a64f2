"""The course's models, built by name: ``create_model("mome-mini")``.

- :mod:`~medai_edu.models.mome`: MOME-mini, multiparametric breast MRI fusion;
- :mod:`~medai_edu.models.mstar`: mSTAR-mini, whole-slide pathology pretrained with reports
  and genes;
- :mod:`~medai_edu.models.meddr`: MedDr-mini, a generalist vision-language model;
- :mod:`~medai_edu.models.lora`: LoRA adapters on MedDr-mini's decoder (peft);
- :mod:`~medai_edu.models.baselines`: MONAI CNN baselines (single modality, early and late
  fusion).
"""

from medai_edu.models.lora import LORA_TARGETS, add_lora
from medai_edu.models.registry import create_model, list_models, register_model

__all__ = ["LORA_TARGETS", "add_lora", "create_model", "list_models", "register_model"]
