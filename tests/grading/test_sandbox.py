"""The grading sandbox, against what student code may try: each test runs a tiny notebook
for real in bubblewrap, with small limits so that the file stays well under two minutes."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from medai_edu.grading import sandbox
from medai_edu.grading.sandbox import (
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    bubblewrap_available,
    run_notebook,
)
from medai_edu.grading.sandbox_runner import TRUNCATION_NOTE

pytestmark = pytest.mark.slow
needs_bwrap = pytest.mark.skipif(not bubblewrap_available(), reason="bubblewrap is not installed")

LIMITS = SandboxLimits(
    cpu_seconds=10,
    memory_mb=1536,
    wall_seconds=30,
    processes=64,
    cell_timeout_seconds=10,
)


def run(*cells: str, limits: SandboxLimits = LIMITS, **kwargs) -> SandboxResult:
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    return run_notebook(nb, limits=limits, **kwargs)


def texts(result: SandboxResult, index: int) -> str:
    """Everything cell ``index`` showed: streams, results and errors."""
    assert result.notebook is not None
    parts = []
    for out in result.notebook.cells[index].outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def errors(result: SandboxResult, index: int) -> list[str]:
    assert result.notebook is not None
    outputs = result.notebook.cells[index].outputs
    return [out.ename for out in outputs if out.output_type == "error"]


@pytest.fixture
def sandbox_uid(monkeypatch):
    """The uid the next run uses (grader running as root), to look for its processes."""
    chosen: list[int] = []
    original = sandbox._choose_sandbox_uid

    def choose() -> int:
        chosen.append(original())
        return chosen[-1]

    monkeypatch.setattr(sandbox, "_choose_sandbox_uid", choose)
    return chosen


def assert_nothing_left(chosen: list[int]) -> None:
    if os.geteuid() == 0:
        assert len(chosen) == 1
        assert sandbox._pids_of_uid(chosen[0]) == []


@needs_bwrap
def test_a_normal_notebook_runs():
    result = run(
        "print(6 * 7)",
        "import os\nprint(os.getcwd() == os.environ['HOME'], os.getuid() != 0)",
        "import numpy as np\nint(np.arange(3).sum())",
    )
    assert result.status == "ok", result.reason
    assert result.reason == ""
    assert texts(result, 0) == "42\n"
    assert texts(result, 1) == "True True\n"
    assert texts(result, 2) == "3"
    assert result.notebook.cells[0].execution_count == 1
    assert 0 < result.seconds < LIMITS.wall_seconds


@needs_bwrap
def test_an_infinite_loop_times_out_and_names_the_cell(sandbox_uid):
    limits = SandboxLimits(cpu_seconds=20, wall_seconds=30, cell_timeout_seconds=3)
    result = run("print('before')", "while True:\n    pass", "print('after')", limits=limits)
    assert result.status == "timeout"
    assert "cell 2 of 3" in result.reason and "while True:" in result.reason
    assert texts(result, 0) == "before\n"
    assert errors(result, 1) == ["CellTimeoutError"]
    assert errors(result, 2) == ["CellNotExecuted"]  # nothing stored can pass for a result
    assert result.seconds < 20
    assert_nothing_left(sandbox_uid)


@needs_bwrap
def test_a_memory_bomb_fails_inside_the_notebook():
    result = run(
        "x = bytearray(10**11)",
        "grow = []\nwhile True:\n    grow.append(bytearray(10**7))",
        "grow = None\nprint('still here')",
    )
    assert result.notebook is not None
    assert result.status in ("ok", "kernel_died"), result.reason
    assert errors(result, 0) == ["MemoryError"]
    if result.status == "ok":
        assert errors(result, 1) == ["MemoryError"]
        assert texts(result, 2) == "still here\n"
    else:
        assert "cell 2 of 3" in result.reason


@needs_bwrap
def test_a_fork_bomb_is_stopped_and_leaves_nothing_behind(sandbox_uid):
    # the guard: never fork without a low process limit as a uid the limit applies to
    bomb = (
        "import os, resource\n"
        "soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)\n"
        "assert os.getuid() != 0 and 0 < soft <= 4096, 'no process limit: not bombing'\n"
        "while True:\n"
        "    os.fork()"
    )
    result = run("print('one')", bomb, "print('three')")
    assert result.notebook is not None
    assert result.status in ("ok", "kernel_died"), result.reason
    assert texts(result, 0) == "one\n"
    assert "not bombing" not in texts(result, 1)
    if result.status == "ok":
        assert "BlockingIOError" in errors(result, 1)
    assert_nothing_left(sandbox_uid)
    pid = os.fork()  # and this machine can still start processes
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0


@needs_bwrap
def test_a_killed_kernel_keeps_earlier_outputs_and_names_the_cell():
    result = run("print('one')", "import os\nos._exit(0)", "print('three')")
    assert result.status == "kernel_died"
    assert "cell 2 of 3" in result.reason and "import os" in result.reason
    assert texts(result, 0) == "one\n"
    assert errors(result, 1) == ["DeadKernelError"]
    assert errors(result, 2) == ["CellNotExecuted"]


@pytest.fixture
def course():
    """A course folder that every user could read, were it not hidden; outside /tmp, which
    the sandbox replaces anyway. And a readable file beside it, not hidden."""
    top = Path(tempfile.mkdtemp(prefix="medai-sandbox-test-", dir="/var/tmp"))
    try:
        (top / "course" / "source").mkdir(parents=True)
        (top / "course" / "source" / "secret.txt").write_text("SOLUTION-c0ffee")
        (top / "course" / "gradebook.db").write_text("GRADEBOOK-c0ffee")
        (top / "gradebook.db").write_text("GRADEBOOK-c0ffee")
        (top / "public.txt").write_text("public")
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


@needs_bwrap
def test_hidden_paths_cannot_be_read(course):
    root = course / "course"
    result = run(
        f"print(open({str(course / 'public.txt')!r}).read())",
        f"print(open({str(root / 'source' / 'secret.txt')!r}).read())",
        f"print(open({str(course / 'gradebook.db')!r}).read())",
        f"print(open({str(root / 'gradebook.db')!r}).read())",
        f"import os\nprint(sorted(os.listdir({str(root)!r})))",
        hidden_paths=[root, course / "gradebook.db", root / "gradebook.db"],
    )
    assert result.status == "ok", result.reason
    assert texts(result, 0) == "public\n"  # the same place, not hidden: readable
    assert errors(result, 1) == ["FileNotFoundError"]
    assert errors(result, 2) == ["PermissionError"]  # a file: /dev/null (nodev) on it
    assert errors(result, 3) == ["FileNotFoundError"]
    assert texts(result, 4) == "[]\n"  # a folder: empty
    everything = "".join(texts(result, i) for i in range(len(result.notebook.cells)))
    assert "c0ffee" not in everything


@needs_bwrap
def test_the_notebook_and_hidden_tests_are_not_on_disk():
    search = (
        "import os, sys\n"
        "marker = 'HIDDEN' + '_TEST_' + 'SOURCE_7f3a9c'\n"
        "notebooks, found = [], []\n"
        "# the Python runtime is shown read-only (also where it lies under /tmp); its package\n"
        "# data (nbgrader's own test notebooks) are not the submission\n"
        "runtime = tuple(os.path.realpath(p) + os.sep for p in {sys.prefix, sys.base_prefix})\n"
        "for top in [os.getcwd(), '/tmp', '/dev/shm', os.path.expanduser('~')]:\n"
        "    for folder, subfolders, names in os.walk(top):\n"
        "        subfolders[:] = [\n"
        "            d for d in subfolders\n"
        "            if not os.path.realpath(os.path.join(folder, d)).startswith(runtime)\n"
        "        ]\n"
        "        for name in names:\n"
        "            path = os.path.join(folder, name)\n"
        "            if name.endswith('.ipynb'):\n"
        "                notebooks.append(path)\n"
        "            try:\n"
        "                with open(path, 'rb') as handle:\n"
        "                    if marker.encode() in handle.read():\n"
        "                        found.append(path)\n"
        "            except OSError:\n"
        "                pass\n"
        "print('notebooks', notebooks, 'found', found)\n"
        "for what in ('environ', 'mem', 'fd/0', 'fd/1'):\n"
        "    try:\n"
        "        open(f'/proc/{os.getppid()}/{what}', 'rb').close()\n"
        "        print(what, 'READABLE')\n"
        "    except OSError as err:\n"
        "        print(what, type(err).__name__)\n"
    )
    hidden_test = "assert 'HIDDEN_TEST_SOURCE_7f3a9c'"
    result = run(search, hidden_test, search)
    assert result.status == "ok", result.reason
    for index in (0, 2):  # before and after the hidden test ran
        shown = texts(result, index)
        assert "notebooks [] found []" in shown
        assert "READABLE" not in shown
        assert shown.count("PermissionError") == 4
    assert result.notebook.cells[1].source == hidden_test  # it did come back, and ran
    assert result.notebook.cells[1].execution_count == 2


@needs_bwrap
def test_writes_stay_in_the_working_directory(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    limits = SandboxLimits(**{**LIMITS.__dict__, "file_mb": 1})
    result = run(
        "open('/work/x', 'w')",
        "open('/etc/x', 'w')",
        "open('/root/x', 'w')",
        "with open('mine.txt', 'w') as f:\n    f.write('ok')\nprint(open('mine.txt').read())",
        "print(open('data.csv').read())",
        "with open('big.bin', 'wb') as f:\n    f.write(b'0' * 2_000_000)",
        files={"data.csv": data},
        limits=limits,
    )
    assert result.status == "ok", result.reason
    for index in (0, 1, 2):
        assert errors(result, index) in (["OSError"], ["PermissionError"]), texts(result, index)
    assert not Path("/work/x").exists() and not Path("/etc/x").exists()
    assert texts(result, 3) == "ok\n"
    assert texts(result, 4) == "a,b\n1,2\n\n"
    assert "File too large" in texts(result, 5)  # RLIMIT_FSIZE: an error, not a crash


@needs_bwrap
def test_no_network_not_even_to_the_graders_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    try:
        attempts = (
            "import socket\n"
            f"for address in [('1.1.1.1', 80), ('127.0.0.1', {port})]:\n"
            "    try:\n"
            "        socket.create_connection(address, timeout=2)\n"
            "        print('CONNECTED', address)\n"
            "    except OSError as err:\n"
            "        print('blocked', type(err).__name__)\n"
            "try:\n"
            "    socket.getaddrinfo('example.com', 80)\n"
            "    print('RESOLVED')\n"
            "except OSError:\n"
            "    print('no dns')"
        )
        result = run(attempts)
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert result.status == "ok", result.reason
    shown = texts(result, 0)
    assert shown.count("blocked") == 2 and "no dns" in shown
    assert "CONNECTED" not in shown and "RESOLVED" not in shown


@needs_bwrap
def test_a_huge_output_is_truncated_and_graded():
    result = run("print('x' * 50_000_000)", "print('after')")
    assert result.status in ("ok", "output_limit"), result.reason
    if result.status == "ok":
        shown = texts(result, 0)
        assert TRUNCATION_NOTE in shown
        assert len(shown) < LIMITS.cell_output_chars + 1000
        assert texts(result, 1) == "after\n"


@needs_bwrap
def test_a_frozen_or_killed_runner_does_not_hang_the_grader(sandbox_uid):
    limits = SandboxLimits(**{**LIMITS.__dict__, "wall_seconds": 10})
    frozen = run("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)", limits=limits)
    assert frozen.status == "timeout" and frozen.notebook is None
    assert frozen.seconds < 20
    assert_nothing_left(sandbox_uid)
    killed = run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", limits=limits)
    assert killed.status == "sandbox_error" and killed.notebook is None
    assert "without a result" in killed.reason


@needs_bwrap
def test_filling_the_disk_is_stopped():
    limits = SandboxLimits(**{**LIMITS.__dict__, "file_mb": 2, "disk_mb": 5})
    fill = (
        "import time\n"
        "for i in range(5):\n"
        "    with open(f'/tmp/fill{i}', 'wb') as f:\n"
        "        f.write(b'0' * 2_000_000)\n"
        "time.sleep(8)"
    )
    result = run(fill, limits=limits)
    assert result.status == "output_limit"
    assert "5 MB" in result.reason


def test_no_bubblewrap_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda *args, **kwargs: None)
    assert not bubblewrap_available()
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        run("print(1)")
    assert issubclass(SandboxUnavailable, RuntimeError)
