"""cnn_small and flip test-time augmentation: the TTA output is the mean of the two passes' probabilities, only in
eval mode, it follows the recipe (saved with the model; models saved before it predict without), and it is
inside the ONNX graph (parity)."""

import numpy as np
import torch

from brainnet.core.config import ImageTrainConfig
from brainnet.pipeline.engine import build_network
from brainnet.pipeline.export import export_onnx
from brainnet.pipeline.image_recipe import ImageRecipe
from brainnet.pipeline.models import MODELS
from tests.pipeline.test_export import random_image_model

SIZE, L = 32, 3


def test_cnn_small_is_small_and_size_independent():
    cfg = ImageTrainConfig()
    sizes = {
        s: sum(p.numel() for p in MODELS.get("cnn_small").build((3, s, s), L, cfg).parameters())
        for s in (32, 96, 160)
    }
    assert (
        len(set(sizes.values())) == 1 and sizes[96] < 500_000
    )  # global average pooling, no flatten head
    assert cfg.model == "cnn_small"  # the default image model


def test_flip_tta_averages_the_probabilities_of_both_passes():
    torch.manual_seed(0)
    model = MODELS.get("cnn_small").build((3, SIZE, SIZE), L, ImageTrainConfig()).eval()
    x = torch.randn(4, 3, SIZE, SIZE)
    with torch.no_grad():
        plain, mirrored = model(x), model(torch.flip(x, dims=[3]))
        model.flip_tta = True
        tta = model(x)
    expected = (torch.sigmoid(plain) + torch.sigmoid(mirrored)) / 2
    torch.testing.assert_close(torch.sigmoid(tta), expected, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(tta, plain)
    model.train()
    with (
        torch.no_grad()
    ):  # training never averages (BatchNorm in train mode: compare the one-pass path)
        torch.manual_seed(1)
        a = model(x)
        torch.manual_seed(1)
        b = model.logits(x)
    torch.testing.assert_close(a, b)


def test_tta_follows_the_recipe_and_old_models_predict_without_it():
    recipe = ImageRecipe()
    recipe.image_size, recipe.mean, recipe.std, recipe.tta = SIZE, (0.5,) * 3, (0.25,) * 3, True
    cfg = ImageTrainConfig(image_size=SIZE)
    assert build_network(cfg, recipe, L).flip_tta
    meta = recipe.to_meta()
    assert ImageRecipe.from_meta(meta, cfg).tta
    del meta["tta"]  # brainnet.json written before flip TTA existed
    assert not ImageRecipe.from_meta(meta, cfg).tta


def test_tta_is_inside_the_onnx_graph():
    est = random_image_model("cnn_small")
    est.recipe_.tta = True
    for m in est.models_:
        m.flip_tta = True
    blob, _ = export_onnx(est)  # raises when onnxruntime and torch disagree
    import onnxruntime as ort

    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(3).integers(0, 256, size=(5, SIZE, SIZE, 3), dtype=np.uint8)
    onnx_p = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        m = est.models_[0].eval()
        z = (
            torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
            - torch.tensor(est.recipe_.mean)[:, None, None]
        ) / torch.tensor(est.recipe_.std)[:, None, None]
        p = (
            ((torch.sigmoid(m.logits(z)) + torch.sigmoid(m.logits(torch.flip(z, dims=[3])))) / 2)
            .double()
            .numpy()
        )
    np.testing.assert_allclose(onnx_p, p, atol=1e-5)


def test_epochs_are_checked_without_tta_and_the_thresholds_see_it(monkeypatch):
    """The per-epoch validation only picks the best epoch: one pass, no flip TTA (half its cost); the validation
    probabilities behind calibration and thresholds are predicted after the fit, with TTA, as is every
    prediction of the saved model."""
    from brainnet.pipeline import engine
    from brainnet.pipeline.image_estimator import MultiLabelImageClassifier
    from tests.pipeline.test_image_estimator import FAST, colour_images

    seen = []  # flip_tta of the model at each image_logits call, in order
    real = engine.image_logits

    def spy(model, *args, **kwargs):
        seen.append(model.flip_tta)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(engine, "image_logits", spy)
    est = MultiLabelImageClassifier(**{**FAST, "epochs": 2}).fit(colour_images(40))
    assert seen == [False, False, True]  # epoch 1, epoch 2, then the validation probabilities
    assert est.models_[0].flip_tta and est.recipe_.tta


def test_cnn_small_reads_channels_last_input_on_the_cpu_with_the_same_logits():
    torch.manual_seed(0)
    model = MODELS.get("cnn_small").build((3, SIZE, SIZE), L, ImageTrainConfig()).eval()
    seen = []
    model.backbone[0].register_forward_pre_hook(
        lambda _, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    x = torch.randn(4, 3, SIZE, SIZE)
    with torch.no_grad():
        fast = model(x)
        model.channels_last_on_cpu = False
        plain = model(x)
    assert seen == [True, False]
    torch.testing.assert_close(fast, plain, atol=1e-5, rtol=1e-5)
    assert all(
        t.is_contiguous() for t in model.state_dict().values()
    )  # saved tensors are unchanged
