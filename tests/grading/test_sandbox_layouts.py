"""The grading sandbox and the hub's sandboxed servers work wherever the course, the
repository and the Python environment live: under /tmp (where a clone in CI or pytest's
``tmp_path`` lies, behind folders only their owner may enter), under /var/tmp, in a path
with spaces, through a symbolic link, and with a read-only Python environment.

Each layout is a real one: a virtual environment made in it (its site-packages reach this
environment's packages through a ``.pth`` file) and a copy of ``medai_edu`` in it, so that the
grader, the sandbox runner and the kernel all run from the layout. A last test clones the
repository into a fresh temporary folder and grades one sample submission there.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from medai_edu.grading.sandbox import bubblewrap_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Run by the layout's Python: one sandboxed notebook that reports what it could see and do.
GRADING_PROBE = r"""
import json, sys
from nbformat.v4 import new_code_cell, new_notebook
from medai_edu.grading.sandbox import SandboxLimits, run_notebook

course, secret = sys.argv[1], sys.argv[2]
cell = f'''
import json, os, sys
import numpy, medai_edu
seen = {{"package": medai_edu.__file__, "prefix": sys.prefix}}
try:
    open({secret!r}).read()
    seen["secret"] = "read"
except OSError as error:
    seen["secret"] = type(error).__name__
try:
    open(os.path.join(sys.prefix, "planted.txt"), "w").write("x")
    seen["runtime_write"] = "written"
except OSError as error:
    seen["runtime_write"] = type(error).__name__
print(json.dumps(seen))
'''
limits = SandboxLimits(wall_seconds=60, cell_timeout_seconds=30, cpu_seconds=30)
result = run_notebook(new_notebook(cells=[new_code_cell(cell)]), limits=limits,
                      hidden_paths=[course])
out = result.notebook.cells[0].outputs if result.notebook else []
text = "".join(o.get("text", "") for o in out if o.output_type == "stream")
print(json.dumps({"status": result.status, "reason": result.reason, "seen": text}))
"""

# Run by the layout's Python as root: the hub's sandbox around a tiny "server".
HUB_PROBE = r"""
import json, os, subprocess, sys, types
from medai_edu.grading.sandbox import python_executable
from medai_edu.hub.spawner import CourseSpawner

state, course = sys.argv[1], sys.argv[2]
user = types.SimpleNamespace(name="student1", id=3, admin=False, url="/user/student1/")
spawner = CourseSpawner(user=user, state_root=state, course_source=course, labs_source="")
spawner.prepare_home()
(spawner.home / "mine.txt").write_text("my work")
(spawner.home.parent / "student2").mkdir()  # another student's home
(spawner.home.parent / "student2" / "theirs.txt").write_text("their work")
open(os.path.join(state, "jupyterhub.sqlite"), "w").write("the hub's database")
os.chown(spawner.home / "mine.txt", spawner.server_uid, spawner.server_uid)
server = '''
import json, os, sys, medai_edu
seen = {"package": medai_edu.__file__, "uid": os.getuid(), "mine": open("mine.txt").read()}
homes = os.path.join(sys.argv[1], "homes")
for name, path in [("state", sys.argv[1]), ("homes", homes), ("course", sys.argv[2])]:
    try:
        seen[name] = sorted(os.listdir(path))
    except OSError as error:
        seen[name] = type(error).__name__
print(json.dumps(seen))
'''
command = spawner.sandbox_command() + [python_executable(), "-c", server, state, course]
env = {"HOME": str(spawner.home), "PATH": os.environ["PATH"]}
done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                      preexec_fn=spawner.make_preexec_fn("student1"), cwd="/")
print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-2000:],
                  "uid": spawner.server_uid}))
"""


def make_layout(project: Path, package_root: Path = ROOT) -> Path:
    """A virtual environment in ``project/venv`` whose ``medai_edu`` is a copy in
    ``project/src`` (or ``package_root``'s when that is a clone); returns its python."""
    project.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(project / "venv")],
        check=True,
        timeout=120,
    )
    site = next((project / "venv" / "lib").glob("python3*/site-packages"))
    if package_root == ROOT:
        source = project / "src"
        shutil.copytree(
            ROOT / "medai_edu",
            source / "medai_edu",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    else:
        source = package_root
    ours = sysconfig.get_paths()["purelib"]
    # the layout's package first, then this environment's third-party packages
    (site / "00-layout.pth").write_text(
        f"import sys; sys.path.insert(0, {str(source)!r})\nimport site; site.addsitedir({ours!r})\n"
    )
    return project / "venv" / "bin" / "python"


def run_probe(python: Path, script: str, *args: str, timeout: int = 120) -> dict:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    # the layout's environment has no data files of its own (nbconvert's templates)
    env["JUPYTER_PATH"] = str(BIN.parent / "share" / "jupyter")
    done = subprocess.run(
        [str(python), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _private_var_tmp(request) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="medai layout ", dir="/var/tmp"))  # mode 0700
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    return folder


@pytest.fixture(params=["tmp", "var-tmp", "spaces", "symlink", "read-only"])
def layout(request, tmp_path) -> tuple[Path, Path]:
    """(the python to run, the course folder) of one layout."""
    kind = request.param
    if kind == "tmp":  # pytest's tmp_path: under /tmp, behind a folder only root may enter
        project = tmp_path / "project"
    elif kind == "var-tmp":
        project = _private_var_tmp(request) / "project"
    elif kind == "spaces":
        project = tmp_path / "my courses" / "term 1 (autumn)"
    elif kind == "symlink":  # the real folder in /var/tmp, reached through a link in /tmp
        real = _private_var_tmp(request) / "real"
        real.mkdir()
        (tmp_path / "linked").symlink_to(real, target_is_directory=True)
        project = tmp_path / "linked" / "project"
    else:
        project = tmp_path / "project"
    python = make_layout(project)
    if kind == "read-only":  # root-owned when we are root, and nobody may write
        for folder, dirs, files in os.walk(project):
            for name in [*dirs, *files]:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode & ~0o222)
        os.chmod(project, 0o555)
        request.addfinalizer(lambda: _make_writable(project))
    course = project.parent / "course"
    course.mkdir(exist_ok=True)
    (course / "solutions.txt").write_text("the answers")
    return python, course


def _make_writable(root: Path) -> None:
    for folder, dirs, _ in os.walk(root):
        os.chmod(folder, os.stat(folder).st_mode | stat.S_IWUSR)
        for name in dirs:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)


def test_a_notebook_is_sandboxed_in_every_layout(layout):
    python, course = layout
    report = run_probe(python, GRADING_PROBE, str(course), str(course / "solutions.txt"))
    assert report["status"] == "ok", report["reason"]
    seen = json.loads(report["seen"])
    package = Path(seen["package"]).resolve()
    assert package == (python.parents[2] / "src" / "medai_edu" / "__init__.py").resolve()
    assert seen["secret"] in ("FileNotFoundError", "PermissionError")
    assert seen["runtime_write"] in ("OSError", "PermissionError")  # read-only file system


@pytest.mark.skipif(os.geteuid() != 0, reason="the hub sandboxes servers only as root")
def test_a_hub_server_is_sandboxed_in_every_layout(layout):
    python, course = layout
    (course / "source").mkdir(exist_ok=True)
    state = course.parent / "hub state"
    report = run_probe(python, HUB_PROBE, str(state), str(course))
    assert report["rc"] == 0, report["stderr"]
    seen = json.loads(report["stdout"].strip().splitlines()[-1])
    package = Path(seen["package"]).resolve()
    assert package == (python.parents[2] / "src" / "medai_edu" / "__init__.py").resolve()
    assert seen["uid"] == report["uid"] and seen["mine"] == "my work"
    # only the folders leading to the student's own home and the exchange, bound back
    assert seen["state"] in (["exchange", "homes"], ["homes"])  # no database
    assert seen["homes"] == ["student1"]
    assert seen["course"] in ([], "FileNotFoundError", "PermissionError")


# Run by the clone's Python: release the assignment, submit the sample "alice", grade it.
GRADE_IN_CLONE = r"""
import json, shutil, sys
from pathlib import Path
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader
from medai_edu.grading.autograde import grade_assignment

course = Path(sys.argv[1])
config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
assert NbGraderAPI(config=config).generate_assignment("data-and-metrics")["success"]
submitted = course / "submitted" / "alice" / "data-and-metrics"
submitted.mkdir(parents=True)
shutil.copy(course / "samples" / "data-and-metrics" / "alice" / "data-and-metrics.ipynb",
            submitted)
[result] = grade_assignment(course, "data-and-metrics", jobs=1, progress=False)
print(json.dumps({"score": result.score, "status": result.status, "reason": result.reason}))
"""


def test_a_fresh_clone_in_a_temporary_folder_grades_in_its_sandbox(tmp_path):
    """What CI does (a clone somewhere under /tmp), with the clone's own code and course."""
    clone = tmp_path / "fresh clone" / "medai-edu"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        timeout=300,
    )
    python = make_layout(tmp_path / "fresh clone" / "env", package_root=clone)
    report = run_probe(python, GRADE_IN_CLONE, str(clone / "autograder"), timeout=600)
    assert report["status"] == "ok", report["reason"]
    assert report["score"] == 13.0
