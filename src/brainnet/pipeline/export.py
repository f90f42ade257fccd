"""ONNX export of a trained torch estimator: one graph from raw inputs to the probabilities ``predict_proba`` gives.

The graph holds what is arithmetic, so that a deployment needs only onnxruntime and NumPy/Pillow:

- tables: (B, d) float64 features with NaN for missing -> training medians fill the gaps (when the model
  imputes) -> (x - mean) / scale in float64 -> float32, exactly ``FeatureScaler.transform``. ``d`` counts the
  encoded columns: categorical columns are one-hot encoded in NumPy before the graph
  (``TableRecipe.encode(arithmetic=False)``, ``core/data/encoding.py``), so the graph stays numbers only and a
  caller of the bare ``model.onnx`` encodes with the saved ``encoding`` of brainnet.json;
- images: (B, S, S, 3) uint8 pixels, already decoded and resized by ``core.data.images`` (Pillow) ->
  (B, 3, S, S) float32 x (1/255) -> (x - mean) / std, exactly the evaluation transform of ``augment.py``;
- then every ensemble member, a sigmoid each, cast to float64 and averaged (``MultiLabelEstimator._predict``).

Thresholds stay in brainnet.json: the estimator's NumPy decision layer applies them to these probabilities.
The exporter is torch's TorchScript-based ``torch.onnx.export(dynamo=False)`` with a dynamic batch dimension:
on torch 2.14 (pinned) it gives the same graphs and parity as the ``dynamo=True`` exporter and is 5-9x faster
(resnet18: 6 s against 25 s on the 2-core test machine), which keeps the test over every registered model
affordable; ``tests/pipeline/test_export.py`` guards the parity when torch is upgraded. The result passes
``onnx.checker.check_model(full_check=True)`` and is compared with torch on a random batch before it is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from brainnet.core.errors import UserInputError

OPSET = 18
PARITY_TOLERANCE = (
    1e-5  # max abs difference of probabilities between onnxruntime and torch at export
)
INPUT_NAME, OUTPUT_NAME = {"table": "features", "images": "images"}, "probabilities"


class TablePreprocess(nn.Module):
    """(B, d) float64 raw features -> (B, d) float32 standardised, as ``FeatureScaler.transform``."""

    def __init__(self, scaler: Any) -> None:
        super().__init__()
        self.impute = bool(scaler.impute)
        self.register_buffer("medians", torch.as_tensor(scaler.medians, dtype=torch.float64))
        self.register_buffer("mean", torch.as_tensor(scaler.mean, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scaler.scale, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.impute:  # without imputation the recipe rejects NaN before the graph runs
            x = torch.where(torch.isnan(x), self.medians, x)
        return ((x - self.mean) / self.scale).to(torch.float32)


class ImagePreprocess(nn.Module):
    """(B, S, S, 3) uint8 resized pixels -> (B, 3, S, S) float32 normalised, as the evaluation transform."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2).to(torch.float32) * (1.0 / 255)  # (B, 3, S, S)
        return (x - self.mean) / self.std


class Deployed(nn.Module):
    """Raw inputs -> preprocessing -> every member's sigmoid, averaged in float64: (B, L) probabilities."""

    def __init__(self, preprocess: nn.Module, members: list[nn.Module]) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.preprocess(x)
        probs = [torch.sigmoid(m(z)).to(torch.float64) for m in self.members]  # each (B, L)
        return torch.stack(probs).mean(dim=0)  # (B, L)


def deployed_module(estimator: Any) -> tuple[Deployed, torch.Tensor]:
    """The estimator as one torch module on the CPU in eval mode, and an example input batch of 2."""
    recipe = estimator.recipe_
    rng = np.random.default_rng(0)
    if recipe.kind == "table":
        preprocess: nn.Module = TablePreprocess(recipe.scaler)
        example = torch.from_numpy(
            rng.normal(size=(2, recipe.input_shape[0]))
        )  # (2, d) float64: the encoded columns (one-hot in NumPy before the graph)
    else:
        preprocess = ImagePreprocess(recipe.mean, recipe.std)
        S = recipe.image_size
        example = torch.from_numpy(rng.integers(0, 256, size=(2, S, S, 3), dtype=np.uint8))
    members = [m.cpu().eval() for m in estimator.models_]
    return Deployed(preprocess, members).eval(), example


def export_onnx(estimator: Any) -> tuple[bytes, dict[str, Any]]:
    """A fitted torch estimator -> (the ONNX model's bytes, its record for brainnet.json).

    Raises:
        UserInputError: not a torch model, or a layer the exporter cannot translate (named).
    """
    import onnx

    if estimator.engine != "torch":
        raise UserInputError(
            f"ONNX export reads models trained on the torch engine; this one was trained on "
            f"{estimator.engine!r}."
        )
    module, example = deployed_module(estimator)
    kind = estimator.recipe_.kind
    try:
        blob = _to_onnx(module, example, INPUT_NAME[kind])
    except Exception as err:  # the exporter raises many types; find the layer that fails
        raise UserInputError(_unexportable(module, example, err)) from None
    proto = onnx.load_from_string(blob)
    onnx.checker.check_model(proto, full_check=True)
    _check_parity(module, blob, example)
    shape = ["batch", *(example.shape[1:])]
    record = {
        "input": INPUT_NAME[kind],
        "input_dtype": str(example.dtype).removeprefix("torch."),
        "input_shape": [d if isinstance(d, str) else int(d) for d in shape],
        "output": OUTPUT_NAME,
        "opset": max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
        "n_models": len(estimator.models_),
        "exporter": f"torch {torch.__version__} torch.onnx.export (TorchScript)",
    }
    return blob, record


def _to_onnx(module: nn.Module, example: torch.Tensor, input_name: str) -> bytes:
    """torch's TorchScript exporter (opset ``OPSET``) with a dynamic batch dimension; the model's bytes.

    A trace that depends on the values of its input (Python control flow on a tensor) would be silently
    specialised to the example, so torch's TracerWarning is an error here.
    """
    import io
    import warnings

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # the exporter's notes on its own deprecation are not the user's
        warnings.simplefilter("error", torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            (example,),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=[input_name],
            output_names=[OUTPUT_NAME],
            dynamic_axes={input_name: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
    return buffer.getvalue()


def _unexportable(module: nn.Module, example: torch.Tensor, err: Exception) -> str:
    """Which layer stops the export: descend from ``module`` into the first child that fails on its own."""
    inputs: dict[nn.Module, tuple] = {}

    def remember(mod: nn.Module, args: tuple, out: Any) -> None:  # returning None keeps the output
        inputs.setdefault(mod, args)

    hooks = [m.register_forward_hook(remember) for m in module.modules()]
    with torch.no_grad():
        module(example)
    for h in hooks:
        h.remove()
    names = {m: name for name, m in module.named_modules()}
    culprit = module
    while True:
        candidates = list(culprit.children())
        for child in candidates:
            args = inputs.get(child)
            if args is None:  # a container that is never called itself (ModuleList): look inside
                candidates += list(child.children())
                continue
            if len(args) != 1 or not isinstance(args[0], torch.Tensor):
                continue
            try:
                _to_onnx(_Call(child), args[0], "x")
            except Exception:
                culprit = child
                break
        else:
            break
    name = names.get(culprit, "") or "the network"
    first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
    return (
        f"this model cannot be exported to ONNX: layer {name!r} ({type(culprit).__name__}) has no ONNX "
        f"translation in torch {torch.__version__} ({type(err).__name__}: {first}). Predict with "
        "--runtime torch, or rebuild the model without that layer."
    )


class _Call(nn.Module):
    """A child module exported on its own (eval mode, gradients off) while searching for the culprit."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def _check_parity(module: nn.Module, blob: bytes, example: torch.Tensor) -> None:
    """onnxruntime against torch on 8 seeded random inputs shaped like ``example``; a difference over the
    tolerance is a bug of the exporter or of this module, not of the user's model."""
    import onnxruntime as ort

    rng = np.random.default_rng(1)
    shape = (8, *example.shape[1:])
    if example.dtype == torch.uint8:
        x = rng.integers(0, 256, size=shape, dtype=np.uint8)  # (8, S, S, 3)
    else:
        x = rng.normal(size=shape)  # (8, d) float64
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.inference_mode():
        want = module(torch.from_numpy(x)).numpy()
    diff = float(np.max(np.abs(got - want)))
    assert diff <= PARITY_TOLERANCE, f"ONNX export differs from torch by {diff:.2e}"
