"""Figures of multimodal fusion: one function each for AUROC with a modality missing,
modality contributions (a summary or one group per case) and Soft-MoE expert usage."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from medai_edu.viz import (  # noqa: E402
    plot_auroc_intervals,
    plot_expert_usage,
    plot_fusion_auroc,
    plot_modality_contributions,
)

MODALITIES = ("dce", "t2", "dwi")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_fusion_auroc_returns_the_figure_with_a_bar_per_model_and_missing_modality():
    rows = [
        {"model": m, "missing": lost, "test": 0.8}
        for m in ("early", "mome-mini")
        for lost in ("none", "t2")
    ]
    fig = plot_fusion_auroc(rows)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len([p for p in ax.patches]) == 4 and "(unitless)" in ax.get_ylabel()
    _, ax = plt.subplots()
    assert plot_fusion_auroc(rows, ax=ax) is ax.figure


def test_contributions_per_case_groups_bars_and_labels_the_cases():
    values = torch.tensor([[1.0, -0.5, 0.2], [0.3, 0.1, -0.4]])
    fig = plot_modality_contributions(
        values, MODALITIES, per_case=True, labels=["malignant", "benign"], class_name="malignancy"
    )
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.0, 0.3, -0.5, 0.1, 0.2, -0.4])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["malignant", "benign"]
    assert ax.get_xlabel() == "case" and ax.get_ylabel() == "change in malignancy logit (nats)"
    assert "towards malignancy" in ax.get_title()
    with pytest.raises(ValueError, match="3 labels for 2 cases"):
        plot_modality_contributions(values, MODALITIES, per_case=True, labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="per_case=True"):
        plot_modality_contributions(values, MODALITIES, labels=["a", "b"])


def test_contributions_from_a_dict_of_modality_to_value():
    fig = plot_modality_contributions({"dce": 1.2, "t2": -0.1, "dwi": 0.4})
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.2, -0.1, 0.4])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["DCE", "T2", "DWI"]
    with pytest.raises(ValueError, match="no contribution for"):
        plot_modality_contributions({"dce": 1.0}, MODALITIES)
    with pytest.raises(ValueError, match="name the modalities"):
        plot_modality_contributions(np.ones(3))


def test_expert_usage_draws_into_a_given_axes_and_returns_its_figure():
    _, ax = plt.subplots()
    fig = plot_expert_usage(torch.full((3, 4), 0.25), MODALITIES, ax=ax)
    assert fig is ax.figure
    assert ax.get_images()[0].get_array().shape == (3, 4) and len(ax.texts) == 12


def _interval_row(contender, mean, seeds=True, split="internal"):
    nan = float("nan")
    return {
        "contender": contender, "measure": "auroc", "split": split, "mean": mean,
        "boot_low": mean - 0.03, "boot_high": mean + 0.02,
        "seed_low": mean - 0.01 if seeds else nan, "seed_high": mean + 0.01 if seeds else nan,
    }  # fmt: skip


def test_auroc_intervals_sort_the_models_and_draw_the_oracle():
    rows = [_interval_row("mome-mini", 0.86), _interval_row("early fusion", 0.84)]
    rows.append(_interval_row("t2", 0.7, split="hospital_c"))  # another split: left out
    fig = plot_auroc_intervals(rows, oracle=0.948)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["early fusion", "mome-mini"]
    assert any("oracle ceiling 0.948" in t.get_text() for t in ax.get_legend().get_texts())
    assert "(unitless)" in ax.get_xlabel() and "hospitals A and B" in ax.get_title()
    one_seed = [_interval_row("mome-mini", 0.86, seeds=False)]
    legend = plot_auroc_intervals(one_seed).axes[0].get_legend().get_texts()
    assert not any("seeds" in t.get_text() for t in legend)  # no seed interval to draw
