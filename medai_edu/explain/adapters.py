"""Which explanation code serves which model: a registry of adapters.

The models sit below :mod:`medai_edu.explain` in the library's layers and know nothing of
explanations, so each model family's adapter lives in explain, beside the code that
explains it (:mod:`~medai_edu.explain.attribution`, one section per family), and registers
itself for the model classes it serves::

    @register_adapter(MOMEMini)
    class MOMEAdapter(MRIAdapter):
        family = "mome-mini"
        ...

:func:`adapter_for` finds a model's adapter by walking its class's MRO, so a subclass of a
registered model (a variant built in a lab) is explained like its parent.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

__all__ = ["ModelAdapter", "adapter_for", "register_adapter", "supported_models"]


class ModelAdapter:
    """How :func:`~medai_edu.explain.attribution.explain` reads one family of models.

    family: the family's key in :data:`~medai_edu.explain.attribution.METHODS`;
    methods: the methods it supports; :meth:`explain` computes one of them.
    """

    family: str = ""
    methods: tuple[str, ...] = ()

    def explain(self, model: nn.Module, batch, method: str, target, **options):
        """The :class:`~medai_edu.explain.attribution.Explanation` of ``method`` (already
        checked to be one of :attr:`methods`) for ``model`` on ``batch``."""
        raise NotImplementedError


#: Model class -> the adapter registered for it.
_ADAPTERS: dict[type, ModelAdapter] = {}


def register_adapter(*model_types: type) -> Callable[[type], type]:
    """Class decorator: one instance of the adapter class serves ``model_types``."""
    if not model_types:
        raise ValueError("register_adapter needs at least one model class")

    def register(adapter_class: type) -> type:
        adapter = adapter_class()
        for model_type in model_types:
            if model_type in _ADAPTERS:
                raise ValueError(f"{model_type.__name__} already has an explanation adapter")
            _ADAPTERS[model_type] = adapter
        return adapter_class

    return register


def supported_models() -> list[str]:
    """The names of the model classes that have an adapter, sorted."""
    return sorted(model_type.__name__ for model_type in _ADAPTERS)


def adapter_for(model: nn.Module) -> ModelAdapter:
    """The adapter of ``model``'s class or of its nearest registered parent class.

    Raises ValueError naming the supported models when there is none.
    """
    for model_type in type(model).__mro__:
        if model_type in _ADAPTERS:
            return _ADAPTERS[model_type]
    raise ValueError(
        f"no explanations for {type(model).__name__}; explain() takes "
        f"{', '.join(supported_models())} (and their subclasses)"
    )
