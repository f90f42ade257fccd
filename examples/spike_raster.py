"""A spike raster of a trained spiking network on yeast: which hidden neurons fire at which time step.

The network is ``hebbian_net`` (``brainnet.brain.hebbian_net``): its 512 LIF units learnt their input weights
from yeast's training rows without labels (Hebbian rule, k-winners-take-all, weight normalisation), then a
linear head learnt the 14 labels from their spike counts. For a few test rows the example records the
hidden layer's spikes over the T steps and draws them: each row of dots is one unit, and only the k most
driven units of each input fire. Run ``python examples/spike_raster.py`` to redraw
``docs/brain_spike_raster.png`` (a minute on a laptop CPU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PICTURE = Path(__file__).resolve().parents[1] / "docs" / "brain_spike_raster.png"


def main(
    out: Path = PICTURE,
    *,
    n_rows: int = 3,
    epochs: int = 40,
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
    model = MultiLabelMLP(
        model="hebbian_net", n_models=1, epochs=epochs, device="cpu", seed=seed, **options
    )
    model.fit(train)
    ap = model.evaluate(test)["average_precision"]
    net = model.models_[0]
    first = Dataset(
        test.X[:n_rows], test.Y[:n_rows], test.feature_names, test.label_names, test.name
    )
    x = model.recipe_.encode(first).X  # (n_rows, d) standardised like the training rows
    import torch

    spikes = net.features.spike_trains(torch.as_tensor(x, dtype=torch.float32)).numpy()  # (T, B, H)
    T, _, H = spikes.shape
    active = np.flatnonzero(spikes.sum(axis=(0, 1)))  # units that fired for any of the rows
    per_row = (spikes.sum(axis=0) > 0).sum(axis=1)  # (B,) units that fired per row
    rate = float(spikes.mean())
    print(f"hebbian_net on yeast: test average precision {ap:.3f}")
    print(
        f"{T} steps, {H} units; units firing per row: {per_row.tolist()} (k = {net.features.winners})"
    )
    print(f"mean firing rate over all units and steps: {rate:.4f} spikes/step")

    fig, axes = plt.subplots(1, n_rows, figsize=(2.3 * n_rows + 0.6, 3.4), sharey=True)
    position = {u: i for i, u in enumerate(active)}
    for b, ax in enumerate(np.atleast_1d(axes)):
        t, u = np.nonzero(spikes[:, b, :])
        ax.scatter(t, [position[v] for v in u], s=3, marker="|", color="black")
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_xlabel("time step")
        ax.set_title(f"test row {b}: {per_row[b]} units", fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel(f"hidden unit ({len(active)} of {H} that fired)")
    fig.suptitle("hebbian_net on yeast: hidden-layer spike raster", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    print(f"wrote {out}")
    return {
        "picture": out,
        "spikes": spikes,
        "units_per_row": per_row,
        "winners": net.features.winners,
        "rate": rate,
        "average_precision": ap,
    }


if __name__ == "__main__":
    main()
