"""Where medai-edu keeps files it makes or copies: the user cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Return the data cache directory, creating it if needed.

    ``$MEDAI_EDU_CACHE`` wins; otherwise ``$XDG_CACHE_HOME/medai-edu``, falling back to
    ``~/.cache/medai-edu``.
    """
    root = os.environ.get("MEDAI_EDU_CACHE")
    if root:
        path = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(xdg) / "medai-edu"
    path.mkdir(parents=True, exist_ok=True)
    return path
