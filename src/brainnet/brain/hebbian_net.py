"""``hebbian_net``: a feature layer that learns without labels (Hebbian, k-WTA, weight normalisation), read
out by an ordinary linear multi-label head trained with BCE.

Two phases, both driven by the training-loop protocol of ``brainnet.core.training``:

1. Unsupervised (``HebbianNet.fit_unsupervised``, called once by the torch engine before supervised training,
   on the training inputs only, never their labels): a ``PlasticLoop`` walks shuffled batches and, after each,
   fires ``on_batch_end``; the plasticity rules are callbacks (``CompetitiveHebbian`` then ``NormaliseRows``)
   that read the batch's pre- and postsynaptic activity and change the weights with the pure rules of
   ``brainnet.brain.plasticity``. No gradient is ever computed for these weights.
2. Supervised: the engine's ordinary ``Trainer`` fits the linear head on the layer's spike counts (BCE on
   logits, AdamW, early stopping); the plastic weights are buffers, so the optimiser never sees them, and they
   are saved with the head in ``weights.safetensors``.

The feature layer, for standardised features x (B, d)::

    r      = [relu(x), relu(-x)] / ||.||              ON/OFF rates, unit length     (B, 2d)
    a      = r W^T                                     drive: cosine to each unit    (B, H)
    I      = gain * relu(a - a_(k+1))                  k-WTA: only the k most driven units get current
    S[t]   = LIF(I) for t = 1..T                       spiking neurons (``neurons.LIF``, constant current)
    counts = sum_t S[t] / T                            the features the head reads   (B, H)

and the unsupervised rule, per batch (Krotov & Hopfield 2019's competition in Hebbian form)::

    g_bj   = 1 if unit j is the most driven for row b, -delta if it is the m-th most driven, else 0
    W     <- W + eta_t * <g ⊗ r>                        (``plasticity.hebbian``)
    W_j   <- W_j / ||W_j||                              weight normalisation, row by row
    eta_t  = eta * (1 - progress)                       annealed to 0 over the unsupervised epochs

The rule is selectable (``plastic_rule``, names in ``registry.PLASTIC_RULES``): "hebbian" (above, the
default), "oja" (``plasticity.oja`` on the most driven unit, y = its drive: dW_j = eta y (r - y W_j)), and
"stdp" (``CompetitiveSTDP``: spike trains, trace-based pair STDP from ``plasticity.stdp_step``)::

    S_pre[t] ~ Bernoulli(PRE_RATE * r / max(r))           the ON/OFF rates as input spikes, t = 1..T
    I_j[t]   = S_pre[t] W_j^T  for the most driven unit j  (the others get no current: winner-take-all)
    S_post   = LIF(I)                                      the winner fires when its input spikes add up
    dW       = sum_t stdp_step(S_pre[t], S_post[t])        pre before post potentiates, post before pre
                                                           depresses (A_plus, A_minus, tau: ``STDP``)
    W       <- W + eta_t dW / (B T),  then rows renormalised

Glossary: H units (``hidden_sizes``, one width), k winners (``winners``), T steps (``time_steps``), beta and
theta the LIF decay and threshold (``beta``, ``threshold``), eta the plastic learning rate (``plastic_lr``),
m = ``ANTI_RANK`` and delta = ``ANTI_STRENGTH`` the anti-Hebbian push of the m-th unit that spreads the
units over the inputs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from brainnet.brain.neurons import LIF
from brainnet.brain.plasticity import hebbian, kwta, oja, stdp_step, stdp_traces
from brainnet.brain.registry import PLASTIC_RULES
from brainnet.core.errors import UserInputError
from brainnet.core.training import Callback, ProgressBar, TrainState, emit, run_loop

GAIN = 20.0  # current per unit of drive above the (k+1)-th unit's: the winners fire a few times in T steps
ANTI_RANK = 7  # m: the unit pushed away from each input (Krotov & Hopfield 2019 use 7 on MNIST)
ANTI_STRENGTH = 0.4  # delta: how hard (their value)
PLASTIC_BATCH = 32  # rows per plastic update
PRE_RATE = 0.5  # stdp: the spike probability per step of each row's strongest ON/OFF input
# stdp: the pair window. Short traces (5 steps of T) so that only near-coincident pairs count, and
# potentiation above depression: the rows are renormalised after every update, so the rule needs no net
# depression for stability, and uncorrelated firing then pulls the winner towards its input (as Hebbian does)
STDP = {"tau_plus": 5.0, "tau_minus": 5.0, "a_plus": 1.0, "a_minus": 0.5}


def on_off(x: torch.Tensor) -> torch.Tensor:
    """(B, d) standardised features -> (B, 2d) non-negative unit-length rates [relu(x), relu(-x)] / norm.

    Like ON and OFF cells: a value above the mean drives one input, below it the other.
    """
    r = torch.cat([x.clamp(min=0), (-x).clamp(min=0)], dim=1)  # (B, 2d)
    return r / r.norm(dim=1, keepdim=True).clamp(min=1e-12)


class HebbianLayer(nn.Module):
    """H spiking units with plastic input weights (a buffer, never a parameter) and k-WTA competition.

    Args:
        n_features: d, the standardised input width (the layer reads 2d ON/OFF rates).
        width: H units.
        winners: k, the units that receive current for each input, 1 <= k < H.
        time_steps: T, the LIF simulation steps per input.
        beta, threshold: the LIF decay in (0, 1) and firing threshold (> 0).
        generator: seeds the initial weights (uniform, rows normalised).
    """

    def __init__(
        self,
        n_features: int,
        width: int,
        winners: int,
        time_steps: int,
        beta: float = 0.9,
        threshold: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 1 <= winners < width:
            raise UserInputError(
                f"winners must be in [1, {width - 1}] (fewer than the {width} units of hidden_sizes); "
                f"received {winners}. Lower --winners or widen --hidden-sizes."
            )
        self.winners, self.time_steps = winners, time_steps
        self.neuron = LIF(beta=beta, threshold=threshold)
        weight = torch.rand(width, 2 * n_features, generator=generator)
        self.register_buffer("weight", weight / weight.norm(dim=1, keepdim=True))

    def drive(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, d) -> (r (B, 2d) ON/OFF rates, a (B, H) drive: the cosine of r to each unit's weights)."""
        r = on_off(x)
        return r, r @ self.weight.T

    @torch.no_grad()
    def spike_trains(self, x: torch.Tensor) -> torch.Tensor:
        """(B, d) -> (T, B, H) spikes of the LIF units; only the k most driven units get current."""
        _, a = self.drive(x)
        above = a - a.topk(self.winners + 1, dim=1).values[:, -1:]  # (B, H): > 0 for the k winners
        current = GAIN * kwta(above, self.winners).clamp(min=0)  # (B, H)
        return self.neuron(current.expand(self.time_steps, *current.shape))  # (T, B, H), fused LIF

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, d) -> (B, H) spike counts / T (firing rates in [0, 1])."""
        return self.spike_trains(x).mean(dim=0)


class HebbianNet(nn.Module):
    """Unsupervised spiking features (``HebbianLayer``) + a linear head of (B, L) logits.

    ``forward_features`` computes no gradient; only the head trains with backpropagation.
    """

    def __init__(
        self,
        features: HebbianLayer,
        n_labels: int,
        plastic_epochs: int,
        plastic_lr: float,
        plastic_rule: str = "hebbian",
    ):
        super().__init__()
        self.features = features
        self.head = nn.Linear(features.weight.shape[0], n_labels)
        self.plastic_epochs, self.plastic_lr = plastic_epochs, plastic_lr
        self.rule = PLASTIC_RULES.get(plastic_rule).load()  # UserInputError naming the rules
        self.plastic_rule = plastic_rule

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # (B, H) spike counts / T

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def fit_unsupervised(self, X: np.ndarray, *, seed: int, verbose: bool = False) -> list[str]:
        """Phase 1: learn the feature layer's weights from the (n, d) training inputs, without labels.

        Returns:
            notes for the training summary (epochs, rows, seconds, units that never won).
        """
        start = time.perf_counter()
        callbacks: list[Callback] = [
            self.rule.make(self.plastic_lr, self.features, seed),
            NormaliseRows(),
        ]
        if verbose:
            callbacks.append(ProgressBar("train_loss", "hebbian (no labels)"))
        loop = PlasticLoop(self.features, self.plastic_epochs, callbacks, seed)
        loop.fit(torch.as_tensor(X, dtype=torch.float32))
        _, a = self.features.drive(torch.as_tensor(X, dtype=torch.float32))
        won = torch.zeros(a.shape[1], dtype=torch.bool)
        won[a.topk(self.features.winners, dim=1).indices.unique()] = True
        return [
            f"hebbian_net: {loop.state.epoch} unsupervised epoch(s) of the {self.plastic_rule} rule on "
            f"{len(X)} rows without labels in "
            f"{time.perf_counter() - start:.1f} s; {int((~won).sum())} of {len(won)} units never among "
            f"the {self.features.winners} winners"
        ]


class PlasticLoop:
    """A ``core.training.Loop`` without gradients: shuffled batches of inputs, then ``on_batch_end``.

    Before the event it leaves the batch's activity on the loop for the rule callbacks: ``pre`` (B, 2d) ON/OFF
    rates, ``drive`` (B, H), and ``progress`` in [0, 1) (the share of updates done). The epoch's log
    ``train_loss`` is the mean quantisation error 1 - max_j cos(r, W_j): how far each input is from its best
    unit (lower: the units cover the inputs better).

    Args:
        model: the ``HebbianLayer`` whose ``weight`` the callbacks change.
        epochs: passes over the inputs.
        callbacks: the rules, then anything else (a progress bar), in order.
        seed: orders the batches.
    """

    def __init__(self, model: HebbianLayer, epochs: int, callbacks: list[Callback], seed: int):
        self.model, self.epochs, self.callbacks = model, epochs, callbacks
        self.state = TrainState()
        self.generator = torch.Generator().manual_seed(seed)
        self.pre = self.drive = torch.zeros(0)
        self.progress = 0.0

    def snapshot(self) -> torch.Tensor:
        return self.model.weight.clone()

    def restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, torch.Tensor)
        self.model.weight.copy_(snapshot)

    def _batches(self, X: torch.Tensor) -> Iterator[torch.Tensor]:
        yield from X[torch.randperm(len(X), generator=self.generator)].split(PLASTIC_BATCH)

    def fit(self, X: torch.Tensor) -> TrainState:
        """Run ``epochs`` passes over (n, d) inputs; returns the loop's state (history of epoch logs)."""
        per_epoch = -(-len(X) // PLASTIC_BATCH)
        total = self.epochs * per_epoch

        def train_epoch() -> dict[str, float]:
            error = 0.0
            for b, xb in enumerate(self._batches(X)):
                self.progress = ((self.state.epoch - 1) * per_epoch + b) / total
                with torch.no_grad():
                    self.pre, self.drive = self.model.drive(xb)
                error += float((1 - self.drive.max(dim=1).values).sum())
                emit(self, "on_batch_end", error / len(X))
            return {"epoch": float(self.state.epoch), "train_loss": error / len(X)}

        return run_loop(self, train_epoch)


class CompetitiveHebbian(Callback):
    """The plastic rule of ``hebbian_net`` as a callback: after each batch, W += eta_t <g ⊗ r>.

    g is +1 for each row's most driven unit and -``anti_strength`` for its ``anti_rank``-th (see the module
    docstring); eta_t = ``lr`` * (1 - loop.progress). Reads ``loop.pre`` and ``loop.drive`` (a ``PlasticLoop``).
    """

    def __init__(self, lr: float, anti_rank: int, anti_strength: float) -> None:
        self.lr, self.anti_rank, self.anti_strength = lr, anti_rank, anti_strength

    @classmethod
    def make(cls, lr: float, layer: HebbianLayer, seed: int) -> CompetitiveHebbian:
        """The rule with hebbian_net's constants (``ANTI_RANK``, ``ANTI_STRENGTH``)."""
        return cls(lr, ANTI_RANK, ANTI_STRENGTH)

    def on_batch_end(self, loop: Any, loss: float) -> None:
        a = loop.drive  # (B, H)
        order = a.topk(min(self.anti_rank, a.shape[1]), dim=1).indices  # (B, m)
        g = torch.zeros_like(a)
        g.scatter_(1, order[:, :1], 1.0)
        if order.shape[1] > 1:
            g.scatter_(1, order[:, -1:], -self.anti_strength)
        eta = self.lr * (1.0 - loop.progress)
        loop.model.weight += hebbian(loop.pre, g, eta)


class CompetitiveOja(Callback):
    """Oja's rule on each row's most driven unit: dW_j = eta_t <y (r - y W_j)>, y = the unit's drive (its
    cosine to r) and 0 for the other units; eta_t = ``lr`` * (1 - loop.progress)."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    @classmethod
    def make(cls, lr: float, layer: HebbianLayer, seed: int) -> CompetitiveOja:
        return cls(lr)

    def on_batch_end(self, loop: Any, loss: float) -> None:
        a = loop.drive  # (B, H)
        y = torch.zeros_like(a).scatter_(
            1, a.argmax(1, keepdim=True), a.max(1, keepdim=True).values
        )
        eta = self.lr * (1.0 - loop.progress)
        loop.model.weight += oja(loop.pre, y, loop.model.weight, eta)


class CompetitiveSTDP(Callback):
    """Trace-based pair STDP on spike trains (see the module docstring): the ON/OFF rates become Bernoulli
    input spikes over the layer's T steps, the most driven unit of each row integrates them in its LIF
    neuron, and ``plasticity.stdp_step`` turns every pre/post spike pair into a weight change, summed over
    the steps and averaged over the batch and T; eta_t = ``lr`` * (1 - loop.progress).

    Args:
        lr: eta > 0.
        time_steps: T.
        neuron: the layer's LIF (its beta and threshold).
        generator: draws the input spikes (seeded: the same seed, the same weights).
        window: ``stdp_step``'s keyword arguments (default ``STDP``).
    """

    def __init__(
        self,
        lr: float,
        time_steps: int,
        neuron: LIF,
        generator: torch.Generator,
        window: dict[str, float] | None = None,
    ) -> None:
        self.lr, self.time_steps, self.neuron, self.generator = lr, time_steps, neuron, generator
        self.window = dict(STDP if window is None else window)

    @classmethod
    def make(cls, lr: float, layer: HebbianLayer, seed: int) -> CompetitiveSTDP:
        return cls(lr, layer.time_steps, layer.neuron, torch.Generator().manual_seed(seed))

    def spike_trains(
        self, r: torch.Tensor, a: torch.Tensor, weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(r (B, N_in) rates, a (B, H) drive, W (H, N_in)) -> (S_pre (T, B, N_in), S_post (T, B, H))."""
        p = PRE_RATE * r / r.max(dim=1, keepdim=True).values.clamp(min=1e-12)  # (B, N_in)
        u = torch.rand((self.time_steps, *r.shape), generator=self.generator)
        pre = (u < p).to(r.dtype)  # (T, B, N_in)
        winner = torch.zeros_like(a).scatter_(1, a.argmax(1, keepdim=True), 1.0)  # (B, H)
        post = self.neuron(pre @ weight.T * winner)  # (T, B, H): only the winner gets current
        return pre, post

    def weight_change(self, pre: torch.Tensor, post: torch.Tensor) -> torch.Tensor:
        """(T, B, N_in) and (T, B, H) spike trains -> dW (H, N_in), ``stdp_step`` summed over the T steps."""
        traces, dw = stdp_traces(pre[0], post[0]), 0.0
        for s_pre, s_post in zip(pre, post, strict=True):
            step, traces = stdp_step(s_pre, s_post, traces, **self.window)
            dw = dw + step
        return dw

    def on_batch_end(self, loop: Any, loss: float) -> None:
        pre, post = self.spike_trains(loop.pre, loop.drive, loop.model.weight)
        eta = self.lr * (1.0 - loop.progress)
        dw = self.weight_change(pre, post)
        loop.model.weight += eta * dw / (pre.shape[0] * pre.shape[1])


class NormaliseRows(Callback):
    """Weight normalisation after each plastic update: every unit's weight vector back to unit length."""

    def on_batch_end(self, loop: Any, loss: float) -> None:
        w = loop.model.weight
        w /= w.norm(dim=1, keepdim=True).clamp(min=1e-12)


def build_hebbian_net(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> HebbianNet:
    """The registered "hebbian_net" for tables: input_shape (d,); H from ``cfg.hidden_sizes`` (one width),
    k ``cfg.winners``, the unsupervised phase's ``cfg.plastic_rule`` / ``cfg.plastic_epochs`` /
    ``cfg.plastic_lr``, and the LIF units' ``cfg.time_steps``, ``cfg.beta``, ``cfg.threshold`` (the CLI
    refuses --neuron, --surrogate and --encoder for it). Seeded by the caller's ``torch.manual_seed``."""
    (n_features,) = input_shape
    if len(cfg.hidden_sizes) != 1:
        raise UserInputError(
            f"hebbian_net has one plastic layer, so hidden_sizes must be one width such as 512; received "
            f"{list(cfg.hidden_sizes)}. Pass --hidden-sizes 512."
        )
    generator = torch.Generator().manual_seed(int(torch.initial_seed()) % 2**63)
    features = HebbianLayer(
        n_features,
        cfg.hidden_sizes[0],
        cfg.winners,
        cfg.time_steps,
        beta=cfg.beta,
        threshold=cfg.threshold,
        generator=generator,
    )
    return HebbianNet(features, n_labels, cfg.plastic_epochs, cfg.plastic_lr, cfg.plastic_rule)
