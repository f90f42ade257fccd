"""Every registered table model through one contract: logits of the right shape, finite, and it can overfit."""

import pytest
import torch

from brainnet.core.config import TrainConfig
from brainnet.core.errors import UserInputError
from brainnet.pipeline.models import ACTIVATIONS, MODELS

TABLE_MODELS = [n for n in MODELS if MODELS.get(n).data == "table"]
# options a model needs on the contract's tiny shapes; ONE_LAYER models refuse other hidden_sizes, clearly
CONTRACT_OPTIONS = {"hebbian_net": {"winners": 4}}
ONE_LAYER = {"hebbian_net"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny batches gain nothing from intra-op threads; on a busy 2-core machine OpenMP threads waiting for
    each other made a spiking model's 200 steps take minutes instead of seconds."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_table_models_include_the_default():
    assert TrainConfig().model in TABLE_MODELS


@pytest.mark.parametrize("name", TABLE_MODELS)
@pytest.mark.parametrize("hidden", [(), (16,), (16, 8)])
def test_registered_table_model_contract(name, hidden):
    torch.manual_seed(0)
    cfg = TrainConfig(
        model=name,
        hidden_sizes=hidden,
        dropout=0.0,
        input_dropout=0.0,
        **CONTRACT_OPTIONS.get(name, {}),
    )
    if name in ONE_LAYER and len(hidden) != 1:
        with pytest.raises(UserInputError, match="hidden_sizes must be one width"):
            MODELS.get(name).build((10,), 3, cfg)
        return
    model = MODELS.get(name).build((10,), 3, cfg)  # 10 features > 8 rows: separable
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


def _mlp(n_features=4, n_labels=2, **options):
    return MODELS.get("mlp").build((n_features,), n_labels, TrainConfig(**options))


def test_layers_follow_the_config():
    model = _mlp(
        hidden_sizes=(7,), batch_norm=False, activation="tanh", dropout=0.2, input_dropout=0.0
    )
    kinds = [type(m).__name__ for m in model.backbone]
    assert kinds == ["Linear", "Tanh", "Dropout"] and model.head.out_features == 2
    with_bn = _mlp(hidden_sizes=(7,), input_dropout=0.1)
    assert [type(m).__name__ for m in with_bn.backbone] == [
        "Dropout",
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Dropout",
    ]


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_name_resolves_to_its_torch_class(name):
    act = _mlp(hidden_sizes=(3,), batch_norm=False, input_dropout=0.0, activation=name).backbone[1]
    assert type(act).__name__ == ACTIVATIONS.get(name) and isinstance(act, torch.nn.Module)


def test_an_unknown_activation_fails_at_build_naming_the_known_ones():
    for hidden in [(3,), ()]:  # also when no hidden layer would use it
        with pytest.raises(UserInputError, match=r"unknown activation 'rleu'; available: elu, "):
            _mlp(hidden_sizes=hidden, activation="rleu")


def test_the_mlp_reads_one_feature_vector():
    with pytest.raises(ValueError):
        MODELS.get("mlp").build((3, 8, 8), 2, TrainConfig())
