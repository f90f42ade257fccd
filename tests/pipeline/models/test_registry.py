"""One model registry for tables and images, listed without torch; names checked against the data kind."""

import subprocess
import sys

import pytest

from brainnet.core.errors import UserInputError
from brainnet.pipeline.models import MODELS, ModelSpec, model_for


def test_importing_the_registries_does_not_import_torch():
    code = (
        "import sys, brainnet.pipeline, brainnet.pipeline.models, brainnet.pipeline.models.registry, "
        "brainnet.pipeline.models.activations as a; from brainnet.pipeline.models import MODELS; "
        "print(len(MODELS.names()), len(a.ACTIVATIONS.names()), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n_models, n_activations, torch_loaded = out.stdout.split()
    assert int(n_models) >= 2 and int(n_activations) >= 1 and torch_loaded == "False"


def test_every_entry_is_a_spec_with_a_data_kind_a_builder_and_help():
    for name in MODELS:
        spec = MODELS.get(name)
        assert isinstance(spec, ModelSpec) and spec.name == name
        assert spec.data in ("table", "images") and callable(spec.build) and spec.help
    assert {MODELS.get(n).data for n in MODELS} == {"table", "images"}


def test_a_miss_lists_every_model_and_the_closest():
    with pytest.raises(
        UserInputError, match=r"unknown model 'resnt18'; available: .*mlp.*seed_cnn"
    ):
        MODELS.get("resnt18")
    with pytest.raises(UserInputError, match="Did you mean 'resnet18'"):
        model_for("resnt18", "images")


def test_model_for_checks_the_data_kind():
    assert model_for("mlp", "table").name == "mlp"
    with pytest.raises(
        UserInputError,
        match=r"model 'resnet18' reads images, and this data is table; choose one of hebbian_net, mlp, snn_mlp\.",
    ):
        model_for("resnet18", "table")
    with pytest.raises(UserInputError, match=r"model 'mlp' reads table.*choose one of .*seed_cnn"):
        model_for("mlp", "images")
