"""Save a Sequential as a brainnet model directory and load it back; no pickle, nothing executed.

``brainnet.json`` holds ``"kind": "scratch_sequential"``, each layer's registered name and constructor
arguments, the per-sample input shape and the compile names; ``weights.safetensors`` holds
``"{layer index}.{parameter name}"`` for every Parameter plus each layer's ``state()`` (BatchNorm's moving
statistics). Loading rebuilds the layers, runs one forward on zeros to create the weights, then assigns them.
The optimizer's state is not saved: a loaded model that was compiled is compiled again with the same names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.errors import ModelFormatError
from brainnet.core.model_dir import load_model_dir, save_model_dir
from brainnet.scratch.module import LAYERS
from brainnet.scratch.sequential import Sequential

KIND = "scratch_sequential"


def model_arrays(model: Sequential) -> dict[str, np.ndarray]:
    """Every saved array of the model by name: "{i}.{parameter name}" and "{i}.{state name}"."""
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(model.layers):
        named = [(p.name, p.value) for p in layer.parameters()] + list(layer.state().items())
        for name, value in named:
            key = f"{i}.{name}"
            if key in arrays:
                raise ValueError(f"layer {i} ({layer!r}) has two arrays named {name!r}.")
            arrays[key] = value
    return arrays


def _compiled(model: Sequential) -> dict[str, Any]:
    if getattr(model, "loss", None) is None:
        return {}
    return {
        "loss": model.loss.name,
        "optimizer": getattr(model, "optimizer_name", None),
        "metrics": list(model.metrics),
    }


def save(model: Sequential, path: str | Path, *, force: bool = False) -> Path:
    """Write ``model`` to the directory ``path`` (an existing one is replaced only with ``force``)."""
    if model.input_shape is None:
        raise ValueError(
            "this model has not been built yet: call it on data first (model(X[:1]), fit or predict) "
            "so its weights exist, then save it."
        )
    meta = {
        "kind": KIND,
        "layers": [{"name": lay.registered_name(), "config": lay.config()} for lay in model.layers],
        "input_shape": [int(n) for n in model.input_shape],
        "compiled": _compiled(model),
    }
    return save_model_dir(path, meta, model_arrays(model), force=force)


def _rebuild(meta: dict[str, Any], where: str) -> tuple[Sequential, tuple[int, ...]]:
    """The layers from their names and configs, and the input shape; bad entries are ModelFormatError."""
    try:
        layers = [LAYERS.get(spec["name"])(**spec["config"]) for spec in meta["layers"]]
        input_shape = tuple(int(n) for n in meta["input_shape"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(f"{where} has an invalid layer description: {e}") from None
    return Sequential(layers), input_shape


def assign_arrays(model: Sequential, tensors: dict[str, np.ndarray], where: str) -> None:
    """Put the saved arrays in place after checking their names, shapes and dtypes."""
    expected = model_arrays(model)
    if set(expected) != set(tensors):
        missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
        raise ModelFormatError(
            f"{where}: the weights do not fit the layers (missing {missing}, unexpected {extra})."
        )
    for key, value in expected.items():
        saved = tensors[key]
        if saved.shape != value.shape or saved.dtype != value.dtype:
            raise ModelFormatError(
                f"{where}: weight {key!r} is {saved.dtype}{list(saved.shape)}; the layer needs "
                f"{value.dtype}{list(value.shape)}."
            )
    for i, layer in enumerate(model.layers):
        for p in layer.parameters():
            p.value[...] = tensors[f"{i}.{p.name}"]
        state = layer.state()
        if state:
            layer.load_state({name: tensors[f"{i}.{name}"] for name in state})


def load(path: str | Path) -> Sequential:
    """Read a model saved by ``Sequential.save``; returns it in eval mode, predicting exactly as before.

    Raises:
        ModelFormatError: not a brainnet model, another kind of model, or weights that do not fit the layers.
    """
    meta, tensors = load_model_dir(path)
    where = f"model {str(path)!r}"
    if meta.get("kind") != KIND:
        raise ModelFormatError(
            f"{where} is a {meta.get('kind')!r} model, not a scratch Sequential ({KIND!r})."
        )
    model, input_shape = _rebuild(meta, where)
    model.eval()
    try:
        model.forward(np.zeros((1, *input_shape), dtype=np.float32))
    except ValueError as e:
        raise ModelFormatError(f"{where}: its layers do not accept its input shape: {e}") from None
    assign_arrays(model, tensors, where)
    compiled = meta.get("compiled") or {}
    if compiled.get("loss") and compiled.get("optimizer"):
        model.compile(compiled["optimizer"], compiled["loss"], compiled.get("metrics", []))
    return model
