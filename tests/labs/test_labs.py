"""Every lab runs top to bottom in a fresh kernel, with no error output.

Time budgets are measured by the benchmark ``labs.execution``
(``benchmarks/run.py --only labs``), not here.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize("path", LABS, ids=[str(p.relative_to(ROOT / "labs")) for p in LABS])
def test_lab_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel must render inline figures
    nb = run_lab(path)
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
