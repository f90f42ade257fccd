import pytest

from brainnet.core.errors import UserInputError
from brainnet.core.registry import Registry


def test_register_get_and_helpful_miss():
    reg = Registry("model")
    reg.register("resnet18")(1)
    reg.register("mlp")(2)
    assert reg.get("mlp") == 2 and reg.names() == ["mlp", "resnet18"] and "mlp" in reg
    with pytest.raises(
        UserInputError,
        match=r"unknown model 'resnt18'; available: mlp, resnet18. Did you mean 'resnet18'\?",
    ):
        reg.get("resnt18")


def test_double_registration_is_a_bug():
    reg = Registry("loss")
    reg.register("bce")(1)
    with pytest.raises(KeyError, match="registered twice"):
        reg.register("bce")(2)
