"""Bubblewrap helpers shared by the grading sandbox and the hub's sandboxed servers.

Standard library only, at the bottom of the package's layers, so that
:mod:`medai_edu.grading` and :mod:`medai_edu.hub` share it without importing each other:
where the Python runtime lives and how to show it inside a sandbox that covers other paths
(:func:`mount_args`, :func:`runtime_paths`), the links under ``/tmp`` that lead to it
(:func:`links_in_tmp`), and dropping to an unprivileged uid for good
(:func:`drop_privileges`).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

__all__ = [
    "BWRAP",
    "INSTALL_HINT",
    "REPLACED",
    "drop_privileges",
    "folders_to",
    "is_under",
    "link_args",
    "links_in_tmp",
    "mount_args",
    "python_executable",
    "runtime_paths",
]

BWRAP = "bwrap"
INSTALL_HINT = (
    "bubblewrap is not installed: `sudo apt-get install bubblewrap` (Debian/Ubuntu) "
    "or `make system-deps`"
)
#: The sandbox has its own of these: hidden paths under them need no cover.
REPLACED = ("/tmp", "/dev", "/proc")
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38


def python_executable() -> str:
    """This Python, by a path that holds inside the sandbox: its folder with links resolved
    (a link in /tmp to the real folder vanishes under the private /tmp), but not the file
    itself, which in a virtual environment links to the base interpreter and would lose the
    environment."""
    folder, name = os.path.split(sys.executable)
    return os.path.join(os.path.realpath(folder), name)


def runtime_paths() -> list[str]:
    """What the runner and the kernel need to see even under a hidden path: the Python
    installation, the environment's import paths inside it, any other folder of installed
    packages on the import path (a ``site-packages`` reached through a ``.pth`` file or
    ``PYTHONPATH``, wherever it lives), and this package. Other import paths (a script's
    folder, the course) are not shown."""
    prefixes = {
        os.path.realpath(p)
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    }
    paths = set(prefixes)
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    paths.add(str(Path(__file__).resolve().parent))  # the medai_edu package
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            real = os.path.realpath(entry)
            packages = os.path.basename(real) in ("site-packages", "dist-packages")
            if packages or any(is_under(real, prefix) for prefix in prefixes):
                paths.add(real)
    return sorted(paths)


def links_in_tmp() -> list[tuple[str, str]]:
    """``(target, link)`` for each symbolic link under /tmp on the way to this Python, its
    environment or an import path, as they were given (a ``.pth`` file or an editable
    install may name a path through a link). The private /tmp has none of them, so the
    sandbox makes them again."""
    found: dict[str, str] = {}
    for raw in [sys.executable, sys.prefix, *sys.path]:
        if not raw or not os.path.isabs(raw) or not is_under(raw, "/tmp"):
            continue
        current = "/tmp"
        for part in Path(raw).relative_to("/tmp").parts:
            current = os.path.join(current, part)
            if os.path.islink(current):
                target = os.path.join(os.path.dirname(current), os.readlink(current))
                found[current] = os.path.normpath(target)
                break
    return sorted((target, link) for link, target in found.items())


def is_under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _first_blocked(path: str, uid: int | None) -> str | None:
    """The first folder on the way to ``path`` (itself excluded) that the sandbox's uid may
    not traverse, or ``None``. A fresh uid is in no group and named in no ACL, so for it the
    "other" permission bits decide exactly."""
    if uid is None:
        return None  # bwrap and the sandbox run as us: nothing in the way
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        folder = os.path.join(*parts[:depth])
        try:
            info = os.stat(folder)
        except OSError:
            return folder
        if info.st_uid != uid and not info.st_mode & 0o001:
            return folder
    return None


def mount_args(
    hidden: list[str], runtime: list[str], uid: int | None
) -> tuple[list[str], list[str]]:
    """bwrap arguments that cover the hidden paths and show the runtime paths again.

    A runtime path under a hidden path, or behind a folder the sandbox's uid may not
    traverse (a Python installed under ``/root``), is bound again at its place; the folder
    in the way is covered by an empty tmpfs, which hides nothing the uid could read.
    Shallow paths are mounted first, so a deeper mount wins. Returns the arguments and the
    tmpfs paths to make read-only once everything is mounted.
    """
    ops: dict[str, tuple[int, int, str]] = {}  # path -> (depth, order, kind)
    hidden_dirs = [h for h in hidden if os.path.isdir(h) and not os.path.islink(h)]
    for path in hidden:
        inside = [h for h in hidden_dirs if is_under(path, h) and h != path]
        if inside and not any(is_under(path, r) for r in runtime):
            continue  # covered already: a mount point here would show its name
        if os.path.lexists(path):
            kind = "dir" if os.path.isdir(path) and not os.path.islink(path) else "file"
            ops[path] = (path.count("/"), 0, kind)
    covering = [path for path, (_, _, kind) in ops.items() if kind == "dir"]
    shown: list[str] = []
    for path in runtime:  # sorted: a parent comes before its children
        if path in hidden or not os.path.isdir(path) or any(is_under(path, p) for p in shown):
            continue
        if any(is_under(path, r) for r in REPLACED):
            # The sandbox mounts its own /tmp over everything planned here, so a cover or a
            # bind under it would vanish (and remounting it read-only fails): the caller
            # binds such paths into the private /tmp (`_inside_private_tmp`, the hub its own).
            continue
        blocked = _first_blocked(path, uid)
        if blocked is not None:
            ops.setdefault(blocked, (blocked.count("/"), 0, "dir"))
            covering.append(blocked)
        if blocked is not None or any(is_under(path, h) for h in covering):
            ops[path] = (path.count("/"), 1, "show")
            shown.append(path)
    args: list[str] = []
    read_only: list[str] = []
    made: set[str] = set()
    for path, (_, _, kind) in sorted(ops.items(), key=lambda item: item[1][:2]):
        if kind == "dir":
            args += ["--tmpfs", path]
            read_only.append(path)
        elif kind == "file":
            args += ["--ro-bind", "/dev/null", path]
        else:
            # the folders leading to it inside a tmpfs: traversable by the sandbox's uid
            cover = max((c for c in covering if is_under(path, c) and c != path), key=len)
            for parent in reversed(Path(path).parents):
                folder = str(parent)
                if is_under(folder, cover) and folder != cover and folder not in made:
                    made.add(folder)
                    args += ["--perms", "0755", "--dir", folder]
            args += ["--ro-bind", path, path]
    return args, read_only


def folders_to(path: str, cover: str, made: set[str]) -> list[str]:
    """bwrap arguments making the folders between ``cover`` and ``path`` (traversable)."""
    args: list[str] = []
    for parent in reversed(Path(path).parents):
        folder = str(parent)
        if is_under(folder, cover) and folder != cover and folder not in made:
            made.add(folder)
            args += ["--perms", "0755", "--dir", folder]
    return args


def link_args(links: list[tuple[str, str]], made: set[str], bound: list[str]) -> list[str]:
    """bwrap arguments making each ``(target, link)`` under /tmp, except where a folder was
    made or a bound folder already holds it."""
    args: list[str] = []
    for target, link in links:
        if link in made or any(is_under(link, b) for b in bound):
            continue
        args += folders_to(link, "/tmp", made) + ["--symlink", target, link]
        made.add(link)
    return args


def _prctl(option: int, value: int, what: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({what}) failed: {os.strerror(err)}")


def drop_privileges(uid: int) -> None:
    """Become ``uid`` (and gid ``uid``, no groups) for good, with no capability left and no
    way back through set-uid programs. Used when the grader runs as root: bwrap then runs
    without a user namespace and starts us as root with only CAP_SETUID and CAP_SETGID."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS, 1")
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid):
        raise RuntimeError(f"could not drop to uid {uid}")
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("CapPrm:", "CapEff:", "CapAmb:")) and int(line.split()[1], 16):
                raise RuntimeError(f"capabilities left after dropping to uid {uid}: {line}")
