"""The model registry: every model family registers a builder under a name.

    model = create_model("mome-mini", dim=64)
    model = create_model("mstar-mini", pretrained="stage2")  # a shipped checkpoint

Like timm, each model file holds its modules, its config dataclass and its registration.
"""

from __future__ import annotations

import json
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


def create_model(name: str, pretrained: bool | str = False, **config) -> nn.Module:
    """Build a registered model; keyword arguments override its config's defaults.

    ``pretrained``: ``True`` or a tag (``"stage2"``) loads a shipped teaching checkpoint
    (:mod:`.pretrained`), after checking its checksum; the model comes back in evaluation
    mode on the CPU, with ``model.pretrained_cfg`` holding the tag, the file and the
    checkpoint's metadata (history, provenance).
    """
    _import_model_files()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    if not pretrained:
        return _REGISTRY[name](**config)
    from medai_edu.models.pretrained import read_checkpoint, resolve, verified_path

    tag, entry = resolve(name, pretrained)
    path = verified_path(entry)
    state, metadata = read_checkpoint(path)
    saved = json.loads(metadata["config"]) if "config" in metadata else {}
    model = _REGISTRY[name](**{**entry.config, **saved, **config})
    model.load_state_dict(state)
    model.pretrained_cfg = {"tag": tag, "file": str(path), "metadata": metadata}
    return model.eval()


def _import_model_files() -> None:
    """Importing a model file registers its models."""
    from medai_edu.models import baselines, meddr, mome, mstar  # noqa: F401
