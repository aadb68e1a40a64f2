"""Every lab runs top to bottom in a fresh kernel, with no error output, and shows figures.

The book build executes every lab (``make test`` builds the book first), so a lab is not
run twice: when the book's execution cache (``book/_build/.jupyter_cache``, jupyter-cache)
holds this very notebook, executed, that copy is checked; otherwise the lab runs here.

Time budgets are measured by the benchmark ``labs.execution``
(``benchmarks/run.py --only labs``), not here.
"""

from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
BOOK_CACHE = ROOT / "book" / "_build" / ".jupyter_cache"
LABS = sorted(p for p in (ROOT / "labs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def run_lab(path: Path, timeout_s: int = 600) -> nbformat.NotebookNode:
    """Execute a lab in its own folder, as the book and JupyterHub do."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def executed_lab(path: Path) -> nbformat.NotebookNode:
    """The book's executed copy of the lab when its cache matches the lab's code and
    metadata (as the book itself decides), else a fresh execution."""
    if BOOK_CACHE.exists():
        cache = get_cache(str(BOOK_CACHE))
        try:
            record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:  # not executed by the book, or changed since
            return run_lab(path)
        return cache.get_cache_bundle(record.pk).nb
    return run_lab(path)


@pytest.mark.parametrize("path", LABS, ids=[str(p.relative_to(ROOT / "labs")) for p in LABS])
def test_lab_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel must render inline figures
    nb = executed_lab(path)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images, "a lab shows its results as figures"
