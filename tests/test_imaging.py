"""Physical units, windows, spacing and orientation, checked on the real samples."""

from __future__ import annotations

import copy

import nibabel
import numpy as np
import pydicom
import pytest

from medai_edu import imaging
from medai_edu.data.samples import load_dicom_sample, load_nifti_sample


@pytest.fixture(scope="module")
def ct() -> pydicom.Dataset:
    return load_dicom_sample("ct")


@pytest.fixture(scope="module")
def anatomical() -> nibabel.Nifti1Image:
    return load_nifti_sample("anatomical")


# --------------------------------------------------------------------------------------
# Hounsfield units
# --------------------------------------------------------------------------------------


def test_ct_small_in_hounsfield_units(ct):
    hu = imaging.to_hounsfield(ct)
    assert hu.shape == (128, 128) and hu.dtype == np.float32
    # CT_small: slope 1, intercept -1024; stored 128..2191 -> -896..1167 HU
    np.testing.assert_array_equal(hu, ct.pixel_array.astype(np.float32) - 1024)
    assert hu.min() == -896 and hu.max() == 1167
    # a crop around a vertebra: some air below the back, mostly soft tissue, some bone
    assert (hu < -800).mean() > 0.02  # air
    assert -50 < np.median(hu) < 100  # soft tissue: muscle and fat around the spine
    assert (hu > 300).mean() > 0.03  # bone of the vertebra


def test_hounsfield_units_follow_slope_and_intercept(ct):
    scaled = copy.deepcopy(ct)
    scaled.RescaleSlope = 2
    scaled.RescaleIntercept = -2048
    np.testing.assert_array_equal(
        imaging.to_hounsfield(scaled), ct.pixel_array.astype(np.float32) * 2 - 2048
    )


def test_hounsfield_units_are_refused_for_mr_and_headers_without_pixels(ct):
    with pytest.raises(ValueError, match="CT only.*'MR'"):
        imaging.to_hounsfield(load_dicom_sample("mr"))
    header = copy.deepcopy(ct)
    del header.PixelData
    with pytest.raises(ValueError, match="no Pixel Data"):
        imaging.to_hounsfield(header)
    with pytest.raises(TypeError, match="pydicom Dataset.*ndarray"):
        imaging.to_hounsfield(ct.pixel_array)


# --------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------


def test_window_maps_center_to_half_and_clips():
    hu = np.array([-1000.0, -160.0, -60.0, 40.0, 140.0, 240.0, 3000.0])
    shown = imaging.apply_window(hu, 40, 400)  # soft tissue: -160 .. 240 HU
    assert shown.dtype == np.float32 and shown.shape == hu.shape
    np.testing.assert_allclose(shown, [0, 0, 0.25, 0.5, 0.75, 1, 1], atol=1e-6)


def test_every_preset_is_a_valid_window(ct):
    hu = imaging.to_hounsfield(ct)
    assert set(imaging.WINDOWS) >= {"soft tissue", "lung", "bone", "brain"}
    for center, width in imaging.WINDOWS.values():
        shown = imaging.apply_window(hu, center, width)
        assert 0 <= shown.min() and shown.max() <= 1
        assert imaging.apply_window(np.array([center]), center, width)[0] == pytest.approx(0.5)
    # the lung window (-1350 .. 150 HU) shows the air of CT_small (-896 HU) in grey,
    # where the soft-tissue window (-160 .. 240 HU) shows it black
    assert imaging.apply_window(-896.0, *imaging.WINDOWS["lung"]) == pytest.approx(454 / 1500)
    assert imaging.apply_window(-896.0, *imaging.WINDOWS["soft tissue"]) == 0


@pytest.mark.parametrize("width", [0, -10, np.nan])
def test_a_window_needs_a_positive_width(width):
    with pytest.raises(ValueError, match="width > 0"):
        imaging.apply_window(np.zeros(3), 40, width)


def test_window_agrees_with_monais_scale_intensity_range(ct):
    hu = imaging.to_hounsfield(ct)
    for center, width in imaging.WINDOWS.values():
        transform = imaging.window_transform(center, width)
        monai_result = np.asarray(transform(hu))
        np.testing.assert_allclose(monai_result, imaging.apply_window(hu, center, width), atol=1e-6)


# --------------------------------------------------------------------------------------
# Spacing
# --------------------------------------------------------------------------------------


def test_spacing_and_extent_come_from_the_real_header(ct):
    assert imaging.pixel_spacing_mm(ct) == pytest.approx((0.661468, 0.661468))
    assert imaging.pixel_spacing_mm(load_dicom_sample("mr")) == pytest.approx((0.3125, 0.3125))
    extent = imaging.physical_extent_mm((128, 128), imaging.pixel_spacing_mm(ct))
    assert extent == pytest.approx((0, 128 * 0.661468, 128 * 0.661468, 0))
    # anisotropic pixels: columns set the width, rows the height
    assert imaging.physical_extent_mm((10, 20, 3), (2.0, 0.5)) == (0.0, 10.0, 20.0, 0.0)


def test_spacing_falls_back_to_imager_pixel_spacing(ct):
    radiograph = copy.deepcopy(ct)
    del radiograph.PixelSpacing
    radiograph.ImagerPixelSpacing = [0.15, 0.2]
    assert imaging.pixel_spacing_mm(radiograph) == pytest.approx((0.15, 0.2))


def test_ultrasound_frame_has_no_spacing():
    with pytest.raises(ValueError, match="US image has no PixelSpacing"):
        imaging.pixel_spacing_mm(load_dicom_sample("us"))
    with pytest.raises(ValueError, match="shape"):
        imaging.physical_extent_mm((128,), (1.0, 1.0))


# --------------------------------------------------------------------------------------
# Orientation
# --------------------------------------------------------------------------------------


def test_orientation_codes_of_the_real_volumes(anatomical):
    # anatomical.nii's affine has -2 mm on x: the first voxel axis points to the left
    assert imaging.orientation_codes(anatomical) == ("L", "A", "S")
    assert imaging.orientation_codes(anatomical.affine) == ("L", "A", "S")
    assert imaging.orientation_codes(load_nifti_sample("example4d")) == ("L", "A", "S")


def test_reorienting_to_ras_flips_x_and_keeps_world_positions(anatomical):
    ras = imaging.reorient_to_ras(anatomical)
    assert imaging.orientation_codes(ras) == ("R", "A", "S")
    data, flipped = anatomical.get_fdata(), ras.get_fdata()
    np.testing.assert_array_equal(flipped, data[::-1])
    # voxel (i, j, k) of the original sits where voxel (32 - i, j, k) of the copy sits
    i, j, k = 3, 7, 11
    world = anatomical.affine @ [i, j, k, 1]
    np.testing.assert_allclose(ras.affine @ [32 - i, j, k, 1], world)
    with pytest.raises(TypeError, match="nibabel image"):
        imaging.reorient_to_ras(data)


def test_orthogonal_slices_have_world_extents_in_mm(anatomical):
    views = imaging.orthogonal_slices(anatomical)
    assert [v.name for v in views] == ["axial", "coronal", "sagittal"]
    axial, coronal, sagittal = views
    assert axial.image.shape == (41, 33) and coronal.image.shape == (25, 33)
    assert sagittal.image.shape == (25, 41)
    # 2 mm voxels: 33 voxels span 66 mm from -33 to 33 mm
    assert axial.extent_mm == pytest.approx((-33, 33, -41, 41))
    assert sagittal.extent_mm == pytest.approx((-41, 41, -17, 33))
    assert "mm" in axial.xlabel and "anterior" in axial.ylabel
    data = imaging.reorient_to_ras(anatomical).get_fdata()
    np.testing.assert_array_equal(axial.image, data[:, :, axial.index].T)
    with pytest.raises(ValueError, match="outside"):
        imaging.orthogonal_slices(anatomical, voxel=(40, 0, 0))


def test_orthogonal_slices_of_a_4d_volume_pick_the_time_point():
    img = load_nifti_sample("example4d")
    first, second = (
        imaging.orthogonal_slices(img, volume=0),
        imaging.orthogonal_slices(img, volume=1),
    )
    assert first[0].image.shape == (96, 128)
    assert not np.array_equal(first[0].image, second[0].image)


# --------------------------------------------------------------------------------------
# ECG and header tables
# --------------------------------------------------------------------------------------


def test_ecg_waveform_is_12_leads_in_millivolts():
    ecg = load_dicom_sample("ecg")
    signals, leads, rate = imaging.ecg_waveform(ecg)
    assert signals.shape == (12, 10000) and rate == 1000.0
    assert leads == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    np.testing.assert_allclose(signals, ecg.waveform_array(0).T / 1000)  # uV -> mV
    assert 0.5 < np.abs(signals).max() < 5  # a QRS complex is about 1 mV
    # Einthoven: lead II = lead I + lead III (up to the 1.25 uV quantisation)
    np.testing.assert_allclose(signals[1], signals[0] + signals[2], atol=0.01)
    beat, _, _ = imaging.ecg_waveform(ecg, group=1)
    assert beat.shape == (12, 1200)
    with pytest.raises(ValueError, match="group 2 does not exist"):
        imaging.ecg_waveform(ecg, group=2)
    with pytest.raises(ValueError, match="no WaveformSequence"):
        imaging.ecg_waveform(load_dicom_sample("ct"))


def test_header_table_lists_what_is_asked_and_present(ct):
    rows = imaging.header_table(ct, ["Modality", "PixelSpacing", "WindowCenter", "Rows"])
    assert [r.keyword for r in rows] == ["Modality", "PixelSpacing", "Rows"]
    assert rows[0].tag == "(0008,0060)" and rows[0].vr == "CS" and rows[0].value == "CT"
    assert rows[2].value == "128"
    with pytest.raises(ValueError, match="not a DICOM keyword"):
        imaging.header_table(ct, ["PixelSpaceing"])
