"""A class arriving at once: N students log in, start their servers and run a lab's first cells.

Used by ``benchmarks/run.py --only hub.load``, which passes the repository's hub deployment
(``labs/hub``) and first lab. Each simulated student is a thread with its own
:class:`~medai_edu.hub.client.HubSession`; the hub runs as ``make hub`` runs it.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from medai_edu.hub.client import HubSession
from medai_edu.hub.local import HubSettings, LocalHub, free_port


@dataclass
class ClassResult:
    """What the class saw: seconds per spawn and per cell, errors, the hub's memory."""

    spawn_seconds: list[float] = field(default_factory=list)
    cell_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    hub_rss_mb: float = 0.0  # the hub process
    proxy_rss_mb: float = 0.0  # configurable-http-proxy

    def percentile(self, values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) if values else float("nan")


def first_cells(notebook: Path, count: int = 3) -> list[str]:
    """The source of a lab's first ``count`` code cells."""
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"][:count]


def _student(hub: LocalHub, name: str, cells: list[str], result: ClassResult, lock) -> None:
    session = HubSession(hub.url, timeout=120)
    try:
        session.login(name, hub.settings.demo_accounts[name])
        spawn = session.start_server(timeout=300)
        kernel = session.kernel(session.start_kernel())
        seconds = []
        for code in cells:
            cell = kernel.execute(code, timeout=300)
            if cell.status != "ok":
                raise RuntimeError(f"cell failed: {cell.error}")
            seconds.append(cell.seconds)
        kernel.close()
        with lock:
            result.spawn_seconds.append(spawn)
            result.cell_seconds.extend(seconds)
    except Exception as err:  # counted, not raised: the class goes on
        with lock:
            result.errors.append(f"{name}: {type(err).__name__}: {err}")


def simulate_class(deployment: Path, cells: list[str], students: int = 10) -> ClassResult:
    """Start a hub from the ``deployment`` folder (``labs/hub``), send ``students`` students
    at it at once, each running ``cells``, stop it; return the figures."""
    names = [f"student{k:02d}" for k in range(1, students + 1)]
    result, lock = ClassResult(), threading.Lock()
    with tempfile.TemporaryDirectory(prefix="medai-hub-load-") as tmp:
        accounts = {name: f"load-test-{name}" for name in names}
        settings = HubSettings(
            state=tmp, deployment=str(deployment), port=free_port(), demo_accounts=accounts
        )
        hub = LocalHub(settings)
        hub.start()
        try:
            threads = [
                threading.Thread(target=_student, args=(hub, name, cells, result, lock))
                for name in names
            ]
            for thread in threads:
                thread.start()
            peak = {"hub": 0.0, "proxy": 0.0}
            found = hub.pids()
            while any(thread.is_alive() for thread in threads):
                for role in peak:
                    for pid in found[role]:
                        try:
                            rss = psutil.Process(pid).memory_info().rss / 2**20
                        except psutil.Error:
                            continue
                        peak[role] = max(peak[role], rss)
                time.sleep(0.5)
            result.hub_rss_mb, result.proxy_rss_mb = peak["hub"], peak["proxy"]
        finally:
            hub.stop()
    return result
