"""Figures of XAIM-mini: what they draw, where, titles and axes with units, clear errors."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from medai_edu.data.breast_mri import KINETICS, MARGINS  # noqa: E402
from medai_edu.explain.attribution import Explanation  # noqa: E402
from medai_edu.explain.metrics import deletion_curve, insertion_curve  # noqa: E402
from medai_edu.viz import (  # noqa: E402
    explanation_explorer,
    explanation_scores,
    plot_concept_explanation,
    plot_deletion_curves,
    plot_expert_usage,
    plot_intervention,
    plot_method_comparison,
    plot_method_scores,
    plot_modality_contributions,
    plot_modality_maps,
    plot_mri_overlay,
    plot_slide_overlay,
)

SHAPE = (16, 32, 32)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled(ax):
    return bool(ax.get_title()) and "(" in ax.get_xlabel() and "(" in ax.get_ylabel()


def panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def colourbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def blob(centre, sigma=2.0):
    z, y, x = np.indices(SHAPE)
    cz, cy, cx = centre
    return np.exp(-((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma**2))


@pytest.fixture
def case():
    """An image, a lesion at slice 5 and a map on it, a map elsewhere, a signed map."""
    image = np.random.default_rng(0).normal(1.0, 0.1, SHAPE)
    mask = blob((5, 12, 20)) > 0.3  # largest at slice 5
    return {
        "image": image,
        "mask": mask,
        "good": blob((5, 12, 20)),
        "bad": blob((11, 25, 5)),
        "signed": blob((5, 12, 20)) - blob((11, 25, 5)),
    }


def test_overlay_defaults_to_the_attribution_slice_and_outlines_the_lesion(case):
    fig = plot_mri_overlay(case["image"], case["good"], case["mask"], opacity=0.4)
    ax = panels(fig)[0]
    assert ax.get_title() == "Attribution\nslice 5 (z = 15 mm)"
    assert ax.get_xlabel() == "x (mm)" and ax.get_ylabel() == "y (mm)"
    image, overlay = ax.get_images()
    np.testing.assert_array_equal(image.get_array(), case["image"][5])
    assert image.get_extent() == [0, 64, 64, 0]  # 32 voxels x 2 mm
    assert overlay.get_alpha() == 0.4 and overlay.get_array().max() == pytest.approx(1.0)
    assert any(isinstance(c, ContourSet) for c in ax.collections), "lesion outline"
    assert "attribution" in colourbars(fig)[0].get_ylabel()

    fig = plot_mri_overlay(case["image"], case["bad"], slice_index=11, title="Occlusion")
    ax = panels(fig)[0]
    assert ax.get_title().startswith("Occlusion\nslice 11")
    assert not any(isinstance(c, ContourSet) for c in ax.collections), "no mask, no outline"


def test_overlay_draws_into_a_given_axes_with_a_diverging_map_for_signed_values(case):
    fig, ax = plt.subplots()
    assert plot_mri_overlay(case["image"], case["signed"], ax=ax) is fig
    overlay = ax.get_images()[1]
    assert overlay.get_cmap().name == "RdBu_r" and overlay.get_clim() == (-1.0, 1.0)


def test_overlay_bad_input_is_a_clear_error(case):
    with pytest.raises(ValueError, match=r"attribution has shape \(16, 32, 31\)"):
        plot_mri_overlay(case["image"], case["good"][..., :31])
    with pytest.raises(ValueError, match="mask has shape"):
        plot_mri_overlay(case["image"], case["good"], case["mask"][:8])
    with pytest.raises(ValueError, match=r"slice 16 is outside 0..15"):
        plot_mri_overlay(case["image"], case["good"], slice_index=16)
    with pytest.raises(ValueError, match="opacity"):
        plot_mri_overlay(case["image"], case["good"], opacity=1.5)
    with pytest.raises(ValueError, match=r"one volume \(Z, Y, X\)"):
        plot_mri_overlay(case["image"][0], case["good"][0])


def test_method_comparison_one_panel_per_method_with_scores(case):
    maps = {"integrated gradients": case["good"], "occlusion": case["signed"], "bad": case["bad"]}
    scores = explanation_scores(maps, case["mask"])
    assert scores["integrated gradients"]["pointing game"] == 1.0
    assert scores["bad"]["pointing game"] == 0.0
    fig = plot_method_comparison(case["image"], maps, case["mask"], scores=scores)
    axes = panels(fig)
    assert len(axes) == 3 and len(colourbars(fig)) == 2  # unsigned, signed maps
    labels = sorted(bar.get_ylabel() for bar in colourbars(fig))
    assert labels == ["attribution (fraction of max |a|)", "attribution (fraction of max)"]
    assert [ax.get_title().split("\n")[0] for ax in axes] == list(maps)
    assert "pointing game: hit" in axes[0].get_title()
    assert "pointing game: miss" in axes[2].get_title() and "overlap (IoU)" in axes[2].get_title()
    assert all(labelled(ax) for ax in axes)
    assert all(any(isinstance(c, ContourSet) for c in ax.collections) for ax in axes)
    assert "slice 5" in fig.get_suptitle()  # the lesion's slice, not the bad map's

    with pytest.raises(ValueError, match="not among"):
        plot_method_comparison(case["image"], maps, scores={"gradcam": {"overlap": 0.1}})
    with pytest.raises(ValueError, match="'bad' map has shape"):
        plot_method_comparison(case["image"], {**maps, "bad": case["bad"][:4]})
    with pytest.raises(ValueError, match="at least one"):
        plot_method_comparison(case["image"], {})


def test_modality_maps_share_one_scale_and_name_the_shares(case):
    per_modality = {"dce": np.stack([3 * case["good"]]), "t2": np.stack([case["bad"]])}
    e = Explanation("integrated_gradients", "mome-mini", sum(per_modality.values()), np.ones(1))
    e.per_modality = per_modality
    images = {"dce": case["image"], "t2": case["image"]}
    fig = plot_modality_maps(e, 0, images, case["mask"])
    axes = panels(fig)
    assert [ax.get_title().split(":")[0] for ax in axes] == ["DCE", "T2"]
    shares = [float(ax.get_title().split(": ")[1].split(" %")[0]) for ax in axes]
    assert shares[0] == pytest.approx(75, abs=1) and sum(shares) == pytest.approx(100, abs=1)
    assert axes[0].get_images()[1].get_array().max() == pytest.approx(1.0)
    assert len(colourbars(fig)) == 1 and all(labelled(ax) for ax in axes)
    assert "integrated gradients per modality, case 0" in fig.get_suptitle()

    with pytest.raises(ValueError, match="no image for"):
        plot_modality_maps(e, 0, {"dce": case["image"]})
    with pytest.raises(ValueError, match="outside"):
        plot_modality_maps(e, 1, images)
    with pytest.raises(ValueError, match="no per-modality maps"):
        plot_modality_maps(Explanation("routing", "mome-mini", np.ones((1, 3, 4)), [1]), 0, images)


def slide_explanation():
    """Two slides of 5 tiles on a 2 x 3 grid, the last one padding."""
    grid = np.array([[[0, 0], [0, 1], [0, 2], [1, 1], [-1, -1]]] * 2)
    scores = np.array([[0.1, 0.2, 0.3, 0.4, np.nan]] * 2)
    return Explanation("attention", "mstar-mini", scores, np.zeros(2), grid=grid)


def test_slide_overlay_paints_tiles_in_microns_and_outlines_the_tumour():
    tumour = np.zeros((3, 4), bool)
    tumour[0, 1:3] = True  # two tiles side by side: a border of 6 tile edges
    fig = plot_slide_overlay(None, slide_explanation(), 1, tile_size_um=32.0, tumour_grid=tumour)
    ax = panels(fig)[0]
    heatmap = ax.get_images()[0]
    assert heatmap.get_array().shape == (3, 4)  # padded to the tumour grid
    assert heatmap.get_array()[1, 1] == pytest.approx(0.4) and heatmap.get_array().mask[2, 3]
    assert heatmap.get_extent() == [0, 128, 96, 0]  # 4 x 3 tiles of 32 µm
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)"
    assert ax.get_title() == "attention per tile, slide 1"
    (outline,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = np.array(outline.get_segments())
    assert len(segments) == 6
    np.testing.assert_allclose(segments.reshape(-1, 2).min(0), [32, 0])
    np.testing.assert_allclose(segments.reshape(-1, 2).max(0), [96, 32])
    assert "unitless" in colourbars(fig)[0].get_ylabel()

    thumbnail = np.full((48, 64, 3), 200, np.uint8)
    fig = plot_slide_overlay(thumbnail, slide_explanation(), 0, tumour_grid=tumour, opacity=0.3)
    ax = panels(fig)[0]
    under, over = ax.get_images()
    assert under.get_extent() == [0, 128, 96, 0] and over.get_alpha() == 0.3


def test_slide_overlay_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="covering"):
        plot_slide_overlay(None, slide_explanation(), 0, tumour_grid=np.zeros((1, 3), bool))
    with pytest.raises(ValueError, match="outside"):
        plot_slide_overlay(None, slide_explanation(), 2)
    with pytest.raises(ValueError, match="slide geometry"):
        plot_slide_overlay(None, Explanation("ig", "mri", np.ones((1, 4)), np.ones(1)), 0)
    with pytest.raises(ValueError, match="RGB"):
        plot_slide_overlay(np.zeros((8, 8)), slide_explanation(), 0)


def test_deletion_and_insertion_curves_carry_their_areas():
    attribution = np.arange(100.0)

    def score(keep):  # the probability is the kept share of the top half
        return keep[:, 50:].mean(1)

    curves = {
        "good": deletion_curve(score, attribution),
        "random": deletion_curve(score, np.random.default_rng(0).uniform(size=100)),
    }
    fig = plot_deletion_curves(curves)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "fraction of input removed (%)"
    assert ax.get_ylabel().startswith("probability of the explained class") and ax.get_title()
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0] == "good (area 0.250)" and labels[1].startswith("random (area 0.")
    assert ax.lines[1].get_linestyle() == "--"
    np.testing.assert_allclose(ax.lines[0].get_xdata()[[0, -1]], [0, 100])

    fig = plot_deletion_curves({"good": insertion_curve(score, attribution)}, kind="insertion")
    assert fig.axes[0].get_xlabel() == "fraction of input inserted (%)"
    with pytest.raises(ValueError, match="kind"):
        plot_deletion_curves(curves, kind="removal")
    with pytest.raises(ValueError, match="matching"):
        plot_deletion_curves({"bad": ([0, 0.5, 1], [1, 0])})


def test_modality_contributions_and_routing():
    modalities = ("dce", "t2", "dwi")
    fig = plot_modality_contributions(np.array([1.5, -0.2, 0.7]), modalities)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.5, -0.2, 0.7])
    assert "one case" in ax.get_title() and ax.get_xlabel() == "modality"
    assert ax.get_ylabel() == "change in the explained class's logit (nats)"
    fig = plot_modality_contributions(np.ones((4, 3)), modalities)
    ax = fig.axes[0]
    assert len(ax.patches) == 3 and len(ax.collections[-1].get_offsets()) == 12
    with pytest.raises(ValueError, match="M = 3 modalities"):
        plot_modality_contributions(np.ones((4, 2)), modalities)

    usage = np.full((5, 3, 4), 0.25)
    fig = plot_expert_usage(usage, modalities)
    ax = panels(fig)[0]
    assert ax.get_images()[0].get_array().shape == (3, 4) and len(ax.texts) == 12
    assert ax.get_title() and ax.get_xlabel() == "Soft-MoE expert (index)" and ax.get_ylabel()
    assert "fraction" in colourbars(fig)[0].get_ylabel()
    with pytest.raises(ValueError, match="M = 3 modalities"):
        plot_expert_usage(np.ones((2, 4)), modalities)


def test_concept_explanation_bars_and_weights():
    probabilities = {"margin": np.array([0.1, 0.2, 0.7]), "kinetic": np.array([0.6, 0.3, 0.1])}
    names = {"margin": MARGINS, "kinetic": KINETICS}
    fig = plot_concept_explanation(probabilities, names, {"margin": 2.0}, title="Case 3")
    ax = fig.axes[0]
    assert len(ax.patches) == 6 and ax.get_title() == "Case 3"
    assert "(0-1)" in ax.get_xlabel() and ax.get_ylabel()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == "margin (weight +2.00): circumscribed" and ticks[3] == "kinetic: persistent"
    solid = [p.get_width() for p in ax.patches if p.get_alpha() == 1.0]
    assert solid == pytest.approx([0.7, 0.6])  # the predicted value of each concept
    with pytest.raises(ValueError, match="3 probabilities for 2 values"):
        plot_concept_explanation(probabilities, {**names, "kinetic": ("a", "b")})
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        plot_concept_explanation({"margin": np.array([0.1, 1.7, 0.0])}, names)
    with pytest.raises(ValueError, match="unknown concepts"):
        plot_concept_explanation(probabilities, names, {"spiculation": 1.0})


def test_explorer_caches_explanations_and_redraws_on_every_control(case):
    images = np.stack([case["image"], case["image"]])
    masks = np.stack([case["mask"], np.roll(case["mask"], 6, axis=0)])  # lesions at 5 and 11
    calls = []

    def explain_fn(i, method):
        calls.append((i, method))
        return case["good"] if method == "good" else case["bad"]

    explorer = explanation_explorer(images, explain_fn, ["good", "bad"], masks)
    controls = explorer.controls
    assert set(controls) == {"case", "method", "slice", "opacity"}
    assert controls["slice"].max == 15 and controls["slice"].value == 5
    assert calls == [(0, "good")] and explorer.draws == 1
    assert explorer.figure.axes[0].get_title().startswith("good, case 0\nslice 5")

    controls["method"].value = "bad"
    assert calls[-1] == (0, "bad") and explorer.draws == 2
    controls["slice"].value = 9
    controls["opacity"].value = 0.8
    assert len(calls) == 2 and explorer.draws == 4, "slice and opacity reuse the cached map"
    ax = explorer.figure.axes[0]
    assert "slice 9" in ax.get_title() and ax.get_images()[1].get_alpha() == 0.8
    controls["method"].value = "good"
    assert len(calls) == 2 and set(explorer.cache) == {(0, "good"), (0, "bad")}

    controls["case"].value = 1  # jumps to that case's lesion and draws once
    assert calls[-1] == (1, "good") and explorer.draws == 6
    assert controls["slice"].value == 11
    assert "case 1\nslice 11" in explorer.figure.axes[0].get_title()
    assert explorer.message == ""


def test_explorer_shows_a_bad_map_as_a_message_and_checks_its_input(case):
    images = case["image"][None]
    explorer = explanation_explorer(images, lambda i, m: np.ones((2, 2, 2)), ["ig"])
    assert "shape" in explorer.message and explorer.figure is None
    with pytest.raises(ValueError, match="masks has shape"):
        explanation_explorer(images, lambda i, m: case["good"], ["ig"], case["mask"])
    with pytest.raises(ValueError, match="at least one method"):
        explanation_explorer(images, lambda i, m: case["good"], [])
    with pytest.raises(ValueError, match="case names"):
        explanation_explorer(images, lambda i, m: case["good"], ["ig"], case_names=["a", "b"])


def test_figures_of_the_trained_mome_mini():
    import torch
    from torch.utils.data import DataLoader

    from medai_edu.data.breast_mri import make_breast_mri_cohort
    from medai_edu.data.datasets import BreastMRIDataset
    from medai_edu.experiments.breast_fusion import load_contenders
    from medai_edu.explain.attribution import explain

    torch.set_num_threads(1)
    cohort = make_breast_mri_cohort(2, seed=7)
    inputs, targets = next(iter(DataLoader(BreastMRIDataset(cohort), batch_size=2)))
    mask = targets["mask"].numpy() > 0.5
    model = load_contenders()["mome-mini"].model
    e = explain(model, inputs, "integrated_gradients", n_steps=4)
    dce, t2, dwi = (inputs[m].numpy() for m in ("dce", "t2", "dwi"))
    images = {"dce": dce[1, 1], "t2": t2[1, 0], "dwi": dwi[1, 1]}  # enhancement, T2, b-high

    fig = plot_modality_maps(e, 1, images, mask[1])
    axes = panels(fig)
    assert [ax.get_title().split(":")[0] for ax in axes] == ["DCE", "T2", "DWI"]
    assert all(labelled(ax) for ax in axes)

    fig = plot_mri_overlay(dce[1, 1], e.attribution[1], mask[1], title="Integrated gradients")
    assert any(isinstance(c, ContourSet) for c in fig.axes[0].collections)
    maps = {
        "integrated gradients": e.attribution[1],
        "random": np.random.default_rng(0).random(SHAPE),
    }
    fig = plot_method_comparison(dce[1, 1], maps, mask[1], scores=explanation_scores(maps, mask[1]))
    assert len(panels(fig)) == 2

    modalities = model.config.modalities
    contributions = explain(model, inputs, "modality_contributions")
    ax = plot_modality_contributions(contributions, modalities).axes[0]
    assert ax.get_title() and ax.get_xlabel() == "modality" and "(nats)" in ax.get_ylabel()
    routing = explain(model, inputs, "routing")
    fig = plot_expert_usage(routing, modalities)
    assert panels(fig)[0].get_images()[0].get_array().shape == (3, model.config.experts)


def test_method_scores_three_panels_with_the_random_level():
    keys = ("pointing_game", "random_pointing_game", "mask_overlap", "deletion_area")
    keys += ("random_deletion_area", "insertion_area", "random_insertion_area")
    rows = [
        {"method": m, "sanity_correlation": r, **dict.fromkeys(keys, 0.5)}
        for m, r in [("gradcam", 0.2), ("integrated_gradients", 0.6)]
    ]
    fig = plot_method_scores(rows)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["localisation", "faithfulness", "sanity check"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["gradcam", "integrated gradients"]
    heights = [p.get_height() for p in axes[2].patches]
    assert heights == pytest.approx([0.2, 0.6])
    plt.close(fig)
    with pytest.raises(ValueError, match="no rows"):
        plot_method_scores([])


def test_intervention_bars_per_value_and_the_prediction():
    fig = plot_intervention({"persistent": 0.2, "washout": 0.9}, "kinetic", predicted=0.6)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.2, 0.9])
    assert ax.get_title() and "kinetic" in ax.get_xlabel()
    assert ax.get_ylabel() == "P(malignant) (0-1)"
    assert ax.lines[0].get_ydata()[0] == pytest.approx(0.6)
    plt.close(fig)
    with pytest.raises(ValueError, match="no intervention"):
        plot_intervention({}, "kinetic")
