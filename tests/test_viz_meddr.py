"""Figures of MedDr-mini: what they draw, with titles and axes with units."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from medai_edu.data.instructions import make_image_cases  # noqa: E402
from medai_edu.experiments.generalist import add_lora  # noqa: E402
from medai_edu.models import create_model  # noqa: E402
from medai_edu.viz.meddr import (  # noqa: E402
    plot_accuracy_by_setting,
    plot_attention_mask,
    plot_hallucination_by_temperature,
    plot_instruction_images,
    plot_parameter_counts,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled(ax, numeric="xy"):
    """A title, both axes named, and a unit on every numeric axis."""
    labels = {"x": ax.get_xlabel(), "y": ax.get_ylabel()}
    return bool(ax.get_title()) and all(
        labels[a] and ("(" in labels[a] or a not in numeric) for a in "xy"
    )


def test_images_mask_and_parameters():
    fig = plot_instruction_images({"ihc": make_image_cases("ihc", 3)}, per_modality=3)
    assert len(fig.axes) == 3 and fig.axes[0].get_title() in ("DAB negative", "DAB positive")

    fig = plot_attention_mask(4, 3)
    mask = fig.axes[0].images[0].get_array()
    assert mask.shape == (7, 7) and mask[0, 1] == 0 and mask[6, 0] == 1 and labelled(fig.axes[0])

    model = add_lora(create_model("meddr-mini", depth=1, dim=32, vocab_size=300))
    fig = plot_parameter_counts(model)
    ax = fig.axes[0]
    widths = {(round(p.get_y(), 1), p.get_facecolor()[:3]): p.get_width() for p in ax.patches}
    assert len(ax.patches) == 6 and labelled(ax, numeric="x")
    assert sum(widths.values()) == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e3)


def test_accuracy_and_hallucination_figures():
    rows = [
        {"modality": "ihc", "setting": "generalist", "accuracy": 0.5},
        {"modality": "ihc", "setting": "+ retrieval", "accuracy": 0.75},
        {"modality": "pathology", "setting": "generalist", "accuracy": 0.25},
    ]
    ax = plot_accuracy_by_setting(rows).axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == [0.25, 0.5, 0.75] and labelled(ax, numeric="y")

    scores = {
        0.0: {"hallucination_rate": 0.1, "correct_findings": 0.9},
        1.0: {"hallucination_rate": 0.4, "correct_findings": 0.3},
    }
    fig = plot_hallucination_by_temperature({"ihc": scores})
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.1, 0.4])
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), [0.9, 0.3])
    assert all(labelled(ax) for ax in fig.axes)
