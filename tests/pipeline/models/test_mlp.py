"""Every registered model through one contract: logits of the right shape, finite, and it can overfit."""

import pytest
import torch

from brainnet.core.config import TrainConfig
from brainnet.pipeline.models import MODELS


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("hidden", [(), (16,), (16, 8)])
def test_registered_model_contract(name, hidden):
    torch.manual_seed(0)
    cfg = TrainConfig(hidden_sizes=hidden, dropout=0.0, input_dropout=0.0)
    model = MODELS.get(name)(10, 3, cfg)  # 10 features > 8 rows: separable
    x = torch.randn(8, 10)
    y = (torch.rand(8, 3) > 0.5).float()
    logits = model(x)
    assert logits.shape == (8, 3) and torch.isfinite(logits).all()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    first = float(loss_fn(model(x), y).detach())
    for _ in range(200):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    assert float(loss_fn(model(x), y).detach()) < 0.2 * first


def test_layers_follow_the_config():
    cfg = TrainConfig(
        hidden_sizes=(7,), batch_norm=False, activation="tanh", dropout=0.2, input_dropout=0.0
    )
    model = MODELS.get("mlp")(4, 2, cfg)
    kinds = [type(m).__name__ for m in model.backbone]
    assert kinds == ["Linear", "Tanh", "Dropout"] and model.head.out_features == 2
    with_bn = MODELS.get("mlp")(4, 2, TrainConfig(hidden_sizes=(7,), input_dropout=0.1))
    assert [type(m).__name__ for m in with_bn.backbone] == [
        "Dropout",
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Dropout",
    ]
