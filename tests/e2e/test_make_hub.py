"""`medai-edu hub` (what `make hub` runs): it prints where to log in and the demo accounts,
those accounts work, and Ctrl-C stops the hub, the proxy and the students' servers."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from medai_edu.hub.client import HubSession
from medai_edu.hub.local import STATE_VARIABLE, free_port

pytestmark = pytest.mark.slow


def hub_processes(state: Path) -> list[int]:
    """Every process that belongs to the hub in ``state``: hub, proxy, culler, servers."""
    found = []
    for name in ("jupyterhub.pid", "proxy.pid"):
        path = state / name
        if path.exists() and path.read_text().strip().isdigit():
            if psutil.pid_exists(int(path.read_text())):
                found.append(int(path.read_text()))
    for process in psutil.process_iter():
        try:
            env = process.environ()
        except psutil.Error:
            continue
        if env.get(STATE_VARIABLE) == str(state) or env.get("MEDAI_HUB_SETTINGS", "").startswith(
            str(state)
        ):
            found.append(process.pid)
    return found


DEPLOYMENT = Path(__file__).resolve().parents[2] / "labs" / "hub"


def start(state: Path, port: int) -> tuple[subprocess.Popen, list[str]]:
    command = [str(Path(sys.executable).parent / "medai-edu"), "hub"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--state", str(state), "--deployment", str(DEPLOYMENT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C"):
            return process, lines
    process.kill()
    raise AssertionError("the hub did not say it was up:\n" + "".join(lines))


def test_make_hub_prints_the_login_and_stops_cleanly_on_ctrl_c(tmp_path):
    state, port = tmp_path / "hub", free_port()
    process, lines = start(state, port)
    try:
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}/hub/login" in text
        accounts = dict(re.findall(r"^\s+(\w+)\s+password (\S+)", text, flags=re.M))
        assert set(accounts) == {"instructor", "student1", "student2"}
        assert json.loads((state / "demo-accounts.json").read_text()) == accounts
        assert oct((state / "demo-accounts.json").stat().st_mode & 0o777) == "0o600"
        student = HubSession(f"http://127.0.0.1:{port}")
        student.login("student1", accounts["student1"])
        student.start_server()
        assert hub_processes(state)
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(timeout=90) == 0
    assert "Stopping" in process.stdout.read()
    assert hub_processes(state) == []
    # a second start keeps the accounts and their passwords; SIGTERM (a service manager's
    # stop) stops it as cleanly as Ctrl-C
    again, lines = start(state, port)
    try:
        assert all(password in "".join(lines) for password in accounts.values())
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=90) == 0
    assert "Stopping" in again.stdout.read()
    assert hub_processes(state) == []
