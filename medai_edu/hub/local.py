"""The course's JupyterHub on one machine: start it, find its processes, stop them all.

``medai-edu hub`` (and ``make hub``) runs :func:`serve`: a hub on 127.0.0.1 with the course's
deployment folder (``labs/hub`` in the repository: ``jupyterhub_config.py`` and the proxy
installed by npm), given by the caller, its state in ``.hub/`` (database, cookie secret,
homes, nbgrader exchange), a demo instructor and two demo students. Ctrl-C stops the
students' servers, the hub and the proxy.

:class:`LocalHub` is the same hub as an object, for the tests and the load benchmark: it picks
free ports, starts the hub as a subprocess, waits until it answers, and stops every process it
started by process id (the hub, the proxy, the idle culler and each user's server with its
kernels).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import requests

CONFIG_FILE = "jupyterhub_config.py"  # in the deployment folder
PROXY_FILE = Path("node_modules") / ".bin" / "configurable-http-proxy"
STATE_VARIABLE = "MEDAI_HUB_STATE"  # set in every user server's environment by the config
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
DEMO_USERS = {"instructor": "instructor", "student1": "student", "student2": "student"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class HubSettings:
    """What ``jupyterhub_config.py`` reads (as JSON, through ``MEDAI_HUB_SETTINGS``)."""

    state: str
    #: the course's hub deployment folder (the repository's ``labs/hub``)
    deployment: str = ""
    port: int = 8000
    hub_port: int = 0  # 0: a free port is chosen at start
    proxy_api_port: int = 0
    instructors: list[str] = field(default_factory=lambda: ["instructor"])
    demo_accounts: dict[str, str] = field(default_factory=dict)
    mem_limit: str = "4G"
    cpu_limit: float = 1.0
    cull_timeout: int = 3600  # seconds without activity before a server is stopped
    cull_every: int = 300
    activity_interval: int = 300  # how often the hub records activity
    kernel_cull_timeout: int = 1800  # seconds before an idle kernel is shut down
    admin_token: str = field(default_factory=lambda: secrets.token_hex(32))


def demo_accounts(state: Path) -> dict[str, str]:
    """The demo users' passwords: made once per state folder, kept in a 0600 file there."""
    path = state / "demo-accounts.json"
    if path.exists():
        return json.loads(path.read_text())
    accounts = {name: f"{role}-{secrets.token_urlsafe(9)}" for name, role in DEMO_USERS.items()}
    path.touch(mode=0o600)
    path.write_text(json.dumps(accounts, indent=2))
    return accounts


class LocalHub:
    """A JupyterHub with its proxy on 127.0.0.1, started and stopped by process id."""

    def __init__(self, settings: HubSettings):
        self.settings = settings
        self.state = Path(settings.state).resolve()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def admin_api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The hub's REST API (``/hub/api`` + path) with the course-admin service's token."""
        headers = {"Authorization": f"token {self.settings.admin_token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs
        )

    def start(self, timeout: float = 90.0) -> None:
        """Start the hub (which starts the proxy and the culler); wait until it answers."""
        deployment = Path(self.settings.deployment).resolve()
        config = deployment / CONFIG_FILE
        if not self.settings.deployment or not config.exists():
            raise FileNotFoundError(
                f"no hub deployment at {deployment} (it holds {CONFIG_FILE}): give the "
                "course's labs/hub folder (`medai-edu hub --deployment labs/hub`)"
            )
        if not (deployment / PROXY_FILE).exists():
            raise FileNotFoundError(
                f"configurable-http-proxy is not installed in {deployment}: run "
                "`make node-deps` (npm ci in labs/hub)"
            )
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o755)  # users' servers (own uids) must reach their homes inside
        for name in ("hub_port", "proxy_api_port"):
            if not getattr(self.settings, name):
                setattr(self.settings, name, free_port())
        settings_file = self.state / "settings.json"
        settings_file.touch(mode=0o600)
        settings_file.write_text(json.dumps(asdict(self.settings), indent=2))
        log = open(self.state / "hub.log", "ab")  # noqa: SIM115 - the hub writes to it
        env = {**os.environ, "MEDAI_HUB_SETTINGS": str(settings_file)}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=self.state,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_until_up(timeout)

    def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the hub exited at start; see {self.state / 'hub.log'}")
            try:
                if self.admin_api("GET", "/").status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the hub did not answer within {timeout:.0f} s")

    def pids(self) -> dict[str, list[int]]:
        """The processes of this hub, by role: hub, proxy, services, user servers (+ kernels)."""
        found: dict[str, list[int]] = {"hub": [], "proxy": [], "servers": []}
        for name, key in (("jupyterhub.pid", "hub"), ("proxy.pid", "proxy")):
            path = self.state / name
            if path.exists() and path.read_text().strip().isdigit():
                pid = int(path.read_text())
                if psutil.pid_exists(pid):
                    found[key].append(pid)
        if self.process is not None and self.process.poll() is None:
            found["hub"] = sorted({*found["hub"], self.process.pid})
        for process in psutil.process_iter(["pid"]):
            try:  # every process of a user's server carries the hub's state folder
                if process.environ().get(STATE_VARIABLE) == str(self.state):
                    found["servers"].append(process.info["pid"])
            except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return found

    def stop_servers(self) -> None:
        """Ask the hub to stop every user's server (gracefully, as the culler would)."""
        users = self.admin_api("GET", "/users").json()
        for user in users:
            if user.get("servers"):
                self.admin_api("DELETE", f"/users/{user['name']}/server")

    def stop(self, servers: bool = True, timeout: float = 20.0) -> None:
        """Stop the hub and the proxy, and with ``servers`` every user's server; by pid."""
        if servers:
            try:
                self.stop_servers()
            except requests.RequestException:
                pass  # the hub is down: its servers are killed below
        pids = self.pids()
        keep = set() if servers else set(pids["servers"])
        targets = [pid for group in pids.values() for pid in group if pid not in keep]
        _terminate(targets, timeout, spare=keep)
        if self.process is not None:
            self.process.wait(timeout=timeout)
            self.process = None

    def restart(self, timeout: float = 90.0) -> None:
        """Stop the hub and proxy (users' servers keep running) and start them again."""
        self.stop(servers=False)
        self.start(timeout)


def _terminate(pids: list[int], timeout: float, spare: set[int] = frozenset()) -> None:
    """SIGTERM each process and its children but ``spare``; SIGKILL what is left after
    ``timeout``."""
    processes = []
    for pid in pids:
        try:
            parent = psutil.Process(pid)
            family = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        processes += [p for p in family if p.pid not in spare]
    for process in processes:
        try:
            process.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def serve(state: Path, deployment: Path, port: int = 8000) -> None:
    """``medai-edu hub``: start the course hub with demo accounts; Ctrl-C stops it all."""
    state.mkdir(parents=True, exist_ok=True)
    accounts = demo_accounts(state)
    settings_file = state / "settings.json"
    token = None
    if settings_file.exists():  # keep the service token across restarts of the same state
        token = json.loads(settings_file.read_text()).get("admin_token")
    settings = HubSettings(
        state=str(state), deployment=str(deployment), port=port, demo_accounts=accounts
    )
    if token:
        settings.admin_token = token
    hub = LocalHub(settings)
    # Ctrl-C (or SIGTERM) only sets a flag: a KeyboardInterrupt raised between two lines
    # (say, just after the "Ctrl-C stops..." line) would skip the clean stop.
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in STOP_SIGNALS}
    try:
        hub.start()
        print_welcome(hub, settings, accounts)
        while not stopping.is_set() and hub.process.poll() is None:
            stopping.wait(1)
        if stopping.is_set():
            print("\nStopping the students' servers, the hub and the proxy...", flush=True)
        else:
            print(f"The hub stopped on its own; see {state / 'hub.log'}.")
    finally:
        hub.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def print_welcome(hub: LocalHub, settings: HubSettings, accounts: dict[str, str]) -> None:
    """Where to log in, the demo accounts and their passwords, and how to stop."""
    width = max(map(len, accounts))
    print(f"\nThe course hub is up: {hub.url}/hub/login\n")
    for name, password in accounts.items():
        role = "instructor (admin)" if name in settings.instructors else "student"
        print(f"  {name:<{width}}  password {password}   {role}")
    print(
        f"\nState (database, homes, exchange) in {settings.state}; log in {settings.state}/hub.log."
    )
    print("Students can also sign up; an instructor approves them at /hub/authorize.")
    print("Ctrl-C stops the hub, the proxy and every student's server.", flush=True)
