"""brainnet: neural networks from a hand-written NumPy engine to trustworthy multi-label classifiers.

Importing brainnet never imports torch: the estimators are loaded on first use of their names, and
``brainnet.load`` imports only the engine that the model directory names.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "MultiLabelMLP": "brainnet.pipeline.estimator",
    "ScratchMultiLabelMLP": "brainnet.scratch.estimator",
    "MultiLabelImageClassifier": "brainnet.pipeline.image_estimator",
    "report": "brainnet.reporting",  # brainnet.report(model, X, Y, path=...): the HTML report
    "read_table": "brainnet.core.data.table",  # a CSV/ARFF (categorical, sparse) into a Dataset
}

# "kind" in a model's brainnet.json -> module whose ``load(path)`` reads it
MODEL_KINDS = {
    "multilabel_mlp": "brainnet.pipeline.estimator",
    "scratch_multilabel_mlp": "brainnet.scratch.estimator",
    "scratch_sequential": "brainnet.scratch.serialization",
    "multilabel_image": "brainnet.pipeline.image_estimator",
}

__all__ = ["__version__", "load", *_LAZY]


def load(path: Any, runtime: str = "auto") -> Any:
    """Load any brainnet model directory; its ``brainnet.json`` "kind" picks the engine that reads it.

    Args:
        runtime: for classifiers, who predicts: "auto" (the exported ``model.onnx`` on onnxruntime when the
            directory holds one, never importing torch; else the engine that trained it), "onnx" or "torch".

    Raises:
        ModelFormatError: not a brainnet model, damaged, or a kind this version does not know.
        UserInputError: a runtime the model cannot use (not exported, torch not installed).
    """
    from brainnet.core.errors import ModelFormatError
    from brainnet.core.model_dir import read_model_meta

    kind = read_model_meta(path).get("kind")
    if kind not in MODEL_KINDS:
        raise ModelFormatError(
            f"{str(path)!r} holds a model of kind {kind!r}, which this brainnet cannot load; known kinds: "
            f"{', '.join(MODEL_KINDS)}. Upgrade brainnet if it was written by a newer version."
        )
    if kind == "scratch_sequential":  # a bare NumPy network: no runtime to choose
        if runtime != "auto":
            from brainnet.core.errors import UserInputError

            raise UserInputError(
                f"{str(path)!r} holds a NumPy Sequential network, which predicts with NumPy only; "
                f"received runtime={runtime!r}. Use runtime='auto'."
            )
        return import_module(MODEL_KINDS[kind]).load(path)
    return import_module(MODEL_KINDS[kind]).load(path, runtime)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'brainnet' has no attribute {name!r}")


# the spiking models and hebbian_net join the one model registry (brain/registry.py imports no torch)
import_module("brainnet.brain.registry")
