"""medai-edu: the helper library of the Medical AI and Pathological Data Mining courses.

Labs, lecture notes, assignments and benchmarks import from the names below only (the
package's public API, checked by ``tests/test_public_api.py``): the subpackages, each of
which exports its names in its ``__all__``, and the top-level modules. Importing
``medai_edu`` itself imports none of them (they pull in torch and the like).
"""

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # the layers, bottom to top (tests/test_layers.py)
    "paths",
    "metrics",
    "imaging",
    "retrieval",
    "wsi",
    "data",
    "models",
    "train",
    "evaluation",
    "explain",
    "experiments",
    "viz",
    "demos",
    "hub",
    "grading",
    "bench",
]
