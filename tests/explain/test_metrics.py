"""Explanation metrics on constructed cases whose right answer is known."""

import numpy as np
import pytest
import torch

from medai_edu.explain import metrics as xm

SHAPE = (20, 20)


def lesion(centre=(10, 10), size=(5, 8), shape=SHAPE) -> np.ndarray:
    """A (rows, cols) bool rectangle: 40 of 400 elements (10 %) at the default size."""
    mask = np.zeros(shape, dtype=bool)
    r, c = centre[0] - size[0] // 2, centre[1] - size[1] // 2
    mask[r : r + size[0], c : c + size[1]] = True
    return mask


def blob(centre, shape=SHAPE, width=3.0) -> np.ndarray:
    """A Gaussian bump peaked at ``centre``."""
    grid = np.indices(shape)
    d2 = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True))
    return np.exp(-d2 / (2 * width**2))


def random_lesions(n=500, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.integers(4, 16, size=(n, 2))
    masks = np.stack([lesion(tuple(c)) for c in centres])
    assert (masks.sum(axis=(1, 2)) == 40).all()
    return masks


def test_pointing_game_hits_with_a_perfect_or_peaked_attribution():
    mask = lesion()
    assert xm.pointing_game(mask.astype(float), mask) is True
    assert xm.pointing_game(blob((10, 10)), mask) is True
    assert xm.pointing_game(torch.tensor(blob((10, 10))), torch.tensor(mask)) is True
    assert xm.pointing_game(blob((2, 2)), mask) is False
    volume = np.zeros((4, 6, 6), dtype=bool)
    volume[1, 2:4, 2:4] = True
    attribution = np.zeros(volume.shape)
    attribution[1, 3, 3] = 5.0
    assert xm.pointing_game(attribution, volume)
    bag = np.array([0.1, 0.9, 0.3])
    assert xm.pointing_game(bag, np.array([False, True, False]))


def test_pointing_game_random_attribution_scores_chance():
    masks = random_lesions()
    randoms = np.stack([xm.random_attribution(SHAPE, seed=i) for i in range(len(masks))])
    chance = xm.pointing_game_accuracy(randoms, masks)
    assert chance == pytest.approx(0.10, abs=0.04)
    assert xm.pointing_game_accuracy(list(masks.astype(float)), list(masks)) == 1.0


def test_pointing_game_tolerance_counts_a_maximum_just_outside():
    mask = lesion()
    rows, cols = np.nonzero(mask)
    attribution = np.zeros(SHAPE)
    attribution[rows.max() + 1, cols.min()] = 1.0  # one row below the lesion
    assert xm.pointing_game(attribution, mask, tolerance=0) is False
    assert xm.pointing_game(attribution, mask, tolerance=1) is True
    attribution[:] = 0
    attribution[rows.max() + 2, cols.min()] = 1.0
    assert xm.pointing_game(attribution, mask, tolerance=1) is False
    assert xm.pointing_game(attribution, mask, tolerance=2) is True


def test_pointing_game_ties_take_the_first_maximum_and_nans_are_ignored():
    mask = np.array([False, True, False, False])
    assert xm.pointing_game([0.0, 1.0, 0.0, 1.0], mask) is True  # first of the tied maxima
    assert xm.pointing_game([1.0, 0.0, 0.0, 1.0], mask) is False
    assert xm.pointing_game([np.nan, 0.5, 0.1, np.nan], mask) is True


def test_mask_overlap_perfect_random_and_misplaced():
    mask = lesion()
    assert xm.mask_overlap(mask.astype(float), mask) == 1.0
    assert xm.mask_overlap(blob((2, 2)), mask) == 0.0
    masks = random_lesions(200)
    randoms = [xm.random_attribution(SHAPE, seed=i) for i in range(len(masks))]
    overlaps = [xm.mask_overlap(a, m) for a, m in zip(randoms, masks, strict=True)]
    fraction = mask.mean()
    assert np.mean(overlaps) == pytest.approx(fraction / (2 - fraction), abs=0.02)
    half = np.zeros(SHAPE)
    half[mask] = 1.0
    half[np.nonzero(mask)[0][:20], np.nonzero(mask)[1][:20]] = 0.0  # 20 of the 40 missed
    half[0, :20] = 0.5  # and 20 outside ranked above them
    assert xm.mask_overlap(half, mask) == pytest.approx(20 / 60)


def fraction_of_lesion_kept(mask):
    def score(keep):
        assert keep.dtype == bool and keep.shape[1:] == mask.shape
        return (keep & mask).sum(axis=(1, 2)) / mask.sum()

    return score


def test_deletion_and_insertion_separate_a_faithful_attribution_from_noise():
    mask = lesion()
    score = fraction_of_lesion_kept(mask)
    noise = xm.random_attribution(SHAPE, seed=1)
    fractions, deleted = xm.deletion_curve(score, mask.astype(float), steps=20)
    np.testing.assert_allclose(fractions, np.linspace(0, 1, 21))
    assert deleted[0] == 1.0 and deleted[-1] == 0.0
    assert np.all(np.diff(deleted) <= 0)
    assert xm.curve_area(fractions, deleted) == pytest.approx(0.05)  # gone by 10 % removed
    assert xm.deletion_area(score, noise) == pytest.approx(0.5, abs=0.1)
    _, inserted = xm.insertion_curve(score, mask.astype(float), steps=20)
    assert inserted[0] == 0.0 and inserted[-1] == 1.0
    assert xm.insertion_area(score, mask.astype(float)) == pytest.approx(0.95)
    assert xm.insertion_area(score, noise) == pytest.approx(0.5, abs=0.1)


def test_deletion_on_a_linear_model_ranks_by_the_weights():
    rng = np.random.default_rng(0)
    weights = np.zeros((6, 6))
    weights[2:4, 2:4] = [[4.0, 3.0], [2.0, 1.0]]
    x = rng.uniform(0.5, 1.0, size=(6, 6))

    def score(keep):
        return (keep * weights * x).sum(axis=(1, 2))

    full, empty = (weights * x).sum(), 0.0
    contribution = weights * x
    good = xm.deletion_area(score, contribution, steps=36)
    bad = xm.deletion_area(score, -contribution, steps=36)  # least important first
    noisy = np.mean([xm.deletion_area(score, xm.random_attribution((6, 6), s)) for s in range(20)])
    assert good < noisy < bad
    _, curve = xm.deletion_curve(score, contribution, steps=36)
    assert curve[0] == pytest.approx(full) and curve[-1] == pytest.approx(empty)
    assert curve[1] == pytest.approx(full - contribution.max())  # one element: the largest
    assert xm.insertion_area(score, contribution, 36) > xm.insertion_area(score, -contribution, 36)


def test_curves_rank_nans_last_and_break_ties_stably():
    seen = []

    def score(keep):
        seen.append(keep.copy())
        return keep.sum(axis=1).astype(float)

    xm.deletion_curve(score, [np.nan, 1.0, 1.0, 0.0], steps=4)
    order = [np.flatnonzero(~k) for k in seen[0]]
    assert [list(o) for o in order] == [[], [1], [1, 2], [1, 2, 3], [0, 1, 2, 3]]
    xm.insertion_curve(score, torch.tensor([np.nan, 1.0, 1.0, 0.0]), steps=2)
    assert seen[1].tolist() == [[False] * 4, [False, True, True, False], [True] * 4]


def test_concept_accuracy_on_dicts_and_arrays():
    true = {"margin": np.array([0, 1, 2, 1]), "kinetic": np.array([1, 1, 0, 0])}
    predicted = {"margin": np.array([0, 1, 0, 1]), "kinetic": torch.tensor([1, 1, 0, 0])}
    scores = xm.concept_accuracy(predicted, true)
    assert scores == pytest.approx({"margin": 0.75, "kinetic": 1.0, "mean": 0.875})
    assert xm.concept_accuracy([1, 0, 1], np.array([1, 1, 1])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="concepts differ"):
        xm.concept_accuracy({"margin": [1]}, {"kinetic": [1]})
    with pytest.raises(ValueError, match="3 predictions for 2"):
        xm.concept_accuracy([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="margin"):
        xm.concept_accuracy({"margin": [1, 0]}, {"margin": [1]})
    with pytest.raises(ValueError, match="both as dicts"):
        xm.concept_accuracy({"margin": [1]}, [1])


def test_rank_correlation():
    a = xm.random_attribution((5, 5), seed=0)
    assert xm.rank_correlation(a, a) == pytest.approx(1.0)
    assert xm.rank_correlation(a, a**3 + 2) == pytest.approx(1.0)  # ranks, not values
    assert xm.rank_correlation(a, -a) == pytest.approx(1.0)  # absolute values by default
    assert xm.rank_correlation(a, -a, absolute=False) == pytest.approx(-1.0)
    assert xm.rank_correlation(a, np.full((5, 5), 0.3)) == 0.0
    with pytest.raises(ValueError, match=r"\(5, 5\) and \(25,\)"):
        xm.rank_correlation(a, a.ravel())


def small_cnn(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 2),
    )


IMAGE = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(3))


def gradient(model):
    x = IMAGE.clone().requires_grad_(True)
    model(x)[0, 1].backward()
    return x.grad[0, 0]


def test_randomisation_check_passes_gradients_and_fails_the_input_itself():
    model = small_cnn(1)
    checked = xm.randomisation_check(gradient, model, xm.randomise_weights)
    assert checked["passed"] is True and checked["correlation"] < 0.5
    fake = xm.randomisation_check(lambda _model: IMAGE[0, 0], model, xm.randomise_weights)
    assert fake["passed"] is False and fake["correlation"] == pytest.approx(1.0)
    never = xm.randomisation_check(gradient, model, lambda m: m)  # "randomising" nothing
    assert never == {"correlation": pytest.approx(1.0), "passed": False}


def test_randomise_weights_leaves_the_model_and_the_global_rng_alone():
    model = small_cnn(0)
    before = [p.detach().clone() for p in model.parameters()]
    state = torch.get_rng_state()
    randomised = xm.randomise_weights(model, seed=0)
    assert torch.equal(state, torch.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not any(torch.equal(a, b) for a, b in zip(before, randomised.parameters(), strict=True))
    again = xm.randomise_weights(model, seed=0)
    pairs = zip(randomised.parameters(), again.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)  # the same seed, the same weights

    class WithToken(torch.nn.Module):  # a parameter on a module with no reset_parameters
        def __init__(self):
            super().__init__()
            self.token = torch.nn.Parameter(torch.zeros(16))

    token = xm.randomise_weights(WithToken()).token.detach()
    assert token.abs().max() > 0 and token.std() == pytest.approx(0.02, abs=0.015)


def test_clear_errors():
    mask = lesion()
    with pytest.raises(ValueError, match=r"\(20, 20\).*\(10, 10\)"):
        xm.pointing_game(np.zeros(SHAPE), np.ones((10, 10), bool))
    with pytest.raises(ValueError, match="empty"):
        xm.pointing_game(np.zeros(SHAPE), np.zeros(SHAPE, bool))
    with pytest.raises(ValueError, match="empty"):
        xm.mask_overlap(np.zeros(SHAPE), np.zeros(SHAPE, bool))
    with pytest.raises(ValueError, match="all NaN"):
        xm.pointing_game(np.full(SHAPE, np.nan), mask)
    with pytest.raises(ValueError, match="all NaN"):
        xm.deletion_curve(fraction_of_lesion_kept(mask), np.full(SHAPE, np.nan))
    with pytest.raises(ValueError, match="steps must be >= 1"):
        xm.deletion_curve(fraction_of_lesion_kept(mask), mask, steps=0)
    with pytest.raises(ValueError, match="returned 1 values for 21"):
        xm.insertion_curve(lambda keep: [0.5], mask)
    with pytest.raises(ValueError, match="3 attributions but 2 masks"):
        xm.pointing_game_accuracy([mask] * 3, [mask] * 2)
    with pytest.raises(ValueError, match="tolerance"):
        xm.pointing_game(mask, mask, tolerance=-1)
