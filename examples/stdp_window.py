"""The STDP learning window: the weight change of one pre- and one postsynaptic spike against their timing.

Simulated with the trace-based pair rule ``brainnet.brain.plasticity.stdp_step`` (one synapse, one pre spike
at step 100, one post spike at 100 + Delta t, summed over 200 steps) and drawn over the analytic window
``stdp_window``: pre before post (Delta t > 0) potentiates, post before pre depresses, both decaying with
|Delta t| — the shape Bi & Poo (1998) measured in hippocampal neurons. Run ``python examples/stdp_window.py``
to redraw ``docs/brain_stdp_window.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PICTURE = Path(__file__).resolve().parents[1] / "docs" / "brain_stdp_window.png"


def pair_change(delta_t: int, steps: int = 200, start: int = 100, **params: float) -> float:
    """Total dw of one pre spike at ``start`` and one post spike at ``start + delta_t``."""
    from brainnet.brain.plasticity import stdp_step, stdp_traces

    traces, total = stdp_traces(np.zeros(1), np.zeros(1)), 0.0
    for t in range(steps):
        pre, post = np.array([float(t == start)]), np.array([float(t == start + delta_t)])
        dw, traces = stdp_step(pre, post, traces, **params)
        total += float(dw[0, 0])
    return total


def main(out: Path = PICTURE, *, max_dt: int = 60, **params: float) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainnet.brain.plasticity import stdp_window

    deltas = np.arange(-max_dt, max_dt + 1, 4)
    deltas = deltas[deltas != 0]
    simulated = np.array([pair_change(int(d), **params) for d in deltas])
    fine = np.linspace(-max_dt, max_dt, 481)
    fine = fine[fine != 0]
    analytic = np.array([stdp_window(float(d), **params) for d in fine])
    print(" Delta t   dw (simulated)   dw (window)")
    for d, w in zip(deltas[::3], simulated[::3], strict=True):
        print(f"{int(d):8d}   {w:+.5f}         {stdp_window(float(d), **params):+.5f}")

    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    ax.plot(fine[fine < 0], analytic[fine < 0], color="tab:blue", lw=1, label="window (analytic)")
    ax.plot(fine[fine > 0], analytic[fine > 0], color="tab:blue", lw=1)
    ax.scatter(deltas, simulated, s=14, color="black", zorder=3, label="stdp_step, one spike pair")
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set_xlabel("Delta t = t_post - t_pre (steps)")
    ax.set_ylabel("weight change dw")
    ax.set_title("Pair STDP: pre before post potentiates", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    print(f"wrote {out}")
    window = np.array([stdp_window(float(d), **params) for d in deltas])
    return {"picture": out, "delta_t": deltas, "dw": simulated, "window": window}


if __name__ == "__main__":
    main()
