"""Spike encoders: a batch of inputs (B, F) or (B, C, H, W) -> (T, B, ...) input for T time steps.

Tables and images both reach a model standardised (z-scores per feature or channel), so the spike encoders
read the intensity ``p = sigmoid(x)`` in (0, 1): p = 0.5 at the training mean. Every encoder has the signature
``encode(x, time_steps, *, generator=None)``; the random ones draw from ``generator`` (a seeded
``torch.Generator`` on the CPU; None: a fresh one seeded with 0), so the same seed gives the same spikes.
Names live in ``registry.ENCODERS``.
"""

from __future__ import annotations

import torch

from brainnet.brain.registry import ENCODERS
from brainnet.core.errors import UserInputError

POPULATION_FIELDS = 8  # Gaussian receptive fields per feature
POPULATION_RANGE = 2.0  # their centres span [-2, 2] standard deviations


def _check_steps(time_steps: int) -> None:
    if not isinstance(time_steps, int) or isinstance(time_steps, bool) or time_steps < 1:
        raise UserInputError(f"time_steps must be an integer >= 1; received {time_steps!r}.")


def _uniform(like: torch.Tensor, time_steps: int, generator: torch.Generator | None):
    """(T, *like.shape) uniform draws from ``generator`` (CPU), on like's device."""
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    u = torch.rand((time_steps, *like.shape), generator=generator, device=generator.device)
    return u.to(device=like.device, dtype=like.dtype)


def direct(
    x: torch.Tensor, time_steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Direct current injection: x itself at every step, (T, B, ...) (a view; no randomness)."""
    _check_steps(time_steps)
    return x.unsqueeze(0).expand(time_steps, *x.shape)


def rate(
    x: torch.Tensor, time_steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Rate coding: at each step an input spikes with probability sigmoid(x), independently (Bernoulli);
    the expected spike count is T sigmoid(x). Returns (T, B, ...) 0/1 floats."""
    _check_steps(time_steps)
    return (_uniform(x, time_steps, generator) < torch.sigmoid(x)).to(x.dtype)


def latency(
    x: torch.Tensor, time_steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Latency (time-to-first-spike) coding: each input spikes exactly once, at step
    round((1 - sigmoid(x)) (T - 1)), so larger values spike earlier. Deterministic. Returns (T, B, ...)."""
    _check_steps(time_steps)
    when = torch.round((1 - torch.sigmoid(x)) * (time_steps - 1)).long()  # (B, ...)
    steps = torch.arange(time_steps, device=x.device).view(-1, *([1] * x.dim()))
    return (steps == when.unsqueeze(0)).to(x.dtype)


def population(
    x: torch.Tensor, time_steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Population coding of tabular features with Gaussian receptive fields: each feature feeds K = 8 input
    neurons with centres c_k evenly spaced over [-2, 2] (standard deviations) and width sigma = the spacing;
    neuron k fires at each step with probability exp(-(x - c_k)^2 / (2 sigma^2)) (Bernoulli).

    Args:
        x: (B, F) standardised features (images are refused: use rate, latency or direct).

    Returns:
        (T, B, F * K) 0/1 floats; the K neurons of feature f are columns f*K .. f*K + K - 1.
    """
    _check_steps(time_steps)
    if x.dim() != 2:
        raise UserInputError(
            f"the population encoder reads tables (B, F); received shape {tuple(x.shape)}. "
            "Use --encoder rate, latency or direct for images."
        )
    k = POPULATION_FIELDS
    centres = torch.linspace(-POPULATION_RANGE, POPULATION_RANGE, k, device=x.device, dtype=x.dtype)
    sigma = 2 * POPULATION_RANGE / (k - 1)
    response = torch.exp(-((x.unsqueeze(-1) - centres) ** 2) / (2 * sigma**2))  # (B, F, K)
    response = response.flatten(1)  # (B, F * K)
    return (_uniform(response, time_steps, generator) < response).to(x.dtype)


def encoder(name: str):
    """The registered encoder function ``name``; UserInputError naming the others."""
    return ENCODERS.get(name).load()


def encoded_shape(name: str, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of one step of ``name``'s output for one input of ``input_shape`` (no batch)."""
    if name == "population":
        if len(input_shape) != 1:
            raise UserInputError(
                f"the population encoder reads tables (F,); received input shape {input_shape}. "
                "Use --encoder rate, latency or direct for images."
            )
        return (input_shape[0] * POPULATION_FIELDS,)
    ENCODERS.get(name)
    return tuple(input_shape)
