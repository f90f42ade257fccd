"""The ONNX runtime: a model directory's ``model.onnx`` (``brainnet export``) on onnxruntime, without torch.

``OnnxEngine`` is an ``Engine`` that only predicts: its one "network" is an onnxruntime session of the whole
exported graph (preprocessing arithmetic, every ensemble member, sigmoids, the ensemble mean), so the estimator
holds it as its single model and asks the recipe for inputs without that arithmetic
(``Recipe.encode(data, arithmetic=False)``). Images are decoded and resized here with Pillow/NumPy
(``core.data.images``), exactly as for torch. Thresholds and the decision layer stay in the estimator.

``choose_runtime`` decides between this and the engine that trained the model (``--runtime``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.errors import BadImageError, ModelFormatError, UserInputError
from brainnet.core.estimator import Engine, Predictions
from brainnet.core.model_dir import onnx_record, read_onnx
from brainnet.core.recipe import Recipe

RUNTIMES = ("auto", "torch", "onnx")
IMAGE_BATCH = 64  # images decoded, resized and run per session call
TABLE_BATCH = (
    8192  # table rows per session call (a sparse table is made dense this many rows at a time)
)


class OnnxEngine(Engine):
    """Predicts with an onnxruntime session of an exported model; it cannot train or save."""

    name = "onnx"
    folds_preprocessing = True

    def predict(self, model: Any, cfg: Any, recipe: Recipe, data: Any) -> Predictions:
        input_name = model.get_inputs()[0].name
        if (
            recipe.kind == "table"
        ):  # (n, d) encoded raw rows, NaN for missing; sparse: dense per batch
            X, n = data.X, data.X.shape[0]
            parts = [
                model.run(None, {input_name: _dense_rows(X, slice(i, i + TABLE_BATCH))})[0]
                for i in range(0, n, TABLE_BATCH)
            ]
            P = np.concatenate(parts) if parts else np.zeros((0, len(data.label_names)))
            return Predictions(P.astype(np.float64), np.arange(n))
        return self._predict_images(model, input_name, recipe.image_size, data)

    def _predict_images(self, session: Any, input_name: str, size: int, images: Any) -> Predictions:
        from brainnet.core.data.images import resize_image

        out, kept, bad = [], [], {}
        batch: list[np.ndarray] = []

        def run() -> None:
            out.append(session.run(None, {input_name: np.stack(batch)})[0])  # (b, L)
            batch.clear()

        for i in range(len(images)):
            try:
                batch.append(resize_image(images.image(i), size))  # (S, S, 3) uint8
            except BadImageError as err:
                bad[i] = str(err)
                continue
            kept.append(i)
            if len(batch) == IMAGE_BATCH:
                run()
        if batch:
            run()
        P = np.concatenate(out) if out else np.zeros((0, images.n_labels))
        return Predictions(P.astype(np.float64), np.asarray(kept, dtype=np.int64), bad)

    def tensors_of(self, model: Any) -> dict[str, np.ndarray]:
        raise UserInputError(
            "this model was loaded for the ONNX runtime, which holds no trainable weights; load it with "
            "brainnet.load(path, runtime='torch') to save it again."
        )


def _dense_rows(X: Any, rows: slice) -> np.ndarray:
    block = X[rows].toarray() if hasattr(X, "toarray") else X[rows]
    return np.ascontiguousarray(block, dtype=np.float64)


def onnx_session(path: str | Path, meta: dict[str, Any]) -> Any:
    """An onnxruntime session of the model directory's checked ``model.onnx`` (CPU)."""
    import onnxruntime as ort

    blob = read_onnx(path, meta)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types for invalid graphs
        raise ModelFormatError(
            f"{str(Path(path) / 'model.onnx')!r} is not a model onnxruntime can load ({err}). Run "
            f"`brainnet export {path} --force` to write it again."
        ) from None


def choose_runtime(path: str | Path, meta: dict[str, Any], runtime: str, engine: str) -> str:
    """ "onnx" or "native" (the engine that trained the model) for ``runtime`` ("auto", "torch", "onnx").

    auto: the ONNX model when the directory holds one, else the training engine.

    Raises:
        UserInputError: an unknown runtime; onnx without ``model.onnx``; torch for a model that is not a torch
            model, or without torch installed.
    """
    if runtime not in (*RUNTIMES, "native"):
        raise UserInputError(f"runtime must be one of {', '.join(RUNTIMES)}; received {runtime!r}.")
    exported = onnx_record(meta, path) is not None
    if runtime == "onnx":
        if not exported:
            raise UserInputError(
                f"runtime 'onnx' needs model.onnx in {str(path)!r}; run `brainnet export {path}` first "
                "(on a machine with brainnet[train])."
            )
        return "onnx"
    if runtime == "auto" and exported:
        return "onnx"
    if runtime == "torch" and engine != "torch":
        raise UserInputError(
            f"runtime 'torch' applies to models trained on the torch engine; {str(path)!r} was trained on "
            f"{engine!r} and predicts with NumPy. Use --runtime auto."
        )
    if engine == "torch" and importlib.util.find_spec("torch") is None:
        raise UserInputError(
            f"predicting with {str(path)!r} on torch needs PyTorch, which is not installed: "
            "`pip install brainnet[train]`, or export the model with `brainnet export` where torch is "
            "installed and predict with onnxruntime."
        )
    return "native"
