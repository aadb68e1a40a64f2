"""Stains: deconvolution finds DAB and haematoxylin on real IHC; normalisers undo a re-stain."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2lab, rgb_from_hed

from medai_edu.data import samples
from medai_edu.wsi import (
    MacenkoNormalizer,
    ReinhardNormalizer,
    macenko_stain_matrix,
    optical_density,
    separate_stains,
)

# Another laboratory's stains: a bluer haematoxylin, a more orange eosin (unit OD rows).
OTHER_LAB = np.array([[0.70, 0.66, 0.27], [0.20, 0.84, 0.50]])
OTHER_LAB /= np.linalg.norm(OTHER_LAB, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def ihc() -> np.ndarray:
    return samples.load_ihc()  # colonic glands: DAB (brown) and haematoxylin (blue)


@pytest.fixture(scope="module")
def he_tile() -> np.ndarray:
    return samples.load_he_target_tile()  # tiatoolbox's 1000 x 1000 H&E target


@pytest.fixture(scope="module")
def restained(he_tile):
    """The right half of the H&E tile, re-rendered with OTHER_LAB's stains and amounts."""
    source = he_tile[:, 500:]
    matrix = macenko_stain_matrix(he_tile)
    od = optical_density(source).reshape(-1, 3)
    concentrations, *_ = np.linalg.lstsq(matrix.T, od.T, rcond=None)
    od_new = (concentrations.T * [1.4, 0.6]) @ OTHER_LAB  # more haematoxylin, less eosin
    pixels = np.clip(np.rint(255 * 10.0**-od_new), 0, 255).astype(np.uint8)
    return source, pixels.reshape(source.shape)


def _lab_statistics(rgb: np.ndarray) -> np.ndarray:
    lab = rgb2lab(rgb).reshape(-1, 3)
    return np.concatenate([lab.mean(axis=0), lab.std(axis=0)])


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(_lab_statistics(a) - _lab_statistics(b)))


def test_dab_is_high_where_the_ihc_image_is_brown(ihc):
    hed = separate_stains(ihc, "HED")
    assert hed.shape == (512, 512, 3) and (hed >= 0).all()
    rgb = ihc.astype(float)
    brown = (rgb[..., 0] - rgb[..., 2] > 30) & (rgb.mean(axis=-1) < 200)
    blue = rgb[..., 2] - rgb[..., 0] > 15
    assert brown.sum() > 1000 and blue.sum() > 1000
    assert hed[..., 2][brown].mean() > 5 * hed[..., 2][blue].mean()


def test_haematoxylin_carries_the_blue_nuclei(ihc):
    hed = separate_stains(ihc, "HED")
    rgb = ihc.astype(float)
    blue = rgb[..., 2] - rgb[..., 0] > 15
    darkness = 255 - rgb.mean(axis=-1)
    h_corr = np.corrcoef(hed[..., 0][blue], darkness[blue])[0, 1]
    dab_corr = np.corrcoef(hed[..., 2][blue], darkness[blue])[0, 1]
    assert h_corr > 0.9 and h_corr > dab_corr  # darker blue = more haematoxylin


def test_a_stain_matrix_gives_the_same_as_its_name(ihc):
    np.testing.assert_allclose(separate_stains(ihc, rgb_from_hed), separate_stains(ihc, "HED"))
    with pytest.raises(ValueError, match="must be one of"):
        separate_stains(ihc, "XYZ")


def test_macenko_recovers_the_stain_vectors_it_was_given(restained):
    _, pixels = restained
    estimated = macenko_stain_matrix(pixels)
    angles = np.degrees(np.arccos(np.clip((estimated * OTHER_LAB).sum(axis=1), -1, 1)))
    assert angles[0] < 3 and angles[1] < 15  # haematoxylin first, eosin second
    np.testing.assert_allclose(np.linalg.norm(estimated, axis=1), 1.0)


@pytest.mark.parametrize(
    ("normalizer", "gain"), [(MacenkoNormalizer, 0.6), (ReinhardNormalizer, 0.1)]
)
def test_normalisers_bring_colour_statistics_to_the_target(he_tile, restained, normalizer, gain):
    target = he_tile[:, :500]
    source, pixels = restained
    out = normalizer().fit(target).transform(pixels)
    assert out.shape == pixels.shape and out.dtype == np.uint8
    assert _distance(out, target) < gain * _distance(pixels, target)
    # and closer to the tissue as it looked before the re-stain
    assert np.abs(out.astype(int) - source).mean() < np.abs(pixels.astype(int) - source).mean()


@pytest.mark.parametrize("normalizer", [MacenkoNormalizer, ReinhardNormalizer])
def test_tiles_without_tissue_pass_through_and_cannot_be_targets(he_tile, normalizer):
    glass = np.full((64, 64, 3), 246, np.uint8)
    fitted = normalizer().fit(he_tile)
    np.testing.assert_array_equal(fitted.transform(glass), glass)
    with pytest.raises(ValueError, match="too little tissue"):
        normalizer().fit(glass)
    with pytest.raises(RuntimeError, match="fit"):
        normalizer().transform(he_tile)


def test_optical_density_of_glass_and_dye():
    od = optical_density(np.array([[[255, 25, 0]]], np.uint8))
    np.testing.assert_allclose(od[0, 0], [0.0, np.log10(255 / 25), np.log10(255)], rtol=1e-5)
