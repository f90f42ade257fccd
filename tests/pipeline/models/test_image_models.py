"""Every registered image model through one contract, freezing, and weights from local files only."""

import socket

import pytest
import torch
from safetensors.torch import save_file

from brainnet.core.config import ImageTrainConfig
from brainnet.core.errors import UserInputError
from brainnet.pipeline.models import MODELS, ImageClassifier, seed_cnn, torchvision_models

SIZE = 32  # the smallest size every architecture takes (torchvision's overall stride)
Y = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float32)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny inputs gain nothing from intra-op threads, and on a busy 2-core machine OpenMP threads waiting
    for each other made one EfficientNet step take 1-17 s instead of 0.1 s."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Any download, socket connection or write to torch's hub directory fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    hub = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(hub))
    yield
    assert not hub.exists() or not any(hub.rglob("*")), "something was written to the torch hub dir"


IMAGE_MODELS = [n for n in MODELS if MODELS.get(n).data == "images"]


def _new(name, n_labels=3, size=SIZE, pretrained=None, **options):
    """``MODELS.get(name).build`` for (3, size, size) images; ``pretrained`` a path or None."""
    pretrained = None if pretrained is None else str(pretrained)
    cfg = ImageTrainConfig(model=name, pretrained=pretrained, **options)
    return MODELS.get(name).build((3, size, size), n_labels, cfg)


def _build(name, n_labels=3, **options):
    torch.manual_seed(0)
    return _new(name, n_labels, **options)


def test_every_image_model_is_registered_with_a_builder_and_help():
    assert IMAGE_MODELS == sorted(["cnn_small", "seed_cnn", "snn_cnn", *torchvision_models.HEADS])
    assert all(MODELS.get(n).help for n in IMAGE_MODELS)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_registered_image_model_contract(name):
    """(B, L) finite logits, and 10 Adam steps memorise 4 images (dropout off, BatchNorm training)."""
    model = _build(name)
    assert isinstance(model, ImageClassifier) and model.arch == name
    x = torch.randn(4, 3, SIZE, SIZE)
    logits = model(x)
    assert logits.shape == (4, 3) and torch.isfinite(logits).all()
    assert not isinstance(
        list(model.modules())[-1], torch.nn.Sigmoid
    )  # logits, never probabilities
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()  # so a tiny batch can be memorised quickly
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, foreach=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = loss_fn(model(x), Y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.3 * losses[0], losses


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_freeze_backbone_trains_only_the_head(name):
    model = _build(name, freeze_backbone=True)
    assert model.backbone_frozen
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    model.train()
    norms = [
        m for m in model.backbone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert all(not m.training for m in norms) and model.head.training
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}  # running stats too
    head_before = model.head.weight.detach().clone()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch.nn.BCEWithLogitsLoss()(model(torch.randn(4, 3, SIZE, SIZE)), Y).backward()
    opt.step()
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(head_before, model.head.weight)
    model.freeze_backbone(False).train()
    assert all(p.requires_grad for p in model.backbone.parameters())
    assert all(m.training for m in norms)


def test_nothing_is_downloaded_and_weights_are_random():
    """The no_network fixture fails on any download; two builds differ, so no stored weights were used."""
    a = _build("resnet18")
    b = _new("resnet18")
    assert not torch.equal(a.backbone.conv1.weight, b.backbone.conv1.weight)


def test_minimum_image_sizes():
    model = _new("seed_cnn", 2, size=seed_cnn.MIN_IMAGE_SIZE).eval()
    assert model(torch.randn(1, 3, 10, 10)).shape == (1, 2)
    with pytest.raises(UserInputError, match=r"seed_cnn needs image_size >= 10; received 9"):
        _new("seed_cnn", 2, size=9)
    for name in torchvision_models.HEADS:
        with pytest.raises(UserInputError, match=rf"{name} needs image_size >= 32; received 31"):
            _new(name, 2, size=31)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_models_refuse_other_input_shapes(name):
    cfg = ImageTrainConfig(model=name)
    for shape in [(10,), (1, SIZE, SIZE), (3, SIZE, SIZE + 1)]:
        with pytest.raises(
            UserInputError, match=r"reads square RGB images, input_shape \(3, S, S\)"
        ):
            MODELS.get(name).build(shape, 2, cfg)


# ---- pretrained weights from a local file ----


def _save(state, path):
    if path.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, path)
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_pretrained_round_trip_keeps_backbone_and_refreshes_head(tmp_path, suffix):
    source = _build("mobilenet_v3_small", n_labels=3)
    path = _save(source.state_dict(), tmp_path / f"w{suffix}")
    torch.manual_seed(1)
    loaded = _new("mobilenet_v3_small", 5, pretrained=path)
    torch.manual_seed(1)
    fresh = _new("mobilenet_v3_small", 5)
    for k, v in source.backbone.state_dict().items():
        assert torch.equal(loaded.backbone.state_dict()[k], v), k
    assert torch.equal(loaded.head.weight, fresh.head.weight)  # untouched by the file
    report = loaded.pretrained_report
    assert report.head_skipped and report.n_loaded == report.n_in_file - 2
    assert report.missing == [] and report.unexpected == []
    assert "head skipped" in str(report) and f"{report.n_loaded} of {report.n_in_file}" in str(
        report
    )


def test_pretrained_same_labels_loads_the_head_too_nested_and_prefixed(tmp_path):
    source = _build("seed_cnn")
    state = {"module." + k: v for k, v in source.state_dict().items()}
    path = _save({"epoch": 3, "state_dict": state}, tmp_path / "ckpt.pt")
    loaded = _new("seed_cnn", 3, pretrained=path)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in source.state_dict().items())
    assert not loaded.pretrained_report.head_skipped


def test_pretrained_reads_torchvisions_own_checkpoints(tmp_path):
    import torchvision.models

    torch.manual_seed(2)
    imagenet = torchvision.models.resnet18(weights=None)  # stands in for resnet18-f37072fd.pth
    path = _save(imagenet.state_dict(), tmp_path / "resnet18.bin")
    model = _new("resnet18", 5, pretrained=path, freeze_backbone=True)
    theirs = imagenet.state_dict()
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, theirs[k]), k
    report = model.pretrained_report
    assert report.head_skipped and report.n_loaded == len(theirs) - 2 and not report.unexpected
    assert model.head.out_features == 5 and model.backbone_frozen


def test_pretrained_refuses_missing_and_unreadable_files(tmp_path):
    def build(n_labels, image_size, pretrained):
        return _new("seed_cnn", n_labels, size=image_size, pretrained=pretrained)

    with pytest.raises(UserInputError, match="no such file"):
        build(3, image_size=SIZE, pretrained=tmp_path / "nope.pth")
    (tmp_path / "w.txt").write_text("hello")
    with pytest.raises(UserInputError, match=r"must be a \.safetensors, \.pt, \.pth, \.bin file"):
        build(3, image_size=SIZE, pretrained=tmp_path / "w.txt")
    for name in ["junk.safetensors", "junk.pth"]:
        (tmp_path / name).write_bytes(b"\x00\x01 not weights at all" * 10)
        with pytest.raises(UserInputError, match="corrupt"):
            build(3, image_size=SIZE, pretrained=tmp_path / name)
    whole = _save(_build("seed_cnn").state_dict(), tmp_path / "whole.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserInputError, match="corrupt"):
        build(3, image_size=SIZE, pretrained=tmp_path / "cut.safetensors")
    with pytest.raises(UserInputError, match="holds a Tensor, not a state dict"):
        build(3, image_size=SIZE, pretrained=_save(torch.zeros(3), tmp_path / "t.pt"))


def test_pretrained_refuses_foreign_architectures(tmp_path):
    cnn = _save(_build("seed_cnn").state_dict(), tmp_path / "cnn.safetensors")
    n = len(_build("seed_cnn").state_dict())
    with pytest.raises(
        UserInputError,
        match=rf"none of the {n} tensors in .*cnn.safetensors match resnet18's backbone parameters.*"
        r"different architecture",
    ):
        _new("resnet18", 3, pretrained=cnn)
    r18 = _save(_build("resnet18").state_dict(), tmp_path / "r18.pth")
    with pytest.raises(
        UserInputError, match=r"wrong shape for resnet50's backbone: .*layer1\.0\.conv1"
    ):
        _new("resnet50", 3, pretrained=r18)


CALLED = []


def _mark():
    CALLED.append("code ran")
    return torch.zeros(1)


class _Payload:
    def __reduce__(self):
        return (_mark, ())


def test_pretrained_never_unpickles_arbitrary_objects(tmp_path):
    state = dict(_build("seed_cnn").state_dict())
    path = tmp_path / "evil.pth"
    torch.save({**state, "payload": _Payload()}, path)
    with pytest.raises(
        UserInputError,
        match=r"pickled Python objects besides tensors \(.*_mark\).*weights_only=True",
    ):
        _new("seed_cnn", 3, pretrained=path)
    assert CALLED == []
