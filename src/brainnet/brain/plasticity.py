"""Plasticity without backpropagation: local learning rules as pure functions, and k-winners-take-all.

Each rule reads only what a synapse could know (its presynaptic activity, its postsynaptic activity, its own
weight, a trace or a threshold) and returns the weight change ``dw``; nothing is updated in place. The rules work
on NumPy arrays and on torch tensors alike (they use only ``@``, ``*``, ``.T``, ``.sum`` and ``.reshape``), so
the examples run them in NumPy and ``hebbian_net`` in torch. A training loop applies them through callbacks
(``brainnet.brain.hebbian_net``); this module has no loop and no state of its own.

Shapes: ``pre`` is (B, N_in) or (N_in,), ``post`` is (B, N_out) or (N_out,) — B samples (or time steps) of the
activity of N_in presynaptic and N_out postsynaptic neurons — and weights are (N_out, N_in): row j holds the
synapses onto postsynaptic neuron j. Batched rules average over B (STDP sums over its spikes).

Glossary used in the docstrings:
    x_i     presynaptic activity (rate, or spike 0/1) of input i
    y_j     postsynaptic activity of neuron j
    w_ji    the weight of the synapse from input i onto neuron j
    eta     learning rate (``lr``)
    theta_j BCM's sliding modification threshold of neuron j
    <.>     the average over the batch
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Array = Any  # a NumPy array or a torch tensor; every argument of a call is the same kind

__all__ = [
    "STDPTraces",
    "bcm",
    "hebbian",
    "kwta",
    "oja",
    "stdp_step",
    "stdp_traces",
    "stdp_window",
]


def _batch(a: Array) -> Array:
    """(N,) -> (1, N); (B, N) unchanged."""
    return a.reshape(1, -1) if a.ndim == 1 else a


def _pair(pre: Array, post: Array) -> tuple[Array, Array]:
    """(x (B, N_in), y (B, N_out)); a single output neuron may give y as (B,) or a scalar."""
    x = _batch(pre)
    return x, post.reshape(x.shape[0], -1)


def _check_lr(lr: float) -> None:
    if not lr > 0:
        raise ValueError(f"lr must be a positive learning rate such as 0.01; received lr={lr!r}.")


def hebbian(pre: Array, post: Array, lr: float) -> Array:
    """Plain Hebbian learning, "cells that fire together wire together".

    dw_ji = eta * <y_j x_i>        (dw = eta * <post ⊗ pre>)

    Unbounded on its own: the weights grow without limit along the inputs' main direction, which is why it is
    used with a normalisation (``oja`` builds one in; ``hebbian_net`` renormalises each row) or a competition.

    Args:
        pre: (B, N_in) or (N_in,) presynaptic activity x.
        post: (B, N_out) or (N_out,) postsynaptic activity y.
        lr: eta > 0.

    Returns:
        dw: (N_out, N_in).
    """
    _check_lr(lr)
    x, y = _pair(pre, post)
    return lr * (y.T @ x) / x.shape[0]


def oja(pre: Array, post: Array, w: Array, lr: float) -> Array:
    """Oja's rule (1982): Hebbian growth with a decay that keeps each weight vector at unit length.

    dw_ji = eta * <y_j (x_i - y_j w_ji)>      with y = w x for a linear neuron

    For a linear neuron on zero-mean inputs the weight vector converges to the unit-norm first principal
    component of the inputs (the eigenvector of the largest eigenvalue of <x x^T>): ||w|| -> 1. With several
    output rows each row learns on its own (no decorrelation between rows).

    Args:
        pre: (B, N_in) or (N_in,) inputs x.
        post: (B, N_out) or (N_out,) outputs y (usually ``x @ w.T``; (B,) or a scalar for one neuron).
        w: (N_out, N_in) or (N_in,) current weights (the shape of the returned change).
        lr: eta > 0.

    Returns:
        dw: the shape of ``w``.
    """
    _check_lr(lr)
    x, y = _pair(pre, post)
    w2 = _batch(w)
    decay = (y * y).sum(0).reshape(-1, 1) * w2  # (N_out, N_in): sum_b y_bj^2 w_j
    return (lr * (y.T @ x - decay) / x.shape[0]).reshape(w.shape)


def bcm(
    pre: Array, post: Array, theta: Array, lr: float, tau_theta: float = 100.0
) -> tuple[Array, Array]:
    """The BCM rule (Bienenstock, Cooper & Munro 1982) with its sliding threshold.

    dw_ji = eta * <y_j (y_j - theta_j) x_i>
    theta_j <- theta_j + (<y_j^2> - theta_j) / tau_theta

    Activity above the threshold potentiates, activity below it (but above zero) depresses; the threshold
    follows the recent mean of y^2, so a neuron that fires a lot raises its own bar. This makes neurons
    selective: each ends up responding strongly to few input patterns.

    Args:
        pre: (B, N_in) or (N_in,) inputs x.
        post: (B, N_out) or (N_out,) outputs y.
        theta: (N_out,) current thresholds.
        lr: eta > 0.
        tau_theta: the threshold's time constant in updates (> 0, default 100); smaller follows faster.

    Returns:
        (dw (N_out, N_in), the new theta (N_out,)).
    """
    _check_lr(lr)
    if not tau_theta > 0:
        raise ValueError(f"tau_theta must be > 0; received tau_theta={tau_theta!r}.")
    x, y = _pair(pre, post)
    dw = lr * ((y * (y - theta)).T @ x) / x.shape[0]
    theta_new = theta + ((y * y).sum(0) / x.shape[0] - theta) / tau_theta
    return dw, theta_new


@dataclass(frozen=True)
class STDPTraces:
    """The state of pair STDP: one decaying trace per presynaptic and per postsynaptic neuron.

    Attributes:
        pre: (B, N_in) x_pre, the recent presynaptic spikes (each spike adds 1, then decays with tau_plus).
        post: (B, N_out) x_post, the recent postsynaptic spikes (decays with tau_minus).
    """

    pre: Array
    post: Array


def stdp_traces(pre_spikes: Array, post_spikes: Array) -> STDPTraces:
    """Zero traces shaped like one time step of (B, N_in) pre and (B, N_out) post spikes."""
    return STDPTraces(_batch(pre_spikes) * 0.0, _batch(post_spikes) * 0.0)


def stdp_step(
    pre_spikes: Array,
    post_spikes: Array,
    traces: STDPTraces,
    *,
    tau_plus: float = 20.0,
    tau_minus: float = 20.0,
    a_plus: float = 0.01,
    a_minus: float = 0.012,
    dt: float = 1.0,
) -> tuple[Array, STDPTraces]:
    """One time step of trace-based pair-based STDP (spike-timing-dependent plasticity, all-to-all pairing).

    x_pre  <- x_pre  * exp(-dt / tau_plus)  + S_pre        (presynaptic trace)
    x_post <- x_post * exp(-dt / tau_minus) + S_post       (postsynaptic trace)
    dw_ji   = A_plus * S_post_j * x_pre_i  -  A_minus * x_post_j * S_pre_i     (summed over the batch)

    A postsynaptic spike potentiates each synapse by A_plus times how recently its input fired; a presynaptic
    spike depresses it by A_minus times how recently the neuron fired. Summed over a pair of spikes at
    Delta t = t_post - t_pre this is the Bi & Poo (1998) window ``stdp_window``: Delta w = A_plus
    exp(-Delta t / tau_plus) for Delta t >= 0 (pre before post: potentiation) and -A_minus exp(Delta t /
    tau_minus) for Delta t < 0 (post before pre: depression). Spikes in the same step count as both orders
    (A_plus - A_minus at Delta t = 0).

    Args:
        pre_spikes: (B, N_in) or (N_in,) S_pre, 0/1 spikes of this step.
        post_spikes: (B, N_out) or (N_out,) S_post, 0/1 spikes of this step.
        traces: the traces after the previous step (``stdp_traces`` for the first).
        tau_plus, tau_minus: trace time constants (> 0, in the unit of dt; default 20).
        a_plus, a_minus: potentiation and depression amplitudes (>= 0; default 0.01 and 0.012, a slight
            excess of depression keeps uncorrelated firing from growing the weights).
        dt: the time step (> 0, default 1).

    Returns:
        (dw (N_out, N_in), the new traces).
    """
    if not (tau_plus > 0 and tau_minus > 0 and dt > 0):
        raise ValueError(
            f"tau_plus, tau_minus and dt must be > 0; received {tau_plus!r}, {tau_minus!r}, {dt!r}."
        )
    if a_plus < 0 or a_minus < 0:
        raise ValueError(f"a_plus and a_minus must be >= 0; received {a_plus!r}, {a_minus!r}.")
    s_pre, s_post = _batch(pre_spikes), _batch(post_spikes)
    x_pre = traces.pre * math.exp(-dt / tau_plus) + s_pre  # (B, N_in)
    x_post = traces.post * math.exp(-dt / tau_minus) + s_post  # (B, N_out)
    dw = a_plus * (s_post.T @ x_pre) - a_minus * (x_post.T @ s_pre)  # (N_out, N_in)
    return dw, STDPTraces(x_pre, x_post)


def stdp_window(
    delta_t: float,
    *,
    tau_plus: float = 20.0,
    tau_minus: float = 20.0,
    a_plus: float = 0.01,
    a_minus: float = 0.012,
) -> float:
    """The pair STDP window: the weight change of one pre and one post spike, Delta t = t_post - t_pre.

    Delta w = A_plus exp(-Delta t / tau_plus) for Delta t > 0, -A_minus exp(Delta t / tau_minus) for
    Delta t < 0, and A_plus - A_minus at 0 (what ``stdp_step`` does for spikes in the same step).
    """
    if delta_t > 0:
        return a_plus * math.exp(-delta_t / tau_plus)
    if delta_t < 0:
        return -a_minus * math.exp(delta_t / tau_minus)
    return a_plus - a_minus


def kwta(x: Array, k: int) -> Array:
    """k-winners-take-all along the last axis: keep the k largest values of each row, set the rest to 0.

    The competition that lateral inhibition produces in cortex: only the k most driven neurons of a layer stay
    active. Ties at the k-th value: NumPy keeps the lowest indices; torch (``topk``, for speed) keeps k of the
    tied ones, the same ones for the same input.

    Args:
        x: (..., N) activities.
        k: winners per row, 1 <= k <= N.

    Returns:
        the shape and kind of ``x``; the k winners keep their values.
    """
    n = x.shape[-1]
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}] (the layer's width); received k={k!r}.")
    if type(x).__module__.startswith("torch"):
        import torch

        values, order = x.topk(k, dim=-1)
        return torch.zeros_like(x).scatter(-1, order, values)
    import numpy as np

    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    out = np.zeros_like(x)
    np.put_along_axis(out, order, np.take_along_axis(x, order, axis=-1), axis=-1)
    return out
