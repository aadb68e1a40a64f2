"""Links that open a lab in the course's JupyterHub ("Open in JupyterHub"), made with nbgitpuller.

A student who follows such a link logs in to the hub, gets a server, and nbgitpuller clones
the course repository into the server's home (or merges the newest version into an earlier
copy, keeping the student's own changes), then opens the lab. The link has the format of
nbgitpuller's own link generator (https://nbgitpuller.readthedocs.io/en/latest/link.html)::

    {hub_url}/hub/user-redirect/git-pull?repo=...&branch=...&targetPath=...&urlpath=...

* ``repo`` and ``branch``: what to pull;
* ``targetPath``: the folder of the home that holds the copy (nbgitpuller's default is the
  repository's name; it is spelled out so that ``urlpath`` always points inside it);
* ``urlpath``: the page opened afterwards, relative to the user's server:
  ``lab/tree/<folder>/<path>`` for JupyterLab, ``tree/<folder>/<path>`` for Notebook 7
  (the generator's "classic" form, which Notebook 7 serves as well).

For example, ``nbgitpuller_link("https://hub.example.edu", "labs/pathology/03-stain-colour.ipynb")``
gives (one line)::

    https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fmedai-edu
    %2Fmedai-edu&branch=main&targetPath=medai-edu&urlpath=lab%2Ftree%2Fmedai-edu%2Flabs%2F
    pathology%2F03-stain-colour.ipynb
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlencode, urlsplit

DEFAULT_REPO = "https://github.com/medai-edu/medai-edu"
DEFAULT_BRANCH = "main"
DEFAULT_TARGET_DIR = "medai-edu"
# app -> what comes before "<target_dir>/<path>" in urlpath (nbgitpuller's link generator)
APP_PREFIXES = {"lab": "lab/tree/", "notebook": "tree/"}
LINKABLE_SUFFIXES = (".ipynb", ".md")
# folders under labs/ that hold no labs
SKIPPED_FOLDERS = {"node_modules", "__pycache__"}


def _relative_path(value: str | PurePosixPath, what: str) -> PurePosixPath:
    """``value`` as a relative POSIX path without ``..``; ``what`` names it in errors."""
    text = str(value).strip()
    path = PurePosixPath(text)
    if not text or text == ".":
        raise ValueError(f"{what} is empty")
    if path.is_absolute() or "\\" in text or (len(text) > 1 and text[1] == ":"):
        raise ValueError(f"{what} must be relative to the repository, got {text!r}")
    if ".." in path.parts:
        raise ValueError(f"{what} must not contain '..', got {text!r}")
    return path


def _hub_base(hub_url: str) -> str:
    """The hub's address without a trailing slash; a ``ValueError`` unless it is http(s)."""
    parts = urlsplit(hub_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"hub_url must be an http:// or https:// address, got {hub_url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"hub_url must have no query or fragment, got {hub_url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def nbgitpuller_link(
    hub_url: str,
    path: str | PurePosixPath,
    *,
    repo: str = DEFAULT_REPO,
    branch: str = DEFAULT_BRANCH,
    app: str = "lab",
    target_dir: str = DEFAULT_TARGET_DIR,
) -> str:
    """An nbgitpuller link that pulls ``repo`` into the user's home and opens ``path``.

    Parameters
    ----------
    hub_url : str
        The hub's public address, ``https://hub.example.edu`` (a path such as
        ``https://example.edu/jupyter`` is kept; a trailing slash does not matter).
    path : str or PurePosixPath
        The notebook or Markdown file, relative to the repository's root
        (``labs/medical-ai/01-medical-images-as-data.ipynb``).
    repo, branch : str
        The git repository nbgitpuller clones and the branch it follows.
    app : {"lab", "notebook"}
        Open the file in JupyterLab or in Notebook 7.
    target_dir : str
        The folder of the user's home that holds the clone.

    Raises
    ------
    ValueError
        ``hub_url`` is not an http(s) address or has a query; ``path`` is absolute, leaves
        the repository with ``..`` or is not an ``.ipynb`` or ``.md`` file; ``app`` is
        unknown; ``repo``, ``branch`` or ``target_dir`` is empty or ``target_dir`` unsafe.
    """
    base = _hub_base(hub_url)
    file = _relative_path(path, "path")
    if file.suffix not in LINKABLE_SUFFIXES:
        raise ValueError(f"path must be a {' or '.join(LINKABLE_SUFFIXES)} file, got {str(path)!r}")
    if app not in APP_PREFIXES:
        raise ValueError(f"app must be one of {sorted(APP_PREFIXES)}, got {app!r}")
    if not repo.strip() or not branch.strip():
        raise ValueError("repo and branch must not be empty")
    folder = _relative_path(target_dir, "target_dir")
    query = urlencode(
        {
            "repo": repo,
            "branch": branch,
            "targetPath": folder.as_posix(),
            "urlpath": f"{APP_PREFIXES[app]}{(folder / file).as_posix()}",
        }
    )
    return f"{base}/hub/user-redirect/git-pull?{query}"


def lab_links(
    hub_url: str,
    labs_root: str | Path,
    *,
    repo_root: str | Path | None = None,
    **options,
) -> dict[str, str]:
    """Links for every lab notebook under ``labs_root``, sorted by path.

    Parameters
    ----------
    hub_url : str
        As for :func:`nbgitpuller_link`.
    labs_root : str or Path
        The folder of labs in a checkout of the repository (``<repo>/labs``).
    repo_root : str or Path, optional
        The checkout's root; the parent of ``labs_root`` when omitted.
    **options
        ``repo``, ``branch``, ``app`` and ``target_dir``, passed to :func:`nbgitpuller_link`.

    Returns
    -------
    dict of str to str
        Each notebook's path relative to the repository's root
        (``labs/pathology/01-slides-and-pyramids.ipynb``) to its link. Hidden folders
        (``.ipynb_checkpoints``), ``node_modules`` and ``__pycache__`` are skipped.
    """
    labs = Path(labs_root).resolve()
    if not labs.is_dir():
        raise FileNotFoundError(f"no labs folder at {labs}")
    root = Path(repo_root).resolve() if repo_root is not None else labs.parent
    links = {}
    for notebook in sorted(labs.rglob("*.ipynb")):
        inside = notebook.relative_to(labs).parts
        if any(part.startswith(".") or part in SKIPPED_FOLDERS for part in inside):
            continue
        relative = notebook.relative_to(root).as_posix()
        links[relative] = nbgitpuller_link(hub_url, relative, **options)
    return dict(sorted(links.items()))
