"""The TNM stage: tumour size, lymph nodes and distant metastasis, grouped into stages I-IV.

A simplified version of the 8th edition of the TNM classification of lung cancer
(Goldstraw et al., J Thorac Oncol 2016;11:39): T from the size (T1 up to 3 cm, T2 up to
5 cm, T3 up to 7 cm, T4 above), N0-N3 and M0/M1; stage I is T1-T2a N0, stage II larger
node-negative tumours or N1, stage III N2-N3 or T4, stage IV any M1. Small cell carcinoma
presents larger, with nodes and with metastases far more often (WHO 2021). Stage is not
seen on the slide: it is the clinical covariate a survival model is given.
"""

from __future__ import annotations

import numpy as np

from medai_edu.data.pathology.vocabulary import SMALL_CELL

STAGES = (1, 2, 3, 4)
STAGE_NAMES = ("I", "II", "III", "IV")


def _stage_group(size_cm: float, nodes: int, metastasis: int) -> int:
    if metastasis:
        return 4
    if nodes >= 2 or size_cm > 7:
        return 3
    if nodes == 1 or size_cm > 4:
        return 2
    return 1


def _sample_stage(rng: np.random.Generator, tumour_type: int, grade: int) -> dict[str, float]:
    """Size (cm), nodal category N0-N3, metastasis M0/M1 and the stage group 1-4."""
    small_cell = tumour_type == SMALL_CELL
    size_cm = float(np.clip(rng.lognormal(np.log(4.5 if small_cell else 2.8), 0.45), 0.5, 12))
    logit = -1.3 + 0.35 * (size_cm - 3) + 0.4 * (grade - 2) + 1.4 * small_cell
    nodes = 0
    if rng.random() < 1 / (1 + np.exp(-logit)):
        nodes = int(rng.choice([1, 2, 3], p=[0.25, 0.5, 0.25] if small_cell else [0.5, 0.38, 0.12]))
    metastasis = int(rng.random() < (0.3 if small_cell else 0.06 + 0.04 * (nodes > 0)))
    return {
        "size_cm": round(size_cm, 1),
        "nodes": nodes,
        "metastasis": metastasis,
        "stage": _stage_group(size_cm, nodes, metastasis),
    }
