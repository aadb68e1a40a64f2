"""The book's configuration fails a build for a failing cell or a warning, as the issue asks:
a small book with the course's own _config.yml and one bad page must not build."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

BOOK = Path(__file__).resolve().parents[2] / "book"

pytestmark = pytest.mark.slow


def build(folder: Path, page: nbformat.NotebookNode) -> subprocess.CompletedProcess:
    """Build a one-page book with the course's configuration; return the finished process."""
    shutil.copy(BOOK / "_config.yml", folder / "_config.yml")
    shutil.copytree(BOOK / "_ext", folder / "_ext")
    (folder / "_mathjax").symlink_to(BOOK / "_mathjax")  # staged by `make book`
    shutil.copy(BOOK / "references.bib", folder / "references.bib")
    for extra in ("course/medical-ai", "course/pathology"):  # the bibliography files it lists
        (folder / extra).mkdir(parents=True)
        shutil.copy(BOOK / extra / "references.bib", folder / extra / "references.bib")
    (folder / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    nbformat.write(page, folder / "page.ipynb")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(folder), "--warningiserror", "--keep-going"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def page(*cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell("# A page"), *cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def test_a_good_page_builds(tmp_path):
    done = build(tmp_path, page(new_code_cell("print(6 * 7)")))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "42" in (tmp_path / "_build" / "html" / "page.html").read_text()


def test_a_failing_cell_fails_the_build(tmp_path):
    done = build(tmp_path, page(new_code_cell("raise ValueError('a broken lab')")))
    assert done.returncode != 0
    assert "Executing notebook failed" in done.stdout + done.stderr
    report = tmp_path / "_build" / "html" / "reports" / "page.err.log"  # the traceback
    assert "a broken lab" in re.sub(r"\x1b\[[0-9;]*m", "", report.read_text())  # no colours


def test_a_warning_fails_the_build(tmp_path):
    broken_link = new_markdown_cell("See {doc}`a-page-that-does-not-exist`.")
    done = build(tmp_path, page(broken_link))
    assert done.returncode != 0
    assert "a-page-that-does-not-exist" in done.stdout + done.stderr
