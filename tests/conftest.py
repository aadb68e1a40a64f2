"""Shared test set-up: figures render off-screen; artefacts go to one folder."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep what a person may want to look at afterwards (screenshots):
    ``$MEDAI_EDU_TEST_ARTIFACTS`` or ``tests/artifacts/`` in the repository."""
    folder = Path(os.environ.get("MEDAI_EDU_TEST_ARTIFACTS") or REPO_ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
