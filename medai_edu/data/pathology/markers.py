"""Immunohistochemistry: which lineage markers a tumour expresses, at real-world rates.

Rates (share of tumours positive), rounded from the literature:

* TTF-1 (NKX2-1): about 75 % of adenocarcinomas, about 85 % of small cell carcinomas,
  rarely squamous cell carcinomas (Ordóñez, Adv Anat Pathol 2000;7:123; WHO Classification
  of Thoracic Tumours, 5th ed., 2021);
* napsin A: about 80 % of adenocarcinomas, almost never the others (Bishop et al., Hum
  Pathol 2010;41:20);
* p40 (DeltaNp63): almost all squamous cell carcinomas, very few adenocarcinomas (Bishop
  et al., Mod Pathol 2012;25:405);
* synaptophysin, chromogranin A, INSM1: most small cell carcinomas (WHO 2021; Rooper et
  al., Am J Surg Pathol 2017;41:1561);
* Ki-67: most nuclei in small cell carcinoma (typically above 50 %); in the others it
  follows the mitotic score.
"""

from __future__ import annotations

import numpy as np

from medai_edu.data.pathology.vocabulary import SMALL_CELL

#: Share of tumours positive for each marker, by type (adenocarcinoma, squamous, small cell).
MARKER_RATES: dict[str, tuple[float, float, float]] = {
    "TTF-1": (0.75, 0.03, 0.85),
    "napsin A": (0.80, 0.02, 0.0),
    "p40": (0.03, 0.95, 0.0),
    "synaptophysin": (0.05, 0.02, 0.90),
    "chromogranin": (0.02, 0.01, 0.75),
    "INSM1": (0.03, 0.02, 0.90),
}


def _sample_markers(
    rng: np.random.Generator, tumour_type: int, concepts: dict[str, float]
) -> dict[str, float]:
    """Marker status (1 positive, 0 negative) and the Ki-67 labelling fraction of one case."""
    status = {
        name: float(rng.random() < rates[tumour_type]) for name, rates in MARKER_RATES.items()
    }
    if tumour_type == SMALL_CELL:
        ki67 = rng.uniform(0.6, 0.95)
    else:
        ranges = ((0.02, 0.15), (0.15, 0.35), (0.3, 0.6))
        ki67 = rng.uniform(*ranges[int(concepts["mitotic_count"])])
    status["Ki-67"] = round(float(ki67), 2)
    return status


#: Genes that follow one marker's status rather than their pathway's activity.
MARKER_GENES = {"NKX2-1": "TTF-1", "NAPSA": "napsin A", "TP63": "p40", "SYP": "synaptophysin",
                "CHGA": "chromogranin", "INSM1": "INSM1"}  # fmt: skip
