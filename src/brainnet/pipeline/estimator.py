"""``MultiLabelMLP``: the multi-label estimator of ``brainnet.core.estimator`` on a PyTorch MLP.

Everything engine-independent (splits, cross-fitting, scaling, thresholds, metrics, the model directory) lives in
``MultiLabelEstimator``; this file writes the four PyTorch hooks: train one model, its probabilities, its weights,
and rebuilding it from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainnet.core.config import TrainConfig
from brainnet.core.errors import UserInputError
from brainnet.core.estimator import FitResult, MultiLabelEstimator

MODEL_KIND = "multilabel_mlp"


class MultiLabelMLP(MultiLabelEstimator):
    """Multi-label classifier: standardise -> PyTorch MLP -> independent sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.TrainConfig``; fitted attributes are listed on
    ``MultiLabelEstimator``. ``models_`` holds torch modules (on the CPU, in eval mode).
    """

    model_kind = MODEL_KIND
    engine = "torch"

    def _fit_one(
        self, cfg: TrainConfig, seed: int, Z_tr, Y_tr, Z_val, Y_val, verbose: bool, save, desc: str
    ) -> FitResult:
        import torch

        from brainnet.pipeline.models import model_for
        from brainnet.pipeline.trainer import build_trainer, fit_result

        device = resolve_device(cfg.device)
        torch.manual_seed(seed)
        model = model_for(cfg.model, "table").build((Z_tr.shape[1],), Y_tr.shape[1], cfg)
        generator = torch.Generator().manual_seed(seed)
        trainer = build_trainer(model, cfg, Y_tr, device, save, verbose, desc, generator=generator)
        state = trainer.fit(Z_tr, Y_tr, Z_val, Y_val)
        return fit_result(model.cpu().eval(), state)

    def _proba_one(self, model: Any, Z: np.ndarray) -> np.ndarray:
        import torch

        from brainnet.pipeline.trainer import predict_logits

        return torch.sigmoid(predict_logits(model, Z, "cpu")).numpy().astype(np.float64)

    def _tensors_of(self, model: Any) -> dict[str, np.ndarray]:
        return {name: t.detach().cpu().numpy() for name, t in model.state_dict().items()}

    @classmethod
    def _model_from(
        cls, cfg: TrainConfig, n_features: int, n_labels: int, tensors: dict[str, np.ndarray]
    ) -> Any:
        import torch

        from brainnet.pipeline.models import model_for

        model = model_for(cfg.model, "table").build((n_features,), n_labels, cfg)
        model.load_state_dict({n: torch.from_numpy(a.copy()) for n, a in tensors.items()})
        return model.eval()


def load(path: Any) -> MultiLabelMLP:
    """Load a model directory written by ``MultiLabelMLP.save`` (no pickle; checked for corruption)."""
    return MultiLabelMLP.load(path)


def resolve_device(name: str) -> Any:
    """ "auto" -> CUDA when present, else CPU; a named device that is not available is a UserInputError."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(
            f"device {name!r} requested but CUDA is not available; use --device cpu or auto."
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserInputError(
            "device 'mps' requested but it is not available; use --device cpu or auto."
        )
    return torch.device(name)
