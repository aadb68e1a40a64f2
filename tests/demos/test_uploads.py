"""Uploads into the demo app: MRI cases (NIfTI, zips, DICOM) and whole-slide images."""

import io
import os
import zipfile
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
import tifffile
import torch

from medai_edu.data.breast_mri import make_breast_mri_cohort
from medai_edu.data.datasets import BreastMRIDataset, normalise_volumes, normalised_modalities
from medai_edu.data.pathology import SMALL_SLIDE, make_slide, write_slide
from medai_edu.demos.uploads import (
    MRI_NAMES,
    MRIUpload,
    UploadError,
    check_file_size,
    dicom,
    limits,
    model_inputs,
    read_mri_upload,
    read_slide_upload,
    slide_tiles,
    write_case_dicom_zip,
    write_case_nifti,
)
from medai_edu.models.mome import MOMEConfig, MOMEMini

# ======================================================================================
# Fixtures: one synthetic case and one synthetic slide, written once
# ======================================================================================


@pytest.fixture(scope="module")
def cohort():
    return make_breast_mri_cohort(1, seed=3)


@pytest.fixture(scope="module")
def case(cohort):
    return cohort.case(0)


@pytest.fixture(scope="module")
def nifti_files(case, tmp_path_factory) -> list[Path]:
    return write_case_nifti(case, tmp_path_factory.mktemp("nifti"))


@pytest.fixture(scope="module")
def dicom_zip(case, tmp_path_factory) -> Path:
    return write_case_dicom_zip(case, tmp_path_factory.mktemp("dicom") / "case.zip")


@pytest.fixture(scope="module")
def slide_path(tmp_path_factory) -> Path:
    return write_slide(make_slide(0, SMALL_SLIDE), tmp_path_factory.mktemp("slide") / "s.tif")


def _nifti(path: Path, array_xyz: np.ndarray, zooms=(2.0, 2.0, 3.0)) -> Path:
    """Write an array already in NIfTI axis order (x, y, z[, volume])."""
    affine = np.diag([*zooms, 1.0])
    nibabel.save(nibabel.Nifti1Image(np.asarray(array_xyz, np.float32), affine), path)
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# ======================================================================================
# MRI: round trips
# ======================================================================================


def test_nifti_round_trip_gives_back_the_case(case, nifti_files):
    assert [p.name for p in nifti_files] == [f"{n}.nii.gz" for n in MRI_NAMES]
    upload = read_mri_upload(nifti_files)
    assert upload.source == "nifti" and upload.notes == []
    assert upload.spacing_mm == pytest.approx(case.spacing_mm)
    for name in MRI_NAMES:
        volume = upload.volumes[name]
        assert volume.dtype == np.float32 and volume.shape == getattr(case, name).shape
        np.testing.assert_allclose(volume, getattr(case, name))
    assert upload.volumes["dce"].shape == (5, 16, 32, 32)
    assert upload.modalities == ("dce", "t2", "dwi")
    # The file really is stored x, y, z, phase, with the spacing in its affine.
    stored = nibabel.load(nifti_files[0])
    assert stored.shape == (32, 32, 16, 5)
    np.testing.assert_allclose(stored.header.get_zooms()[:3], (2.0, 2.0, 3.0))


def test_nifti_names_may_carry_a_prefix_and_any_case(case, nifti_files, tmp_path):
    t2, adc = tmp_path / "case7_T2.nii.gz", tmp_path / "a_b_Adc.NII.GZ"
    t2.write_bytes(nifti_files[1].read_bytes())
    adc.write_bytes(nifti_files[3].read_bytes())
    upload = read_mri_upload([str(t2), str(adc)])
    assert set(upload.volumes) == {"t2", "adc"}
    np.testing.assert_allclose(upload.volumes["t2"], case.t2)
    np.testing.assert_allclose(upload.volumes["adc"], case.adc)
    assert upload.modalities == ("t2",)  # ADC alone does not make MOME's dwi input


def test_uncompressed_nii_is_accepted(case, tmp_path):
    path = _nifti(tmp_path / "t2.nii", case.t2.transpose(2, 1, 0))
    upload = read_mri_upload(path)  # a single path, as a single-file component gives
    np.testing.assert_allclose(upload.volumes["t2"], case.t2)
    assert upload.spacing_mm == pytest.approx((3.0, 2.0, 2.0))


def test_zip_of_nifti_files(case, nifti_files, tmp_path):
    members = {f"case/{p.name}": p.read_bytes() for p in nifti_files}
    members["__MACOSX/case/._t2.nii.gz"] = b"resource fork"
    members["case/README.txt"] = b"synthetic case"
    upload = read_mri_upload([_zip(tmp_path / "case.zip", members)])
    assert upload.source == "nifti"
    for name in MRI_NAMES:
        np.testing.assert_allclose(upload.volumes[name], getattr(case, name))
    assert any("README.txt" in note for note in upload.notes)
    assert not list(tmp_path.glob("case/*"))  # nothing was extracted next to the upload


def test_dicom_zip_round_trip(case, dicom_zip):
    with zipfile.ZipFile(dicom_zip) as archive:
        names = archive.namelist()
    assert len(names) == (5 + 1 + 2 + 1) * 16  # one file per slice of each series
    upload = read_mri_upload([dicom_zip])
    assert upload.source == "dicom" and upload.notes == []
    assert upload.spacing_mm == pytest.approx(case.spacing_mm)
    for name in MRI_NAMES:
        expected = getattr(case, name)
        volume = upload.volumes[name]
        assert volume.dtype == np.float32 and volume.shape == expected.shape
        value_range = float(expected.max() - expected.min())
        np.testing.assert_allclose(volume, expected, rtol=0, atol=1e-4 * value_range)


def test_dicom_series_names_map_to_sequences():
    assert dicom._series_role("DCE phase 3") == ("dce", 3.0)
    assert dicom._series_role("dwi B = 1000") == ("dwi", 1000.0)
    assert dicom._series_role(" T2 ") == ("t2", 0.0)
    assert dicom._series_role("ADC") == ("adc", 0.0)
    assert dicom._series_role("localizer") is None


def _series_members(dicom_zip: Path, prefix: str, description: str | None = None) -> dict:
    """The files of the series whose folder starts with ``prefix`` in a DICOM zip.

    With ``description``, the series is renamed and given a new SeriesInstanceUID (another
    series), and its folder name gets the prefix "x".
    """
    members, uid = {}, pydicom.uid.generate_uid()
    with zipfile.ZipFile(dicom_zip) as archive:
        for name in archive.namelist():
            if not name.startswith(prefix):
                continue
            data = archive.read(name)
            if description is not None:
                ds = pydicom.dcmread(io.BytesIO(data))
                ds.SeriesDescription, ds.SeriesInstanceUID = description, uid
                buffer = io.BytesIO()
                ds.save_as(buffer, enforce_file_format=True)
                name, data = "x" + name, buffer.getvalue()
            members[name] = data
    return members


def test_dicom_zip_ignores_unrelated_series_and_notes_them(case, dicom_zip, tmp_path):
    members = _series_members(dicom_zip, "06_T2/")
    members |= _series_members(dicom_zip, "09_ADC/", description="Localizer")
    members["DICOMDIR_README.txt"] = b"exported by a PACS"
    upload = read_mri_upload(_zip(tmp_path / "mixed.zip", members))
    assert set(upload.volumes) == {"t2"}
    np.testing.assert_allclose(upload.volumes["t2"], case.t2, atol=1e-4 * np.ptp(case.t2))
    assert upload.notes == ["ignored DICOM series 'Localizer'"]


def test_dicom_zip_with_no_known_series_names_the_descriptions(dicom_zip, tmp_path):
    members = _series_members(dicom_zip, "06_T2/", description="t1 vibe")
    with pytest.raises(UploadError, match="SeriesDescriptions are 't1 vibe'"):
        read_mri_upload([_zip(tmp_path / "t1.zip", members)])


def test_dicom_zip_with_three_dwi_series(dicom_zip, tmp_path):
    members = _series_members(dicom_zip, "07_DWI") | _series_members(dicom_zip, "08_DWI")
    members |= _series_members(dicom_zip, "07_DWI", description="DWI b=50")
    with pytest.raises(UploadError, match="dwi needs exactly 2 DICOM series.*found 3"):
        read_mri_upload([_zip(tmp_path / "dwi.zip", members)])


def test_dicom_zip_with_a_missing_dce_phase_or_a_repeated_series(dicom_zip, tmp_path):
    members = _series_members(dicom_zip, "01_DCE") | _series_members(dicom_zip, "03_DCE")
    with pytest.raises(UploadError, match=r"phases \[0, 2\]; phase\(s\) \[1\] are missing"):
        read_mri_upload([_zip(tmp_path / "dce.zip", members)])
    members = _series_members(dicom_zip, "06_T2/") | _series_members(dicom_zip, "06_T2/", "t2")
    with pytest.raises(
        UploadError, match="several series for the same t2 image \\('T2', 't2'\\); keep one"
    ):
        read_mri_upload([_zip(tmp_path / "t2.zip", members)])


def test_broken_dicom_series_becomes_an_upload_error(dicom_zip, tmp_path):
    with zipfile.ZipFile(dicom_zip) as archive:  # T2 without its slice 5: a gap
        members = {
            n: archive.read(n)
            for n in archive.namelist()
            if n.startswith("06_T2/") and n != "06_T2/IM0005.dcm"
        }
    with pytest.raises(UploadError, match="uneven slice spacing.*'T2'"):
        read_mri_upload([_zip(tmp_path / "gap.zip", members)])


# ======================================================================================
# MRI: model inputs
# ======================================================================================


def test_model_inputs_equal_the_training_normalisation(cohort, nifti_files):
    inputs = model_inputs(read_mri_upload(nifti_files))
    expected, _ = BreastMRIDataset(cohort)[0]
    for name in ("dce", "t2", "dwi"):
        assert inputs[name].dtype == torch.float32
        assert inputs[name].shape == (1, *expected[name].shape)
        torch.testing.assert_close(inputs[name][0], expected[name], rtol=1e-6, atol=1e-6)
    assert inputs["present"].dtype == torch.bool
    assert inputs["present"].tolist() == [[True, True, True]]
    model = MOMEMini(MOMEConfig()).eval()
    with torch.no_grad():
        assert torch.isfinite(model(inputs)["malignant"]).all()


def test_normalise_volumes_is_what_the_dataset_uses(cohort):
    volumes = normalise_volumes(cohort.dce[0], cohort.t2[0], cohort.dwi[0], cohort.adc[0])
    reference = normalised_modalities(cohort, 0)
    assert list(volumes) == list(reference) == ["dce", "t2", "dwi"]
    for name in volumes:
        np.testing.assert_array_equal(volumes[name], reference[name])
    assert set(normalise_volumes(None, cohort.t2[0], cohort.dwi[0], None)) == {"t2"}


def test_model_inputs_resample_to_the_model_grid(case):
    rng = np.random.default_rng(0)
    big = {"t2": rng.uniform(0.5, 1.0, (20, 40, 40)).astype(np.float32)}
    big["dce"] = rng.uniform(0.5, 1.0, (5, 20, 40, 40)).astype(np.float32)
    inputs = model_inputs(MRIUpload(big, (2.4, 1.6, 1.6), "nifti"))
    assert inputs["dce"].shape == (1, 5, 16, 32, 32)
    assert inputs["t2"].shape == (1, 1, 16, 32, 32)
    # The same case at its own size is not resampled: identical to the plain normalisation.
    same = model_inputs(MRIUpload({"t2": case.t2}, case.spacing_mm, "nifti"))
    np.testing.assert_array_equal(
        same["t2"][0].numpy(), normalise_volumes(None, case.t2, None, None)["t2"]
    )
    # Resampling a constant volume keeps it constant.
    flat = model_inputs(MRIUpload({"t2": np.full((20, 40, 40), 7.0, np.float32)}, (1, 1, 1), "x"))
    np.testing.assert_allclose(flat["t2"].numpy(), 7.0 / (7.0 + 1e-6), rtol=1e-6)


def test_missing_modality_is_zeros_and_not_present(case):
    upload = MRIUpload({"t2": case.t2, "dwi": case.dwi}, case.spacing_mm, "nifti")
    assert upload.modalities == ("t2",)  # dwi without adc cannot be used
    inputs = model_inputs(upload)
    assert inputs["present"].tolist() == [[False, True, False]]
    assert inputs["dce"].shape == (1, 5, 16, 32, 32) and not inputs["dce"].any()
    assert inputs["dwi"].shape == (1, 3, 16, 32, 32) and not inputs["dwi"].any()
    assert inputs["t2"].abs().sum() > 0
    model = MOMEMini(MOMEConfig()).eval()
    with torch.no_grad():
        assert torch.isfinite(model(inputs)["malignant"]).all()


def test_model_inputs_refuse_other_dce_phase_counts_and_nothing_usable(case):
    upload = MRIUpload({"dce": case.dce[:4]}, case.spacing_mm, "nifti")
    with pytest.raises(UploadError, match="dce has 4 phases, but MOME-mini was trained on 5"):
        model_inputs(upload)
    with pytest.raises(UploadError, match="holds only adc; MOME-mini needs"):
        model_inputs(MRIUpload({"adc": case.adc}, case.spacing_mm, "nifti"))


# ======================================================================================
# MRI: bad uploads
# ======================================================================================


def test_no_files(tmp_path):
    for nothing in ([], None):
        with pytest.raises(UploadError, match="no files were uploaded"):
            read_mri_upload(nothing)


def test_wrong_extension(tmp_path):
    path = tmp_path / "t2.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(UploadError, match=r"t2.png: this file type is not accepted.*\.nii\.gz"):
        read_mri_upload([path])


def test_zip_with_other_files_is_refused(nifti_files, tmp_path):
    archive = _zip(tmp_path / "c.zip", {"t2.nii.gz": nifti_files[1].read_bytes()})
    with pytest.raises(UploadError, match="either one .zip file on its own or NIfTI files"):
        read_mri_upload([archive, nifti_files[0]])


def test_name_without_a_modality(nifti_files, tmp_path):
    path = tmp_path / "flair.nii.gz"
    path.write_bytes(nifti_files[1].read_bytes())
    with pytest.raises(UploadError, match="flair.nii.gz does not name an MRI sequence.*t2.nii.gz"):
        read_mri_upload([path])


def test_duplicate_modality(nifti_files, tmp_path):
    copy = tmp_path / "case1_t2.nii.gz"
    copy.write_bytes(nifti_files[1].read_bytes())
    with pytest.raises(UploadError, match="two files for t2: t2.nii.gz and case1_t2.nii.gz"):
        read_mri_upload([nifti_files[1], copy])


def test_truncated_nifti(nifti_files, tmp_path):
    data = nifti_files[1].read_bytes()
    path = tmp_path / "t2.nii.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UploadError, match="t2.nii.gz looks corrupt or truncated"):
        read_mri_upload([path])


def test_truncated_uncompressed_nifti(case, tmp_path):
    path = _nifti(tmp_path / "t2.nii", case.t2.transpose(2, 1, 0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UploadError, match="t2.nii looks corrupt or truncated"):
        read_mri_upload([path])


def test_random_bytes_named_nifti(tmp_path):
    path = tmp_path / "t2.nii.gz"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(UploadError, match="corrupt or truncated"):
        read_mri_upload([path])


def test_2d_and_4d_t2(tmp_path):
    flat = _nifti(tmp_path / "t2.nii.gz", np.ones((32, 32), np.float32))
    with pytest.raises(UploadError, match=r"t2 must be a 3D volume, got shape \(32, 32\)"):
        read_mri_upload([flat])
    four = _nifti(tmp_path / "x_t2.nii.gz", np.ones((32, 32, 16, 2), np.float32))
    with pytest.raises(UploadError, match=r"t2 must be a 3D volume, got shape \(32, 32, 16, 2\)"):
        read_mri_upload([four])
    # A 3D image saved as 4D with a single volume is a 3D image.
    single = _nifti(tmp_path / "y_t2.nii.gz", np.ones((32, 32, 16, 1), np.float32))
    assert read_mri_upload([single]).volumes["t2"].shape == (16, 32, 32)


def test_dce_with_two_phases_and_dwi_with_three_volumes(tmp_path):
    dce = _nifti(tmp_path / "dce.nii.gz", np.ones((32, 32, 16, 2), np.float32))
    with pytest.raises(UploadError, match="dce needs at least 3 phases.*got 2"):
        read_mri_upload([dce])
    dwi = _nifti(tmp_path / "dwi.nii.gz", np.ones((32, 32, 16, 3), np.float32))
    with pytest.raises(UploadError, match="dwi must hold exactly 2 volumes.*got 3"):
        read_mri_upload([dwi])


def test_mismatched_shapes(case, tmp_path):
    t2 = _nifti(tmp_path / "t2.nii.gz", case.t2.transpose(2, 1, 0))
    adc = _nifti(tmp_path / "adc.nii.gz", np.ones((40, 40, 20), np.float32))
    with pytest.raises(UploadError, match="different sizes.*t2 16x32x32, adc 20x40x40"):
        read_mri_upload([t2, adc])


def test_nan_voxels(case, tmp_path):
    t2 = case.t2.transpose(2, 1, 0).copy()
    t2[0, 0, :3] = np.nan
    t2[1, 1, 1] = np.inf
    path = _nifti(tmp_path / "t2.nii.gz", t2)
    with pytest.raises(UploadError, match="t2 .* has 4 NaN or infinite voxels"):
        read_mri_upload([path])


def test_over_size_volume_and_file(case, nifti_files, monkeypatch):
    monkeypatch.setattr(limits, "MAX_VOXELS", 1000)
    with pytest.raises(UploadError, match=r"t2 \(t2.nii.gz\) has 16,384 voxels.*up to 1,000"):
        read_mri_upload([nifti_files[1]])
    monkeypatch.setattr(limits, "MAX_VOXELS", 32 * 32 * 16)
    monkeypatch.setattr(limits, "FRAMES_PER_FILE", 4)  # 5 DCE phases > 4 volumes' worth
    with pytest.raises(UploadError, match="dce .* voxels in all"):
        read_mri_upload([nifti_files[0]])
    monkeypatch.setattr(limits, "MAX_UPLOAD_MB", 0.001)
    with pytest.raises(UploadError, match=r"t2.nii.gz is 0\.\d MB; the demo accepts files up to"):
        read_mri_upload([nifti_files[1]])


def test_over_size_dicom_series(dicom_zip, monkeypatch):
    monkeypatch.setattr(limits, "MAX_VOXELS", 1000)
    with pytest.raises(UploadError, match="series 'DCE phase 0'.*16,384 voxels"):
        read_mri_upload([dicom_zip])


def test_zip_slip_member_is_refused(nifti_files, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    archive = _zip(folder / "evil.zip", {"../t2.nii.gz": nifti_files[1].read_bytes()})
    with pytest.raises(UploadError, match="points outside the archive"):
        read_mri_upload([archive])
    assert not (tmp_path / "t2.nii.gz").exists()
    absolute = _zip(folder / "abs.zip", {"/tmp/t2.nii.gz": b"x"})
    with pytest.raises(UploadError, match="points outside the archive"):
        read_mri_upload([absolute])


def test_zip_with_unrelated_files(tmp_path):
    archive = _zip(tmp_path / "photos.zip", {"a.jpg": b"\xff\xd8", "notes.txt": b"hello"})
    with pytest.raises(UploadError, match="holds nothing the demo can use.*a.jpg, notes.txt"):
        read_mri_upload([archive])
    empty = _zip(tmp_path / "empty.zip", {})
    with pytest.raises(UploadError, match="holds nothing the demo can use.*it is empty"):
        read_mri_upload([empty])


def test_corrupt_and_truncated_zip(dicom_zip, tmp_path):
    cut = tmp_path / "cut.zip"
    data = dicom_zip.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UploadError, match="cut.zip looks corrupt or truncated"):
        read_mri_upload([cut])
    noise = tmp_path / "noise.zip"
    noise.write_bytes(os.urandom(2000))
    with pytest.raises(UploadError, match="noise.zip looks corrupt or truncated"):
        read_mri_upload([noise])


def test_check_file_size(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3000)
    check_file_size(path, limit_mb=0.003)
    with pytest.raises(UploadError, match=r"f.bin is 0.0 MB; the demo accepts files up to 0.002"):
        check_file_size(path, limit_mb=0.002)
    with pytest.raises(UploadError, match="cannot be found any more"):
        check_file_size(tmp_path / "gone.nii.gz")


# ======================================================================================
# Whole-slide images
# ======================================================================================


def test_slide_upload_gives_tiles_like_the_training_bags(slide_path):
    slide = read_slide_upload(slide_path)
    try:
        # At level 0 of this 0.5 µm/px slide; the demo's default reads 64 µm tiles (1 µm/px)
        # like mSTAR-mini's bags, 128 level-0 pixels each.
        bag = slide_tiles(slide, tile_size=64, max_tiles=48, mpp=0.5)
        all_tiles = slide_tiles(slide, tile_size=64, max_tiles=10_000, mpp=0.5)
        default = slide_tiles(slide, tile_size=64)
    finally:
        slide.close()
    assert default.tile_size_level0 == 128 and default.tiles.shape[1:] == (3, 64, 64)
    n = len(bag.tiles)
    assert 0 < n <= 48 and len(all_tiles.tiles) > 48  # thinned: the small slide has more
    assert bag.tiles.shape == (n, 3, 64, 64) and bag.tiles.dtype == np.uint8
    assert bag.grid.dtype == np.int64 and bag.grid.shape == (n, 2)
    assert bag.tile_size_level0 == 64 and bag.dimensions == (768, 768)
    np.testing.assert_array_equal(bag.grid, bag.coords[:, ::-1] // 64)
    assert bag.thumbnail.dtype == np.uint8 and bag.thumbnail.shape == (512, 512, 3)
    # Kept tiles are spread evenly over the sorted tissue tiles, deterministically.
    keep = np.linspace(0, len(all_tiles.coords) - 1, 48).astype(int)
    np.testing.assert_array_equal(bag.coords, all_tiles.coords[keep])
    # The pixels are the slide's pixels at level 0, as make_slide_bags cuts them.
    image = make_slide(0, SMALL_SLIDE).image
    for k in (0, n - 1):
        x, y = bag.coords[k]
        np.testing.assert_array_equal(
            bag.tiles[k].transpose(1, 2, 0), image[y : y + 64, x : x + 64]
        )


def test_slide_wrong_extension(tmp_path):
    path = tmp_path / "slide.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(UploadError, match=r"slide.png: this file type is not accepted.*\.svs"):
        read_slide_upload(path)


def test_truncated_tiff(slide_path, tmp_path):
    data = slide_path.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UploadError, match="cannot read the slide: cut.tif is truncated"):
        read_slide_upload(cut)


def test_random_bytes_named_svs(tmp_path):
    path = tmp_path / "scan.svs"
    path.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(UploadError, match="cannot read the slide: scan.svs: unsupported"):
        read_slide_upload(path)


def test_grey_tiff(tmp_path):
    # A striped grey TIFF: tifffile's backend wants RGB, OpenSlide wants tiles or a pyramid.
    path = tmp_path / "grey.tif"
    tifffile.imwrite(path, np.full((256, 256), 128, np.uint8))
    with pytest.raises(UploadError, match="cannot read the slide: grey.tif: .*8-bit .* RGB"):
        read_slide_upload(path)


def test_slide_over_the_pixel_limit(slide_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SLIDE_PIXELS", 500 * 500)
    with pytest.raises(UploadError, match="768 x 768 pixels.*589,824 pixels.*up to 250,000"):
        read_slide_upload(slide_path)


def test_slide_over_the_size_limit(slide_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UPLOAD_MB", 0.5)
    with pytest.raises(UploadError, match=r"s.tif is 1\.\d MB; the demo accepts files up to 0.5"):
        read_slide_upload(slide_path)


def test_white_slide_has_no_tissue(tmp_path):
    path = tmp_path / "glass.tiff"
    tifffile.imwrite(
        path, np.full((512, 512, 3), 255, np.uint8), photometric="rgb", tile=(128, 128)
    )
    slide = read_slide_upload(path)
    try:
        assert slide.mpp is None  # no pixel size recorded: tiles are cut at level 0
        with pytest.raises(UploadError, match="no tissue found in glass.tiff"):
            slide_tiles(slide)
    finally:
        slide.close()
