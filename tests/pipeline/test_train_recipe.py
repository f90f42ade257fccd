"""The photo recipe's training pieces: EMA (the averaged weights are validated, kept as the best epoch and left in
the model), discriminative learning rates, the one-cycle schedule and fine-tuning (head first, then every layer)."""

import numpy as np
import pytest
import torch

from brainnet.core.config import ImageTrainConfig
from brainnet.core.training import EarlyStopping
from brainnet.pipeline.models import MODELS
from brainnet.pipeline.train_recipe import EMA, add_recipe_callbacks, param_groups
from brainnet.pipeline.trainer import Trainer, build_trainer

SIZE, L = 16, 3


def small_model(**options):
    torch.manual_seed(0)
    cfg = ImageTrainConfig(image_size=SIZE, **options)
    return MODELS.get("cnn_small").build((3, SIZE, SIZE), L, cfg), cfg


def batches_of(n_batches=4, batch=8):
    g = torch.Generator().manual_seed(0)
    data = [
        (
            torch.randn(batch, 3, SIZE, SIZE, generator=g),
            torch.randint(0, 2, (batch, L), generator=g).float(),
        )
        for _ in range(n_batches)
    ]
    return lambda: iter(data)


def sgd_trainer(model):
    """A one-epoch SGD Trainer for the EMA callback to hook into."""
    return Trainer(
        model,
        torch.nn.BCEWithLogitsLoss(),
        torch.optim.SGD(model.parameters(), 0.1),
        epochs=1,
        batch_size=8,
    )


def clone(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_ema_is_the_running_average_of_every_step():
    model, _ = small_model()
    ema = EMA(model, decay=0.5)
    trainer = sgd_trainer(model)
    ema.on_fit_start(trainer)
    expected = clone(model)
    for t in range(1, 4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        ema.on_batch_end(trainer, 0.0)
        d = min(0.5, (1 + t) / (10 + t))
        now = clone(model)
        expected = {k: d * expected[k] + (1 - d) * now[k] for k in now}
    for k, _ in model.named_parameters():  # parameters are averaged
        torch.testing.assert_close(ema.shadow[k], expected[k])
    with torch.no_grad():
        model.backbone[0][1].running_mean.add_(5.0)
    ema.swap_in()  # buffers (BatchNorm statistics) are the model's own when the average goes in
    torch.testing.assert_close(
        model.backbone[0][1].running_mean, now["backbone.0.1.running_mean"] + 5.0
    )
    torch.testing.assert_close(model.head.weight, expected["head.weight"])


def test_ema_weights_are_validated_kept_as_best_and_training_resumes_from_the_raw_weights():
    model, cfg = small_model(ema=0.9, schedule="constant", lr=0.05)
    trainer = Trainer(
        model,
        torch.nn.BCEWithLogitsLoss(),
        torch.optim.AdamW(model.parameters(), 0.05),
        epochs=3,
        batch_size=8,
        callbacks=[EarlyStopping("val_loss", "min", patience=10)],
    )
    ema = add_recipe_callbacks(trainer, cfg, steps_per_epoch=4)
    seen, raw_at_start = [], []
    trainer.callbacks.append(
        type(
            "Spy",
            (EarlyStopping,),
            {
                "on_epoch_start": lambda self, loop: raw_at_start.append(clone(model)),
                "on_epoch_end": lambda self, loop, logs: None,
                "on_fit_end": lambda self, loop: None,
            },
        )()
    )
    X_val = torch.randn(10, 3, SIZE, SIZE)
    Y_val = np.random.default_rng(0).integers(0, 2, (10, L))

    def validation():
        ema.swap_in()
        seen.append(
            (
                clone(model),
                {k: v.clone() for k, v in ema.shadow.items()},
                {k: v.clone() for k, v in ema.stash.items()},
            )
        )
        model.eval()
        with torch.no_grad():
            return model(X_val), Y_val

    state = trainer.run(batches_of(), validation)
    for validated, shadow, _ in seen:  # validation always saw the averaged weights
        for k in shadow:
            torch.testing.assert_close(validated[k], shadow[k])
    for (_, _, stash), start in zip(
        seen[:-1], raw_at_start[1:], strict=True
    ):  # the next epoch trained on from the raw ones
        for k in stash:
            torch.testing.assert_close(start[k], stash[k])
    assert not torch.equal(
        seen[0][0]["head.weight"], seen[0][2]["head.weight"]
    )  # averaging changed something
    best = seen[state.best_epoch - 1][0]
    # the model kept (saved, exported) is the best epoch's average
    for k, v in clone(model).items():
        torch.testing.assert_close(v, best[k])


def test_ema_state_round_trips_for_a_resume():
    model, _ = small_model()
    ema = EMA(model, decay=0.9)
    trainer = sgd_trainer(model)
    ema.on_fit_start(trainer)
    ema.on_batch_end(trainer, 0.0)
    ema.swap_in()
    other = EMA(model, decay=0.9)
    other.on_fit_start(trainer)
    other.load_state_dict(ema.state_dict())
    assert other.updates == 1 and other.stash is not None
    for k in ema.shadow:
        assert torch.equal(other.shadow[k], ema.shadow[k]) and torch.equal(
            other.stash[k], ema.stash[k]
        )


def test_discriminative_learning_rates_make_two_groups_covering_every_parameter():
    model, cfg = small_model(lr=1e-2, backbone_lr_mult=0.1)
    groups = param_groups(model, cfg)
    assert [(g["name"], g["lr"]) for g in groups] == [
        ("backbone", pytest.approx(1e-3)),
        ("head", 1e-2),
    ]
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.head.parameters()}
    plain = param_groups(*small_model())  # no multiplier: one list, as before
    assert isinstance(plain, list) and not isinstance(plain[0], dict)
    trainer = build_trainer(model, cfg, np.ones((4, L)), torch.device("cpu"), None, False, "t")
    assert add_recipe_callbacks(trainer, cfg, steps_per_epoch=5) is not None  # EMA is on by default
    lrs = []
    for _ in range(cfg.epochs * 5):
        trainer.optimizer.step()  # no gradients: changes nothing, keeps the scheduler's order check quiet
        trainer.scheduler.step()
        lrs.append([g["lr"] for g in trainer.optimizer.param_groups])
    top = np.max(lrs, axis=0)
    assert top == pytest.approx([1e-3, 1e-2], rel=0.05)  # one-cycle peaks at each group's own lr
    assert np.array(lrs)[-1, 1] < 1e-5  # and anneals to almost nothing


def test_fine_tune_trains_the_head_first_then_every_layer():
    model, cfg = small_model(fine_tune_epochs=1, epochs=2, schedule="constant", ema=0.0, lr=0.05)
    trainer = build_trainer(model, cfg, np.ones((4, L)), torch.device("cpu"), None, False, "t")
    trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, EarlyStopping)]
    add_recipe_callbacks(trainer, cfg, steps_per_epoch=4)
    after = []

    def validation():
        after.append(clone(model))
        return torch.zeros(2, L), np.zeros((2, L))

    start = clone(model)
    trainer.run(batches_of(), validation)
    backbone = [k for k in start if k.startswith("backbone.")]
    assert all(torch.equal(after[0][k], start[k]) for k in backbone)  # BatchNorm statistics too
    assert not torch.equal(after[0]["head.weight"], start["head.weight"])
    assert not all(torch.equal(after[1][k], start[k]) for k in backbone)
    assert not model.backbone_frozen


def test_recipe_options_are_checked():
    from brainnet.core.errors import UserInputError

    for bad in (
        {"schedule": "linear"},
        {"augmentation": "strong"},
        {"ema": 1.0},
        {"backbone_lr_mult": 0.0},
        {"fine_tune_epochs": 40},
        {"fine_tune_epochs": 2, "freeze_backbone": True},
    ):
        with pytest.raises(UserInputError):
            ImageTrainConfig(**bad)
