"""The names of the breast MRI generator: concept values, subtypes, labels."""

MARGINS = ("circumscribed", "irregular", "spiculated")
KINETICS = ("persistent", "plateau", "washout")
SUBTYPES = ("luminal A", "luminal B", "HER2-enriched", "triple-negative")
CONCEPTS = ("margin", "kinetic", "diffusion_restricted", "t2_hyperintense")
LABELS = ("malignant", "subtype", "pcr")
#: Label value for "not applicable" (subtype and pCR of a benign lesion); use as ignore_index.
NOT_APPLICABLE = -1
