"""XAIM-mini's benchmark wiring: slide explanations in slide geometry, the scoring of every
method, and the score functions behind the deletion curves."""

import numpy as np
import pytest
import torch

from medai_edu.experiments import explanations as xaim
from medai_edu.experiments.breast_fusion import load_contenders
from medai_edu.experiments.slide_pretraining import load_encoders
from medai_edu.explain.attribution import METHODS, explain


@pytest.fixture(scope="module")
def slides():
    return xaim.make_slide_cases(8, seed=5, max_tiles=12)


@pytest.fixture(scope="module")
def slide_model(slides):
    return xaim.fit_slide_classifier(load_encoders().stage2, slides.bags, steps=100)


def test_slide_cases_know_their_tumour_tiles(slides):
    assert slides.tumour_tiles.shape == (8, 12)
    assert not slides.tumour_tiles[~slides.bags.tile_mask.numpy()].any(), "padding is no tumour"
    # make_slide_cases keeps only slides with a tumour tile (small foci may fall between).
    assert slides.tumour_tiles.any(1).all(), "every slide kept has tumour"
    batch = slides.batch(slice(0, 2))
    assert batch["tiles"].shape == (2, 12, 3, 64, 64) and batch["tiles"].max() <= 1


@pytest.mark.parametrize("method", METHODS["mstar-mini"])
def test_slide_explanations_are_per_tile_in_slide_geometry(slides, slide_model, method):
    batch = slides.batch(slice(0, 3))
    e = explain(slide_model, batch, method, n_steps=4)
    assert e.attribution.shape == (3, 12)
    padding = ~batch["tile_mask"].numpy()
    assert np.isnan(e.attribution[padding]).all() and np.isfinite(e.attribution[~padding]).all()
    heatmap = e.slide_heatmap(0)
    rows, cols = batch["grid"][0, batch["tile_mask"][0]].T
    np.testing.assert_allclose(heatmap[rows, cols], e.attribution[0, ~padding[0]])
    assert np.isnan(heatmap).sum() == heatmap.size - len(rows)


def test_a_slide_batch_of_the_wrong_shape_is_a_clear_error(slides, slide_model):
    batch = slides.batch(slice(0, 2))
    with pytest.raises(ValueError, match="tiles must be"):
        explain(slide_model, {**batch, "tiles": batch["tiles"][:, :, :, :32, :32]}, "attention")
    with pytest.raises(ValueError, match="tile_mask must be"):
        explain(slide_model, {**batch, "tile_mask": batch["tile_mask"][:, :5]}, "attention")
    with pytest.raises(ValueError, match="supports the methods"):
        explain(slide_model, batch, "routing")


def test_the_slide_classifier_learns_the_tumour_type(slides, slide_model):
    from medai_edu.experiments.slide_pretraining import predict_slides

    predicted = predict_slides(slide_model, slides.bags).argmax(1)
    assert (predicted == slides.bags.tumour_type.numpy()).mean() >= 0.75
    untouched = load_encoders().stage2
    assert not torch.equal(untouched.classifier.weight, slide_model.classifier.weight)


def test_slide_score_drops_tiles_and_is_chance_with_none(slides, slide_model):
    score = xaim.slide_score(slide_model, slides, 0, target=1)
    n = slides.bags.tile_mask.shape[1]
    keep = np.ones((3, n), bool)
    keep[1, :] = False
    keep[2, :2] = False
    values = score(keep)
    assert values.shape == (3,)
    assert values[1] == pytest.approx(1 / 3)
    assert values[0] != values[2]


def test_mri_score_blurs_what_is_deleted():
    cases = xaim.make_mri_cases(2, seed=4)
    model = load_contenders()["mome-mini"].model
    score = xaim.mri_score(model, cases.case(0), target=1)
    keep = np.ones((2, *cases.masks.shape[1:]), bool)
    keep[1] = False
    full, blurred = score(keep)
    with torch.no_grad():
        p = model(cases.case(0))["malignant"].sigmoid().item()
    assert full == pytest.approx(p, abs=1e-6)
    assert blurred != pytest.approx(full, abs=1e-4)


def test_score_method_against_a_perfect_and_a_random_map():
    rng = np.random.default_rng(0)
    masks = [rng.random(20) < 0.3 for _ in range(12)]
    for m in masks:
        m[0] = True

    def score_for(mask):
        return lambda keep: (keep & mask).sum(1) / mask.sum()  # evidence still present

    scores = [score_for(m) for m in masks]
    perfect = xaim.score_method([m.astype(float) for m in masks], masks, scores, 1.0)
    assert perfect["pointing_game"] == 1 and perfect["mask_overlap"] == 1
    assert perfect["deletion_area"] < perfect["random_deletion_area"]
    assert perfect["deletion_p"] < 0.05
    noise = xaim.score_method([rng.random(20) for _ in masks], masks, scores, 1.0)
    assert noise["deletion_p"] > 0.05
    assert noise["pointing_game"] < 1


def test_tumour_grid_and_thumbnail_match_the_bag(slides):
    grid = slides.tumour_grid(0)
    assert grid.shape == (8, 8) and grid.sum() == slides.tumour_tiles[0].sum()
    image = slides.thumbnail(0)  # BAG_SLIDE: 512 x 512 px at 1 µm/px, 64 px tiles
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    first = slides.bags.tile_mask[0].nonzero()[0, 0]
    row, col = slides.bags.grid[0, first].tolist()
    tile = image[row * 64 : (row + 1) * 64, col * 64 : (col + 1) * 64].transpose(2, 0, 1)
    np.testing.assert_array_equal(tile, slides.bags.tiles[0, first].numpy())


def test_fitting_the_slide_classifier_on_the_cpu_device_is_the_default(slides):
    encoder = load_encoders().stage2
    default = xaim.fit_slide_classifier(encoder, slides.bags, steps=5)
    on_cpu = xaim.fit_slide_classifier(encoder, slides.bags, steps=5, device="cpu")
    pairs = zip(on_cpu.state_dict().values(), default.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert {p.device.type for p in on_cpu.parameters()} == {"cpu"}
