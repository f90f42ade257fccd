"""The brain's registries, listed without importing torch: neurons, surrogate gradients, spike encoders, the
plasticity rules of ``hebbian_net``, and the brain models' entries (``snn_mlp``, ``snn_cnn``, ``hebbian_net``) in
the one model registry (``pipeline.models.registry.MODELS``).

Each entry is a ``Part`` naming where its torch object lives; ``NEURONS.get("lif").load()`` imports it. A new
neuron is one file and one line here, and the parametrized tests in ``tests/brain/`` pick it up. Importing
``brainnet`` imports this module, so ``--model snn_mlp`` and ``brainnet.load`` know the brain models.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from brainnet.core.registry import Registry
from brainnet.pipeline.models.registry import MODELS, ModelSpec


@dataclass(frozen=True)
class Part:
    """A registered brain component.

    Attributes:
        name: the registered name (``--neuron lif``).
        target: "module:attribute" of the torch object (a neuron class, an autograd Function, an encoder).
        help: one line for ``--help``.
    """

    name: str
    target: str
    help: str

    def load(self) -> Any:
        """The registered object (imports its module, and torch)."""
        module, attribute = self.target.split(":")
        return getattr(import_module(module), attribute)


NEURONS: Registry[Part] = Registry("neuron")
SURROGATES: Registry[Part] = Registry("surrogate")
ENCODERS: Registry[Part] = Registry("encoder")
PLASTIC_RULES: Registry[Part] = Registry("plastic rule")

_PARTS = {
    NEURONS: [
        ("lif", "neurons:LIF", "leaky integrate-and-fire"),
        ("alif", "neurons:ALIF", "LIF with an adaptive threshold (Bellec et al. 2018)"),
    ],
    SURROGATES: [
        ("arctan", "surrogates:ArcTan", "dS/dU = (a/2) / (1 + (pi a x / 2)^2), a = 2"),
        ("fast_sigmoid", "surrogates:FastSigmoid", "dS/dU = 1 / (1 + k |x|)^2, k = 25"),
        ("triangular", "surrogates:Triangular", "dS/dU = max(0, 1 - |x| / w) / w, w = 1"),
    ],
    ENCODERS: [
        ("direct", "encoders:direct", "the input as a constant current at every step"),
        ("rate", "encoders:rate", "Bernoulli spikes with probability sigmoid(x) at each step"),
        ("latency", "encoders:latency", "one spike per input, earlier for larger values"),
        (
            "population",
            "encoders:population",
            "tables: Gaussian receptive fields per feature, rate-coded",
        ),
    ],
    PLASTIC_RULES: [
        (
            "hebbian",
            "hebbian_net:CompetitiveHebbian",
            "the most driven unit moves towards the input, the 7th away (Krotov & Hopfield 2019)",
        ),
        ("oja", "hebbian_net:CompetitiveOja", "Oja's rule on the most driven unit: y (x - y w)"),
        (
            "stdp",
            "hebbian_net:CompetitiveSTDP",
            "trace-based pair STDP on spike trains: the winner's input spikes before its own potentiate",
        ),
    ],
}
for _registry, _parts in _PARTS.items():
    for _name, _target, _help in _parts:
        _registry.register(_name)(Part(_name, f"brainnet.brain.{_target}", _help))

SPIKING_MODELS = ("snn_mlp", "snn_cnn")  # the models that read the spiking options of a config
# hebbian_net reads these spiking options too (its LIF units), not the neuron, surrogate or encoder
HEBBIAN_SPIKING_OPTIONS = ("time_steps", "beta", "threshold")


def _snn_mlp(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.brain.models import build_snn_mlp

    return build_snn_mlp(input_shape, n_labels, cfg)


def _hebbian_net(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.brain.hebbian_net import build_hebbian_net

    return build_hebbian_net(input_shape, n_labels, cfg)


def _snn_cnn(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.brain.models import build_snn_cnn

    return build_snn_cnn(input_shape, n_labels, cfg)


for _spec in (
    ModelSpec(
        "snn_mlp",
        "table",
        _snn_mlp,
        "a spiking MLP: encoder, hidden layers of spiking neurons, leaky non-spiking readout",
    ),
    ModelSpec(
        "snn_cnn",
        "images",
        _snn_cnn,
        "a spiking CNN: two conv blocks of spiking neurons, a spiking dense layer, leaky readout",
    ),
    ModelSpec(
        "hebbian_net",
        "table",
        _hebbian_net,
        "spiking features learnt without labels (Hebbian, Oja or STDP; k-WTA), then a linear readout",
    ),
):
    MODELS.register(_spec.name)(_spec)
