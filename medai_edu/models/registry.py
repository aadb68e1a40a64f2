"""The model registry: every model family registers a builder under a name.

    model = create_model("mome-mini", dim=64)

Like timm, each model file holds its modules, its config dataclass and its registration.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str):
    """Decorator: register ``builder(**config) -> nn.Module`` under ``name``."""

    def register(builder):
        if name in _REGISTRY:
            raise ValueError(f"a model named {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return register


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    _import_model_files()
    return sorted(_REGISTRY)


def create_model(name: str, **config) -> nn.Module:
    """Build a registered model; keyword arguments override its config's defaults."""
    _import_model_files()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**config)


def _import_model_files() -> None:
    """Importing a model file registers its models."""
    from medai_edu.models import baselines, meddr, mome, mstar  # noqa: F401
