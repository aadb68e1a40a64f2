"""Shared test set-up: figures render off-screen; artefacts go to one folder."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Debian's browser (`make test` installs it: Makefile, DEBIAN_PACKAGES); never a download.
CHROMIUM = Path("/usr/bin/chromium")
#: Headless and quiet: no connections of its own to a network this machine does not have.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep what a person may want to look at afterwards (screenshots):
    ``$MEDAI_EDU_TEST_ARTIFACTS`` or ``tests/artifacts/`` in the repository."""
    folder = Path(os.environ.get("MEDAI_EDU_TEST_ARTIFACTS") or REPO_ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by playwright, one per test module."""
    from playwright import sync_api

    assert CHROMIUM.exists(), f"no Chromium at {CHROMIUM}: run `make system-deps`"
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
