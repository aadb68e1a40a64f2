"""Quality gates: lint, formatting, and notebooks stored without outputs."""

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", "_build", ".git", ".ipynb_checkpoints", "node_modules"}


def repository_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in root.rglob("*.ipynb") if not SKIP_DIRS & set(p.parts))


def notebook_problems(path: Path) -> list[str]:
    """What is stored in a notebook that should not be: outputs and execution counts."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any parse failure is the finding
        return [f"unreadable: {err}"]
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has an execution count")
    return problems


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_ruff_check_passes():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_repository_notebooks_are_stored_without_outputs():
    problems = {str(p.relative_to(ROOT)): notebook_problems(p) for p in repository_notebooks()}
    assert not {name: found for name, found in problems.items() if found}


def test_the_notebook_check_catches_outputs(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# lab"), nbformat.v4.new_code_cell("1 + 1")]
    clean = tmp_path / "clean.ipynb"
    nbformat.write(nb, clean)
    assert notebook_problems(clean) == []
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"})]
    nb.cells[1].execution_count = 1
    dirty = tmp_path / "dirty.ipynb"
    nbformat.write(nb, dirty)
    assert notebook_problems(dirty) == ["cell 1 has outputs", "cell 1 has an execution count"]
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert notebook_problems(broken)[0].startswith("unreadable")


def test_ci_runs_make_test_and_nothing_else():
    commands = [
        line.strip()
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "make test"
    assert all(c.startswith(("set ", "cd ")) for c in commands[:-1])
