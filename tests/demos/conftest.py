"""A demo server for the tests: the real app, on 127.0.0.1 at a free port, in its own
process, stopped by its process id afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: Limits the test server runs with, small enough to upload something over them: slides
#: of 1,000,000 px (the 768 x 768 px examples fit), files of 20 MB, volumes of 40^3 voxels.
TEST_LIMITS = {
    "MEDAI_EDU_MAX_SLIDE_PIXELS": "1000000",
    "MEDAI_EDU_MAX_UPLOAD_MB": "20",
    "MEDAI_EDU_MAX_VOXELS": str(40**3),
}
START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(process: subprocess.Popen, url: str, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the demo did not serve {url} in {START_TIMEOUT_S} s:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server and anything it started (its process group), by process id."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("demo") / "server.log"
    env = {**os.environ, **TEST_LIMITS, "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "medai_edu.cli", "demo", "--port", str(port)]
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        _wait_until_serving(process, url, log)
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="session")
def client(demo_url):
    from gradio_client import Client

    return Client(demo_url, verbose=False)
