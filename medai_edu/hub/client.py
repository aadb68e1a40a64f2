"""A student at the hub, scripted: log in through the form, start a server, run code in a kernel.

Used by the hub's integration test and its load benchmark. It speaks to the hub only as a
browser would: cookies from the login form, the ``_xsrf`` token the pages set, the Jupyter
server's REST API and a kernel's websocket.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import requests
import websocket


class HubError(RuntimeError):
    """The hub or a user's server did not do what was asked (login refused, spawn failed)."""


@dataclass
class CellResult:
    """What a kernel sent back for one piece of code."""

    status: str  # "ok" or "error"
    stdout: str = ""
    result: str = ""  # the text/plain of the execute_result, if any
    error: str = ""  # "Name: message" when status is "error"
    seconds: float = 0.0  # from sending the request to the reply


@dataclass
class HubSession:
    """One browser session at the hub at ``base_url`` (``http://127.0.0.1:8000``)."""

    base_url: str
    timeout: float = 30.0
    http: requests.Session = field(default_factory=requests.Session)
    username: str | None = None

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def login(self, username: str, password: str) -> None:
        """Fill in and send the login form; raise :class:`HubError` if the hub refuses."""
        page = self.http.get(self.url("/hub/login"), timeout=self.timeout)
        page.raise_for_status()
        xsrf = self.http.cookies.get("_xsrf", path="/hub/") or ""
        reply = self.http.post(
            self.url("/hub/login"),
            data={"username": username, "password": password, "_xsrf": xsrf},
            timeout=self.timeout,
            allow_redirects=False,  # the redirect would start the server
        )
        if reply.status_code != 302 or "jupyterhub-session-id" not in self.http.cookies:
            raise HubError(f"login as {username!r} refused (HTTP {reply.status_code})")
        self.username = username

    def server_prefix(self, username: str | None = None) -> str:
        return f"/user/{username or self.username}"

    def start_server(self, timeout: float = 120.0) -> float:
        """Ask for this user's server as the Start button does; wait until it answers.

        Returns the seconds from the request to the server's first answer.
        """
        start = time.perf_counter()
        self.http.get(self.url("/hub/spawn"), timeout=self.timeout, allow_redirects=False)
        page = self.url(self.server_prefix() + "/lab")
        while time.perf_counter() - start < timeout:
            # followed as a browser would: while pending, this ends on the hub's waiting
            # page; once up, it goes through the hub's OAuth to the server's own cookie
            reply = self.http.get(page, timeout=self.timeout)
            if reply.status_code == 200 and reply.url.startswith(page):
                self.server_xsrf()
                return time.perf_counter() - start
            time.sleep(0.5)
        raise HubError(f"{self.username}'s server did not start within {timeout:.0f} s")

    def server_xsrf(self) -> str:
        """The user server's ``_xsrf`` token (set by any page of the server)."""
        path = self.server_prefix() + "/"
        token = self.http.cookies.get("_xsrf", path=path)
        if token is None:
            self.http.get(self.url(self.server_prefix() + "/lab"), timeout=self.timeout)
            token = self.http.cookies.get("_xsrf", path=path)
        if token is None:
            raise HubError("the user's server set no _xsrf cookie")
        return token

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """A call to this user's server API (``path`` after ``/user/NAME``), with the token."""
        headers = {"X-XSRFToken": self.server_xsrf(), **kwargs.pop("headers", {})}
        return self.http.request(
            method,
            self.url(self.server_prefix() + path),
            headers=headers,
            timeout=self.timeout,
            allow_redirects=False,
            **kwargs,
        )

    def start_kernel(self) -> str:
        reply = self.api("POST", "/api/kernels", json={"name": "python3"})
        if reply.status_code != 201:
            raise HubError(f"could not start a kernel (HTTP {reply.status_code}): {reply.text}")
        return reply.json()["id"]

    def kernel(self, kernel_id: str) -> KernelConnection:
        """A websocket to the kernel, with this session's cookies."""
        ws_base = self.base_url.replace("http://", "ws://").replace("https://", "wss://")
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        socket = websocket.create_connection(
            f"{ws_base}{self.server_prefix()}/api/kernels/{kernel_id}/channels",
            header=[f"Cookie: {cookies}", f"X-XSRFToken: {self.server_xsrf()}"],
            timeout=self.timeout,
        )
        return KernelConnection(socket, self.username or "student")


class KernelConnection:
    """Jupyter's messaging protocol over a kernel's websocket: just execute_request."""

    def __init__(self, socket: websocket.WebSocket, username: str):
        self.socket = socket
        self.username = username
        self.session = uuid.uuid4().hex

    def execute(self, code: str, timeout: float = 120.0) -> CellResult:
        """Run ``code``; collect stdout, the result and any error until the reply comes."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "username": self.username,
            "session": self.session,
            "msg_type": "execute_request",
            "version": "5.3",
        }
        content = {"code": code, "silent": False, "store_history": True}
        content.update(user_expressions={}, allow_stdin=False, stop_on_error=True)
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        start = time.perf_counter()
        self.socket.send(json.dumps({**message, "channel": "shell", "buffers": []}))
        out = CellResult(status="ok")
        while True:
            if time.perf_counter() - start > timeout:
                raise HubError(f"no reply from the kernel within {timeout:.0f} s")
            reply = json.loads(self.socket.recv())
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, body = reply["msg_type"], reply["content"]
            if kind == "stream" and body.get("name") == "stdout":
                out.stdout += body["text"]
            elif kind == "execute_result":
                out.result = body["data"].get("text/plain", "")
            elif kind == "error":
                out.error = f"{body['ename']}: {body['evalue']}"
            elif kind == "execute_reply":
                out.status = body["status"]
                out.seconds = time.perf_counter() - start
                return out

    def close(self) -> None:
        self.socket.close()
