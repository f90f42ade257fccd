"""The model directory format: ``weights.safetensors`` + ``brainnet.json``. Never pickle.

``brainnet.json`` holds ``format``, ``format_version``, ``brainnet_version`` and whatever the model kind needs
(architecture config, feature and label names, preprocessing statistics, thresholds, metrics, seed), plus the
SHA-256 of the weights file so that a truncated or swapped file is caught before it is parsed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.errors import ModelFormatError
from brainnet.core.files import atomic_directory

FORMAT = "brainnet-model"
FORMAT_VERSION = 3  # the newest version this brainnet reads
# A model is written with the oldest version that describes it, so older brainnets keep reading what they can:
# 1: everything up to 0.2; 2: adds "encoding" (categorical and dropped identifier columns of a table), which a
# version-1 reader would ignore and then fail on the number of columns; 3: a calibration of method "none" with
# labels held at a constant (slope 0: labels that never varied in training), which a version-2 reader would
# ignore, silently giving other probabilities (with temperature or Platt scaling it applies the slope 0 as is).
ENCODING_VERSION = 2
CONSTANT_LABELS_VERSION = 3
META_FILE = "brainnet.json"
WEIGHTS_FILE = "weights.safetensors"
MAX_META_BYTES = 64 * 1024 * 1024


def _brainnet_version() -> str:
    from brainnet import __version__

    return __version__


def is_model_dir(path: Path) -> bool:
    """True when ``path`` looks like a brainnet model directory (used before replacing it)."""
    meta = path / META_FILE
    try:
        return json.loads(meta.read_text("utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save_model_dir(
    path: str | Path, meta: dict[str, Any], tensors: dict[str, np.ndarray], *, force: bool = False
) -> Path:
    """Write a model directory atomically.

    Args:
        path: the directory to create (replaced only with ``force`` and only if it is a brainnet model).
        meta: JSON-serialisable description; ``format`` keys are added here.
        tensors: name -> array, stored with safetensors.

    Returns:
        The directory path.
    """
    from safetensors.numpy import save

    path = Path(path)
    # ascontiguousarray makes a 0-d array (BatchNorm's num_batches_tracked) 1-d: keep the shape
    blob = save({k: np.ascontiguousarray(v).reshape(np.shape(v)) for k, v in tensors.items()})
    full = {
        "format": FORMAT,
        "format_version": _version(meta),
        "brainnet_version": _brainnet_version(),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
        **meta,
    }
    text = json.dumps(full, indent=2, allow_nan=True) + "\n"
    with atomic_directory(path, force=force, may_replace=is_model_dir) as tmp:
        (tmp / WEIGHTS_FILE).write_bytes(blob)
        (tmp / META_FILE).write_text(text, "utf-8")
    return path


def read_model_meta(path: str | Path) -> dict[str, Any]:
    """Read and check ``brainnet.json`` of a model directory (not the weights): its "kind" says who loads it.

    Raises:
        ModelFormatError: missing, not a directory, not brainnet's, newer format, corrupt JSON.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(
            f"model directory not found: {str(path)!r}. Train one with `brainnet train`."
        )
    if not path.is_dir():
        raise ModelFormatError(
            f"{str(path)!r} is a file; a brainnet model is a directory holding {META_FILE} and {WEIGHTS_FILE}."
        )
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise ModelFormatError(f"{str(path)!r} is not a brainnet model: {META_FILE} is missing.")
    raw = meta_path.read_bytes()[: MAX_META_BYTES + 1]
    if len(raw) > MAX_META_BYTES:
        raise ModelFormatError(
            f"{str(meta_path)!r} is larger than {MAX_META_BYTES} bytes; not a brainnet model."
        )
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelFormatError(
            f"{str(meta_path)!r} is corrupt or truncated (not valid JSON: {e})."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(
            f'{str(meta_path)!r} is not a brainnet model file (expected "format": "{FORMAT}").'
        )
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFormatError(f"{str(meta_path)!r} has an invalid format_version: {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFormatError(
            f"model {str(path)!r} has format version {version}, written by brainnet "
            f"{meta.get('brainnet_version', '?')}; this brainnet ({_brainnet_version()}) reads up to "
            f"version {FORMAT_VERSION}. Upgrade brainnet to load it."
        )
    return meta


def _version(meta: dict[str, Any]) -> int:
    """The oldest format version that describes ``meta`` (see ``FORMAT_VERSION``)."""
    calibration = meta.get("calibration") or {}
    if calibration.get("method") == "none" and 0 in calibration.get("a", []):
        return CONSTANT_LABELS_VERSION
    return ENCODING_VERSION if "encoding" in meta else 1


def load_model_dir(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check a model directory. Nothing in it is executed.

    Returns:
        (meta, tensors).

    Raises:
        ModelFormatError: missing, not a directory, not brainnet's, newer format, corrupt or truncated files.
    """
    from safetensors.numpy import load

    path = Path(path)
    meta = read_model_meta(path)
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelFormatError(f"{str(path)!r} is incomplete: {WEIGHTS_FILE} is missing.")
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
        raise ModelFormatError(
            f"{str(weights_path)!r} does not match its checksum in {META_FILE}: the file is corrupt, "
            "truncated or from another model. Re-train or restore the model directory."
        )
    try:
        tensors = load(blob)
    except Exception as e:  # safetensors raises its own error types for malformed headers
        raise ModelFormatError(
            f"{str(weights_path)!r} is not a valid safetensors file: {e}"
        ) from None
    return meta, tensors


# ----------------------------------------------------------------------------- ONNX export
# ``brainnet export`` adds ``model.onnx`` to a model directory and records it in brainnet.json under "onnx":
# {"file": "model.onnx", "sha256": ..., "input": "features" | "images", "opset": ..., "exporter": ...}. The
# record is optional (format version 1 still; a reader that ignores it loads the safetensors weights as before)
# and checked when present: the file name is fixed and its checksum is verified before onnxruntime reads it.
ONNX_FILE = "model.onnx"


def onnx_record(meta: dict[str, Any], path: str | Path) -> dict[str, Any] | None:
    """The checked "onnx" record of ``meta``, or None when the model was not exported.

    Raises:
        ModelFormatError: the record is malformed or names another file.
    """
    record = meta.get("onnx")
    if record is None:
        return None
    if (
        not isinstance(record, dict)
        or record.get("file") != ONNX_FILE
        or not isinstance(record.get("sha256"), str)
    ):
        raise ModelFormatError(
            f'{str(Path(path) / META_FILE)!r} has a damaged "onnx" record: {record!r}. Run '
            f"`brainnet export {path} --force` to write {ONNX_FILE} again."
        )
    return record


def read_onnx(path: str | Path, meta: dict[str, Any]) -> bytes:
    """The bytes of ``model.onnx``, checked against the sha256 recorded in brainnet.json.

    Raises:
        ModelFormatError: not exported, the file is missing, or it does not match its checksum.
    """
    record = onnx_record(meta, path)
    if record is None:
        raise ModelFormatError(f"{str(path)!r} has no {ONNX_FILE}; run `brainnet export {path}`.")
    onnx_path = Path(path) / ONNX_FILE
    if not onnx_path.is_file():
        raise ModelFormatError(
            f"{str(path)!r} is incomplete: {META_FILE} records {ONNX_FILE} but the file is missing. "
            f"Run `brainnet export {path} --force` to write it again."
        )
    blob = onnx_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != record["sha256"]:
        raise ModelFormatError(
            f"{str(onnx_path)!r} does not match its checksum in {META_FILE}: the file is corrupt, "
            f"truncated or from another model. Run `brainnet export {path} --force` to write it again."
        )
    return blob


def add_onnx(path: str | Path, blob: bytes, record: dict[str, Any], *, force: bool = False) -> Path:
    """Write ``model.onnx`` into the model directory ``path`` and record it (with its sha256) in brainnet.json.

    Both files are written atomically, ``model.onnx`` first: a crash in between leaves a file that
    brainnet.json does not record, which loading ignores and the next export replaces.

    Raises:
        UserInputError: the directory already holds an exported model and ``force`` is False.
    """
    from brainnet.core.errors import UserInputError
    from brainnet.core.files import atomic_write_bytes, atomic_write_text

    path = Path(path)
    meta = read_model_meta(path)
    if onnx_record(meta, path) is not None and not force:
        raise UserInputError(
            f"{str(path)!r} already holds {ONNX_FILE}; brainnet does not overwrite outputs. Pass --force "
            "to export it again."
        )
    atomic_write_bytes(path / ONNX_FILE, blob, force=True)
    meta["onnx"] = {"file": ONNX_FILE, "sha256": hashlib.sha256(blob).hexdigest(), **record}
    atomic_write_text(
        path / META_FILE, json.dumps(meta, indent=2, allow_nan=True) + "\n", force=True
    )
    return path / ONNX_FILE
