"""Oja's rule finds the first principal component of 2-D data, one sample at a time, with no labels.

    y = w . x,    dw = eta * y * (x - y * w)          (brainnet.brain.plasticity.oja)

A single linear neuron sees zero-mean samples of an elongated Gaussian cloud. Hebbian growth (y x) turns w
towards the direction of largest variance; the decay (-y^2 w) holds ||w|| at 1. The example prints the angle
between w and the first eigenvector of the data's covariance (numpy's PCA) and the norm of w, and draws the
cloud, both directions and w's path. Run ``python examples/oja_pca.py`` to redraw ``docs/brain_oja_pca.png``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

PICTURE = Path(__file__).resolve().parents[1] / "docs" / "brain_oja_pca.png"


def main(
    out: Path = PICTURE, *, n: int = 3000, lr: float = 0.002, angle_deg: float = 30.0, seed: int = 0
) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainnet.brain.plasticity import oja

    rng = np.random.default_rng(seed)
    a = math.radians(angle_deg)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    X = (rng.normal(size=(n, 2)) * [2.0, 0.6]) @ rotation.T  # (n, 2)
    X -= X.mean(axis=0)
    w = np.array([-0.2, 0.5])
    path = [w.copy()]
    for x in X:
        w = w + oja(x, x @ w, w, lr)
        path.append(w.copy())
    pc1 = np.linalg.eigh(np.cov(X.T))[1][:, -1]  # eigenvector of the largest eigenvalue
    cos = abs(float(w @ pc1)) / float(np.linalg.norm(w))
    angle = math.degrees(math.acos(min(1.0, cos)))
    norm = float(np.linalg.norm(w))
    print(
        f"after {n} samples: ||w|| = {norm:.4f}, angle to the first principal component = {angle:.2f} deg"
    )

    track = np.array(path)
    fig, ax = plt.subplots(figsize=(4.4, 4.4))
    ax.scatter(X[:, 0], X[:, 1], s=2, alpha=0.25, color="tab:gray", label="samples")
    span = 3.5 * pc1 * np.sign(pc1 @ w)
    ax.plot(
        [-span[0], span[0]], [-span[1], span[1]], "--", color="tab:red", lw=1, label="PCA: 1st PC"
    )
    ax.plot(track[:, 0], track[:, 1], color="tab:blue", lw=1, label="w during learning")
    ax.annotate(
        "", xy=w, xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "tab:blue", "lw": 2}
    )
    ax.add_patch(plt.Circle((0, 0), 1.0, fill=False, ls=":", color="black", lw=0.8))
    ax.set_aspect("equal")
    ax.set_xlim(-4, 4)
    ax.set_ylim(-4, 4)
    ax.set_title(f"Oja's rule: angle to PC1 {angle:.1f} deg, ||w|| {norm:.3f}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    print(f"wrote {out}")
    return {"picture": out, "angle_deg": angle, "norm": norm, "w": w, "pc1": pc1}


if __name__ == "__main__":
    main()
