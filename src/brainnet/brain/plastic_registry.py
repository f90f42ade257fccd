"""``hebbian_net``'s entry in the one model registry (``pipeline.models.registry.MODELS``), without torch.

Importing ``brainnet`` imports this module (beside ``brain/registry.py``, the spiking models' entries), so
``--model hebbian_net``, ``MultiLabelMLP(model="hebbian_net")`` and ``brainnet.load`` know it.
"""

from __future__ import annotations

from typing import Any

from brainnet.pipeline.models.registry import MODELS, ModelSpec


def _hebbian_net(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.brain.hebbian_net import build_hebbian_net

    return build_hebbian_net(input_shape, n_labels, cfg)


MODELS.register("hebbian_net")(
    ModelSpec(
        "hebbian_net",
        "table",
        _hebbian_net,
        "spiking features learnt without labels (Hebbian, k-WTA), then a linear readout",
    )
)
