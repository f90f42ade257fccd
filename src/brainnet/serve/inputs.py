"""Reading a request's inputs: JSON rows by feature name for table models, uploaded images for image models.

Everything here is plain Python/NumPy/Pillow and runs in a worker thread. A problem with the whole request raises
``RequestError``; a problem with one row or one image becomes that item's error, and the others are predicted.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.data.images import decode_image
from brainnet.core.errors import BadImageError
from brainnet.serve.errors import RequestError

_SHOWN = 5  # names listed in one message before "and N more"


@dataclass
class Rows:
    """The readable rows of a request and why the others could not be read.

    Attributes:
        X: (k, d) float64 features of the k readable rows, NaN for a missing (null) value; a categorical
            feature holds the index of its text in ``levels``.
        kept: (k,) their positions in the request.
        errors: position -> reason, for the rows that could not be read.
        levels: categorical feature -> its values: the model's, then any new ones this request sent (the
            model encodes those as unknown).
    """

    X: np.ndarray
    kept: list[int]
    errors: dict[int, str] = field(default_factory=dict)
    levels: dict[str, list[str]] = field(default_factory=dict)


def _listed(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _describe(value: Any) -> str:
    """What a JSON value is, for a message: its type and a short excerpt."""
    kind = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
    if value is None:
        return "null"
    text = json.dumps(value)
    return f"{kind} {text[:40]}{'...' if len(text) > 40 else ''}"


def _reject_constant(name: str) -> float:
    raise ValueError(
        f"{name} is not a JSON number; send a finite number, or null for a missing value"
    )


def parse_json(body: bytes) -> Any:
    """UTF-8 JSON text -> Python value; NaN/Infinity, bad UTF-8 and very deep nesting are 400s."""
    if not body.strip():
        raise RequestError(
            400,
            "empty body",
            'expected a JSON object such as {"rows": [{"feature": 1.0, ...}]}; received an empty body.',
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(
            400, "invalid JSON", f"the body must be UTF-8 JSON; byte {e.start} is not UTF-8."
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise RequestError(
            400, "invalid JSON", "the JSON is nested too deeply; send a flat list of row objects."
        ) from None
    except ValueError as e:
        raise RequestError(400, "invalid JSON", f"the body is not valid JSON: {e}.") from None


def read_rows(
    payload: Any,
    features: list[str],
    *,
    impute: bool,
    max_rows: int,
    levels: dict[str, list[str]] | None = None,
) -> tuple[Rows, int]:
    """``{"rows": [{feature: number, ...}, ...]}`` -> the readable rows in the model's feature order.

    A categorical feature (a key of ``levels``, the model's values for it) takes text (a number is read as
    its text, "3" for 3); a value the model did not see in training is accepted and encoded as unknown.

    Returns:
        (rows, n): n is the number of rows in the request.

    Raises:
        RequestError: 422 when the payload is not an object with a non-empty "rows" array, 413 past ``max_rows``.
    """
    example = '{"rows": [{"' + features[0] + '": 1.0, ...}]}'
    if not isinstance(payload, dict) or "rows" not in payload:
        raise RequestError(
            422,
            "invalid request",
            f"expected a JSON object with a 'rows' array, such as {example}; received {_describe(payload)}.",
        )
    extra = sorted(set(payload) - {"rows"})
    if extra:
        raise RequestError(
            422,
            "invalid request",
            f"expected only the key 'rows'; received also {_listed(extra)}.",
        )
    rows = payload["rows"]
    if not isinstance(rows, list) or not rows:
        what = "an empty array" if rows == [] else _describe(rows)
        raise RequestError(
            422,
            "invalid request",
            f"'rows' must be a non-empty array of objects (one per row); received {what}.",
        )
    if len(rows) > max_rows:
        raise RequestError(
            413,
            "too many rows",
            f"at most {max_rows:,} rows per request; received {len(rows):,}. Split them over several "
            "requests, or start the server with a larger --max-rows.",
        )
    index = {name: j for j, name in enumerate(features)}
    X = np.full((len(rows), len(features)), np.nan)
    kept, errors = [], {}
    vocab = {name: {v: k for k, v in enumerate(values)} for name, values in (levels or {}).items()}
    for i, row in enumerate(rows):
        reason = _read_row(row, index, features, impute, X[i], vocab)
        if reason is None:
            kept.append(i)
        else:
            errors[i] = reason
    request_levels = {name: list(values) for name, values in vocab.items()}  # dicts keep order
    return Rows(X[kept], kept, errors, request_levels), len(rows)


def _read_row(
    row: Any,
    index: dict[str, int],
    features: list[str],
    impute: bool,
    out: np.ndarray,
    vocab: dict[str, dict[str, int]],
) -> str | None:
    """Fill ``out`` (d,) from one row object; the reason it cannot be read, or None."""
    if not isinstance(row, dict):
        return f"expected an object of {len(features)} features by name; received {_describe(row)}"
    missing = [f for f in features if f not in row]
    extra = [k for k in row if k not in index]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} feature(s): {_listed(missing)}")
        if extra:
            parts.append(f"unknown feature(s) {_listed(extra)}")
        return (
            f"{'; '.join(parts)}. Expected exactly the model's {len(features)} features "
            "(GET /model lists them)"
        )
    for name, value in row.items():
        if value is None:
            if not impute:
                return (
                    f"feature {name!r} is null, and this model was trained to reject missing values; "
                    "send a number"
                )
            continue
        if name in vocab:  # categorical: text (or a number, read as its text)
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                return (
                    f"feature {name!r} is categorical: send its value as text (or null for missing); "
                    f"received {_describe(value)}"
                )
            text = value.strip() if isinstance(value, str) else _number_text(value)
            out[index[name]] = vocab[name].setdefault(text, len(vocab[name]))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"feature {name!r} must be a number (or null for missing); received {_describe(value)}"
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            return f"feature {name!r} is {str(value)[:40]}, too large for a float64; send a finite number"
        out[index[name]] = number
    return None


def _number_text(value: float) -> str:
    from brainnet.core.data.columns import number_text

    return number_text(value) if math.isfinite(float(value)) else str(value)


# ----------------------------------------------------------------------------- images


@dataclass
class Upload:
    """One uploaded image: the name the client gave it and its bytes."""

    name: str
    data: bytes


def decode_upload(upload: Upload, index: int, max_pixels: int) -> np.ndarray:
    """Decode upload number ``index`` (from 0) with the training decoder and its decompression-bomb guard.

    Returns:
        (H, W, 3) uint8 RGB.

    Raises:
        BadImageError: not an image, truncated or corrupt, or more than ``max_pixels`` (checked from the header,
            before decoding); the message names the upload, not the temporary file.
    """
    shown = f"upload {index + 1} ({upload.name!r})"
    with tempfile.TemporaryDirectory(prefix="brainnet-serve-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(upload.data)
        try:
            return decode_image(path, max_pixels=max_pixels)
        except BadImageError as err:
            message = str(err).replace(str(path), shown)
            message = message.replace(
                "raise max_pixels if you trust the file",
                "start the server with a larger --max-megapixels if you trust such files",
            )
            raise BadImageError(message) from None
