"""A multi-layer perceptron for tabular multi-label data: backbone of hidden blocks + a linear head of logits."""

from __future__ import annotations

import torch
from torch import nn

from brainnet.core.config import TrainConfig
from brainnet.pipeline.models.registry import MODELS

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


class MLP(nn.Module):
    """x -> [Linear -> BatchNorm? -> activation -> Dropout] * len(hidden) -> Linear -> logits.

    Args:
        n_features: d, the input width.
        n_labels: L, one logit per label (sigmoid lives in the loss and in predict_proba).
        hidden_sizes: hidden widths; () gives a linear model (logistic regression per label).
        dropout: dropout probability after each hidden block.
        input_dropout: dropout on the inputs.
        batch_norm: BatchNorm1d after each hidden linear layer.
        activation: a key of ``_ACTIVATIONS``.
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
        layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
        width = n_features
        for h in hidden_sizes:
            layers.append(nn.Linear(width, h, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers += [_ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = h
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_labels)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)  # (B, h_last)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, L)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@MODELS.register("mlp")
def build_mlp(n_features: int, n_labels: int, config: TrainConfig) -> MLP:
    return MLP(
        n_features,
        n_labels,
        hidden_sizes=config.hidden_sizes,
        dropout=config.dropout,
        input_dropout=config.input_dropout,
        batch_norm=config.batch_norm,
        activation=config.activation,
    )
