"""Figures of multimodal fusion: AUROC with a modality missing, what each modality adds to
a decision, and where MOME-mini's Soft-MoE sends each modality's tokens. Every function
returns the matplotlib Figure (of ``ax`` when one is given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from medai_edu.viz._arrays import as_array

__all__ = [
    "plot_auroc_intervals",
    "plot_expert_usage",
    "plot_fusion_auroc",
    "plot_modality_contributions",
]


def plot_fusion_auroc(rows: list[dict], split: str = "test", ax=None):
    """Grouped bars: each model's AUROC with every modality, and with each one missing.

    rows: the output of :func:`medai_edu.experiments.breast_fusion.auroc_table`. A missing
    bar (NaN) is a single-modality model that lost its only input.
    """
    models = list(dict.fromkeys(r["model"] for r in rows))
    missing = list(dict.fromkeys(r["missing"] for r in rows))
    value = {(r["model"], r["missing"]): r[split] for r in rows}
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    width = 0.8 / len(missing)
    x = np.arange(len(models))
    for k, lost in enumerate(missing):
        heights = [value.get((m, lost), np.nan) for m in models]
        label = "all modalities" if lost == "none" else f"without {lost.upper()}"
        ax.bar(x + (k - (len(missing) - 1) / 2) * width, heights, width, label=label)
    ax.axhline(0.5, color="grey", lw=1, ls=":", label="chance")
    ax.set_xticks(x, models, rotation=15)
    ax.set_ylim(0.4, 1.0)
    ax.set_xlabel("model")
    ax.set_ylabel("malignancy AUROC (unitless)")
    ax.set_title(f"Malignancy AUROC with a modality missing at test time ({split} set)")
    ax.legend(ncol=3, fontsize="small", loc="lower right")
    return ax.figure


def plot_auroc_intervals(
    rows: list[dict], split: str = "internal", oracle: float | None = None, ax=None
):
    """Each contender's malignancy AUROC with its 95 % interval over the test cases (and
    over the training seeds where there are several), against the oracle ceiling.

    rows: the output of :func:`medai_edu.experiments.compare_contenders`; split:
    "internal" or "hospital_c"; oracle: the best AUROC the data allow
    (:func:`medai_edu.data.oracle_auroc`), drawn as a line.
    """
    chosen = [r for r in rows if r["measure"] == "auroc" and r["split"] == split]
    chosen.sort(key=lambda r: r["mean"])
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.5 * len(chosen) + 1.5), layout="constrained")
    y = np.arange(len(chosen))
    means = np.array([r["mean"] for r in chosen])
    low, high = (
        np.array([r["boot_low"] for r in chosen]),
        np.array([r["boot_high"] for r in chosen]),
    )
    ax.errorbar(means, y, xerr=[means - low, high - means], fmt="o", capsize=4,
                label="mean, 95 % interval over cases")  # fmt: skip
    seeded = [r for r in chosen if np.isfinite(r["seed_low"])]
    if seeded:
        ys = [chosen.index(r) + 0.2 for r in seeded]
        ms = np.array([r["mean"] for r in seeded])
        lo, hi = (
            np.array([r["seed_low"] for r in seeded]),
            np.array([r["seed_high"] for r in seeded]),
        )
        ax.errorbar(ms, ys, xerr=[ms - lo, hi - ms], fmt="s", ms=3, capsize=3, color="tab:orange",
                    label="95 % interval over training seeds")  # fmt: skip
    if oracle is not None:
        ax.axvline(oracle, color="black", ls="--", lw=1, label=f"oracle ceiling {oracle:.3f}")
    ax.axvline(0.5, color="grey", ls=":", lw=1, label="chance")
    ax.set_yticks(y, [r["contender"] for r in chosen])
    ax.set_xlabel("malignancy AUROC (unitless)")
    ax.set_ylabel("model")
    where = {"internal": "hospitals A and B", "hospital_c": "hospital C, never seen"}.get(
        split, split
    )
    ax.set_title(f"Malignancy AUROC with 95 % intervals ({where})")
    ax.legend(fontsize="small", loc="lower right")
    return ax.figure


def _contribution_matrix(contributions, modalities):
    """(cases, M) contributions and the M modality names, from an array, a tensor, an
    Explanation or a dict modality -> value(s)."""
    if isinstance(contributions, Mapping):
        modalities = list(contributions) if modalities is None else list(modalities)
        missing = [m for m in modalities if m not in contributions]
        if missing:
            raise ValueError(f"no contribution for {missing}")
        columns = [as_array(contributions[m]).reshape(-1) for m in modalities]
        return np.stack(columns, axis=-1), modalities
    if modalities is None:
        raise ValueError("name the modalities: one per column of the contributions")
    values = as_array(getattr(contributions, "attribution", contributions))
    if values.ndim not in (1, 2) or values.shape[-1] != len(modalities):
        raise ValueError(
            f"contributions must be (M,) or (B, M) with M = {len(modalities)} modalities, "
            f"got shape {values.shape}"
        )
    return values.reshape(-1, len(modalities)), list(modalities)


def _summary_bars(ax, values, modalities) -> str:
    """One bar per modality (mean ± SD over the cases, each case a dot); what is shown."""
    x = np.arange(len(modalities))
    mean = values.mean(axis=0)
    colours = [f"C{k}" for k in x]
    ax.set_xticks(x, [m.upper() for m in modalities])
    ax.set_xlabel("modality")
    if len(values) == 1:
        ax.bar(x, mean, color=colours)
        return "one case"
    ax.bar(x, mean, color=colours, yerr=values.std(axis=0), capsize=4, alpha=0.7)
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, values.shape)
    ax.scatter((x + jitter).ravel(), values.ravel(), s=10, color="black", zorder=3)
    return f"mean ± SD of {len(values)} cases; dots: the cases"


def _per_case_bars(ax, values, modalities, labels) -> str:
    """A group of bars per case, one bar per modality; what is shown."""
    n_cases, n_mod = values.shape
    if labels is not None and len(labels) != n_cases:
        raise ValueError(f"{len(labels)} labels for {n_cases} cases")
    width = 0.8 / n_mod
    x = np.arange(n_cases)
    for k, m in enumerate(modalities):
        ax.bar(x + (k - (n_mod - 1) / 2) * width, values[:, k], width, label=m.upper())
    ax.set_xticks(x, labels if labels is not None else [f"case {i}" for i in x], rotation=15)
    ax.set_xlabel("case")
    ax.legend(title="modality", fontsize="small")
    return f"{n_cases} cases"


def plot_modality_contributions(
    contributions,
    modalities: Sequence[str] | None = None,
    *,
    per_case: bool = False,
    labels: Sequence[str] | None = None,
    class_name: str | None = None,
    ax=None,
    title: str | None = None,
):
    """How much each modality moves a decision: logit(all) - logit(without the modality).

    contributions: (M,) for one case, (B, M) for several, an Explanation from
        ``explain(model, batch, "modality_contributions")``, the (B, M) tensor of
        :func:`medai_edu.models.mome.modality_contributions`, or a dict modality -> value
        (or (B,) values). Positive = towards the explained class.
    modalities: the M names (for a dict, by default its keys, in order).
    per_case: False: one bar per modality (several cases: the mean with its SD as the error
        bar, each case a dot); True: a group of bars per case. labels: one tick label per
        case (e.g. its diagnosis), with ``per_case``.
    class_name: the explained class ("malignancy"); "the explained class" by default.
    ax: draw into this Axes. title: by default says what is shown.

    Returns the Figure. Raises ValueError when the contributions do not have M columns, a
    modality has none, or labels do not match the cases (or come without ``per_case``).
    """
    values, modalities = _contribution_matrix(contributions, modalities)
    if labels is not None and not per_case:
        raise ValueError("labels name the cases: pass per_case=True to draw one group per case")
    if ax is None:
        width = max(5.0, 1.1 * len(values) + 1.5) if per_case else 5.0
        _, ax = plt.subplots(figsize=(width, 3.6), layout="constrained")
    if per_case:
        shown = _per_case_bars(ax, values, modalities, labels)
    else:
        shown = _summary_bars(ax, values, modalities)
    ax.axhline(0, color="black", lw=0.8)
    logit = f"{class_name} logit" if class_name else "the explained class's logit"
    towards = class_name or "the explained class"
    ax.set_ylabel(f"change in {logit} (nats)")
    ax.set_title(
        title or f"What each modality adds to the decision\n({shown}; positive = towards {towards})"
    )
    return ax.figure


def plot_expert_usage(usage, modalities: Sequence[str], *, ax=None, title: str | None = None):
    """Heat map of MOME-mini's Soft-MoE routing: where each modality's tokens go.

    usage: (M, E), or (B, M, E) (averaged over the cases), or an Explanation from
        ``explain(model, batch, "routing")``: each modality's mean combine weight per
        expert, e.g. ``outputs["expert_usage"]``. modalities: the M names.
    ax: draw into this Axes. title: optional.

    Returns the Figure. Raises ValueError when usage is not (M, E) or (B, M, E).
    """
    values = as_array(getattr(usage, "attribution", usage))
    if values.ndim == 3:
        values = values.mean(axis=0)
    if values.ndim != 2 or values.shape[0] != len(modalities):
        raise ValueError(
            f"usage must be (M, E) or (B, M, E) with M = {len(modalities)} modalities, "
            f"got shape {values.shape}"
        )
    if ax is None:
        size = (1.2 * values.shape[1] + 2.5, 3.2)
        _, ax = plt.subplots(figsize=size, layout="constrained")
    top = max(float(values.max()), 1e-6)
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=top)
    for (m, e), value in np.ndenumerate(values):
        colour = "black" if value > 0.6 * top else "white"
        ax.text(e, m, f"{value:.2f}", ha="center", va="center", color=colour, fontsize="small")
    ax.set_xticks(range(values.shape[1]), [str(e) for e in range(values.shape[1])])
    ax.set_yticks(range(len(modalities)), [m.upper() for m in modalities])
    ax.set(
        title=title or "Soft-MoE routing: where each modality's tokens go",
        xlabel="Soft-MoE expert (index)",
        ylabel="modality of the token",
    )
    ax.figure.colorbar(image, ax=ax, label="mean combine weight (fraction)")
    return ax.figure
