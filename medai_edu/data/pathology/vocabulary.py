"""The words every part of the generator shares.

Tumour types, grades, the region classes of the mask and the clinical concepts of a case,
each with the integer index that arrays and tables store.
"""

from __future__ import annotations

TUMOUR_TYPES = ("adenocarcinoma", "squamous cell carcinoma", "small cell carcinoma")
ADENO, SQUAMOUS, SMALL_CELL = 0, 1, 2
GRADES = (1, 2, 3)
REGION_CLASSES = ("background", "stroma", "tumour", "necrosis", "lymphocytes")
BACKGROUND, STROMA, TUMOUR, NECROSIS, LYMPHOCYTES = range(5)

#: Concepts stored with every case (all numeric, so a concept-bottleneck model can predict
#: them). Scores 0-2 read "low / intermediate / high"; flags are 0/1.
CONCEPT_NAMES = (
    "architecture_score",  # 0 mostly glands or keratin pearls, 1 partly, 2 solid sheets
    "nuclear_pleomorphism",  # 0 mild, 1 moderate, 2 marked
    "mitotic_count",  # 0 low, 1 intermediate, 2 high
    "mitoses_per_2mm2",  # the count a pathologist would write down
    "gland_formation",  # 1 if glands with lumina are seen (adenocarcinoma only)
    "keratinisation",  # 1 if keratin pearls are seen (squamous cell carcinoma only)
    "necrosis",  # 1 if tumour necrosis is present
    "lymphocytic_infiltrate",  # 0 minimal, 1 moderate, 2 marked
    "tumour_fraction",  # viable tumour area / tissue area, measured on the region mask
)
