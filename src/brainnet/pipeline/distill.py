"""Knowledge distillation of a table ensemble into one MLP (``TrainConfig.distill``): the student predicts at the
cost of one network instead of K.

The student is the registered ``mlp`` with one hidden layer of ``cfg.distill`` units (the ensemble's other
layer options; its hidden dropout off) and learns the members' mean probability, the ensemble's output before
calibration, with a soft-target BCE: ``BCEWithLogits(student(x), mean_k sigmoid(member_k(x)))``. Each batch holds
``cfg.batch_size`` training rows and a copy of them with Gaussian noise (``NOISE`` in standardised units), all
labelled by the ensemble on the fly, so the student also learns the ensemble around the training points. An
epoch draws at least ``MIN_ROWS`` rows (a small table's rows more than once). ``FIDELITY`` of the rows never
train it: early stopping watches the student's fidelity there (the mean Bernoulli KL divergence from the
ensemble's probabilities; patience ``PATIENCE`` epochs, at most ``cfg.epochs``) and its best weights are kept.
AdamW with ``cfg.lr`` and ``cfg.weight_decay``.

The recipe (noise rather than mixup, the patience, the fidelity share) was chosen on inner 80/20 splits of the
training files of yeast, scene, enron, flags and medical (``benchmarks/distill.py``; README "Prediction speed").
The ensemble's calibration and thresholds, fitted on its out-of-fold probabilities, stay: the student
approximates the probabilities they were fitted on. Same seed, same machine: the same student.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

FIDELITY = 0.15  # share of the training rows that only watch the student's fidelity
NOISE = 0.3  # sigma of the Gaussian noise on the augmented copy, in standardised units
MIN_ROWS = 1024  # rows drawn per epoch at least
PATIENCE = 20  # epochs without a better fidelity before the student stops


def ensemble_probabilities(members: list[Any]) -> Any:
    """A function (c, d) float32 rows -> (c, L) float32: the members' mean sigmoid (``FoldedEnsemble``)."""
    from brainnet.pipeline.models.folded_ensemble import FoldedEnsemble

    folded = FoldedEnsemble.from_members(members)

    def probabilities(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            P = torch.sigmoid(folded._logits(x)).mean(dim=0).T  # (c, L)
        return P.clone()  # a normal tensor, usable as a target

    return probabilities


def bernoulli_kl(P: torch.Tensor, T: torch.Tensor) -> float:
    """Mean KL(T || P) of independent Bernoulli outputs, over rows and labels (probabilities clipped to 1e-6)."""
    P, T = P.clamp(1e-6, 1 - 1e-6), T.clamp(1e-6, 1 - 1e-6)
    return float((T * (T / P).log() + (1 - T) * ((1 - T) / (1 - P)).log()).mean())


def distill(
    members: list[Any], X: np.ndarray, cfg: Any, recipe: Any, n_labels: int
) -> tuple[Any, dict[str, Any]]:
    """Train one student ``MLP`` on the (n, d) float32 standardised training rows ``X`` to mimic ``members``.

    Args:
        members: K >= 2 eval-mode table ``MLP`` s (not changed).
        X: (n, d) float32, the rows they trained on, as the networks see them.
        cfg: the ``TrainConfig`` (``distill`` > 0 is the student's width; ``seed``, ``epochs``, ``batch_size``,
            ``lr``, ``weight_decay``).
        recipe, n_labels: for ``build_network``.

    Returns:
        (the student in eval mode, on the CPU, with its best weights; a summary: width, members, epochs,
        best_epoch, fidelity_kl and fidelity_mae on the held-out rows).
    """
    from brainnet.pipeline.engine import build_network
    from brainnet.pipeline.ensemble import one_cpu_thread

    teach = ensemble_probabilities(members)
    rng = np.random.default_rng([cfg.seed, 0xD15])
    n = len(X)
    order = rng.permutation(n)
    m = max(1, round(FIDELITY * n))
    Xt = torch.as_tensor(X, dtype=torch.float32)
    X_hold, X_fit = Xt[np.sort(order[:m])], Xt[np.sort(order[m:])]
    T_hold = teach(X_hold)  # (m, L)
    torch.manual_seed(cfg.seed)
    student = build_network(cfg.replace(hidden_sizes=(cfg.distill,), dropout=0.0), recipe, n_labels)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)

    def noisy_copy(x: torch.Tensor) -> torch.Tensor:  # (B, d) -> (2B, d)
        return torch.cat([x, x + NOISE * torch.randn(x.shape, generator=gen)])

    with one_cpu_thread(torch.device("cpu")):
        best, best_epoch, epoch = fit_student(
            student,
            teach,
            opt,
            X_fit,
            (X_hold, T_hold),
            noisy_copy,
            gen=gen,
            batch_size=cfg.batch_size,
            epochs=cfg.epochs,
            patience=PATIENCE,
        )
    with torch.no_grad():
        mae = float((torch.sigmoid(student(X_hold)) - T_hold).abs().mean())
    summary = {
        "width": int(cfg.distill),
        "members": len(members),
        "epochs": epoch,
        "best_epoch": best_epoch,
        "fidelity_kl": round(best, 6),
        "fidelity_mae": round(mae, 6),
        "fidelity_rows": m,
    }
    return student, summary


def fit_student(
    student: Any,
    teach: Any,
    opt: Any,
    X_fit: torch.Tensor,
    held: tuple[torch.Tensor, torch.Tensor],
    augment: Any,
    *,
    gen: torch.Generator,
    batch_size: int,
    epochs: int,
    patience: int,
) -> tuple[float, int, int]:
    """The distillation loop: epochs of at least ``MIN_ROWS`` rows of ``X_fit`` in ``gen``'s order, each batch
    made by ``augment`` ((B, d) -> (B', d)) and labelled by ``teach``, soft-target BCE; early stopping on the
    fidelity (``bernoulli_kl``) to ``held`` = (rows, the teacher's probabilities), ``patience`` epochs. Leaves
    ``student`` in eval mode with its best weights; returns (best fidelity, its epoch, epochs run)."""
    X_hold, T_hold = held
    n_fit = len(X_fit)
    best, best_state, best_epoch, epoch = float("inf"), None, 0, 0
    for epoch in range(1, epochs + 1):
        student.train()
        perm = torch.cat(
            [torch.randperm(n_fit, generator=gen) for _ in range(-(-MIN_ROWS // n_fit))]
        )
        for start in range(0, max(n_fit, MIN_ROWS), batch_size):
            rows = perm[start : start + batch_size]
            if len(rows) < 2:  # BatchNorm needs two rows
                continue
            x = augment(X_fit[rows])
            loss = F.binary_cross_entropy_with_logits(student(x), teach(x))
            opt.zero_grad()
            loss.backward()
            opt.step()
        student.eval()
        with torch.no_grad():
            fidelity = bernoulli_kl(torch.sigmoid(student(X_hold)), T_hold)
        if fidelity < best - 1e-7:
            best, best_epoch = fidelity, epoch
            best_state = {k: v.detach().clone() for k, v in student.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    assert best_state is not None  # the first epoch always improves on inf
    student.load_state_dict(best_state)
    student.eval()
    return best, best_epoch, epoch
