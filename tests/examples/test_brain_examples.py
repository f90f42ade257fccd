"""The brain-inspired examples: each draws its picture and prints numbers that agree with the theory."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _main(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _is_png(path):
    return (
        path.is_file()
        and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        and path.stat().st_size > 5000
    )


def test_lif_neuron_fires_only_under_the_step_and_first_when_theory_says(tmp_path):
    result = _main("lif_neuron")(tmp_path / "lif.png")
    assert _is_png(result["picture"])
    spikes, onset, offset = result["spike_times"], result["onset"], result["offset"]
    assert len(spikes) > 3 and spikes.min() >= onset and spikes.max() < offset
    # U[t] = I (1 - beta^n) / (1 - beta) first reaches theta after n steps: spike at onset + n - 1
    assert spikes[0] == onset + result["expected_first_delay"] - 1
    assert result["membrane"][:onset].max() == 0 and result["membrane"].max() < result["asymptote"]
    silent = _main("lif_neuron")(
        tmp_path / "weak.png", current=0.09
    )  # below theta (1 - beta) = 0.1
    assert len(silent["spike_times"]) == 0 and silent["expected_first_delay"] is None


def test_stdp_window_has_the_bi_and_poo_shape(tmp_path):
    result = _main("stdp_window")(tmp_path / "stdp.png")
    assert _is_png(result["picture"])
    dt, dw = result["delta_t"], result["dw"]
    assert (dw[dt > 0] > 0).all() and (dw[dt < 0] < 0).all()
    assert (np.diff(dw[dt > 0]) < 0).all() and (np.diff(dw[dt < 0]) < 0).all()  # decays with |dt|
    np.testing.assert_allclose(dw, result["window"], rtol=1e-9)


def test_oja_recovers_the_first_principal_component(tmp_path):
    result = _main("oja_pca")(tmp_path / "oja.png")
    assert _is_png(result["picture"])
    assert result["angle_deg"] < 3.0
    assert result["norm"] == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize(
    "model, options",
    [
        ("snn_mlp", {"hidden_sizes": (32,)}),
        ("hebbian_net", {"hidden_sizes": (64,), "winners": 8, "plastic_epochs": 1}),
    ],
)
def test_spike_raster_on_yeast(tmp_path, model, options):
    result = _main("spike_raster")(
        tmp_path / "raster.png", model=model, n_train=400, epochs=2, **options
    )
    assert _is_png(result["picture"])
    spikes = result["spikes"]
    width = options["hidden_sizes"][0]
    assert spikes.shape[1:] == (3, width) and set(np.unique(spikes)) <= {0.0, 1.0}
    assert (result["neurons_per_row"] >= 1).all() and (result["neurons_per_row"] <= width).all()
    if model == "hebbian_net":  # k-WTA: only the winners fire
        assert (result["neurons_per_row"] <= options["winners"]).all()
    assert 0 < result["rate"] < 1 and 0 < result["average_precision"] <= 1
