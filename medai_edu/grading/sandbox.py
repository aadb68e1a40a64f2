"""Execute one student notebook in a sandbox and return the executed notebook.

:func:`run_notebook` starts, inside bubblewrap (``bwrap``), the small runner
:mod:`medai_edu.grading.sandbox_runner`, sends it the notebook's JSON on stdin and reads the
executed notebook back from its stdout, as one JSON object. The notebook, hidden tests
included, is never written to a file. The runner executes it with nbclient (kernel
``python3`` of this Python environment, errors allowed, a per-cell timeout) in a fresh
working directory that holds only the files the assignment declares. It returns a
:class:`SandboxResult`: the executed notebook (or ``None``), a status and a reason.

Two ways to run, chosen by who the grader is:

* **as a user**: bwrap runs unprivileged in a new user namespace (``--unshare-all``); the
  sandbox has the grader's uid, so it can read what the grader can, except the hidden paths;
  the process limit counts the grader's other processes too.
* **as root** (CI, a grading server): a uid of its own per run, at random above the usual
  account and container ranges (:func:`_choose_sandbox_uid`), so that ``RLIMIT_NPROC``
  applies (it never applies to uid 0) and parallel runs cannot starve each other. bwrap then
  runs as root *without* a user namespace, keeping only CAP_SETUID and CAP_SETGID, and the
  runner drops to that uid for good (no capability left, ``no_new_privs``) before it reads
  the notebook. Running bwrap unprivileged as that uid does not work where Python lives
  under a folder others may not enter (pyenv under ``/root``): bwrap could not reach it to
  bind it. As root it covers that folder with an empty tmpfs and binds the Python
  installation back in place.

What the sandbox guarantees, for everything student code runs (kernel and its children):

* **Files.** The whole file system is read-only, except the working directory (also
  ``$HOME``), a private ``/tmp`` and ``/dev/shm``: fresh folders on the grader's disk,
  removed afterwards. The hidden paths are covered by an empty read-only tmpfs, or, for a
  file, by ``/dev/null`` (a ``nodev`` mount: opening it raises ``PermissionError``). By
  default the user's home directory is hidden; the caller passes the course directory, the
  gradebook and ``.git``; ``/run`` is always hidden. The Python environment and this package
  stay visible, even under a hidden path.
* **Other users' files.** As root, the sandbox reads only what every user may read.
* **The notebook and the hidden tests.** Not on disk (IPython's history database is off);
  the runner that holds them is non-dumpable, so the kernel, its child, cannot read its
  memory, environment or file descriptors through /proc; the result goes out through a
  descriptor the kernel does not have, so printed text cannot forge it. A test cell's source
  reaches the kernel only when that cell runs.
* **No network.** A new network namespace with only a loopback device: no connection to the
  internet nor to a server on the grader's machine (its 127.0.0.1 is another namespace).
* **Processes.** New PID, IPC, UTS and cgroup namespaces: the sandbox sees and signals only
  its own processes. Everything in it dies when the runner ends, when the grader stops it or
  when the grader dies (``--die-with-parent``, and the PID namespace dies with its init);
  as root, leftovers of the sandbox's uid are killed after each run.
* **Limits** (:class:`SandboxLimits`, set with ``setrlimit`` in the ``preexec_fn`` of the
  bwrap process, so inherited by every process in the sandbox): CPU seconds and address
  space per process, size of a written file (an ``OSError``, not a crash), processes and
  threads together (a fork bomb stops at ``processes``), a per-cell and a whole-notebook
  time limit, the grader's wall-clock limit (the whole process group is killed), the size of
  the outputs (a huge print is cut, with the note ``[output truncated by the grader]``) and
  the disk space the sandbox fills (checked every second).
* **Statuses.** A cell that runs too long, a dead kernel (``os._exit``, a crash, a kill for
  memory) or a runaway notebook end the run, not the grader: the notebook comes back with
  the outputs gathered so far, the reason names the cell that was running (numbered from 1
  over all cells, its grade_id, its first line), that cell gets an error output, and every
  later code cell an error output ``CellNotExecuted``. Outputs stored in the submission are
  cleared first, so nothing stored can pass for a result. Nothing student code does makes
  :func:`run_notebook` raise.

What it does **not** guarantee:

* Integrity of the kernel. Student code and the test cells share one Python process: a
  student can rebind builtins, numpy functions or ``AssertionError``, patch the test
  helpers, silence exceptions, print fake results, or fork a process that answers in the
  kernel's place. That is why the grader decides tests outside the kernel
  (:mod:`medai_edu.grading.verdict`): the sandbox returns the checks' records and probes
  (``checks``), the execute replies (``replies``) and the audit's findings beside the
  notebook, taken out of the kernel's messages before anything is stored.
* Secrecy of a test cell once it has run: later cells can read it (``In``, ``_ih``).
* Anything outside the hidden paths that every user may read (``/etc/passwd``, the
  repository's working tree, the Python environment, ``/sys``): hide what matters.
* Unix-domain sockets on the file system that every user may write are reachable (a network
  namespace does not cover them); most live under ``/run``, which is hidden, not all.
* Fair CPU sharing between parallel runs, a GPU, or a limit on resident memory:
  ``RLIMIT_AS`` limits the address space of each process, which makes a memory bomb fail
  fast, but several processes may together use more.
* A result when student code stops the runner (its parent, same uid): ``SIGKILL`` gives
  ``"sandbox_error"``, ``SIGSTOP`` the wall-clock ``"timeout"``, both without a notebook;
  grade them as failed.

Requirements: Linux, bubblewrap, and either root or unprivileged user namespaces; the Python
environment's files readable by other users when the grader runs as root (they usually are,
even under ``/root/.pyenv``; only the folders leading there may be closed).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from medai_edu.grading.sandbox_runner import MAX_CHECK_BYTES, STARTED_MARKER  # stdlib only
from medai_edu.sandboxing import (
    BWRAP,
    INSTALL_HINT,
    REPLACED,
    _first_blocked,
    folders_to,
    is_under,
    link_args,
    links_in_tmp,
    mount_args,
    python_executable,
    runtime_paths,
)

__all__ = [
    "STATUSES",
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "bubblewrap_available",
    "python_executable",
    "run_notebook",
]

#: Every status :func:`run_notebook` may return. ``"memory"`` is reserved: a kernel killed
#: for memory reports ``"kernel_died"`` (the sandbox cannot tell that cause from others);
#: a refused allocation is a ``MemoryError`` output in an ``"ok"`` run.
STATUSES = ("ok", "timeout", "kernel_died", "memory", "output_limit", "sandbox_error")

RUNNER_MODULE = "medai_edu.grading.sandbox_runner"
MIB = 1024 * 1024

#: Always hidden, whatever the caller passes: host sockets live there.
ALWAYS_HIDDEN = ("/run",)
#: Unprivileged uids for sandboxes when the grader runs as root: one per run, at random,
#: above the usual account and container ranges.
UID_BASE = 0x70000000
UID_SPAN = 1 << 20


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine (no bubblewrap, no user namespaces, ...)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one notebook run. Each process in the sandbox gets ``cpu_seconds`` and
    ``memory_mb`` of its own; ``processes`` counts processes and threads together.

    ``memory_mb`` is address space (``RLIMIT_AS``), not resident memory: torch reserves far
    more than it touches. Measured peaks (``VmPeak``, torch 2.13 CPU, one BLAS/OpenMP thread
    and ``MALLOC_ARENA_MAX=2``, both set in the sandbox): numpy + torch in plain Python
    0.57 GiB; in the sandbox's kernel, numpy + torch training a small MLP 0.82 GiB, adding
    matplotlib, pandas and scikit-learn 1.04 GiB, adding monai, transformers, peft and
    captum 1.19 GiB; the runner 0.22 GiB. torch still imports under 768 MiB. 3 GiB leaves a
    student about 2 GiB for data and models, and a memory bomb fails within a second.
    """

    cpu_seconds: int = 120
    memory_mb: int = 3072
    wall_seconds: int = 300
    processes: int = 256
    output_mb: int = 2
    file_mb: int = 64
    cell_timeout_seconds: int = 60
    #: Disk space the sandbox may fill (working directory, /tmp, /dev/shm together).
    disk_mb: int = 1024
    #: Characters of text output kept per cell (stream text, text/plain, tracebacks).
    cell_output_chars: int = 100_000

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"SandboxLimits.{name} must be a positive int, not {value!r}")


@dataclass
class SandboxResult:
    """What came back: the executed notebook (``None`` when nothing usable came back), one
    of :data:`STATUSES`, a reason for a person (empty when ``"ok"``) and the wall time."""

    notebook: nbformat.NotebookNode | None
    status: str
    reason: str
    seconds: float
    #: cell index -> the checks' records or probes published while it ran (JSON strings),
    #: taken out of the outputs (see medai_edu.grading.verdict)
    checks: dict[int, list[str]] = field(default_factory=dict)
    #: True when the notebook published more of them than the runner keeps
    check_overflow: bool = False
    #: cell index -> the kernel's execute-reply status ("ok", "error", "aborted")
    replies: dict[int, str] = field(default_factory=dict)
    #: the audit cell's findings (with ``audit=True``), JSON strings
    audit: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def bubblewrap_available() -> bool:
    """Whether the ``bwrap`` executable is on PATH (not whether namespaces work)."""
    return shutil.which(BWRAP) is not None


# --------------------------------------------------------------------------- processes


def _proc_status(pid: str) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as handle:
            return dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return {}


def _pids_of_uid(uid: int) -> list[int]:
    """Processes whose real uid is ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            uids = _proc_status(entry).get("Uid", "").split()
            if uids and int(uids[0]) == uid:
                pids.append(int(entry))
    return pids


def _tasks_of_uid(uid: int) -> int:
    """Processes and threads of ``uid``: what RLIMIT_NPROC counts."""
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            status = _proc_status(entry)
            uids = status.get("Uid", "").split()
            if uids and int(uids[0]) == uid:
                total += int(status.get("Threads", "1").strip() or 1)
    return total


def _choose_sandbox_uid() -> int:
    """A uid no process and no account uses: sandboxes running in parallel each count
    (RLIMIT_NPROC) and see only their own processes, so one fork bomb cannot starve the
    others, and stray processes can be found and killed by uid."""
    import pwd

    in_use = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            uids = _proc_status(entry).get("Uid", "").split()
            if uids:
                in_use.add(int(uids[0]))
    for _ in range(100):
        uid = UID_BASE + secrets.randbelow(UID_SPAN)
        if uid in in_use:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise SandboxUnavailable("could not find a free uid for the sandbox")


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (a sandbox uid of this run: ours alone)."""
    for _ in range(20):
        pids = _pids_of_uid(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


# --------------------------------------------------------------------------- set-up


def _sandbox_env(work: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The runner's (and kernel's) whole environment: nothing of the grader's leaks in."""
    bin_dir = os.path.dirname(python_executable())
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(work),
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "SHELL": "/bin/sh",
        "TERM": "dumb",
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_CONFIG_DIR": str(work / ".jupyter"),
        "JUPYTER_DATA_DIR": str(work / ".local" / "share" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(work / ".local" / "share" / "jupyter" / "runtime"),
        "IPYTHONDIR": str(work / ".ipython"),
        "MPLCONFIGDIR": str(work / ".config" / "matplotlib"),
        "XDG_CONFIG_HOME": str(work / ".config"),
        "XDG_CACHE_HOME": str(work / ".cache"),
        "XDG_DATA_HOME": str(work / ".local" / "share"),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # one thread each, as graders run notebooks in parallel; and a predictable
        # address space (each thread's malloc arena reserves 64 MiB of it)
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        # no network: fail at once instead of retrying downloads
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    env.update(extra or {})
    return env


def _inside_private_tmp(work: Path, runtime: list[str]) -> list[str]:
    """Bind the working directory, and a Python environment that lives under /tmp, into
    the private /tmp, with the folders leading to them traversable, and the links under
    /tmp that lead to them made again."""
    args: list[str] = []
    made: set[str] = set()
    shown: list[str] = []
    for path, option in [(str(work), "--bind")] + [(p, "--ro-bind") for p in sorted(runtime)]:
        if any(is_under(path, p) for p in shown):
            continue
        shown.append(path)
        args += folders_to(path, "/tmp", made)
        args += [option, path, path]
    return args + link_args(links_in_tmp(), made, shown)


def _hidden_list(hidden_paths: Iterable[str | os.PathLike[str]] | None) -> list[str]:
    chosen = [Path.home()] if hidden_paths is None else list(hidden_paths)
    result: list[str] = []
    for raw in [*chosen, *ALWAYS_HIDDEN]:
        path = os.path.realpath(raw)  # through a symlink, the covered target is reached
        if path == "/":
            raise ValueError("cannot hide the root directory")
        if any(is_under(path, r) for r in REPLACED) or path in result:
            continue
        result.append(path)
    return result


def _copy_files(files: Mapping[str, str | os.PathLike[str]] | None, work: Path) -> None:
    for name, source in (files or {}).items():
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"declared file {name!r} must be a relative path inside the folder")
        source = Path(source)
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid)
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def _rlimits(limits: SandboxLimits, dropped: bool) -> list[tuple[int, tuple[int, int]]]:
    if dropped:
        nproc = limits.processes  # a fresh uid: nothing of it runs yet
    else:
        nproc = _tasks_of_uid(os.getuid()) + limits.processes
    wanted = {
        resource.RLIMIT_CPU: (limits.cpu_seconds, limits.cpu_seconds + 5),
        resource.RLIMIT_AS: (limits.memory_mb * MIB,) * 2,
        resource.RLIMIT_FSIZE: (limits.file_mb * MIB,) * 2,
        resource.RLIMIT_NPROC: (nproc, nproc),
        resource.RLIMIT_CORE: (0, 0),
    }
    result = []
    for which, (soft, hard) in wanted.items():
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        result.append((which, (soft, hard)))
    return result


def _preexec(rlimits: list[tuple[int, tuple[int, int]]]):
    def set_limits() -> None:  # in the child, after the uid change, before exec'ing bwrap
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too big a file: OSError, not death
        for which, value in rlimits:
            resource.setrlimit(which, value)

    return set_limits


def _disk_usage(roots: Iterable[Path], cap_entries: int = 200_000) -> int:
    """Bytes allocated under ``roots``; a huge number of entries counts as too much."""
    total, seen = 0, 0
    stack = [str(r) for r in roots]
    while stack:
        folder = stack.pop()
        try:
            if not os.access(folder, os.R_OK | os.X_OK):
                os.chmod(folder, 0o700)  # as a user, the student's folders are ours too
            with os.scandir(folder) as entries:
                for entry in entries:
                    seen += 1
                    if seen > cap_entries:
                        return 1 << 62
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return total


# --------------------------------------------------------------------------- running


class _Pipes:
    """Feed stdin; read stdout up to a limit (then drain); keep stderr's head and tail."""

    def __init__(self, proc: subprocess.Popen, payload: bytes, stdout_limit: int):
        self.stdout = bytearray()
        self.overflow = False
        self.err_head = bytearray()
        self.err_tail = bytearray()
        self._limit = stdout_limit
        self._threads = [
            threading.Thread(target=self._feed, args=(proc.stdin, payload), daemon=True),
            threading.Thread(target=self._read_out, args=(proc.stdout,), daemon=True),
            threading.Thread(target=self._read_err, args=(proc.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _feed(pipe, payload: bytes) -> None:
        try:
            pipe.write(payload)
        except (BrokenPipeError, OSError, ValueError):
            pass
        finally:
            try:
                pipe.close()
            except OSError:
                pass

    def _read_out(self, pipe) -> None:
        while chunk := pipe.read1(1 << 16):
            if self.overflow:
                continue
            if len(self.stdout) + len(chunk) > self._limit:
                self.overflow = True
                self.stdout.clear()
            else:
                self.stdout += chunk

    def _read_err(self, pipe) -> None:
        while chunk := pipe.read1(1 << 16):
            room = 8192 - len(self.err_head)
            if room > 0:
                self.err_head += chunk[:room]
            self.err_tail = (self.err_tail + chunk)[-8192:]

    def join(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))

    def stderr_text(self) -> str:
        head = self.err_head.decode("utf-8", "replace")
        tail = self.err_tail.decode("utf-8", "replace")
        if len(self.err_head) < 8192 or head.endswith(tail):
            return head
        return f"{head}\n[...]\n{tail}"


def run_notebook(
    nb: nbformat.NotebookNode | Mapping[str, Any],
    *,
    files: Mapping[str, str | os.PathLike[str]] | None = None,
    limits: SandboxLimits | None = None,
    hidden_paths: Iterable[str | os.PathLike[str]] | None = None,
    env: Mapping[str, str] | None = None,
    audit: bool = False,
) -> SandboxResult:
    """Execute ``nb`` in a sandbox and return the executed notebook.

    ``files`` maps a name in the working directory (``"data.csv"``, ``"data/x.npy"``) to the
    file or folder copied there. ``hidden_paths`` (default: the user's home directory) are
    covered inside the sandbox; pass the course directory, the gradebook and ``.git``.
    ``env`` adds variables to the sandbox's otherwise minimal environment. With ``audit``,
    a last cell (removed from the result) reports signs of tampering in the kernel.

    Raises :class:`SandboxUnavailable` when the sandbox cannot run here (no bubblewrap, no
    user namespaces, a Python environment other users cannot read), and ``ValueError`` /
    ``OSError`` for bad arguments (a declared file that does not exist); never for anything
    the notebook does.
    """
    limits = limits or SandboxLimits()
    bwrap = shutil.which(BWRAP)
    if bwrap is None:
        raise SandboxUnavailable(INSTALL_HINT)
    payload = json.dumps(nb).encode("utf-8")
    hidden = _hidden_list(hidden_paths)
    dropped = os.geteuid() == 0
    uid = _choose_sandbox_uid() if dropped else None
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="medai-grade-", ignore_cleanup_errors=True) as tmp:
        work, private_tmp, shm = _prepare_root(Path(tmp).resolve(), files, uid)
        sandbox_env = _sandbox_env(work, env)
        cmd = _bwrap_command(bwrap, (work, private_tmp, shm), hidden, uid, limits, audit)
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=sandbox_env,
                cwd="/",
                start_new_session=True,
                preexec_fn=_preexec(_rlimits(limits, dropped)),
            )
        except (OSError, subprocess.SubprocessError) as err:
            raise SandboxUnavailable(f"could not start bubblewrap ({bwrap}): {err}") from err
        # the notebook, its outputs and the checks' records or probes (capped by the runner)
        pipes = _Pipes(proc, payload, len(payload) + limits.output_mb * MIB + MAX_CHECK_BYTES)
        try:
            stopped = _watch(proc, start + limits.wall_seconds, [work, private_tmp, shm], limits)
        finally:
            _reap(proc, pipes, uid)
        seconds = time.monotonic() - start
        if stopped == "timeout":
            reason = f"stopped after the wall-clock limit of {limits.wall_seconds} s"
            return SandboxResult(None, "timeout", reason, seconds)
        if stopped == "disk":
            reason = f"stopped: the notebook wrote more than {limits.disk_mb} MB of files"
            return SandboxResult(None, "output_limit", reason, seconds)
    return _parse(pipes, proc.returncode, limits, seconds)


def _prepare_root(
    root: Path, files: Mapping[str, str | os.PathLike[str]] | None, uid: int | None
) -> tuple[Path, Path, Path]:
    """Make the sandbox's ``work``, ``tmp`` and ``shm`` folders under ``root``, copy the
    declared files into ``work``, and give them to ``uid`` (when the sandbox drops to one)."""
    work, private_tmp, shm = root / "work", root / "tmp", root / "shm"
    for folder in (work, private_tmp, shm):
        folder.mkdir()
    _copy_files(files, work)
    if uid is not None:
        _chown_tree(root, uid)
    os.chmod(root, 0o700)
    if _first_blocked(str(work), uid) is not None:
        raise SandboxUnavailable(
            f"the sandbox's uid cannot reach its working directory {work}: set TMPDIR "
            "to a folder every user may traverse (like /tmp)"
        )
    return work, private_tmp, shm


def _namespace_args(uid: int | None) -> tuple[list[str], list[str]]:
    """bubblewrap's namespace options, and the runner's ``--uid`` option when it drops."""
    if uid is None:
        return ["--unshare-all"], []
    # bwrap as root, no user namespace: the runner drops to ``uid`` itself, so the kernel
    # runs as a real unprivileged uid that RLIMIT_NPROC counts
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    namespaces += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
    namespaces += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return namespaces, ["--uid", str(uid)]


def _bwrap_command(
    bwrap: str,
    folders: tuple[Path, Path, Path],
    hidden: list[str],
    uid: int | None,
    limits: SandboxLimits,
    audit: bool,
) -> list[str]:
    """The bubblewrap command line that runs the sandbox runner on ``folders``
    (``work``, ``tmp``, ``shm``), with ``hidden`` covered and the rest of / read-only."""
    work, private_tmp, shm = folders
    runtime = runtime_paths()
    mounts, read_only = mount_args(hidden, runtime, uid)
    budget = limits.wall_seconds - max(5, limits.wall_seconds // 10)
    namespaces, drop = _namespace_args(uid)
    return [
        bwrap,
        *namespaces,
        "--die-with-parent",
        "--new-session",
        *("--hostname", "sandbox"),
        *("--ro-bind", "/", "/"),
        *mounts,
        *("--dev", "/dev"),
        *("--proc", "/proc"),
        *("--bind", str(private_tmp), "/tmp"),
        *("--bind", str(shm), "/dev/shm"),
        *_inside_private_tmp(work, [p for p in runtime if is_under(p, "/tmp")]),
        *[arg for path in [*read_only, "/dev"] for arg in ("--remount-ro", path)],
        *("--chdir", str(work)),
        "--",
        *(python_executable(), "-I", "-m", RUNNER_MODULE),
        *drop,
        *("--cell-timeout", str(limits.cell_timeout_seconds)),
        *("--time-budget", str(max(1, budget))),
        *("--max-text", str(limits.cell_output_chars)),
        *("--max-output-bytes", str(max(64 * 1024, limits.output_mb * MIB - 64 * 1024))),
        *(["--audit"] if audit else []),
    ]


def _watch(proc: subprocess.Popen, deadline: float, roots: list[Path], limits) -> str:
    """Wait for the sandbox to end: ``""``, or ``"timeout"`` past ``deadline`` (monotonic
    seconds), or ``"disk"`` once ``roots`` hold more than the disk limit (checked each second).
    """
    next_disk_check = time.monotonic() + 1
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        try:
            proc.wait(timeout=min(0.25, remaining))
            return ""
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= next_disk_check:
            next_disk_check = time.monotonic() + 1
            if _disk_usage(roots) > limits.disk_mb * MIB:
                return "disk"


def _reap(proc: subprocess.Popen, pipes: _Pipes, uid: int | None) -> None:
    """Kill whatever of the sandbox is left, collect its output, end the uid's processes."""
    if proc.returncode is None:  # not reaped yet: the group id is still ours
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    pipes.join(timeout=10)
    if uid is not None:
        _kill_uid(uid)


def _parse(pipes: _Pipes, returncode: int, limits: SandboxLimits, seconds: float):
    stderr = pipes.stderr_text()
    if STARTED_MARKER not in pipes.err_head.decode("utf-8", "replace"):
        raise SandboxUnavailable(
            f"bubblewrap could not start the sandbox (exit code {returncode}): "
            f"{stderr.strip()[-2000:]}\nCheck that unprivileged user namespaces work "
            "(`bwrap --ro-bind / / true`) and that other users may read the Python environment."
        )
    if pipes.overflow:
        reason = f"the executed notebook is larger than the {limits.output_mb} MB output limit"
        return SandboxResult(None, "output_limit", reason, seconds)
    try:
        envelope = json.loads(bytes(pipes.stdout))
        status = envelope["status"]
        reason = str(envelope.get("reason") or "")
        raw = envelope.get("notebook")
        notebook = nbformat.from_dict(raw) if raw is not None else None
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
    except (ValueError, KeyError, TypeError) as err:
        reason = (
            f"the sandbox runner ended (exit code {returncode}) without a result ({err}); "
            f"student code may have killed it. stderr:\n{stderr[-2000:]}"
        )
        return SandboxResult(None, "sandbox_error", reason, seconds)
    result = SandboxResult(notebook, status, reason, seconds)
    try:
        result.checks = {int(k): [str(m) for m in v] for k, v in envelope["checks"].items()}
        result.replies = {int(k): str(v) for k, v in envelope["replies"].items()}
        result.audit = [str(a) for a in envelope["audit"]]
        result.check_overflow = bool(envelope["check_overflow"])
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # a run that ended early has none
    return result
