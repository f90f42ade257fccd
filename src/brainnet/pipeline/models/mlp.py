"""A multi-layer perceptron for tabular multi-label data: backbone of hidden blocks + a linear head of logits."""

from __future__ import annotations

import torch
from torch import nn

from brainnet.core.config import TrainConfig
from brainnet.pipeline.models.activations import ACTIVATIONS
from brainnet.pipeline.models.activations import activation as make_activation


class MLP(nn.Module):
    """x -> [Linear -> BatchNorm? -> activation -> Dropout] * len(hidden) -> Linear -> logits.

    Args:
        n_features: d, the input width.
        n_labels: L, one logit per label (sigmoid lives in the loss and in predict_proba).
        hidden_sizes: hidden widths; () gives a linear model (logistic regression per label).
        dropout: dropout probability after each hidden block.
        input_dropout: dropout on the inputs.
        batch_norm: BatchNorm1d after each hidden linear layer.
        activation: a name in ``brainnet.pipeline.models.activations.ACTIVATIONS``.
    """

    def __init__(
        self,
        n_features: int,
        n_labels: int,
        hidden_sizes: tuple[int, ...] = (256,),
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        batch_norm: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        ACTIVATIONS.get(activation)  # an unknown name fails here, also without hidden layers
        layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
        width = n_features
        for h in hidden_sizes:
            layers.append(nn.Linear(width, h, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers += [make_activation(activation), nn.Dropout(dropout)]
            width = h
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_labels)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)  # (B, h_last)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def build_mlp(input_shape: tuple[int, ...], n_labels: int, config: TrainConfig) -> MLP:
    """The registered "mlp": input_shape (d,), the layers of ``config`` (a ``TrainConfig``)."""
    (n_features,) = input_shape
    return MLP(
        n_features,
        n_labels,
        hidden_sizes=config.hidden_sizes,
        dropout=config.dropout,
        input_dropout=config.input_dropout,
        batch_norm=config.batch_norm,
        activation=config.activation,
    )
