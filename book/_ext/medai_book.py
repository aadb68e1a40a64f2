"""The course book's own Sphinx extension (listed under ``sphinx.local_extensions``).

* An **Open in JupyterHub** button on every lab page: an nbgitpuller link, made by
  :func:`medai_edu.hub.links.nbgitpuller_link`, into the hub set as ``medai_hub_url``.
  Lab pages also keep the theme's download button for the notebook itself.
* **No Thebe.** The book does not run code in the browser, yet sphinx-thebe adds its loader
  (from unpkg.com, which an offline reader cannot reach) to every page, and Jupyter Book 1
  adds it twice, so each page logged "Identifier 'THEBE_JS_URL' has already been declared".
  Its listener is removed here, at the source.
"""

from __future__ import annotations

from sphinx.application import Sphinx

from medai_edu.hub.links import nbgitpuller_link

LAB_PREFIX = "labs/"


def add_hub_button(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    """A header button opening this lab in the course's JupyterHub (lab pages only)."""
    if not pagename.startswith(LAB_PREFIX) or "header_buttons" not in context:
        return
    link = nbgitpuller_link(app.config.medai_hub_url, f"{pagename}.ipynb")
    button = {
        "type": "link",
        "url": link,
        "text": "JupyterHub",
        "tooltip": "Open this lab in the course's JupyterHub",
        "icon": "fas fa-rocket",
        "label": "open-in-jupyterhub-button",
    }
    context["header_buttons"].append(
        {
            "type": "group",
            "tooltip": "Open in JupyterHub",
            "icon": "fas fa-rocket",
            "buttons": [button],
            "label": "launch-buttons",
        }
    )


def remove_thebe(app: Sphinx) -> None:
    """Drop sphinx-thebe's listener that adds its loader scripts to every page."""
    for listeners in app.events.listeners.values():
        for listener in list(listeners):
            handler = listener.handler
            if getattr(handler, "__module__", "") == "sphinx_thebe" and handler.__name__ in (
                "init_thebe_core",
            ):
                app.disconnect(listener.id)


def setup(app: Sphinx) -> dict:
    app.add_config_value("medai_hub_url", "http://127.0.0.1:8000", "html")
    app.connect("builder-inited", remove_thebe)
    app.connect("html-page-context", add_hub_button, priority=502)  # after the theme's own
    return {"parallel_read_safe": True, "parallel_write_safe": True}
