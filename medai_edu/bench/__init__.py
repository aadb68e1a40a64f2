"""Measurements of the library's own speed, at the top of the package's layers: they may
use anything below (data generators, slide reading) and nothing imports them but
``benchmarks/run.py`` and their tests.

- :mod:`.wsi_throughput`: :func:`~medai_edu.bench.wsi_throughput.benchmark_tiling`, the
  reading speed of the slide pipeline;
- :mod:`.hub_load`: :func:`~medai_edu.bench.hub_load.simulate_class`, a class arriving at
  once on the local JupyterHub (imported on demand: it needs the extra "hub").
"""

from medai_edu.bench.wsi_throughput import benchmark_tiling

__all__ = ["benchmark_tiling"]
