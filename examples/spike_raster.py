"""A spike raster of a trained spiking network on yeast: which hidden neurons fire at which time step.

By default the network is ``snn_mlp`` (``brainnet.brain.models``: direct-current encoding, a hidden layer of LIF
neurons trained with surrogate gradients, a leaky readout), trained by the ordinary estimator on yeast's 14
labels. For a few test rows the example records the last hidden layer's spikes over the T steps (a forward hook
on its neurons) and draws them: each row of dots is one neuron. ``model="hebbian_net"`` draws the plastic layer
of ``hebbian_net`` instead (learnt without labels; only its k most driven units fire). Run
``python examples/spike_raster.py`` to redraw ``docs/brain_spike_raster.png`` (a few minutes on a laptop CPU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PICTURE = Path(__file__).resolve().parents[1] / "docs" / "brain_spike_raster.png"


def hidden_spikes(net: object, x: np.ndarray) -> np.ndarray:
    """(T, B, H) spikes of the last hidden layer of a trained ``snn_mlp`` or ``hebbian_net`` for inputs x."""
    import torch

    inputs = torch.as_tensor(x, dtype=torch.float32)
    if hasattr(net, "features") and hasattr(net.features, "spike_trains"):  # hebbian_net
        return net.features.spike_trains(inputs).numpy()
    seen = []
    hook = net.backbone.neurons[-1].register_forward_hook(lambda m, i, out: seen.append(out))
    with torch.no_grad():
        net.eval()(inputs)
    hook.remove()
    return seen[0].numpy()


def _names(data: object) -> tuple:
    return data.feature_names, data.label_names, data.name


def main(
    out: Path = PICTURE,
    *,
    model: str = "snn_mlp",
    n_rows: int = 3,
    n_train: int | None = None,
    shown: int = 60,
    epochs: int = 60,
    seed: int = 0,
    **options: object,
) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainnet.core.data.builtin_tables import load_builtin
    from brainnet.core.data.dataset import Dataset
    from brainnet.pipeline.estimator import MultiLabelMLP

    train, test = load_builtin("yeast", "train"), load_builtin("yeast", "test")
    estimator = MultiLabelMLP(
        model=model, n_models=1, epochs=epochs, device="cpu", seed=seed, **options
    )
    if n_train is not None:  # the first n_train training rows (a quick run)
        train = Dataset(*(a[:n_train] for a in (train.X, train.Y)), *_names(train))
    estimator.fit(train)
    ap = estimator.evaluate(test)["average_precision"]
    first = Dataset(
        test.X[:n_rows], test.Y[:n_rows], test.feature_names, test.label_names, test.name
    )
    x = estimator.recipe_.encode(first).X  # (n_rows, d) standardised like the training rows
    spikes = hidden_spikes(estimator.models_[0], x)  # (T, B, H)
    T, _, H = spikes.shape
    per_row = (spikes.sum(axis=0) > 0).sum(axis=1)  # (B,) neurons that fired per row
    rate = float(spikes.mean())
    print(f"{model} on yeast: test average precision {ap:.3f}")
    print(f"{T} steps, {H} hidden neurons; neurons firing per row: {per_row.tolist()}")
    print(f"mean firing rate over all neurons and steps: {rate:.4f} spikes/step")

    fig, axes = plt.subplots(1, n_rows, figsize=(2.3 * n_rows + 0.6, 3.4), sharey=True)
    shown = min(shown, H)  # neurons 0 .. shown-1: a readable sample, silent ones included
    for b, ax in enumerate(np.atleast_1d(axes)):
        t, u = np.nonzero(spikes[:, b, :shown])
        ax.scatter(t, u, s=6, marker="|", color="black")
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_ylim(-0.5, shown - 0.5)
        ax.set_xlabel("time step")
        ax.set_title(f"test row {b}: {per_row[b]} of {H} fire", fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel(f"hidden neuron (the first {shown})")
    fig.suptitle(f"{model} on yeast (test AP {ap:.3f}): hidden-layer spike raster", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    print(f"wrote {out}")
    return {
        "picture": out,
        "spikes": spikes,
        "neurons_per_row": per_row,
        "rate": rate,
        "average_precision": ap,
    }


if __name__ == "__main__":
    main()
