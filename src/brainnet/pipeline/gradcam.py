"""Grad-CAM (Selvaraju et al., ICCV 2017): where in an image a network looked for one label.

For label c with logit y_c and the activations A (B, K, h, w) of the network's last convolution:

    alpha_k = mean over (i, j) of d y_c / d A_k[i, j]          (one weight per channel)
    cam     = ReLU(sum_k alpha_k A_k)                          (h, w), upsampled to the input (S, S)

and each map is scaled to [0, 1] by its maximum (a map that is zero everywhere stays zero).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def last_conv(model: nn.Module) -> nn.Conv2d:
    """The last ``Conv2d`` in ``model.modules()`` order (the deepest feature map for the usual backbones)."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer; Grad-CAM needs one.")
    return convs[-1]


def grad_cam(model: nn.Module, images: torch.Tensor, label: int) -> np.ndarray:
    """Grad-CAM maps of one label for a batch, in eval mode, with the model's weights untouched.

    Args:
        model: maps (B, 3, S, S) images to (B, L) logits and has at least one Conv2d.
        images: (B, 3, S, S) float, as the model reads them (normalised).
        label: the column of the logits to explain.

    Returns:
        (B, S, S) float64 maps in [0, 1].
    """
    layer = last_conv(model)
    seen: list[torch.Tensor] = []
    hook = layer.register_forward_hook(lambda module, inputs, output: seen.append(output))
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = (
                images.detach().clone().requires_grad_(True)
            )  # gradients flow even into frozen layers
            # one pass on the image as it is (flip TTA's mirrored pass would be the hooked one)
            logits = model.logits(x) if hasattr(model, "flip_tta") else model(x)  # (B, L)
            acts = seen[-1]  # (B, K, h, w)
            (grads,) = torch.autograd.grad(logits[:, label].sum(), acts)
    finally:
        hook.remove()
        model.train(was_training)
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (B, K, 1, 1)
    cam = F.relu((weights * acts).sum(dim=1, keepdim=True)).detach()  # (B, 1, h, w)
    cam = F.interpolate(cam, size=tuple(images.shape[-2:]), mode="bilinear", align_corners=False)
    cam = cam[:, 0].double()  # (B, S, S)
    peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]
    return (cam / peak).numpy()


def estimator_grad_cam(
    estimator: Any, data: Any, rows: list[int], labels: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM of a fitted torch image estimator (an ensemble: the members' maps averaged).

    Args:
        estimator: a fitted ``MultiLabelImageClassifier`` (or any preset with the torch engine and the image
            recipe).
        data: the ``ImageSet`` the rows index.
        rows: images to explain (readable ones).
        labels: for each row, the label to explain.

    Returns:
        (images (k, S, S, 3) float in [0, 1]: the rows as the network saw them, resized and without
        normalisation; cams (k, S, S) in [0, 1]).
    """
    from brainnet.pipeline.image_data import make_loader

    recipe, cfg = estimator.recipe_, estimator.config
    dataset = recipe.dataset(data.subset(rows), cfg, train=False, fitting=False)
    batch = next(iter(make_loader(dataset, batch_size=len(rows), shuffle=False, seed=0)))
    if len(batch) != len(rows):
        raise ValueError(f"{len(rows) - len(batch)} of the images to explain could not be read")
    x = batch.images  # (k, 3, S, S)
    cams = np.zeros((len(rows), *x.shape[-2:]))
    for model in estimator.models_:
        for j in sorted(set(labels)):
            mine = [i for i, lab in enumerate(labels) if lab == j]
            cams[mine] += grad_cam(model, x[mine], j)
    cams /= np.maximum(cams.reshape(len(rows), -1).max(axis=1), 1e-12)[:, None, None]
    mean = torch.tensor(recipe.mean).view(1, 3, 1, 1)
    std = torch.tensor(recipe.std).view(1, 3, 1, 1)
    shown = (x * std + mean).clamp(0, 1).permute(0, 2, 3, 1).numpy()  # (k, S, S, 3)
    return shown.astype(np.float64), cams
