"""Short lists of names for error messages."""

from __future__ import annotations

from collections.abc import Sequence


def few(names: Sequence[str], limit: int = 10) -> str:
    """The first ``limit`` names, comma-separated, and how many more there are."""
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")
