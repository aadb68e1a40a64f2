"""A classroom at once: many gradio_client users calling the running demo together.

:func:`start_server` starts ``medai-edu demo`` in its own process on a free port of
127.0.0.1 and :func:`stop_server` stops it by its process id; :func:`measure_load` sends each
of ``clients`` concurrent users ``requests`` calls to one tab and records every call's
latency and error. ``benchmarks/run.py --only demo`` reports them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: One single-case request per tab, with the example cases (api name, arguments).
TAB_CALLS = {
    "mome-mini": ("/predict_mri", ("MRI case 1", None, "none")),
    "mstar-mini": ("/predict_slide", ("slide 1", None)),
    "meddr-mini": (
        "/chat",
        ("what is the diagnosis?", [], "breast MRI 1", None, "breast-mri", True, False),
    ),
    "xaim-mini": ("/explain", ("mome-mini", "MRI case 1", "attention_rollout")),
}


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    start_seconds: float
    log: Path


@dataclass
class LoadResult:
    """Latencies (s) of every call to one tab, and the errors' messages."""

    tab: str
    clients: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path, timeout_s: float = 180, env: dict | None = None) -> Server:
    """``medai-edu demo`` on a free port; returns once it answers (or raises)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "medai_edu.cli", "demo", "--port", str(port)]
    start = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})},
            start_new_session=True,  # its own process group, stopped as one
        )
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"the demo exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/gradio_api/info", timeout=2):
                return Server(process, url, time.perf_counter() - start, log)
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise TimeoutError(f"the demo did not answer within {timeout_s} s:\n{log.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server's process group by its process id: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def _connect(url: str):
    from gradio_client import Client

    # A browser fetches the pictures of a result separately (and caches them); the latency
    # measured is the request's, so the client does not download them.
    # ssl_verify=False: the server is plain HTTP on 127.0.0.1, and gradio_client would
    # otherwise load the CA bundle for every request (20 ms of CPU each).
    return Client(url, verbose=False, download_files=False, ssl_verify=False)


def _one_user(client, api_name: str, args: tuple, requests: int, start) -> tuple[list, list]:
    start.wait()  # everyone clicks at once
    latencies, errors = [], []
    for _ in range(requests):
        begin = time.perf_counter()
        try:
            client.predict(*args, api_name=api_name)
            latencies.append(time.perf_counter() - begin)
        except Exception as err:  # the count of errors is the measurement
            errors.append(f"{type(err).__name__}: {err}")
    return latencies, errors


def measure_load(url: str, tab: str, clients: int = 20, requests: int = 5) -> LoadResult:
    """``clients`` users at once, each sending ``requests`` calls to ``tab`` one after the
    other (a student clicking again once the answer is there). The users connect (open
    the page) first; the clock runs from their first click."""
    api_name, args = TAB_CALLS[tab]
    result = LoadResult(tab, clients)
    start = threading.Barrier(clients)
    with ThreadPoolExecutor(clients) as pool:
        users = list(pool.map(_connect, [url] * clients))
        futures = [pool.submit(_one_user, u, api_name, args, requests, start) for u in users]
        for future in futures:
            latencies, errors = future.result()
            result.latencies += latencies
            result.errors += errors
    return result
