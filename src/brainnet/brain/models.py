"""The spiking models ``snn_mlp`` (tables) and ``snn_cnn`` (images): encoder, spiking layers, a leaky readout.

Both are backbone + head like every model: the spiking backbone maps inputs to (B, H) readout features and a
linear head gives (B, L) logits, so the BCE loss, the thresholds, the metrics, the model directory,
``evaluate`` and ``predict`` are the ordinary ones. Time runs inside the backbone: the encoder turns the batch
into T steps, each synaptic layer is applied to all T steps at once (it has no memory), and only the neurons
loop over time.

The readout is a layer of L non-spiking leaky output units driven by the last hidden layer's spikes S[t]::

    M[0] = 0,   M[t] = beta * M[t-1] + W S[t] + bias,   logits = (1 / T) * sum_t M[t]    ("membrane")

which is linear in the spikes: logits = W f + c bias with f = (1 / T) sum_s k_s S[s], k_s = sum_{t=s..T}
beta^(t-s), and c = (1 / T) sum_t sum_{s<=t} beta^(t-s) a constant. So the backbone returns f (B, H), the
"membrane" readout features, and the head is ``nn.Linear(H, L)`` (its bias learns c bias). ``readout="count"``
uses the spike counts over T instead: f = (1 / T) sum_t S[t].

Each backbone records its ``activity`` (``activity.py``) at every forward pass and keeps, per training epoch,
the activity of its training batches (``epoch_activity``): an epoch closes when the model leaves training mode
(the trainer validates after every epoch).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from brainnet.brain.activity import (
    SILENT_HINT,
    Activity,
    describe,
    silent_layers,
    spike_counts,
)
from brainnet.brain.encoders import encoded_shape
from brainnet.brain.encoders import encoder as encoder_function
from brainnet.brain.neurons import neuron as neuron_class
from brainnet.core.errors import UserInputError

READOUTS = ("membrane", "count")


class SpikingNetwork(nn.Module):
    """What both spiking backbones share: encoding, the activity record, the leaky readout features.

    Args:
        time_steps: T, steps per input.
        neuron: a name in ``registry.NEURONS``.
        surrogate: a name in ``registry.SURROGATES``.
        encoder: a name in ``registry.ENCODERS``.
        beta: membrane decay of the spiking and the readout neurons, in (0, 1).
        threshold: firing threshold theta > 0.
        readout: "membrane" (mean membrane of leaky non-spiking output units) or "count" (spike counts).
        n_labels: L, the head's width (for counting its synaptic operations).
        seed: seeds the encoder's generator (training draws a new sample each batch; evaluation re-seeds, so
            predictions repeat).
    """

    def __init__(
        self,
        *,
        time_steps: int,
        neuron: str,
        surrogate: str,
        encoder: str,
        beta: float,
        threshold: float,
        readout: str = "membrane",
        n_labels: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.n_labels = n_labels
        if readout not in READOUTS:
            raise UserInputError(f"readout must be 'membrane' or 'count'; received {readout!r}.")
        self.time_steps, self.encoder_name, self.readout = time_steps, encoder, readout
        self.neuron_options = {
            "beta": beta,
            "threshold": threshold,
            "surrogate": surrogate,
        }
        self.neuron_class = neuron_class(neuron)
        self.encode_fn = encoder_function(encoder)
        self.beta, self.seed = beta, seed
        self._train_generator = torch.Generator().manual_seed(seed)
        self.activity = Activity()
        self.epoch_activity: list[dict[str, Any]] = []
        self._train_activity = Activity()

    def make_neurons(self) -> nn.Module:
        return self.neuron_class(**self.neuron_options)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) -> (T, B, ...) input of the first layer; records the input spikes' layer if spiking."""
        generator = (
            self._train_generator if self.training else torch.Generator().manual_seed(self.seed)
        )
        return self.encode_fn(x, self.time_steps, generator=generator)

    def recorders(self) -> list[Activity]:
        return [self.activity, self._train_activity] if self.training else [self.activity]

    def record(self, method: str, *args: Any) -> None:
        """Add to every recorder (the evaluation record and, in training, the epoch's); the caller reduces
        the tensors once (``spike_counts``, one ``sum``), so a second recorder costs no pass over them."""
        if _exporting():  # activity counts are Python numbers: nothing to trace into an ONNX graph
            return
        for activity in self.recorders():
            getattr(activity, method)(*args)

    def synaptic(
        self,
        name: str,
        layer: nn.Module,
        inputs: torch.Tensor,
        spiking: bool,
        ann_macs: int | None = None,
    ) -> torch.Tensor:
        """Apply ``layer`` to every step of ``inputs`` (T, B, ...) and record its cost; a layer fed direct
        current (the same real values at every step) runs once and is broadcast over time.

        ``ann_macs``: the MACs of this layer in the equivalent ordinary network when they differ from its own
        (the first layer of a population-coded network reads d features there, not d x K input neurons).
        """
        T, B = inputs.shape[:2]
        if not spiking:  # direct current: constant in time
            out = layer(inputs[0])  # (B, ...)
            if not _exporting():
                self.record("dense", name, _macs(layer, out))
            return out.unsqueeze(0).expand(T, *out.shape)
        out = layer(inputs.flatten(0, 1))  # (T * B, ...)
        if _exporting():
            return out.view(T, B, *out.shape[1:])
        macs = _macs(layer, out[:B])
        fan_out = macs // max(inputs[0][0].numel(), 1)
        self.record("synapses", name, float(inputs.detach().sum()), fan_out, ann_macs or macs)
        return out.view(T, B, *out.shape[1:])

    def spiking_layer(self, name: str, neurons: nn.Module, currents: torch.Tensor) -> torch.Tensor:
        spikes = neurons(currents)  # (T, B, ...)
        if not _exporting():
            self.record("neurons", name, *spike_counts(spikes))
        return spikes

    def read_out(self, spikes: torch.Tensor, spiking: bool = True) -> torch.Tensor:
        """(T, B, H) spikes of the last hidden layer (direct current when not ``spiking``) -> (B, H) readout
        features (see the module docstring); records the head's cost, ``n_labels`` synapses per spike."""
        T = spikes.shape[0]
        if self.readout == "count":
            weights = torch.full((T,), 1.0 / T)
        else:  # k_s / T, k_s = sum_{t=s..T-1} beta^(t-s) = (1 - beta^(T-s)) / (1 - beta)
            remaining = torch.arange(T, 0, -1, dtype=torch.float64)
            weights = (1 - self.beta**remaining) / (1 - self.beta) / T
        weights = weights.to(dtype=spikes.dtype, device=spikes.device)
        H, L = spikes[0][0].numel(), self.n_labels
        if _exporting():
            pass
        elif spiking:
            self.record("synapses", "head", float(spikes.detach().sum()), L, H * L)
        else:
            self.record("dense", "head", H * L)
        return torch.tensordot(weights, spikes, dims=1)  # (B, H): sum_t w_t S[t]

    def drop(self, spikes: torch.Tensor) -> torch.Tensor:
        """Dropout of whole neurons for the whole sequence: one (B, ...) mask shared by the T steps (a
        neuron drops out of an example, not out of single steps; and T times fewer random draws)."""
        if not self.training or self.dropout.p == 0:
            return spikes
        return spikes * self.dropout(torch.ones_like(spikes[0]))  # mask (B, ...) broadcast over T

    def count_examples(self, x: torch.Tensor) -> None:
        if _exporting():
            return
        for activity in self.recorders():
            activity.examples += x.shape[0]

    def train(self, mode: bool = True) -> SpikingNetwork:
        """Leaving training mode closes an epoch: its training activity joins ``epoch_activity``."""
        if self.training and not mode and self._train_activity.examples:
            self.epoch_activity.append(self._train_activity.summary())
            self._train_activity.reset()
        return super().train(mode)

    def training_notes(self) -> list[str]:
        """What the training summary says about spiking: the last epoch's activity, and a hint when the last
        hidden layer was silent for a whole epoch."""
        if not self.epoch_activity:
            return []
        last = self.epoch_activity[-1]
        notes = [f"spiking activity (last training epoch): {describe(last)}"]
        hidden = [k for k in last["firing_rate"]]
        silent_epochs = [
            e + 1
            for e, s in enumerate(self.epoch_activity)
            if hidden and hidden[-1] in silent_layers(s)
        ]
        if silent_epochs:
            notes.append(
                f"the last hidden layer ({hidden[-1]}) emitted no spike in {len(silent_epochs)} epoch(s) "
                f"(first: {silent_epochs[0]}); the readout then sees nothing. Try: {SILENT_HINT}."
            )
        return notes


class SpikingMLPBackbone(SpikingNetwork):
    """snn_mlp's backbone: (B, d) -> Dropout -> encoder (T, B, d') -> [Linear -> BatchNorm? -> spiking neurons
    -> Dropout] per hidden width -> (B, H) readout features. BatchNorm normalises the currents over time and
    batch; with direct current it runs once on the B rows (the same statistics: every step repeats them).

    Args:
        n_features: d.
        hidden_sizes: widths of the spiking hidden layers; () reads the encoded input out directly.
        dropout: dropout of hidden neurons (one mask for all T steps, see ``drop``).
        input_dropout: dropout on the inputs, before encoding.
        batch_norm: BatchNorm1d on each hidden layer's input currents (statistics over time and batch).
        spiking: the ``SpikingNetwork`` options.
    """

    def __init__(
        self,
        n_features: int,
        hidden_sizes: tuple[int, ...] = (256,),
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        batch_norm: bool = True,
        **spiking: Any,
    ) -> None:
        super().__init__(**spiking)
        self.n_features = n_features
        (width,) = encoded_shape(self.encoder_name, (n_features,))
        self.synapses, self.neurons = nn.ModuleList(), nn.ModuleList()
        for h in hidden_sizes:
            norm = nn.BatchNorm1d(h) if batch_norm else nn.Identity()
            self.synapses.append(nn.Sequential(nn.Linear(width, h, bias=not batch_norm), norm))
            self.neurons.append(self.make_neurons())
            width = h
        self.width = width
        self.input_dropout, self.dropout = nn.Dropout(input_dropout), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, d) -> (B, H) readout features of the last hidden layer's spikes."""
        self.count_examples(x)
        h = self.encode(self.input_dropout(x))  # (T, B, d')
        spiking = self.encoder_name != "direct"
        for i, (synapses, neurons) in enumerate(zip(self.synapses, self.neurons, strict=True)):
            ann = self.n_features * synapses[0].out_features if i == 0 else None
            currents = self.synaptic(f"synapses{i + 1}", synapses, h, spiking, ann)  # (T, B, H)
            h = self.drop(self.spiking_layer(f"layer{i + 1}", neurons, currents))
            spiking = True
        return self.read_out(h, spiking)  # (B, H)


class SpikingMLP(nn.Module):
    """snn_mlp: a ``SpikingMLPBackbone`` and a linear head of logits (the leaky readout's synapses).

    Args:
        n_features: d.
        n_labels: L.
        options: the ``SpikingMLPBackbone`` options.
    """

    def __init__(self, n_features: int, n_labels: int, **options: Any) -> None:
        super().__init__()
        self.backbone = SpikingMLPBackbone(n_features, n_labels=n_labels, **options)
        self.head = nn.Linear(self.backbone.width, n_labels)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)  # (B, H)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class SpikingCNNBackbone(SpikingNetwork):
    """snn_cnn's backbone: (B, 3, S, S) -> encoder (T, B, 3, S, S) -> [Conv 3x3 -> BatchNorm -> spiking ->
    MaxPool 2] with 32 then 64 channels -> Flatten -> Linear(hidden) -> BatchNorm -> spiking -> Dropout ->
    (B, hidden) readout features. MaxPool of spikes is their OR over each 2x2 window, so the next layer still
    receives spikes.

    Args:
        image_size: S (>= 8; multiples of 4 keep every pixel).
        channels: the two conv widths.
        hidden: the spiking dense layer's width.
        dropout: dropout of the dense layer's neurons (one mask for all T steps).
        spiking: the ``SpikingNetwork`` options.
    """

    def __init__(
        self,
        image_size: int,
        channels: tuple[int, int] = (32, 64),
        hidden: int = 128,
        dropout: float = 0.0,
        **spiking: Any,
    ) -> None:
        super().__init__(**spiking)
        c1, c2 = channels
        side = image_size // 4
        self.conv1 = nn.Sequential(nn.Conv2d(3, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1))
        self.conv2 = nn.Sequential(nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2))
        self.fc = nn.Sequential(
            nn.Linear(c2 * side * side, hidden, bias=False), nn.BatchNorm1d(hidden)
        )
        self.neurons = nn.ModuleList(self.make_neurons() for _ in range(3))
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(dropout)
        self.width = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, hidden) readout features of the dense layer's spikes."""
        self.count_examples(x)
        h = self.encode(x)  # (T, B, 3, S, S)
        spiking = self.encoder_name != "direct"
        for i, conv in enumerate((self.conv1, self.conv2)):
            currents = self.synaptic(f"conv{i + 1}", conv, h, spiking)  # (T, B, C, s, s)
            spikes = self.spiking_layer(f"conv{i + 1}", self.neurons[i], currents)
            h = _per_step(self.pool, spikes)  # (T, B, C, s/2, s/2)
            spiking = True
        currents = self.synaptic("dense", self.fc, h.flatten(2), True)  # (T, B, hidden)
        return self.read_out(self.drop(self.spiking_layer("dense", self.neurons[2], currents)))


def _exporting() -> bool:
    """True while torch traces the model (the ONNX exporter)."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


def _per_step(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply ``layer`` to (T, B, ...) as one batch of T * B."""
    out = layer(x.flatten(0, 1))
    return out.view(*x.shape[:2], *out.shape[1:])


def _macs(layer: nn.Module, out: torch.Tensor) -> int:
    """Multiply-accumulates of ``layer`` (a Linear or Conv2d, alone or first in a Sequential) for one example
    whose output is out[0]."""
    core = layer[0] if isinstance(layer, nn.Sequential) else layer
    if isinstance(core, nn.Conv2d):
        per_output = core.in_channels // core.groups * core.kernel_size[0] * core.kernel_size[1]
        return int(out[0].numel() * per_output)
    return int(core.in_features * core.out_features)


def spiking_options(cfg: Any, n_labels: int) -> dict[str, Any]:
    """The ``SpikingNetwork`` keyword arguments of a config."""
    return {
        "time_steps": cfg.time_steps,
        "neuron": cfg.neuron,
        "surrogate": cfg.surrogate,
        "encoder": cfg.encoder,
        "beta": cfg.beta,
        "threshold": cfg.threshold,
        "n_labels": n_labels,
        "seed": cfg.seed,
    }


def build_snn_mlp(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> SpikingMLP:
    """The registered "snn_mlp": input_shape (d,); reads hidden_sizes, dropout, input_dropout, batch_norm and
    the spiking options of a ``TrainConfig`` (not activation: the neurons are the non-linearity; the CLI
    refuses --activation for spiking models)."""
    if len(input_shape) != 1:
        raise UserInputError(
            f"snn_mlp reads feature vectors (d,); received input shape {input_shape}."
        )
    options = spiking_options(cfg, n_labels)
    del options["n_labels"]
    return SpikingMLP(
        input_shape[0],
        n_labels,
        hidden_sizes=cfg.hidden_sizes,
        dropout=cfg.dropout,
        input_dropout=cfg.input_dropout,
        batch_norm=cfg.batch_norm,
        **options,
    )


def build_snn_cnn(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    """The registered "snn_cnn": an ``ImageClassifier`` whose backbone spikes; input_shape (3, S, S) with
    S >= 8; reads the spiking options, ``pretrained`` and ``freeze_backbone`` of an ``ImageTrainConfig``."""
    from brainnet.pipeline.models.image_classifier import (
        ImageClassifier,
        check_image_size,
        finish,
        image_side,
    )

    side = image_side("snn_cnn", input_shape)
    check_image_size("snn_cnn", side, 8)
    backbone = SpikingCNNBackbone(side, **spiking_options(cfg, n_labels))
    return finish(ImageClassifier("snn_cnn", backbone, backbone.width, n_labels), cfg)


def spiking_backbones(model: nn.Module) -> list[SpikingNetwork]:
    """The spiking backbones inside a model (one for snn_mlp and snn_cnn)."""
    return [m for m in model.modules() if isinstance(m, SpikingNetwork)]
