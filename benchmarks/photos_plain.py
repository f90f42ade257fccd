"""The tutorial's seed CNN in plain PyTorch on the cross-validation folds of ``benchmarks/images.py --photos``.

Issue 10 asks that the seed preset run through brainnet be within 0.01 AP of a plain-PyTorch script of the same
recipe ("the trainer costs no accuracy"). This is that script, written as a tutorial reader would write it, with
nothing from brainnet but the manifest reader, the fold split and the average-precision metric (so both sides are
scored on the same photos by the same code):

- Conv32-Pool-Conv64-Pool-Dense64-Dropout 0.5 (``nn.Sequential`` below, written out, not brainnet's class), images
  resized to ``--size`` (150 as in the seed preset), pixels / 255;
- augmentation: torchvision ``RandomRotation(20)``, ``RandomAffine(translate=(0.2, 0.2))``, horizontal flip;
- Adam 1e-3, batch 32, BCE on logits;
- early stopping as the seed preset does it: 20 % of the training part held out (multi-label stratified), average
  precision on it after each epoch, patience 5, at most 30 epochs, best weights restored.

Run from the repository root; ``--folds N`` runs the first N of the 5 folds (multilabel_kfold, seed 0, as
``benchmarks/photos.py``):

    .venv/bin/python benchmarks/photos_plain.py [--folds 1] [--threads 2] [--size 150]

It prints per-fold AP and wall time and the mean; compare with ``benchmarks/images.py --photos --recipes seed``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

from brainnet.core.data.images import read_images
from brainnet.core.data.splits import multilabel_kfold, multilabel_split
from brainnet.core.decision import metrics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "natural_scenes" / "manifest.csv"


def seed_cnn(size: int, n_labels: int) -> nn.Sequential:
    side = ((size - 2) // 2 - 2) // 2
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * side * side, 64), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(64, n_labels),
    )  # fmt: skip


def load(paths: list[Path], size: int) -> torch.Tensor:
    """(n, 3, size, size) float32 in [0, 1], decoded once."""
    to_tensor = transforms.ToTensor()
    return torch.stack(
        [
            to_tensor(Image.open(p).convert("RGB").resize((size, size), Image.BILINEAR))
            for p in paths
        ]
    )


def probabilities(model: nn.Module, X: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        return torch.cat(
            [torch.sigmoid(model(X[i : i + 128])) for i in range(0, len(X), 128)]
        ).numpy()


def fit(X: torch.Tensor, Y: np.ndarray, seed: int) -> tuple[nn.Module, int]:
    torch.manual_seed(seed)
    tr, va = multilabel_split(Y, 0.2, seed=seed)
    model = seed_cnn(X.shape[-1], Y.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    augment = transforms.Compose(
        [
            transforms.RandomRotation(20),
            transforms.RandomAffine(0, translate=(0.2, 0.2)),
            transforms.RandomHorizontalFlip(),
        ]
    )
    Xtr, Ytr = X[tr], torch.as_tensor(Y[tr], dtype=torch.float32)
    best, best_state, best_epoch, epoch = -1.0, None, 0, 0
    for epoch in range(1, 31):
        model.train()
        for idx in torch.randperm(len(tr)).split(32):
            xb = torch.stack([augment(x) for x in Xtr[idx]])
            loss = nn.functional.binary_cross_entropy_with_logits(model(xb), Ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        ap = metrics.average_precision(Y[va], probabilities(model, X[va]))
        if ap > best:
            best, best_state, best_epoch = ap, copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch >= 5:
            break
    model.load_state_dict(best_state)
    return model, epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--folds", type=int, default=1, help="run the first N of the 5 folds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=150)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = read_images(args.data)
    X = load(data.paths, args.size)
    aps = []
    for f, (tr, te) in enumerate(multilabel_kfold(data.Y, 5, seed=0)[: args.folds]):
        start = time.perf_counter()
        model, epochs = fit(X[tr], data.Y[tr], seed=0)
        wall = time.perf_counter() - start
        aps.append(metrics.average_precision(data.Y[te], probabilities(model, X[te])))
        print(f"plain seed CNN fold {f}: AP {aps[-1]:.4f} {wall:.0f} s {epochs} epochs", flush=True)
    spread = f" ± {statistics.stdev(aps):.3f}" if len(aps) > 1 else ""
    print(
        f"plain seed CNN, {len(aps)} fold(s), {args.size} px: AP {statistics.mean(aps):.3f}{spread}"
    )


if __name__ == "__main__":
    main()
