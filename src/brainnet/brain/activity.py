"""What a spiking network did: firing rate and silent neurons per layer, synaptic operations against MACs.

A spiking model owns an ``Activity`` and records into it at every forward pass (detached sums; no gradient):
each layer of spiking neurons its spikes, each synaptic layer the events it received and its fan-out. From
those:

- firing rate of a layer: spikes / (neurons x time steps x examples);
- silent fraction: the share of a layer's neurons that never fired on the recorded examples;
- SOPs (synaptic operations) per example: sum over synaptic layers of (input spikes x fan-out), the additions
  an event-driven chip performs; a layer fed real values (direct current into the first layer) costs dense MACs
  instead, counted once per example because its input is the same at every step;
- the MACs per example of the equivalent ordinary network (the same layers, one pass, no time).

The usual energy proxy compares SOPs (+ the dense MACs) with the ordinary network's MACs; an addition costs about
a fifth of a multiply-accumulate on 45 nm CMOS (Horowitz 2014), which this module does not fold in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

SILENT_HINT = (
    "raise the input gain (standardised inputs, a larger first-layer init or --encoder direct) or lower "
    "--threshold"
)


@dataclass
class Activity:
    """Running sums over the forward passes since the last ``reset``.

    Attributes:
        examples: inputs seen.
        spikes: layer -> (N,) spike counts per neuron.
        steps: layer -> time steps x examples behind those counts.
        events: synaptic layer -> input spikes received (all examples).
        fan_out: synaptic layer -> synapses each input event drives.
        dense_macs: synaptic layer -> MACs per example of a layer fed real values.
        ann_macs: synaptic layer -> MACs per example of the same layer in an ordinary network.
    """

    examples: int = 0
    spikes: dict[str, torch.Tensor] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)
    fan_out: dict[str, int] = field(default_factory=dict)
    dense_macs: dict[str, int] = field(default_factory=dict)
    ann_macs: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def neurons(self, layer: str, counts: torch.Tensor, steps: int) -> None:
        """A layer's spikes, reduced once by ``spike_counts``: (N,) counts per neuron over ``steps`` = T x B."""
        self.spikes[layer] = self.spikes.get(layer, 0) + counts
        self.steps[layer] = self.steps.get(layer, 0) + steps

    def synapses(self, layer: str, events: float, fan_out: int, ann_macs: int) -> None:
        """A synaptic layer fed ``events`` input spikes (``float(inputs.sum())``): events x fan_out SOPs."""
        self.events[layer] = self.events.get(layer, 0.0) + events
        self.fan_out[layer], self.ann_macs[layer] = fan_out, ann_macs

    def dense(self, layer: str, macs: int) -> None:
        """A synaptic layer fed real values: ``macs`` per example, once (its input is constant in time)."""
        self.dense_macs[layer] = self.ann_macs[layer] = macs

    def summary(self) -> dict[str, Any]:
        """The documented keys (``README.md``, "Spiking networks"), per example where it says so."""
        n = max(self.examples, 1)
        rates = {k: float(v.sum()) / (v.numel() * self.steps[k]) for k, v in self.spikes.items()}
        silent = {k: float((v == 0).float().mean()) for k, v in self.spikes.items()}
        sops = sum(self.events[k] * self.fan_out[k] for k in self.events) / n
        dense = float(sum(self.dense_macs.values()))
        ann = float(sum(self.ann_macs.values()))
        return {
            "firing_rate": rates,
            "silent_fraction": silent,
            "sops_per_example": sops,
            "dense_macs_per_example": dense,
            "ann_macs_per_example": ann,
            "sops_to_ann_macs": sops / ann if ann else float("nan"),
            "ops_to_ann_macs": (sops + dense) / ann if ann else float("nan"),
        }


def spike_counts(spikes: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(T, B, N) or (T, B, C, H, W) spikes -> ((N,) or (C * H * W,) counts per neuron on the CPU, T x B)."""
    T, B = spikes.shape[:2]
    return spikes.detach().sum(dim=(0, 1)).flatten().cpu(), T * B


def silent_layers(summary: dict[str, Any]) -> list[str]:
    """The layers that emitted no spike at all."""
    return [k for k, rate in summary["firing_rate"].items() if rate == 0]


def describe(summary: dict[str, Any]) -> str:
    """One line: firing rates, silent neurons, SOPs against the ordinary network's MACs."""
    rates = ", ".join(
        f"{k} {r:.3f} ({summary['silent_fraction'][k]:.0%} silent)"
        for k, r in summary["firing_rate"].items()
    )
    return (
        f"firing rate {rates}; {summary['sops_per_example']:,.0f} SOPs + "
        f"{summary['dense_macs_per_example']:,.0f} dense MACs per example vs "
        f"{summary['ann_macs_per_example']:,.0f} MACs of the ordinary network "
        f"(SOPs/MACs {summary['sops_to_ann_macs']:.3f})"
    )


def backbone_activities(model: Any) -> list[Activity]:
    """The ``Activity`` of every spiking backbone inside ``model`` (a torch module)."""
    return [
        m.activity for m in model.modules() if isinstance(getattr(m, "activity", None), Activity)
    ]


def members_activity(models: list[Any]) -> dict[str, Any]:
    """The mean over an ensemble's networks of their activity summaries (each since its last reset)."""
    summaries = [a.summary() for m in models for a in backbone_activities(m)]
    mean: dict[str, Any] = {}
    for key, value in summaries[0].items():
        if isinstance(value, dict):
            mean[key] = {k: sum(s[key][k] for s in summaries) / len(summaries) for k in value}
        else:
            mean[key] = sum(s[key] for s in summaries) / len(summaries)
    return mean


def evaluate_with_activity(estimator: Any, X: Any, Y: Any = None) -> dict[str, Any]:
    """``estimator.evaluate`` plus the ``activity`` of its spiking networks on those inputs (the mean over
    the ensemble's members); the metric keys are unchanged."""
    for model in estimator.models_:
        for activity in backbone_activities(model):
            activity.reset()
    result = dict(estimator.evaluate(X, Y))
    result["activity"] = members_activity(estimator.models_)
    return result
