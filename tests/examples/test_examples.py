import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _main(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_one_neuron_matches_hand_computation():
    result = _main("one_neuron")()
    z = 1.0 * 0.2 + 2.0 * -0.5 + 3.0 * 0.4 + 0.1
    assert result["z"] == pytest.approx(z)
    assert result["output"] == pytest.approx(max(z, 0.0))


def test_backprop_regression_learns():
    result = _main("backprop_regression")()
    assert result["last_loss"] < 0.1 * result["first_loss"]


def test_mlp_numpy_and_torch_curves_agree():
    pytest.importorskip("torch")
    result = _main("mlp_2_10_10_1")()
    a, b = np.array(result["numpy_loss"]), np.array(result["torch_loss"])
    assert len(a) == len(b) == 100
    np.testing.assert_allclose(a, b, rtol=1e-4)
    assert a[-1] < a[0]
