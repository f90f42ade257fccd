"""One leaky integrate-and-fire neuron driven by a step of input current: its membrane potential and spikes.

    U[t] = beta * U[t-1] + I[t] - theta * S[t-1],   S[t] = H(U[t] - theta)      (brainnet.brain.neurons.LIF)

The current steps from 0 to ``current`` at ``onset`` and back to 0 at ``offset``. While it is on, U rises
towards I / (1 - beta); when that lies above theta the neuron fires, and the first spike comes after
n = ceil(log(1 - theta (1 - beta) / I) / log(beta)) steps. Run ``python examples/lif_neuron.py`` to redraw
``docs/brain_lif_neuron.png``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

PICTURE = Path(__file__).resolve().parents[1] / "docs" / "brain_lif_neuron.png"


def first_spike_delay(current: float, beta: float, threshold: float) -> int | None:
    """Steps from the onset of a constant current to the first spike (None: it never fires)."""
    if current * 1.0 <= threshold * (1 - beta):
        return None
    return math.ceil(math.log(1 - threshold * (1 - beta) / current) / math.log(beta))


def main(
    out: Path = PICTURE,
    *,
    steps: int = 120,
    onset: int = 20,
    offset: int = 90,
    current: float = 0.25,
    beta: float = 0.9,
    threshold: float = 1.0,
) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from brainnet.brain.neurons import LIF

    neuron = LIF(beta=beta, threshold=threshold)
    currents = torch.zeros(steps, 1)
    currents[onset:offset] = current
    state, membrane, spikes = None, [], []
    for input_t in currents:
        spk, state = neuron.step(input_t, state)
        membrane.append(float(state.mem[0]))
        spikes.append(float(spk[0]))
    membrane_a, spikes_a = np.array(membrane), np.array(spikes)
    spike_times = np.flatnonzero(spikes_a)
    print(
        f"LIF: beta={beta}, threshold={threshold}, current {current} from step {onset} to {offset}"
    )
    print(f"spikes at steps {spike_times.tolist()} ({len(spike_times)} in all)")

    fig, (ax_i, ax_u) = plt.subplots(2, 1, figsize=(6.4, 3.6), sharex=True, height_ratios=[1, 2.5])
    ax_i.step(range(steps), currents[:, 0].numpy(), where="post", color="tab:gray")
    ax_i.set_ylabel("I[t]")
    ax_u.plot(membrane_a, color="tab:blue", label="U[t]")
    ax_u.axhline(threshold, color="tab:red", ls="--", lw=1, label="threshold")
    ax_u.vlines(spike_times, threshold, threshold * 1.3, color="black", lw=1.5, label="spikes")
    ax_u.set_xlabel("time step t")
    ax_u.set_ylabel("membrane U[t]")
    ax_u.legend(loc="upper right", fontsize=8)
    fig.suptitle("A LIF neuron under a step of current", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    print(f"wrote {out}")
    return {
        "picture": out,
        "membrane": membrane_a,
        "spike_times": spike_times,
        "onset": onset,
        "offset": offset,
        "expected_first_delay": first_spike_delay(current, beta, threshold),
        "asymptote": current / (1 - beta),
    }


if __name__ == "__main__":
    main()
