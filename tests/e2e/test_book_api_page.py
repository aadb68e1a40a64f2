"""The book's API reference page (book/reference/api.md): in the table of contents, one
section for each module of the public API, and a build of it alone passes
``--warningiserror`` with every exported name on the page."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..test_public_api import ROOTS

BOOK = Path(__file__).resolve().parents[2] / "book"
PAGE = BOOK / "reference" / "api.md"
DIRECTIVE = re.compile(r"^```\{public-api\} (\S+)\s*$", re.M)


def toc_files(entries) -> list[str]:
    """Every ``file:`` of a _toc.yml, however deep."""
    found = []
    for entry in entries or []:
        if "file" in entry:
            found.append(entry["file"])
        for key in ("parts", "chapters", "sections"):
            found += toc_files(entry.get(key))
    return found


def test_the_api_page_and_the_architecture_page_are_in_the_toc():
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8"))
    files = toc_files(toc["parts"])
    assert "reference/api" in files
    assert "instructors/architecture" in files


def test_the_api_page_lists_every_public_module():
    listed = DIRECTIVE.findall(PAGE.read_text(encoding="utf-8"))
    assert sorted(listed) == sorted(ROOTS - {"medai_edu"})  # the root is the page itself
    assert len(listed) == len(set(listed))


@pytest.mark.slow
def test_the_api_page_builds_without_a_warning(tmp_path):
    """A book of the page alone, with the course's _config.yml and extensions."""
    shutil.copy(BOOK / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(BOOK / "_ext", tmp_path / "_ext")
    (tmp_path / "_mathjax").mkdir()  # html_static_path; `make book` stages MathJax there
    for bib in (
        "references.bib",
        "course/medical-ai/references.bib",
        "course/pathology/references.bib",
    ):
        (tmp_path / bib).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BOOK / bib, tmp_path / bib)
    for page in ("reference/api.md", "instructors/architecture.md"):  # the page links to it
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BOOK / page, tmp_path / page)
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: reference/api\nchapters:\n  - file: instructors/architecture\n"
    )
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(tmp_path), "--warningiserror", "--keep-going"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = (tmp_path / "_build" / "html" / "reference" / "api.html").read_text()
    for name in ("create_model", "open_slide", "train_steps", "MedDrConfig"):
        assert f"{name}(" in html, name
