"""The served model: one model directory loaded once through ``brainnet.load``, and its answers per item.

Only the public estimator API is used (``predict_with_errors``, ``decide``, ``label_names_``, ``thresholds_``),
so whatever runtime ``brainnet.load`` picks for the directory (PyTorch, NumPy, ONNX) serves it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.data.images import ImageSet
from brainnet.core.errors import BadImageError, ModelFormatError
from brainnet.core.model_dir import read_model_meta
from brainnet.serve.inputs import Rows, Upload, decode_upload

_NEEDED = ("predict_with_errors", "decide", "label_names_", "thresholds_", "recipe_")


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, np.generic):
        return finite(value.item())
    return value


class ServedModel:
    """A multi-label classifier from a local model directory, ready to answer requests.

    Args:
        path: the model directory (``weights.safetensors`` or ``model.onnx`` + ``brainnet.json``).
        warm_up: predict once on a neutral input now, so the first request is not the slow one and a model
            that cannot predict fails at start.

    Raises:
        ModelFormatError: not a brainnet model directory, damaged, or not a multi-label classifier.
    """

    def __init__(self, path: str | Path, *, warm_up: bool = True) -> None:
        import brainnet

        self.path = Path(path)
        self.meta = read_model_meta(self.path)
        self.model = brainnet.load(self.path)
        lacking = [name for name in _NEEDED if not hasattr(self.model, name)]
        if lacking:
            raise ModelFormatError(
                f"{str(self.path)!r} holds a {type(self.model).__name__}, not a multi-label classifier "
                f"(it has no {', '.join(lacking)}); serve a model written by `brainnet train`."
            )
        self.kind: str = self.model.recipe_.kind  # "table" or "images"
        self.labels: list[str] = list(self.model.label_names_)
        self.thresholds = np.asarray(self.model.thresholds_.thresholds, dtype=np.float64)  # (L,)
        if warm_up:
            self._warm_up()

    @property
    def features(self) -> list[str]:
        return list(self.model.feature_names_)

    @property
    def levels(self) -> dict[str, list[str]]:
        """The categorical features and the values seen in training (sent as text)."""
        return dict(getattr(self.model, "feature_levels_", {}) or {})

    @property
    def impute(self) -> bool:
        return bool(getattr(self.model, "impute", True))

    @property
    def image_size(self) -> int:
        return int(self.model.image_size)

    def _warm_up(self) -> None:
        if self.kind == "table":
            self.model.predict_with_errors(np.zeros((1, len(self.features))))
        else:
            gray = np.full((1, self.image_size, self.image_size, 3), 128, dtype=np.uint8)
            self.model.predict_with_errors(ImageSet("warm-up", self.labels, arrays=gray))

    def info(self) -> dict[str, Any]:
        """What ``GET /model`` shows: kind, labels, thresholds, validation metrics, versions, inputs."""
        from brainnet import __version__

        thresholds = self.model.thresholds_
        if self.kind == "table":
            inputs = {
                "features": self.features,
                "categorical": self.levels,
                "missing_values": "null is imputed with the training median"
                if self.impute
                else "rejected (send every feature)",
            }
        else:
            inputs = {"image_size": self.image_size, "channels": 3}
        return finite(
            {
                "path": str(self.path),
                "kind": self.kind,
                "model_kind": self.meta.get("kind"),
                "engine": self.meta.get("engine"),
                "labels": self.labels,
                "thresholds": dict(zip(self.labels, self.thresholds.tolist(), strict=True)),
                "threshold_objective": getattr(thresholds, "objective", None),
                "at_least_one": bool(getattr(self.model, "at_least_one_", False)),
                "validation_metrics": dict(getattr(self.model, "val_metrics_", {}) or {}),
                "validation": getattr(self.model, "validation_", None),
                "n_models": len(getattr(self.model, "models_", []) or []) or None,
                "model_brainnet_version": self.meta.get("brainnet_version"),
                "format_version": self.meta.get("format_version"),
                "brainnet_version": __version__,
                "inputs": inputs,
            }
        )

    # ------------------------------------------------------------------ predict (worker threads)
    def predict_rows(
        self, rows: Rows, n: int, names: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """One answer per request row: probabilities and decisions, or the row's error."""
        P = np.full((n, len(self.labels)), np.nan)  # (n, L)
        errors = dict(rows.errors)
        if rows.kept:
            X = rows.X
            if rows.levels:  # text values of categorical features: the model's encoding reads them
                from brainnet.core.data.dataset import Dataset

                X = Dataset(rows.X, None, self.features, self.labels, levels=rows.levels)
            P_kept, bad = self.model.predict_with_errors(X)
            P[rows.kept] = P_kept
            errors.update({rows.kept[k]: reason for k, reason in bad.items()})
        return self._answers(P, errors, names or [f"row {i + 1}" for i in range(n)])

    def predict_uploads(self, uploads: list[Upload], max_pixels: int) -> list[dict[str, Any]]:
        """One answer per upload. Images are decoded one at a time and predicted alone, so at most one
        decoded image per inference is in memory whatever its size or the number of uploads."""
        P = np.full((len(uploads), len(self.labels)), np.nan)  # (n, L)
        errors: dict[int, str] = {}
        for i, upload in enumerate(uploads):
            try:
                image = decode_upload(upload, i, max_pixels)  # (H, W, 3)
            except BadImageError as err:
                errors[i] = str(err)
                continue
            one = ImageSet(upload.name, self.labels, arrays=image[None])  # (1, H, W, 3)
            P_one, bad = self.model.predict_with_errors(one)
            if bad:
                errors[i] = next(iter(bad.values()))
            else:
                P[i] = P_one[0]
        return self._answers(P, errors, [u.name for u in uploads])

    def _answers(
        self, P: np.ndarray, errors: dict[int, str], names: list[str]
    ) -> list[dict[str, Any]]:
        good = [i for i in range(len(P)) if i not in errors]
        decisions = np.zeros(P.shape, dtype=np.uint8)  # (n, L)
        if good:
            decisions[good] = self.model.decide(P[good])
        answers = []
        for i, name in enumerate(names):
            if i in errors:
                answers.append({"index": i, "name": name, "error": errors[i]})
                continue
            answers.append(
                {
                    "index": i,
                    "name": name,
                    "probabilities": {
                        label: round(float(p), 6)
                        for label, p in zip(self.labels, P[i], strict=True)
                    },
                    "decisions": {
                        label: bool(d) for label, d in zip(self.labels, decisions[i], strict=True)
                    },
                    "labels": [
                        label for label, d in zip(self.labels, decisions[i], strict=True) if d
                    ],
                }
            )
        return answers
