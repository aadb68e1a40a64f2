# JupyterHub configuration of the course on one machine (JupyterHub 5 or 6).
#
# Started by `make hub` / `medai-edu hub`, which write a settings file and point
# MEDAI_HUB_SETTINGS at it; every setting below has a default, so an instructor can also run
#     jupyterhub -f labs/hub/jupyterhub_config.py
# from a folder that is to hold the hub's state (database, cookie secret, homes, exchange).
# For a class on Kubernetes, see labs/hub/k8s/values.yaml instead.
import json
import os
import secrets
import sys
from pathlib import Path

import nativeauthenticator

from medai_edu.paths import cache_dir

c = get_config()  # noqa: F821 - provided by JupyterHub when it reads this file

HUB = Path(__file__).resolve().parent
REPO = HUB.parents[1]
settings_file = os.environ.get("MEDAI_HUB_SETTINGS")
settings = json.loads(Path(settings_file).read_text()) if settings_file else {}
state = Path(settings.get("state", os.getcwd()))

# --- Network: everything on 127.0.0.1; the proxy is the only public port -------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{settings.get('port', 8000)}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.get("hub_port", 8081)
c.ConfigurableHTTPProxy.command = [str(HUB / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.get('proxy_api_port', 8001)}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# --- State that survives a restart: users, their servers, their cookies --------------------
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = False  # a hub restart leaves the students' servers running
c.JupyterHub.last_activity_interval = settings.get("activity_interval", 300)

# --- Who may log in: own passwords, sign-up approved by an instructor ----------------------
c.JupyterHub.authenticator_class = "medai_edu.hub.accounts.CourseAuthenticator"
instructors = set(settings.get("instructors", ["instructor"]))
c.Authenticator.admin_users = instructors  # instructors are the hub's admins
c.Authenticator.allow_all = True  # NativeAuthenticator itself lets in approved accounts only
c.NativeAuthenticator.open_signup = False  # a new account waits for an instructor's approval
c.NativeAuthenticator.minimum_password_length = 10
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 5
c.NativeAuthenticator.seconds_before_next_try = 60
c.CourseAuthenticator.demo_accounts = settings.get("demo_accounts", {})
# the sign-up and approval pages
c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]

# --- Each user's server: own process, own home and uid, limits, the course inside ----------
c.JupyterHub.spawner_class = "medai_edu.hub.spawner.CourseSpawner"
# the folder by its real path: a link to it (say in /tmp) is not there inside the sandbox
c.Spawner.cmd = [str(Path(sys.executable).parent.resolve() / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = settings.get("mem_limit", "4G")
c.Spawner.cpu_limit = settings.get("cpu_limit", 1.0)
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "OMP_NUM_THREADS": str(max(1, int(settings.get("cpu_limit", 1.0)))),
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "MEDAI_HUB_STATE": str(state),  # how `medai-edu hub` finds the servers' processes
}
kernel_idle = settings.get("kernel_cull_timeout", 1800)
c.Spawner.args = [
    # abandoned kernels are shut down after kernel_idle seconds, even with a tab open
    f"--MappingKernelManager.cull_idle_timeout={kernel_idle}",
    f"--MappingKernelManager.cull_interval={max(5, min(300, kernel_idle // 4))}",
    "--MappingKernelManager.cull_connected=True",
]
c.CourseSpawner.state_root = str(state)  # hidden from the servers, but for their homes
c.CourseSpawner.homes_root = str(state / "homes")
c.CourseSpawner.exchange_root = str(state / "exchange")
c.CourseSpawner.labs_source = str(REPO / "labs")
c.CourseSpawner.role_config_root = str(HUB / "jupyter-config")  # student/, instructor/
c.CourseSpawner.samples_source = str(cache_dir() / "samples")  # `medai-edu data fetch`
c.CourseSpawner.course_source = str(REPO / "autograder")  # hidden from servers but copied
c.CourseSpawner.hidden_paths = [str(REPO / ".git")]  # its history holds the solutions too

# --- Services: the idle culler, and a token for the course's own tools ---------------------
cull_timeout = settings.get("cull_timeout", 3600)
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={cull_timeout}",
            f"--cull-every={settings.get('cull_every', 300)}",
        ],
    },
    {
        "name": "course-admin",  # `medai-edu hub` uses it to stop servers and to check on them
        "api_token": settings.get("admin_token") or secrets.token_hex(32),
    },
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    },
    {
        "name": "course-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users"],
        "services": ["course-admin"],
    },
]
