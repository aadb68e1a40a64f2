"""The course's JupyterHub: links into it, its spawner and authenticator, and a local hub.

- :mod:`.links`: :func:`nbgitpuller_link`, :func:`lab_links` ("Open in JupyterHub");
- :mod:`.local`: :class:`LocalHub`, a hub on this machine (``medai-edu hub``);
- :mod:`.client`: :class:`HubSession`, a student's session driven from Python (tests,
  load measurements);
- :mod:`.spawner`, :mod:`.accounts`: :class:`CourseSpawner` and
  :class:`CourseAuthenticator`, named in ``labs/hub/jupyterhub_config.py``.

Only the links load with the package; the rest needs the extra "hub" (JupyterHub, requests,
websocket-client) and loads on first use of a name (see :data:`_LAZY`).
"""

from medai_edu.hub.links import lab_links, nbgitpuller_link
from medai_edu.lazy import lazy_exports

__all__ = [
    # links into the hub
    "lab_links",
    "nbgitpuller_link",
    # running a hub and talking to it (extra "hub", imported on first use)
    "CourseAuthenticator",
    "CourseSpawner",
    "HubError",
    "HubSession",
    "HubSettings",
    "LocalHub",
]

#: Name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "CourseAuthenticator": "accounts",
    "CourseSpawner": "spawner",
    "HubError": "client",
    "HubSession": "client",
    "HubSettings": "local",
    "LocalHub": "local",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
