"""Measurements of the library's own speed, at the top of the package's layers: they may
use anything below (data generators, slide reading) and nothing imports them but
``benchmarks/run.py`` and their tests.

- :mod:`.wsi_throughput`: :func:`benchmark_tiling`, the reading speed of the slide pipeline;
- :mod:`.hub_load`: :func:`simulate_class`, a class arriving at once on the local JupyterHub,
  running :func:`first_cells` of a lab (imported on first use: it needs the extra "hub").
"""

from medai_edu.bench.wsi_throughput import benchmark_tiling
from medai_edu.lazy import lazy_exports

__all__ = ["benchmark_tiling", "first_cells", "simulate_class"]

#: Name -> the module that defines it, imported when the name is first used.
_LAZY = {"first_cells": "hub_load", "simulate_class": "hub_load"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
