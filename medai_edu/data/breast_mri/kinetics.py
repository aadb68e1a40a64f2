"""Contrast enhancement over time: the three BI-RADS kinetic curve types."""

from __future__ import annotations

import numpy as np


def kinetic_curve(
    kinetic: int,
    times_min,
    amplitude: float = 1.5,
    late_change: float | None = None,
    wash_in_tau_min: float = 0.5,
) -> np.ndarray:
    """Relative enhancement (S(t) - S0) / S0 of a lesion at ``times_min`` minutes.

    Wash-in 1 - exp(-t / ``wash_in_tau_min``) up to the early phase at 2 min (fast with the
    default 0.5 min, slow with a few minutes), then a delayed phase that keeps rising
    (persistent, type I), stays flat (plateau, type II) or falls (washout, type III) by
    ``late_change`` of the early value over 4 min; the BI-RADS cut-off between them is a
    10 % change from the early peak.
    """
    if late_change is None:
        late_change = (0.25, 0.0, -0.25)[kinetic]
    t = np.asarray(times_min, dtype=float)
    wash_in = 1 - np.exp(-t / wash_in_tau_min)
    early = 1 - np.exp(-2.0 / wash_in_tau_min)
    late = early * (1 + late_change * np.clip(t - 2.0, 0, None) / 4.0)
    return amplitude * np.where(t <= 2.0, wash_in, late)
