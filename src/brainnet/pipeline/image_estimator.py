"""``MultiLabelImageClassifier``: multi-label image classification with the tabular path's contract.

Images in (an ``ImageSet``: a manifest, class folders or a built-in), a registered image model (``seed_cnn``,
torchvision ResNets, MobileNet, EfficientNet) trained with BCE on logits and early stopping, per-label thresholds
tuned on the validation images, the same metric suite, and the same model directory (safetensors + JSON with the
normalisation statistics, thresholds and config). ``predict_proba`` gives (n, L) independent probabilities;
``predict`` applies the stored thresholds; an unreadable image never stops training (it is skipped and counted).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.config import ImageTrainConfig
from brainnet.core.data.images import ImageSet
from brainnet.core.data.splits import multilabel_split
from brainnet.core.decision import metrics
from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.core.estimator import (
    ConfiguredEstimator,
    label_notes,
)
from brainnet.core.model_dir import load_model_dir, save_model_dir

MODEL_KIND = "multilabel_image"
EVAL_BATCH = 64


class MultiLabelImageClassifier(ConfiguredEstimator):
    """Multi-label image classifier: resize + normalise -> image model -> sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.ImageTrainConfig`` (same names, same defaults).

    Fitted attributes:
        model_: the torch module (CPU, eval mode) at its best validation epoch.
        label_names_: the labels, in logit order.
        mean_, std_: per-channel normalisation statistics of the training images ([0, 1] units).
        thresholds_: ThresholdResult tuned on the validation images; at_least_one_ as in the tabular path.
        training_: the training summary (epochs, best epoch, stop reason, best logs); history_: per-epoch logs.
        val_metrics_: the metric suite on the validation images with the tuned thresholds.
        source_: how the training images were read (so ``evaluate`` can read new files the same way).
        notes_: what the user should know (skipped images, labels never present, interruption, pretrained).
    """

    config_class = ImageTrainConfig

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        images: ImageSet,
        validation: ImageSet | None = None,
        *,
        verbose: bool = False,
        checkpoint: str | Path | None = None,
    ) -> MultiLabelImageClassifier:
        """Train on labelled images, early-stop and tune thresholds on validation images.

        Args:
            images: the training images with labels. Its split column decides train/val when it has "val"
                rows ("test" rows are left out); otherwise a multi-label stratified ``val_fraction`` is held out.
            validation: explicit validation images (then ``images`` is used whole for training).
            verbose: a progress bar and per-epoch notes on stderr.
            checkpoint: a directory where the best model so far is saved during training (crash safety).

        Returns:
            self.
        """
        import torch

        from brainnet.pipeline.augment import build_transform, image_stats
        from brainnet.pipeline.estimator import resolve_device
        from brainnet.pipeline.models import IMAGE_MODELS

        cfg = self.config
        train, val, self.validation_ = _split(images, validation, cfg)
        self.label_names_ = list(images.label_names)
        self.source_ = dict(images.source)
        notes = label_notes(train.Y, self.label_names_)
        device = resolve_device(cfg.device)

        torch.manual_seed(cfg.seed)
        self.mean_, self.std_ = image_stats(train, cfg.image_size, seed=cfg.seed)
        model = IMAGE_MODELS.get(cfg.model)(
            len(self.label_names_),
            image_size=cfg.image_size,
            pretrained=cfg.pretrained,
            freeze_backbone=cfg.freeze_backbone,
        )
        if model.pretrained_report is not None:
            notes.append(str(model.pretrained_report))
        augment = build_transform(
            train=True,
            image_size=cfg.image_size,
            rotation=cfg.rotation,
            shift=cfg.shift,
            hflip=cfg.hflip,
            mean=self.mean_,
            std=self.std_,
        )
        train_data = self._dataset(train, augment, cfg.cache)
        val_data = self._dataset(val, self._eval_transform(), cfg.cache)
        self.model_ = model
        start = time.perf_counter()
        result, reports = self._train(cfg, train_data, val_data, device, verbose, checkpoint)
        self.fit_seconds_ = time.perf_counter() - start
        if result.best_epoch is None:
            raise KeyboardInterrupt
        self.model_ = result.model.cpu().eval()
        self.history_ = result.history
        self.training_ = result.summary(cfg.seed)
        self.interrupted_ = result.interrupted
        if result.interrupted:
            notes.append(f"{result.stop_reason}; kept the best epoch ({result.best_epoch}).")
        notes += [line for line in reports if line]

        P_val, kept, val_bad = self._probabilities(val_data, self._device())
        self.model_.cpu()
        if val_bad:
            first = next(iter(val_bad.values()))
            notes.append(f"validation: skipped {len(val_bad)} unreadable images (first: {first})")
        self._decision_layer(cfg, train.Y, val.Y[kept], P_val)
        self.n_train_, self.n_val_ = len(train), int(len(kept))
        self.notes_ = notes
        return self

    def _dataset(self, images: ImageSet, transform: Any, cache: bool) -> Any:
        from brainnet.pipeline.image_data import ImageDataset

        return ImageDataset(images, transform, cache=cache, strict=self.strict)

    def _eval_transform(self) -> Any:
        from brainnet.pipeline.augment import build_transform

        return build_transform(
            train=False, image_size=self.image_size, mean=self.mean_, std=self.std_
        )

    def _train(self, cfg, train_data, val_data, device, verbose, checkpoint):
        """One model through the Trainer; returns (FitResult, per-epoch bad-image summaries)."""
        from brainnet.pipeline.image_data import LoaderReport, make_loader
        from brainnet.pipeline.trainer import build_trainer, fit_result

        model = self.model_
        loader = make_loader(
            train_data,
            batch_size=cfg.batch_size,
            shuffle=True,
            seed=cfg.seed,
            num_workers=cfg.workers,
            drop_last=len(train_data) > cfg.batch_size,
        )
        save = self._checkpoint_saver(Path(checkpoint)) if checkpoint is not None else None
        trainer = build_trainer(
            model,
            cfg,
            train_data.imageset.Y,
            device,
            save,
            verbose,
            "training",
            batches_per_epoch=len(loader),
        )
        summaries: list[str] = []

        def batches() -> Iterator[tuple[Any, Any]]:
            report = LoaderReport()
            for batch in report.track(loader):
                yield batch.images.to(device), batch.labels.to(device)
            # the end-of-epoch summary (rich's progress bar prints it above itself)
            if report.n_bad:
                summaries.append(report.summary())
                if verbose:
                    print(f"epoch {len(summaries)}: {report.summary()}", file=sys.stderr)

        def validation() -> tuple[Any, np.ndarray]:
            logits, kept, _ = self._logits(val_data, device, model)
            return logits, val_data.imageset.Y[kept]

        state = trainer.run(batches, validation)
        return fit_result(model, state), [
            f"training images (last epoch): {s}" for s in summaries[-1:]
        ]

    def _checkpoint_saver(self, path: Path) -> Callable[[Any], None]:
        """save(model): writes the model of the best epoch so far with 0.5 thresholds (a usable model)."""

        def save(model: Any, info: Any = None) -> None:
            snap = self._checkpoint_copy(len(self.label_names_))
            snap.label_names_, snap.source_ = self.label_names_, self.source_
            snap.mean_, snap.std_, snap.model_ = self.mean_, self.std_, model
            snap.save(path, force=True, status="checkpoint")

        return save

    # ------------------------------------------------------------------ predict
    def _logits(
        self, dataset: Any, device: Any, model: Any = None
    ) -> tuple[Any, np.ndarray, dict[int, str]]:
        """(logits (m, L) on the CPU, the m readable rows of ``dataset``, {unreadable row: reason})."""
        import torch

        from brainnet.pipeline.image_data import make_loader

        model = self.model_ if model is None else model
        was_training = model.training
        model.eval()
        loader = make_loader(dataset, batch_size=EVAL_BATCH, shuffle=False, seed=0)
        out, rows, bad = [], [], {}
        with torch.inference_mode():
            for batch in loader:
                bad.update({item.index: item.reason for item in batch.bad})
                if len(batch):
                    out.append(model(batch.images.to(device)).float().cpu())
                    rows.append(batch.index.numpy())
        model.train(was_training)
        L = len(self.label_names_)
        logits = torch.cat(out) if out else torch.zeros((0, L))
        kept = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        return logits, kept, bad

    def _probabilities(
        self, dataset: Any, device: Any = "cpu"
    ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        import torch

        logits, kept, bad = self._logits(dataset, device)
        return torch.sigmoid(logits).numpy().astype(np.float64), kept, bad

    def predict_images(
        self, images: ImageSet | list[str | Path]
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Probabilities for every image that can be read, and why the others could not.

        Args:
            images: an ImageSet or a list of image paths (each decoded once).

        Returns:
            (P, bad): P is (n, L) float64 with NaN rows for unreadable images; bad maps their row to the reason.
        """
        self._check_fitted()
        if not isinstance(images, ImageSet):
            images = ImageSet("images", self.label_names_, paths=[Path(p) for p in images])
        P = np.full((len(images), len(self.label_names_)), np.nan)
        probs, kept, bad = self._probabilities(self._dataset_for_prediction(images), self._device())
        P[kept] = probs
        return P, dict(sorted(bad.items()))

    def _dataset_for_prediction(self, images: ImageSet) -> Any:
        from brainnet.pipeline.image_data import ImageDataset

        return ImageDataset(images, self._eval_transform(), cache=False, strict=False)

    def _device(self) -> Any:
        from brainnet.pipeline.estimator import resolve_device

        device = resolve_device(self.device if self.device else "auto")
        self.model_.to(device)
        return device

    def predict_proba(self, images: ImageSet | list[str | Path]) -> np.ndarray:
        """(n images) -> (n, L) float64 probabilities; an unreadable image is a UserInputError naming it."""
        P, bad = self.predict_images(images)
        if bad:
            first = next(iter(bad.values()))
            raise UserInputError(
                f"{len(bad)} of {len(P)} images could not be read (first: {first}). Use "
                "predict_images to get probabilities for the others."
            )
        return P

    def predict(self, images: ImageSet | list[str | Path]) -> np.ndarray:
        """(n images) -> (n, L) uint8 label sets, using the tuned per-label thresholds."""
        return self._decide(self.predict_proba(images))

    def evaluate(self, images: ImageSet) -> dict[str, float]:
        """The full metric suite on labelled images; unreadable ones are left out (their count is returned
        under ``n_skipped`` only when there are some)."""
        self._check_fitted()
        if images.Y is None:
            raise UserInputError(f"evaluate needs labelled images; {images.name} has no labels.")
        if list(images.label_names) != self.label_names_:
            raise UserInputError(
                f"the images' labels {images.label_names} differ from the model's {self.label_names_}; "
                "evaluate on data labelled with the same names."
            )
        P, kept, _ = self._probabilities(self._dataset_for_prediction(images), self._device())
        if len(kept) == 0:
            raise UserInputError(
                f"none of the {len(images)} images of {images.name} could be read."
            )
        return metrics.evaluate(images.Y[kept], P, self._decide(P))

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise UserInputError(
                "this MultiLabelImageClassifier is not fitted yet; call 'fit' first (or brainnet.load)."
            )

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path, *, force: bool = False, status: str = "complete") -> Path:
        """Write the model directory (atomically; an existing one is replaced only with ``force``)."""
        self._check_fitted()
        tensors = {
            f"model.{name}": t.detach().cpu().numpy()
            for name, t in self.model_.state_dict().items()
        }
        meta = {
            "kind": MODEL_KIND,
            "engine": "torch",
            "status": status,
            "config": self.config.to_dict(),
            "label_names": list(self.label_names_),
            "normalization": {"mean": list(self.mean_), "std": list(self.std_)},
            "source": self.source_,
            **self._record(),
        }
        return save_model_dir(path, meta, tensors, force=force)

    @classmethod
    def load(cls, path: str | Path) -> MultiLabelImageClassifier:
        """Load a model directory written by ``save`` (no pickle; checked for corruption)."""
        import torch

        from brainnet.pipeline.models import IMAGE_MODELS

        meta, tensors = load_model_dir(path)
        if meta.get("kind") != MODEL_KIND:
            raise ModelFormatError(
                f"{str(path)!r} holds a {meta.get('kind')!r} model; expected {MODEL_KIND!r}."
            )
        try:
            cfg = ImageTrainConfig.from_dict(meta["config"], source=f"{path}/brainnet.json")
            est = cls.from_config(cfg.replace(pretrained=None))
            est.pretrained = cfg.pretrained  # recorded, not re-read: the weights below replace it
            est.label_names_ = list(meta["label_names"])
            est.mean_ = tuple(float(v) for v in meta["normalization"]["mean"])
            est.std_ = tuple(float(v) for v in meta["normalization"]["std"])
            model = IMAGE_MODELS.get(cfg.model)(len(est.label_names_), image_size=cfg.image_size)
            state = {
                n[len("model.") :]: torch.from_numpy(a.copy())
                for n, a in tensors.items()
                if n.startswith("model.")
            }
            model.load_state_dict(state)
            est.model_ = model.eval()
            est.source_ = dict(meta["source"])
            est._restore_record(meta, len(est.label_names_), str(path))
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise ModelFormatError(
                f"{str(path)!r} is a damaged brainnet model ({type(e).__name__}: {e})."
            ) from None
        return est


def load(path: str | Path) -> MultiLabelImageClassifier:
    """Load a model directory written by ``MultiLabelImageClassifier.save``."""
    return MultiLabelImageClassifier.load(path)


def _split(
    images: ImageSet, validation: ImageSet | None, cfg: ImageTrainConfig
) -> tuple[ImageSet, ImageSet, str]:
    """(train, val, description): explicit validation, the data's own val split, or a stratified hold-out."""
    if images.Y is None:
        raise UserInputError(f"{images.name} has no labels; training needs labelled images.")
    if len(images) < 4:
        raise UserInputError(f"training needs at least 4 images; {images.name} has {len(images)}.")
    if validation is not None:
        if validation.Y is None or list(validation.label_names) != list(images.label_names):
            raise UserInputError(
                "the validation images need the same labels as the training images; received "
                f"{validation.label_names} and {images.label_names}."
            )
        return images, validation, f"given validation set ({len(validation)} images)"
    if images.split is not None:
        val_rows = images.split_indices("val")
        train_rows = images.split_indices("train")
        if len(val_rows) and len(train_rows):
            return (
                images.subset(train_rows),
                images.subset(val_rows),
                f"the data's own val split ({len(val_rows)} images)",
            )
        if len(train_rows):
            images = images.subset(train_rows)
    tr, va = multilabel_split(images.Y, cfg.val_fraction, cfg.seed)
    return (
        images.subset(tr),
        images.subset(va),
        f"stratified hold-out of {cfg.val_fraction:g} of the training images ({len(va)})",
    )
