"""The two building blocks: a Parameter (value + gradient) and a Module (forward beside backward)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from brainnet.core.registry import Registry

LAYERS: Registry = Registry("layer")


class Parameter:
    """A learnable array and the gradient of the loss with respect to it (same shape, same dtype)."""

    def __init__(self, value: np.ndarray, name: str = "") -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.value.shape}, dtype={self.value.dtype})"


def _record_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap ``__init__`` so the outermost call stores its arguments (except ``rng``) in ``self._config``."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> None:
        if "_config" not in vars(self):
            bound = signature.bind(self, *args, **kwargs)
            config: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                kind = signature.parameters[name].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    config.update(value)
                elif kind is not inspect.Parameter.VAR_POSITIONAL:
                    config[name] = value
            config.pop("rng", None)  # the weights are saved instead
            self._config = config
        init(self, *args, **kwargs)

    return wrapper


def _jsonable(value: Any, where: str) -> Any:
    """``value`` as JSON: numpy dtypes by name, tuples as lists; anything else is a ValueError."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v, where) for v in value]
    raise ValueError(
        f"{where}={value!r} cannot be saved: only numbers, strings, lists and dtypes can."
    )


class Module:
    """Base of every layer and loss-free network part.

    A subclass writes ``forward(x)``, which caches what the gradient needs, and ``backward(grad_out)``, which
    returns dLoss/dx and *adds* dLoss/dparam into each ``Parameter.grad`` (call ``zero_grad`` between steps).
    Parameters and sub-modules stored as attributes (or in lists) are found by ``parameters()``.

    Every subclass's ``__init__`` records the arguments it was called with, so a registered layer can be
    rebuilt from ``registered_name()`` and ``config()``; ``state()`` / ``load_state()`` carry arrays that are
    not Parameters (BatchNorm's moving statistics).
    """

    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _record_arguments(cls.__init__)  # type: ignore[method-assign]

    def registered_name(self) -> str:
        """The name this layer's class has in ``LAYERS``; ValueError when it is not registered."""
        for name in LAYERS.names():
            if LAYERS.get(name) is type(self):
                return name
        raise ValueError(
            f"{type(self).__name__} is not registered in LAYERS, so it cannot be saved."
        )

    def config(self) -> dict[str, Any]:
        """The constructor arguments (without ``rng``) as JSON values: ``type(self)(**config())`` rebuilds it."""
        config = vars(self).get("_config", {})
        return {k: _jsonable(v, f"{type(self).__name__} {k}") for k, v in config.items()}

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save besides the Parameters (none by default)."""
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what ``state()`` returned."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def children(self) -> Iterator[Module]:
        for value in vars(self).values():
            items = value if isinstance(value, list | tuple) else [value]
            yield from (v for v in items if isinstance(v, Module))

    def parameters(self) -> list[Parameter]:
        """Every Parameter of this module and its children, in attribute order, each once."""
        found: list[Parameter] = []
        for value in vars(self).values():
            items = value if isinstance(value, list | tuple) else [value]
            for v in items:
                if isinstance(v, Parameter):
                    found.append(v)
                elif isinstance(v, Module):
                    found.extend(v.parameters())
        unique = {id(p): p for p in found}
        return list(unique.values())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode: bool = True) -> Module:
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)
