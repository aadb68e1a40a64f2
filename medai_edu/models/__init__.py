"""The course's models, built by name: ``create_model("mome-mini")``.

- :mod:`~medai_edu.models.mome`: MOME-mini, multiparametric breast MRI fusion;
- :mod:`~medai_edu.models.mstar`: mSTAR-mini, whole-slide pathology pretrained with reports
  and genes;
- :mod:`~medai_edu.models.meddr`: MedDr-mini, a generalist vision-language model, and
  :mod:`~medai_edu.models.tokenizer`, its byte-level BPE tokenizer;
- :mod:`~medai_edu.models.lora`: LoRA adapters on MedDr-mini's decoder (peft);
- :mod:`~medai_edu.models.baselines`: MONAI CNN baselines (single modality, early and late
  fusion);
- :mod:`~medai_edu.models.pretrained`: the shipped teaching checkpoints, loaded by
  ``create_model(name, pretrained=...)``.

Every config uses the same words for the same sizes: ``dim`` (embedding width), ``depth``
(transformer blocks), ``heads`` (attention heads), ``dropout``.
"""

from medai_edu.lazy import lazy_exports
from medai_edu.models.lora import LORA_TARGETS, add_lora
from medai_edu.models.meddr import IGNORE_INDEX, CausalSelfAttention, MedDrConfig, MedDrMini
from medai_edu.models.mome import MOMEConfig, MOMEMini, modality_contributions, mome_loss
from medai_edu.models.mstar import (
    MSTARConfig,
    MSTARMini,
    ReportTokenizer,
    contrastive_loss,
    cox_loss,
    stage1_loss,
)
from medai_edu.models.pretrained import PRETRAINED, pretrained_tags, read_checkpoint
from medai_edu.models.registry import create_model, list_models, register_model
from medai_edu.models.tokenizer import SPECIAL_TOKENS, CourseTokenizer

# The baselines import MONAI, which takes seconds: they load on first use, not with the package.
_BASELINES = dict.fromkeys(("DenseNet3D", "LateFusion", "MRICNN", "malignancy_loss"), "baselines")


__all__ = [
    # building models by name, and the shipped checkpoints
    "PRETRAINED",
    "create_model",
    "list_models",
    "pretrained_tags",
    "read_checkpoint",
    "register_model",
    # MOME-mini: breast MRI fusion
    "MOMEConfig",
    "MOMEMini",
    "modality_contributions",
    "mome_loss",
    # baselines for breast MRI
    "DenseNet3D",
    "LateFusion",
    "MRICNN",
    "malignancy_loss",
    # mSTAR-mini: slides, reports and genes
    "MSTARConfig",
    "MSTARMini",
    "ReportTokenizer",
    "contrastive_loss",
    "cox_loss",
    "stage1_loss",
    # MedDr-mini: a generalist vision-language model, its tokenizer and LoRA
    "IGNORE_INDEX",
    "LORA_TARGETS",
    "SPECIAL_TOKENS",
    "CausalSelfAttention",
    "CourseTokenizer",
    "MedDrConfig",
    "MedDrMini",
    "add_lora",
]

__getattr__, __dir__ = lazy_exports(__name__, _BASELINES)
