"""A throw-away copy of the course with an assignment released, as an instructor has it
after ``nbgrader generate_assignment``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NBGRADER = str(BIN / "nbgrader")
#: nbgrader runs `alembic` from PATH to set up the gradebook.
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def release(course: Path, assignment: str) -> None:
    subprocess.run(
        [
            NBGRADER,
            "generate_assignment",
            assignment,
            "--force",
            f"--CourseDirectory.root={course}",
        ],
        cwd=course,
        env=ENV,
        check=True,
        capture_output=True,
        timeout=300,
    )


def copy_course(target: Path, *assignments: str) -> Path:
    ignore = shutil.ignore_patterns(
        "gradebook.db", "release", "submitted", "autograded", "feedback"
    )
    shutil.copytree(ROOT / "autograder", target, ignore=ignore)
    for assignment in assignments:
        release(target, assignment)
    return target
