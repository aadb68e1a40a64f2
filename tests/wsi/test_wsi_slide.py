"""The slide interface: both backends agree, the real .svs opens, bad files fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from medai_edu.data.pyramid import write_pyramid_tiff
from medai_edu.wsi import Slide, SlideOpenError, open_slide


@pytest.fixture(params=["openslide", "tifffile"])
def slide(request, slide_file):
    with open_slide(slide_file, backend=request.param) as opened:
        yield opened


def test_both_backends_report_the_same_geometry(slide_file):
    with (
        open_slide(slide_file, backend="openslide") as a,
        open_slide(slide_file, backend="tifffile") as b,
    ):
        assert (a.backend, b.backend) == ("openslide", "tifffile")
        assert a.level_dimensions == b.level_dimensions == ((1024, 768), (512, 384), (256, 192))
        assert a.level_downsamples == b.level_downsamples == (1.0, 2.0, 4.0)
        assert a.mpp == b.mpp == pytest.approx(0.5)
        assert a.magnification == b.magnification == pytest.approx(20.0)  # 10 / mpp


@pytest.mark.parametrize(
    ("location", "level", "size"),
    [
        ((0, 0), 0, (1024, 768)),
        ((300, 200), 0, (333, 111)),
        ((256, 128), 1, (200, 100)),
        ((512, 256), 2, (64, 96)),
    ],
)
def test_both_backends_read_the_same_pixels(slide_file, location, level, size):
    with (
        open_slide(slide_file, backend="openslide") as a,
        open_slide(slide_file, backend="tifffile") as b,
    ):
        np.testing.assert_array_equal(
            a.read_region(location, level, size), b.read_region(location, level, size)
        )
        np.testing.assert_allclose(a.thumbnail(200), b.thumbnail(200), atol=1)


def test_backends_agree_on_a_pyramid_with_odd_level_sizes(tmp_path, synthetic_slide):
    image = synthetic_slide.image[:750, :1000]
    path = write_pyramid_tiff(tmp_path / "odd.tif", image, 0.5, min_level_size=128)
    with (
        open_slide(path, backend="openslide") as a,
        open_slide(path, backend="tifffile") as b,
    ):
        assert a.level_dimensions == b.level_dimensions == ((1000, 750), (500, 375), (250, 188))
        np.testing.assert_allclose(a.level_downsamples, b.level_downsamples)  # (4 + 3.989) / 2
        for level in (0, 1):  # whole downsamples: the same pixels
            np.testing.assert_array_equal(
                a.read_region((400, 300), level, (60, 40)),
                b.read_region((400, 300), level, (60, 40)),
            )
        # Level 2: 400 / 3.995 = 100.13; OpenSlide interpolates the 0.13-pixel offset, tifffile
        # takes pixel 100. The difference is well below that of a one-pixel shift.
        region_a = a.read_region((400, 300), 2, (60, 40)).astype(int)
        region_b = b.read_region((400, 300), 2, (60, 40)).astype(int)
        shifted = b.read_region((404, 300), 2, (60, 40)).astype(int)
        assert np.abs(region_a - region_b).mean() < 0.5 * np.abs(shifted - region_b).mean()


def test_read_region_returns_the_written_pixels(slide, synthetic_slide):
    region = slide.read_region((100, 50), 0, (300, 200))
    assert region.shape == (200, 300, 3) and region.dtype == np.uint8
    np.testing.assert_array_equal(region, synthetic_slide.image[50:250, 100:400])


def test_coarser_level_is_the_written_2x2_average(slide, synthetic_slide):
    level1 = slide.read_region((0, 0), 1, (512, 384)).astype(int)
    expected = synthetic_slide.image.reshape(384, 2, 512, 2, 3).mean(axis=(1, 3))
    assert np.abs(level1 - expected).max() <= 1  # rounding only


def test_region_overhanging_the_edge_is_white_glass(slide, synthetic_slide):
    region = slide.read_region((1000, 700), 0, (50, 100))
    np.testing.assert_array_equal(region[:68, :24], synthetic_slide.image[700:, 1000:])
    assert (region[:, 24:] == 255).all() and (region[68:] == 255).all()


@pytest.mark.parametrize(
    ("location", "level", "size"),
    [
        ((1024, 0), 0, (10, 10)),
        ((0, 5000), 0, (10, 10)),
        ((-20, 0), 0, (10, 10)),
        ((0, 0), 3, (10, 10)),
        ((0, 0), 0, (0, 10)),
    ],
)
def test_bad_regions_raise_value_error(slide, location, level, size):
    with pytest.raises(ValueError, match="outside the slide|level must be|size must be"):
        slide.read_region(location, level, size)


def test_best_level_and_thumbnail(slide):
    assert [slide.best_level_for_downsample(d) for d in (0.5, 1, 1.9, 2, 3.9, 4, 100)] == [
        0,
        0,
        0,
        1,
        1,
        2,
        2,
    ]
    thumb = slide.thumbnail(128)
    assert thumb.shape == (96, 128, 3) and thumb.dtype == np.uint8


def test_auto_reads_tiff_with_tifffile_and_other_names_with_openslide(slide_file, tmp_path):
    with open_slide(slide_file) as slide:
        assert slide.backend == "tifffile"
    renamed = tmp_path / "slide.svs"
    renamed.write_bytes(slide_file.read_bytes())
    with open_slide(renamed) as slide:
        assert slide.backend == "openslide"


def test_closed_slide_refuses_to_read(slide_file):
    with open_slide(slide_file) as slide:
        assert isinstance(slide, Slide) and "levels=3" in repr(slide)
    with pytest.raises(ValueError, match="closed"):
        slide.read_region((0, 0), 0, (1, 1))


def test_a_tiff_openslide_rejects_falls_back_to_tifffile(tmp_path, synthetic_slide):
    path = tmp_path / "striped.tif"  # not tiled: OpenSlide's generic-tiff needs tiles
    tifffile.imwrite(
        path,
        synthetic_slide.image,
        photometric="rgb",
        rowsperstrip=100,
        resolution=(1e4 / 0.25, 1e4 / 0.25),
        resolutionunit="CENTIMETER",
    )
    with open_slide(path) as slide:
        assert slide.backend == "tifffile"
        assert slide.level_dimensions == ((1024, 768),) and slide.mpp == pytest.approx(0.25)
        assert slide.magnification == pytest.approx(40.0)
        region = slide.read_region((10, 90), 0, (500, 300))  # crosses strip boundaries
        np.testing.assert_array_equal(region, synthetic_slide.image[90:390, 10:510])
    with pytest.raises(SlideOpenError, match="OpenSlide does not support"):
        open_slide(path, backend="openslide")


def test_the_real_aperio_svs_opens_with_its_geometry(cmu_svs):
    with open_slide(cmu_svs) as slide:
        assert slide.backend == "openslide"
        assert slide.dimensions == (2220, 2967) and slide.level_count == 1
        assert slide.mpp == pytest.approx(0.499, abs=1e-3)
        assert slide.magnification == pytest.approx(20.0)  # AppMag in the description
        region = slide.read_region((1000, 1000), 0, (256, 256))
        assert region.shape == (256, 256, 3) and region.std() > 10  # tissue, not glass
        assert slide.thumbnail(300).shape == (300, 224, 3)


# --------------------------------------------------------------------------------------
# Files that are not slides
# --------------------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "slide.svs"
    with pytest.raises(FileNotFoundError, match="slide.svs"):
        open_slide(missing)


@pytest.mark.parametrize("name", ["cut.tiff", "cut.svs"])
@pytest.mark.parametrize("backend", ["auto", "openslide", "tifffile"])
def test_truncated_tiff_is_reported_as_truncated(tmp_path, slide_file, name, backend):
    data = slide_file.read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SlideOpenError, match="truncated or corrupt") as error:
        open_slide(path, backend=backend)
    assert isinstance(error.value, ValueError) and str(path) in str(error.value)


def test_truncated_real_svs_is_reported(tmp_path, cmu_svs):
    data = cmu_svs.read_bytes()
    path = tmp_path / "CMU-1-half.svs"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SlideOpenError, match="truncated or corrupt"):
        open_slide(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.txt", b"a text file, not a slide\n"), ("random.svs", bytes(range(256)) * 20)],
)
def test_unsupported_files_say_so(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SlideOpenError, match="unsupported slide format"):
        open_slide(path)


def test_empty_file_and_folder_are_not_slides(tmp_path):
    empty = tmp_path / "empty.svs"
    empty.write_bytes(b"")
    with pytest.raises(SlideOpenError, match="empty"):
        open_slide(empty)
    with pytest.raises(SlideOpenError, match="folder"):
        open_slide(tmp_path)
    with pytest.raises(ValueError, match="backend"):
        open_slide(empty, backend="pillow")
