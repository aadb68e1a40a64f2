"""A demo server for the tests: the real app, on 127.0.0.1 at a free port, in its own
process group, stopped by its process id afterwards (``medai_edu.demos.load``)."""

from __future__ import annotations

import pytest

from medai_edu.demos.load import start_server, stop_server

#: Limits the test server runs with, small enough to upload something over them: slides
#: of 1,000,000 px (the 768 x 768 px examples fit), files of 20 MB, volumes of 40^3 voxels.
TEST_LIMITS = {
    "MEDAI_EDU_MAX_SLIDE_PIXELS": "1000000",
    "MEDAI_EDU_MAX_UPLOAD_MB": "20",
    "MEDAI_EDU_MAX_VOXELS": str(40**3),
}


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory):
    log = tmp_path_factory.mktemp("demo") / "server.log"
    server = start_server(log, timeout_s=180, env=TEST_LIMITS)
    try:
        yield server.url
    finally:
        stop_server(server.process)
    # SIGTERM stops it as Ctrl-C does: the server closes and exits cleanly.
    assert server.process.returncode == 0, log.read_text()[-3000:]


@pytest.fixture(scope="session")
def client(demo_url):
    from gradio_client import Client

    return Client(demo_url, verbose=False)
