"""Public-dataset loaders, tested on small files made in the same formats."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile
import torch
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from medai_edu.data.public import (
    DicomSeriesError,
    MedMNISTDataset,
    MedMNISTFormatError,
    SlideFolder,
    SlideFolderError,
    load_dicom_series,
    load_medmnist,
)

# ======================================================================================
# MedMNIST .npz
# ======================================================================================


def _make_npz(path: Path, image_shape: tuple[int, ...], label_columns: int = 1, **kw) -> Path:
    """Write a small MedMNIST-like archive: 8 train, 3 val, 4 test items."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 8), ("val", 3), ("test", 4)):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, *image_shape), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (n, label_columns), dtype=np.uint8)
    arrays.update(kw)
    np.savez_compressed(path, **arrays)
    return path


def test_grey_2d_archive_gives_1xHxW_tensors_in_unit_range(tmp_path):
    path = _make_npz(tmp_path / "pneumoniamnist.npz", (28, 28))
    images, labels = load_medmnist(path, "val")
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (3, 1)
    dataset = MedMNISTDataset(path, "train")
    assert len(dataset) == 8
    image, label = dataset[2]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    np.testing.assert_allclose(image[0].numpy(), dataset.images[2] / 255.0, rtol=1e-6)
    assert label.dtype == torch.int64 and label.ndim == 0
    assert int(label) == int(dataset.labels[2, 0])


def test_colour_2d_archive_puts_channels_first(tmp_path):
    path = _make_npz(tmp_path / "pathmnist.npz", (28, 28, 3))
    dataset = MedMNISTDataset(path, "test")
    image, _ = dataset[1]
    assert image.shape == (3, 28, 28)
    np.testing.assert_allclose(image[2, 5, 7].item(), dataset.images[1, 5, 7, 2] / 255.0)


def test_3d_archive_gives_1xDxHxW_volumes_and_batches(tmp_path):
    path = _make_npz(tmp_path / "organmnist3d.npz", (28, 28, 28))
    dataset = MedMNISTDataset(path)
    assert dataset.volumetric
    image, _ = dataset[0]
    assert image.shape == (1, 28, 28, 28)
    batch_images, batch_labels = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    assert batch_images.shape == (4, 1, 28, 28, 28) and batch_labels.shape == (4,)


def test_multi_label_archive_gives_float_label_vectors(tmp_path):
    path = _make_npz(tmp_path / "chestmnist.npz", (28, 28), label_columns=14)
    dataset = MedMNISTDataset(path)
    assert dataset.multi_label
    _, label = dataset[0]
    assert label.shape == (14,) and label.dtype == torch.float32


def test_one_dimensional_labels_become_a_column(tmp_path):
    labels = np.arange(8, dtype=np.uint8)
    path = _make_npz(tmp_path / "x.npz", (28, 28), train_labels=labels)
    _, loaded = load_medmnist(path)
    assert loaded.shape == (8, 1)


def test_missing_file_says_where_to_get_medmnist(tmp_path):
    with pytest.raises(FileNotFoundError, match="zenodo"):
        load_medmnist(tmp_path / "pathmnist.npz")


def test_a_text_file_is_not_an_npz(tmp_path):
    path = tmp_path / "pathmnist.npz"
    path.write_text("<html>download quota exceeded</html>")
    with pytest.raises(MedMNISTFormatError, match="not a readable .npz"):
        load_medmnist(path)


def test_a_truncated_archive_is_reported(tmp_path):
    path = _make_npz(tmp_path / "pathmnist.npz", (28, 28, 3))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MedMNISTFormatError, match="pathmnist.npz"):
        load_medmnist(path)


def test_a_corrupt_member_is_reported(tmp_path):
    path = tmp_path / "bloodmnist.npz"
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (8, 28, 28, 3), dtype=np.uint8)
    np.savez(path, train_images=images, train_labels=np.zeros((8, 1), np.uint8))
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the stored images: the zip CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(MedMNISTFormatError, match="corrupt"):
        load_medmnist(path)


def test_a_single_npy_array_is_not_an_archive(tmp_path):
    path = tmp_path / "pathmnist.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(MedMNISTFormatError, match="single .npy array"):
        load_medmnist(path)


def test_missing_split_lists_the_keys_found(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2))
    with pytest.raises(MedMNISTFormatError) as caught:
        load_medmnist(path, "train")
    assert "train_images" in str(caught.value)
    assert "['x_train', 'y_train']" in str(caught.value)


def test_images_and_labels_of_different_lengths(tmp_path):
    path = _make_npz(tmp_path / "x.npz", (28, 28), test_labels=np.zeros((3, 1), np.uint8))
    with pytest.raises(MedMNISTFormatError, match="4 test images but 3 test labels"):
        load_medmnist(path, "test")


def test_float_images_and_bad_split_names_are_refused(tmp_path):
    path = _make_npz(tmp_path / "x.npz", (28, 28), train_images=np.zeros((8, 28, 28)))
    with pytest.raises(MedMNISTFormatError, match="must be uint8"):
        load_medmnist(path)
    with pytest.raises(ValueError, match="split must be one of"):
        load_medmnist(path, "validation")


# ======================================================================================
# A folder of slides
# ======================================================================================


def _write_pyramid_tiff(path: Path, size: int = 512, seed: int = 0) -> None:
    """A tiled RGB TIFF with one half-resolution level: OpenSlide's generic-tiff format."""
    image = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    with tifffile.TiffWriter(path) as tif:
        options = dict(tile=(256, 256), photometric="rgb", compression="zlib")
        tif.write(image, resolution=(1e4 / 0.5, 1e4 / 0.5), resolutionunit="CENTIMETER", **options)
        tif.write(image[::2, ::2], subfiletype=1, **options)


@pytest.fixture
def slide_dir(tmp_path) -> Path:
    root = tmp_path / "slides"
    root.mkdir()
    for i, name in enumerate(["tumor_002.tif", "normal_001.tiff", "tumor_001.tif"]):
        _write_pyramid_tiff(root / name, seed=i)
    (root / "README.txt").write_text("not a slide")
    (root / ".tumor_003.tif").write_bytes(b"editor backup")
    return root


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_slide_folder_lists_sorted_slides_with_labels(slide_dir, tmp_path):
    labels = _write_csv(
        tmp_path / "labels.csv",
        "slide_id,label\ntumor_001,tumor\nnormal_001,normal\ntumor_002,tumor\n",
    )
    slides = SlideFolder(slide_dir, labels)
    assert len(slides) == 3
    assert [r.slide_id for r in slides] == ["normal_001", "tumor_001", "tumor_002"]
    assert [r.label for r in slides] == ["normal", "tumor", "tumor"]
    assert slides.classes == ["normal", "tumor"]
    record = slides[1]
    assert record.path == slide_dir / "tumor_001.tif"
    with slides.open(1) as slide:
        assert slide.dimensions == (512, 512)
        assert slide.level_count == 2
        assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.5)


def test_slide_folder_without_csv_has_no_labels(slide_dir):
    slides = SlideFolder(slide_dir)
    assert all(r.label is None for r in slides) and slides.classes == []


def test_recursive_slide_folder_finds_sub_folders(slide_dir):
    (slide_dir / "extra").mkdir()
    _write_pyramid_tiff(slide_dir / "extra" / "test_001.tif")
    assert len(SlideFolder(slide_dir)) == 3
    nested = SlideFolder(slide_dir, recursive=True)
    assert [r.slide_id for r in nested] == ["test_001", "normal_001", "tumor_001", "tumor_002"]
    assert nested[0].path == slide_dir / "extra" / "test_001.tif"


def test_slide_without_label_is_named(slide_dir, tmp_path):
    labels = _write_csv(tmp_path / "l.csv", "slide_id,label\ntumor_001,tumor\ntumor_002,tumor\n")
    with pytest.raises(SlideFolderError, match="no label .*normal_001"):
        SlideFolder(slide_dir, labels)


def test_label_without_slide_is_named(slide_dir, tmp_path):
    labels = _write_csv(
        tmp_path / "l.csv",
        "slide_id,label\ntumor_001,t\nnormal_001,n\ntumor_002,t\ntumor_999,t\n",
    )
    with pytest.raises(SlideFolderError, match="not in .*tumor_999"):
        SlideFolder(slide_dir, labels)


def test_bad_csv_header_and_repeated_ids(slide_dir, tmp_path):
    bad_header = _write_csv(tmp_path / "h.csv", "slide,diagnosis\ntumor_001,tumor\n")
    with pytest.raises(SlideFolderError, match="bad CSV header.*slide_id,label"):
        SlideFolder(slide_dir, bad_header)
    repeated = _write_csv(tmp_path / "r.csv", "slide_id,label\ntumor_001,a\ntumor_001,b\n")
    with pytest.raises(SlideFolderError, match="line 3.*repeated"):
        SlideFolder(slide_dir, repeated)
    with pytest.raises(FileNotFoundError, match="labels CSV not found"):
        SlideFolder(slide_dir, tmp_path / "absent.csv")


def test_bad_slide_folder_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="slide folder not found"):
        SlideFolder(tmp_path / "absent")
    (tmp_path / "file.svs").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        SlideFolder(tmp_path / "file.svs")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SlideFolderError, match="no slide files"):
        SlideFolder(tmp_path / "empty")


def test_unreadable_slide_fails_on_open_with_its_path(tmp_path):
    root = tmp_path / "s"
    root.mkdir()
    (root / "broken.svs").write_bytes(b"not a slide at all")
    slides = SlideFolder(root)
    with pytest.raises(SlideFolderError, match="broken.svs"):
        slides.open(0)


# ======================================================================================
# A DICOM series folder
# ======================================================================================

CT_SMALL = pydicom.dcmread(get_testdata_file("CT_small.dcm", download=False))


def _write_series(
    folder: Path,
    n: int = 5,
    spacing: float = 2.5,
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    series_uid: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write n slices made from CT_small.dcm, in shuffled file and InstanceNumber order.

    Slice k lies k * spacing mm along the normal of ``orientation`` and holds CT_small's
    stored values plus 10 * k, so its order in the volume can be checked.
    Returns the paths in the order of position along the normal.
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    normal = np.cross(orientation[:3], orientation[3:])
    origin = np.array(CT_SMALL.ImagePositionPatient, dtype=float)
    rng = random.Random(seed)
    names = [f"IM{i:04d}.dcm" for i in range(n)]
    instance_numbers = list(range(1, n + 1))
    rng.shuffle(names)
    rng.shuffle(instance_numbers)
    paths = []
    for k in range(n):
        ds = copy.deepcopy(CT_SMALL)  # a shallow copy would share (and change) elements
        ds.SeriesInstanceUID = series_uid
        ds.ImageOrientationPatient = list(orientation)
        ds.ImagePositionPatient = [float(v) for v in origin + k * spacing * normal]
        ds.InstanceNumber = instance_numbers[k]
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PixelData = (CT_SMALL.pixel_array + 10 * k).astype(np.int16).tobytes()
        ds.save_as(folder / names[k])
        paths.append(folder / names[k])
    return paths


def test_series_is_sorted_along_the_normal_and_rescaled_to_hu(tmp_path):
    folder = tmp_path / "ct"
    ordered = _write_series(folder)
    (folder / "README.txt").write_text("exported by a PACS")
    volume = load_dicom_series(folder)
    assert volume.voxels.shape == (5, 128, 128) and volume.voxels.dtype == np.float32
    assert volume.files == tuple(ordered)
    hu_first = CT_SMALL.pixel_array.astype(np.float32) - 1024  # slope 1, intercept -1024
    for k in range(5):
        np.testing.assert_array_equal(volume.voxels[k], hu_first + 10 * k)
    assert -1024 <= volume.voxels.min() and volume.voxels.max() < 3072
    assert volume.spacing_mm == pytest.approx((2.5, 0.661468, 0.661468))
    np.testing.assert_allclose(volume.origin, np.array(CT_SMALL.ImagePositionPatient, float))
    np.testing.assert_allclose(volume.direction, [[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    assert volume.modality == "CT" and volume.units == "HU"
    corner = volume.affine @ np.array([4, 0, 0, 1])
    np.testing.assert_allclose(corner[:3], volume.origin + [0, 0, 10.0])


def test_sagittal_series_is_ordered_by_the_normal_not_by_z(tmp_path):
    # rows run anterior->posterior (+y), columns inferior (-z): the normal is -x.
    ordered = _write_series(tmp_path / "sag", n=4, spacing=3.0, orientation=(0, 1, 0, 0, 0, -1))
    volume = load_dicom_series(tmp_path / "sag")
    assert volume.files == tuple(ordered)
    np.testing.assert_allclose(volume.direction[0], [-1, 0, 0])
    xs = [float(pydicom.dcmread(p).ImagePositionPatient[0]) for p in volume.files]
    assert xs == sorted(xs, reverse=True)
    assert volume.spacing_mm[0] == pytest.approx(3.0)


def test_bad_series_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="DICOM folder not found"):
        load_dicom_series(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DicomSeriesError, match="is empty"):
        load_dicom_series(tmp_path / "empty")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("hello")
    with pytest.raises(DicomSeriesError, match="no DICOM images.*notes.txt"):
        load_dicom_series(tmp_path / "text")


def test_several_series_are_listed_and_one_can_be_chosen(tmp_path):
    folder = tmp_path / "mixed"
    uid_a, uid_b = generate_uid(), generate_uid()
    _write_series(folder / "a", series_uid=uid_a)
    _write_series(folder / "b", n=3, series_uid=uid_b, seed=1)
    for path in [*(folder / "a").iterdir(), *(folder / "b").iterdir()]:
        path.rename(folder / f"{path.parent.name}_{path.name}")
    with pytest.raises(DicomSeriesError, match="2 series") as caught:
        load_dicom_series(folder)
    assert uid_a in str(caught.value) and uid_b in str(caught.value)
    assert load_dicom_series(folder, series_uid=uid_b).voxels.shape == (3, 128, 128)
    with pytest.raises(DicomSeriesError, match="no series"):
        load_dicom_series(folder, series_uid="1.2.3")


def test_inconsistent_slice_shape_is_named(tmp_path):
    paths = _write_series(tmp_path / "ct")
    ds = pydicom.dcmread(paths[2])
    half = ds.pixel_array[::2, ::2].copy()
    ds.Rows, ds.Columns = half.shape
    ds.PixelData = half.tobytes()
    ds.save_as(paths[2])
    with pytest.raises(DicomSeriesError, match=f"inconsistent slices.*{paths[2].name}"):
        load_dicom_series(tmp_path / "ct")


def test_truncated_file_is_named(tmp_path):
    paths = _write_series(tmp_path / "ct")
    data = paths[3].read_bytes()
    paths[3].write_bytes(data[: len(data) // 2])
    with pytest.raises(DicomSeriesError, match=paths[3].name):
        load_dicom_series(tmp_path / "ct")
    paths[3].write_bytes(data[:400])  # cut inside the header
    with pytest.raises(DicomSeriesError, match=f"{paths[3].name} is corrupt or truncated"):
        load_dicom_series(tmp_path / "ct")


def test_missing_slice_and_duplicate_position(tmp_path):
    paths = _write_series(tmp_path / "gap")
    paths[2].unlink()
    with pytest.raises(DicomSeriesError, match="uneven slice spacing.*missing"):
        load_dicom_series(tmp_path / "gap")
    paths = _write_series(tmp_path / "dup", n=3)
    ds = pydicom.dcmread(paths[1])
    ds.ImagePositionPatient = pydicom.dcmread(paths[0]).ImagePositionPatient
    ds.save_as(paths[1])
    with pytest.raises(DicomSeriesError, match="same position"):
        load_dicom_series(tmp_path / "dup")
