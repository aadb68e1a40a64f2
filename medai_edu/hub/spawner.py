"""The course's spawner for a single-machine JupyterHub: one process per user, in its own home.

:class:`CourseSpawner` is JupyterHub's ``LocalProcessSpawner`` with what a course needs and a
plain machine lacks (no system account per student):

* **a home per user** under ``homes_root``, with the course's labs and real samples copied in
  at each start, never over a student's own copy (:func:`copy_missing`);
* **its own uid and sandbox** when the hub runs as root: ``uid_base + the hub's user id``,
  owning the home (mode 0700), inside bubblewrap (see :meth:`CourseSpawner.sandbox_command`),
  so a student's server and kernels see neither other homes nor the hub's database and
  tokens nor the course's solutions. Run as an ordinary user, every server shares that
  user's uid and view: fine for one person trying the hub, not for a class;
* **limits**: ``mem_limit`` caps each process's address space (RLIMIT_AS) and ``cpu_limit``
  pins the server and its kernels to that many cores (CPU affinity). On Kubernetes the chart
  enforces both with cgroups instead (``labs/hub/k8s/values.yaml``);
* **roles**: instructors (hub admins) get nbgrader's formgrader and assignment creation and a
  copy of the course; students get the assignment list and validation only. The roles'
  Jupyter configuration is read-only, in ``labs/hub/jupyter-config/<role>/``.
"""

from __future__ import annotations

import math
import os
import resource
import shlex
import shutil
from pathlib import Path
from subprocess import Popen

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from traitlets import Integer, List, Unicode, default

from medai_edu.sandboxing import (
    BWRAP,
    INSTALL_HINT,
    folders_to,
    is_under,
    link_args,
    links_in_tmp,
    mount_args,
    python_executable,
    runtime_paths,
)

# nbgrader's folders that belong to one instructor's working copy, not to the course source
COURSE_SKIP = ("release", "submitted", "autograded", "feedback", "gradebook.db", "__pycache__")


def copy_missing(source: Path, home: Path, into: str, skip: tuple[str, ...] = ()) -> list[Path]:
    """Copy the files of ``source`` that ``home / into`` lacks; never overwrite. Returns the
    folders and files it made.

    The hub runs this as root in a folder the student owns, so it never writes through a
    link: a path with a symbolic link anywhere below ``home`` is skipped, and each file is
    created with O_EXCL | O_NOFOLLOW.
    """
    made: list[Path] = []
    entries = [Path(".")] + sorted(p.relative_to(source) for p in source.rglob("*"))
    for relative in entries:
        if any(part in skip or part == ".ipynb_checkpoints" for part in relative.parts):
            continue
        wanted = Path(into) / relative
        if _link_on_the_way(home, wanted):
            continue
        made += _missing_folders(home, wanted if (source / relative).is_dir() else wanted.parent)
        destination = home / wanted
        if (source / relative).is_file() and not os.path.lexists(destination):
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            with open(os.open(destination, flags, 0o644), "wb") as out:
                out.write((source / relative).read_bytes())
            made.append(destination)
    return made


def _link_on_the_way(root: Path, relative: Path) -> bool:
    """Whether a part of ``root / relative`` below ``root`` is a symbolic link."""
    current = root
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def cores_for(slot: int, cpu_limit: float | None, available: list[int]) -> list[int]:
    """The cores a server may use: ``ceil(cpu_limit)`` of ``available``, starting at a place
    that moves with ``slot`` so that servers spread over the machine."""
    if not cpu_limit or cpu_limit >= len(available):
        return list(available)
    count = max(1, math.ceil(cpu_limit))
    start = (slot * count) % len(available)
    return [available[(start + k) % len(available)] for k in range(count)]


class CourseSpawner(LocalProcessSpawner):
    """A user's Jupyter server as a local process, in its own home, with limits (see module)."""

    state_root = Unicode(config=True, help="The hub's state folder, hidden from servers.")
    homes_root = Unicode(config=True, help="Folder holding one home folder per user.")
    labs_source = Unicode("", config=True, help="Labs folder copied into new homes ('' = none).")
    course_source = Unicode("", config=True, help="nbgrader course copied for instructors.")
    exchange_root = Unicode(config=True, help="nbgrader's exchange folder, shared by all users.")
    role_config_root = Unicode(
        "", config=True, help="Folder with a Jupyter config folder per role (student, instructor)."
    )
    samples_source = Unicode(
        "", config=True, help="The hub's copy of the course's real samples, copied into homes."
    )
    hidden_paths = List(Unicode(), config=True, help="More paths servers must not see (.git).")
    uid_base = Integer(61000, config=True, help="uid of a user's server = uid_base + user id.")

    @default("state_root")
    def _default_state_root(self) -> str:
        return str(Path.cwd())

    @default("homes_root")
    def _default_homes_root(self) -> str:
        return str(Path(self.state_root) / "homes")

    @default("exchange_root")
    def _default_exchange_root(self) -> str:
        return str(Path(self.state_root) / "exchange")

    @property
    def home(self) -> Path:
        return Path(self.homes_root) / self.user.name

    @property
    def server_uid(self) -> int | None:
        """The uid the server runs as, or None to keep the hub's own (hub not root)."""
        return self.uid_base + self.user.id if os.geteuid() == 0 else None

    @property
    def is_instructor(self) -> bool:
        return bool(self.user.admin)

    def prepare_home(self) -> None:
        """Make the home (first start) and copy in what is new of the labs and the samples,
        and for instructors of the course; the home then belongs to the server's uid."""
        exchange = Path(self.exchange_root)
        exchange.mkdir(parents=True, exist_ok=True)
        exchange.chmod(0o1777)  # nbgrader's exchange: everyone writes, only owners delete
        home = self.home
        home.mkdir(parents=True, exist_ok=True)
        made = [home]
        if self.labs_source:
            made += copy_missing(Path(self.labs_source), home, "labs")
        if self.samples_source:  # the labs' real data, fetched once by the hub's setup
            made += copy_missing(Path(self.samples_source), home, ".cache/medai-edu/samples")
        if self.is_instructor and self.course_source:
            made += copy_missing(Path(self.course_source), home, "course", skip=COURSE_SKIP)
        uid = self.server_uid
        if uid is not None:
            for path in made:
                os.lchown(path, uid, uid)
        os.chmod(home, 0o700, follow_symlinks=False)

    def make_preexec_fn(self, name: str):
        """Limits, set in the child before exec; as root they cannot be lifted afterwards."""
        memory = int(self.mem_limit) if self.mem_limit else None
        cores = cores_for(self.user.id, self.cpu_limit, sorted(os.sched_getaffinity(0)))

        def preexec() -> None:  # runs between fork and exec: keep it small
            if memory:
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            os.sched_setaffinity(0, cores)

        return preexec

    def sandbox_command(self) -> list[str]:
        """As root: bubblewrap around the server, which then drops to the user's uid.

        Inside, the hub's state folder (database, cookie secret, tokens, other homes), the
        course's source (solutions, hidden tests), the hub user's home and /run are covered;
        the user's own home and the nbgrader exchange are bound back read-write; the Python
        runtime is shown again even where it lives under a closed folder (pyenv in /root).
        Own pid namespace and /proc: a student sees only their own processes.
        """
        uid = self.server_uid
        if uid is None:
            return []
        bwrap = shutil.which(BWRAP)
        if bwrap is None:
            raise RuntimeError(f"the hub runs as root and needs bubblewrap: {INSTALL_HINT}")
        home, exchange = os.path.realpath(self.home), os.path.realpath(self.exchange_root)
        hidden = [os.path.realpath(p) for p in (self.state_root, Path.home(), "/run")]
        extra = [self.course_source, *self.hidden_paths]
        hidden += [os.path.realpath(p) for p in extra if p and os.path.exists(p)]
        hidden = [p for p in hidden if not is_under(p, "/tmp")]  # the private /tmp hides them
        runtime = runtime_paths()
        mounts, read_only = mount_args(hidden, runtime, uid)
        covers = [*hidden, "/tmp"]
        shown = [(home, "--bind"), (exchange, "--bind")]
        if self.role_config_root:  # seen even when the repository lies under a hidden home
            shown.append((os.path.realpath(self.role_config_root), "--ro-bind"))
        shown += [(p, "--ro-bind") for p in runtime if is_under(p, "/tmp")]
        return [
            bwrap,
            *("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"),
            *("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"),
            *("--hostname", "hub", "--ro-bind", "/", "/", *mounts),
            *("--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"),
            *_bind_inside(shown, covers),
            *[arg for path in read_only for arg in ("--remount-ro", path)],
            "--",
            python_executable(),
            *("-I", "-m", "medai_edu.hub.launch", str(uid), "--"),
        ]

    def user_env(self, env: dict) -> dict:
        role = "instructor" if self.is_instructor else "student"
        if self.role_config_root:  # read-only, after ~/.jupyter: the role's extensions
            env["JUPYTER_CONFIG_PATH"] = str(Path(self.role_config_root) / role)
        env.update(
            MEDAI_HUB_EXCHANGE=str(self.exchange_root),
            USER=self.user.name,
            HOME=str(self.home),
            SHELL="/bin/bash",
            MALLOC_ARENA_MAX="2",  # each thread's arena would reserve address space
            # git (nbgitpuller) needs an identity; these users have no passwd entry
            GIT_AUTHOR_NAME=self.user.name,
            GIT_COMMITTER_NAME=self.user.name,
            GIT_AUTHOR_EMAIL=f"{self.user.name}@hub.invalid",
            GIT_COMMITTER_EMAIL=f"{self.user.name}@hub.invalid",
        )
        return env

    async def move_certs(self, paths):  # internal SSL is not used on one machine
        return paths

    async def start(self):
        """Prepare the home, then start the server (in its sandbox as root) in a new session."""
        self.prepare_home()
        if self.port == 0:
            self.port = random_port()
        command = [*self.sandbox_command(), *self.cmd, *self.get_args()]
        self.log.info("Spawning %s", shlex.join(command))
        self.proc = Popen(
            command,
            env=self.get_env(),
            preexec_fn=self.make_preexec_fn(self.user.name),
            start_new_session=True,  # its own process group: see _signal
            cwd="/" if self.server_uid is not None else str(self.home),
        )
        self.pid = self.proc.pid
        return ("127.0.0.1", self.port)

    async def _signal(self, sig: int) -> bool:
        """Signal the server's whole process group: bubblewrap does not pass signals on."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            return False
        return True


def _missing_folders(home: Path, relative: Path) -> list[Path]:
    """Make the folders of ``home / relative`` that are missing; return them."""
    made = []
    current = home
    for part in relative.parts:
        current = current / part
        if not current.exists():
            current.mkdir()
            made.append(current)
    return made


def _bind_inside(shown: list[tuple[str, str]], covers: list[str]) -> list[str]:
    """bwrap arguments binding each path back where a cover (tmpfs) hid it, with the
    folders leading to it made (traversable) inside the cover, and the links under /tmp
    that lead to the Python environment made again."""
    args: list[str] = []
    made: set[str] = set()
    for path, option in shown:
        inside = [c for c in covers if is_under(path, c) and c != path]
        if inside:
            args += folders_to(path, max(inside, key=len), made)
        args += [option, path, path]
    return args + link_args(links_in_tmp(), made, [path for path, _ in shown])
