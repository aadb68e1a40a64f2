"""Overall survival: a Weibull proportional-hazards model with administrative censoring."""

from __future__ import annotations

import numpy as np

# Weibull proportional-hazards model of overall survival, in months.
_WEIBULL_SHAPE = 1.3
_MEDIAN_SURVIVAL_MONTHS = 48.0  # for a grade-2 adenocarcinoma without risk factors
_TYPE_LOG_HAZARD = (0.0, 0.2, 0.8)  # adenocarcinoma, squamous, small cell
_FOLLOW_UP_MONTHS = (12.0, 96.0)  # administrative censoring: end of study


#: log hazard of stages I-IV (hazard ratios about 1, 2, 4, 9), near the spread of the
#: IASLC staging project's survival curves (Goldstraw et al., J Thorac Oncol 2016).
_STAGE_LOG_HAZARD = (0.0, 0.7, 1.4, 2.2)
#: With staging, the reference case is stage I (grade 2 adenocarcinoma, no necrosis, a
#: moderate infiltrate): most stage I patients are alive at five years.
_STAGED_MEDIAN_SURVIVAL_MONTHS = 96.0
_STAGED_TYPE_LOG_HAZARD = (0.0, 0.15, 0.6)


def log_hazard_ratio(
    tumour_type: int, grade: int, concepts: dict[str, float], stage: int | None = None
) -> float:
    """The true linear predictor of the survival model (higher = dies sooner).

    Without a stage (the first generator): ``0.7 per grade step + type effect + 0.45 if
    necrosis - 0.35 per infiltrate step``. With a stage (1-4): ``stage effect + 0.4 per
    grade step + type effect + 0.6 if necrosis - 0.55 per infiltrate step``, so the slide
    shows prognosis beyond the grade: a brisk tumour-infiltrating lymphocyte response is
    protective in lung cancer (Brambilla et al., J Clin Oncol 2016;34:1223) and tumour
    necrosis adverse (Park et al., Lung Cancer 2009;65:157).
    """
    if stage is not None:
        return (
            _STAGE_LOG_HAZARD[stage - 1]
            + 0.4 * (grade - 2)
            + _STAGED_TYPE_LOG_HAZARD[tumour_type]
            + 0.6 * concepts["necrosis"]
            - 0.55 * (concepts["lymphocytic_infiltrate"] - 1)
        )
    return (
        0.7 * (grade - 2)
        + _TYPE_LOG_HAZARD[tumour_type]
        + 0.45 * concepts["necrosis"]
        - 0.35 * (concepts["lymphocytic_infiltrate"] - 1)
    )


def _sample_survival(
    rng: np.random.Generator, log_hazard: float, staged: bool = False
) -> tuple[float, int]:
    """Draw (months, event) from the Weibull model, censored at the end of follow-up.

    Inverting the Weibull survival function S(t) = exp(-(t / scale)^k * exp(lp)) at a
    uniform U gives t = scale * (-ln U / exp(lp))^(1 / k). ``staged``: the reference case
    is stage I (a longer median).
    """
    median = _STAGED_MEDIAN_SURVIVAL_MONTHS if staged else _MEDIAN_SURVIVAL_MONTHS
    scale = median / np.log(2.0) ** (1.0 / _WEIBULL_SHAPE)
    death = scale * (-np.log(rng.random()) / np.exp(log_hazard)) ** (1.0 / _WEIBULL_SHAPE)
    follow_up = rng.uniform(*_FOLLOW_UP_MONTHS)
    months = max(0.1, round(float(min(death, follow_up)), 1))
    return months, int(death <= follow_up)
