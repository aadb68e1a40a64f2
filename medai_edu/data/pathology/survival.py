"""Overall survival: a Weibull proportional-hazards model with administrative censoring."""

from __future__ import annotations

import numpy as np

# Weibull proportional-hazards model of overall survival, in months.
_WEIBULL_SHAPE = 1.3
_MEDIAN_SURVIVAL_MONTHS = 48.0  # for a grade-2 adenocarcinoma without risk factors
_TYPE_LOG_HAZARD = (0.0, 0.2, 0.8)  # adenocarcinoma, squamous, small cell
_FOLLOW_UP_MONTHS = (12.0, 96.0)  # administrative censoring: end of study


def log_hazard_ratio(tumour_type: int, grade: int, concepts: dict[str, float]) -> float:
    """The true linear predictor of the survival model (higher = dies sooner).

    ``0.7 per grade step + type effect + 0.45 if necrosis - 0.35 per infiltrate step``: a
    brisk lymphocytic infiltrate is protective, as in many real carcinomas.
    """
    return (
        0.7 * (grade - 2)
        + _TYPE_LOG_HAZARD[tumour_type]
        + 0.45 * concepts["necrosis"]
        - 0.35 * (concepts["lymphocytic_infiltrate"] - 1)
    )


def _sample_survival(rng: np.random.Generator, log_hazard: float) -> tuple[float, int]:
    """Draw (months, event) from the Weibull model, censored at the end of follow-up.

    Inverting the Weibull survival function S(t) = exp(-(t / scale)^k * exp(lp)) at a
    uniform U gives t = scale * (-ln U / exp(lp))^(1 / k).
    """
    scale = _MEDIAN_SURVIVAL_MONTHS / np.log(2.0) ** (1.0 / _WEIBULL_SHAPE)
    death = scale * (-np.log(rng.random()) / np.exp(log_hazard)) ** (1.0 / _WEIBULL_SHAPE)
    follow_up = rng.uniform(*_FOLLOW_UP_MONTHS)
    months = max(0.1, round(float(min(death, follow_up)), 1))
    return months, int(death <= follow_up)
