"""Weight initializers: draw a starting array from a seeded ``numpy.random.Generator``.

Each returns float64; the layer casts to its own dtype. ``INITIALIZERS`` maps a name to a function with the
common signature ``init(shape, fan_in, fan_out, rng)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from brainnet.core.registry import Registry

Initializer = Callable[[tuple[int, ...], int, int, np.random.Generator], np.ndarray]
INITIALIZERS: Registry[Initializer] = Registry("initializer")


def he_normal(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """Normal(0, sqrt(2 / fan_in)): keeps the variance of ReLU activations steady layer to layer.

    Returns:
        float64 array of ``shape``.
    """
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def glorot_uniform(
    shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator
) -> np.ndarray:
    """Uniform(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010).

    Returns:
        float64 array of ``shape``.
    """
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def zeros(shape: tuple[int, ...]) -> np.ndarray:
    """All zeros (the usual start for biases). Returns a float64 array of ``shape``."""
    return np.zeros(shape, dtype=np.float64)


INITIALIZERS.register("he_normal")(
    lambda shape, fan_in, fan_out, rng: he_normal(shape, fan_in, rng)
)
INITIALIZERS.register("glorot_uniform")(glorot_uniform)
INITIALIZERS.register("zeros")(lambda shape, fan_in, fan_out, rng: zeros(shape))
