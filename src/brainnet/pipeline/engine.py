"""The PyTorch engine: trains one registered network on a recipe's data and gives its probabilities.

Tables arrive as standardised arrays and train from in-memory tensors (``Trainer.fit``); images arrive as an
``ImageSet`` and train from a seeded DataLoader that skips and counts unreadable files (``Trainer.run``). Both
use the same loss, optimiser, early stopping, checkpoint and progress bar (``trainer.build_trainer``).
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from brainnet.core.errors import UserInputError
from brainnet.core.estimator import Engine, FitResult, Predictions
from brainnet.core.recipe import Recipe

EVAL_BATCH = 64  # images per batch at prediction
# models[0] -> (the members' tensors, their versions, the FoldedEnsemble made of them): see ``_folded``
_FOLDED: weakref.WeakKeyDictionary[Any, tuple[list[Any], list[int], Any]] = (
    weakref.WeakKeyDictionary()
)


class TorchEngine(Engine):
    """One network per call, on ``cfg.device`` ("auto": CUDA when present)."""

    name = "torch"

    def __init__(self) -> None:
        self._told: set[str] = set()  # notes about the whole run, given with the first network only

    def check(self, cfg: Any, recipe: Recipe) -> None:
        from brainnet.pipeline.models import model_for

        model_for(cfg.model, recipe.kind)  # a misspelt model fails before any data is read
        if getattr(cfg, "sparse_first_layer", "off") == "on" and not self.trains_together(
            cfg, recipe
        ):
            raise UserInputError(
                "sparse_first_layer works in the batched ensemble of the table 'mlp' on one process; "
                f"received model {cfg.model!r}"
                + (" under torchrun" if cfg.model == "mlp" else "")
                + ". Use --sparse-first-layer auto or off (its members then train on dense batches)."
            )
        if getattr(cfg, "distill", 0):
            from brainnet.pipeline.distributed import world_size

            if recipe.kind != "table" or cfg.model != "mlp" or world_size() > 1:
                raise UserInputError(
                    "distill trains one student of the table 'mlp' ensemble on one process; received "
                    f"model {cfg.model!r}"
                    + (" under torchrun" if world_size() > 1 else "")
                    + f", distill={cfg.distill}. Use --distill 0, or --model mlp without torchrun."
                )

    def distill(
        self, models: list[Any], cfg: Any, recipe: Recipe, train: Any
    ) -> tuple[Any, dict[str, Any]]:
        """The student of the table ``MLP`` ensemble ``models`` (``pipeline/distill.py``)."""
        from brainnet.core.data.sparse import batch_rows
        from brainnet.pipeline.distill import distill

        X = batch_rows(train.X, slice(None))  # (n, d) float32, sparse tables made dense
        return distill(models, X, cfg, recipe, len(recipe.label_names(train)))

    def fit_one(
        self,
        cfg: Any,
        seed: int,
        recipe: Recipe,
        train: Any,
        val: Any,
        *,
        verbose: bool,
        save: Callable[..., None] | None,
        desc: str,
    ) -> FitResult:
        import torch

        from brainnet.pipeline.distributed import setup
        from brainnet.pipeline.trainer import build_trainer, fit_result

        ctx = setup(cfg.device)  # this process among torchrun's (one process: rank 0 of 1)
        device = ctx.device
        torch.manual_seed(seed)
        model = build_network(cfg, recipe, len(recipe.label_names(train)))
        ctx.seed_dropout(seed)
        notes = [str(model.pretrained_report)] if getattr(model, "pretrained_report", None) else []
        if not ctx.is_rank0:  # rank 0 alone shows progress and writes checkpoints
            verbose, save = False, None
        unsupervised = getattr(model, "fit_unsupervised", None)
        if (
            unsupervised is not None
        ):  # a plastic layer learns from the training inputs, never their labels
            notes += unsupervised(train.X, seed=seed, verbose=verbose)
        Y_tr = recipe.labels(train)
        if recipe.kind == "table":
            generator = torch.Generator().manual_seed(seed)
            trainer = build_trainer(
                model,
                cfg,
                Y_tr,
                device,
                save,
                verbose,
                desc,
                generator=generator,
                trainer_class=ctx.trainer_class,
            )
            state = trainer.fit(train.X, Y_tr, val.X, recipe.labels(val))
            notes += self._once(ctx.notes("rows", cfg.batch_size))
        else:
            state, bad = self._fit_images(
                model, cfg, seed, recipe, train, val, ctx, save, verbose, desc
            )
            notes += self._once(ctx.notes("images", cfg.batch_size))
            notes += [f"training images (last epoch): {s}" for s in bad[-1:]]
        result = fit_result(model.cpu().eval(), state)
        # what a module has to say about its own training (a spiking backbone: its firing), duck-typed
        notes += [
            n for m in model.modules() if hasattr(m, "training_notes") for n in m.training_notes()
        ]
        result.notes = notes
        return result

    def trains_together(self, cfg: Any, recipe: Recipe) -> bool:
        """The table ``mlp`` on one process, with ``batched_ensemble`` on: the members train as one batched
        network (``pipeline/ensemble.py``). Other models (spiking, plastic), images and torchrun train one
        member at a time."""
        from brainnet.pipeline.distributed import world_size

        return (
            recipe.kind == "table"
            and cfg.model == "mlp"
            and bool(getattr(cfg, "batched_ensemble", False))
            and world_size() == 1
        )

    def fit_members(
        self,
        cfg: Any,
        seeds: list[int],
        recipe: Recipe,
        trains: list[Any],
        vals: list[Any],
        *,
        verbose: bool,
        save: Any,
        desc: str,
    ) -> list[FitResult]:
        from brainnet.pipeline.distributed import setup
        from brainnet.pipeline.ensemble import ensemble_callbacks, fit_together
        from brainnet.pipeline.trainer import fit_result

        device = setup(cfg.device).device
        callbacks = ensemble_callbacks(cfg, save, verbose, desc)
        models, loops = fit_together(
            cfg, seeds, recipe, trains, vals, device=device, callbacks=callbacks
        )
        results = [fit_result(m, loop.state) for m, loop in zip(models, loops, strict=True)]
        results[0].notes = [
            "the members trained together as one batched network (stacked weights, "
            "per-member batches, early stopping and best weights)"
            + (
                "; the first layer from the sparse batches' non-zeros (input dropout on non-zero inputs)"
                if loops[0].ensemble.sparse_first_layer
                else ""
            )
        ]
        return results

    def predict_members(
        self, models: list[Any], cfg: Any, recipe: Recipe, data: Any
    ) -> list[Predictions]:
        """Table MLPs: every member in the folded network (``FoldedEnsemble``), else one by one."""
        folded = _folded(models, recipe)
        if folded is None:
            return super().predict_members(models, cfg, recipe, data)
        P = folded.member_probabilities(data.X).astype(np.float64)  # (K, n, L)
        kept = np.arange(len(data.X))
        return [Predictions(p, kept) for p in P]

    def predict_mean(self, models: list[Any], cfg: Any, recipe: Recipe, data: Any) -> Predictions:
        """Table MLPs: the folded network's mean in one pass over the rows, else the members' mean."""
        folded = _folded(models, recipe)
        if folded is None:
            return super().predict_mean(models, cfg, recipe, data)
        return Predictions(folded.probabilities(data.X), np.arange(len(data.X)))

    def _once(self, notes: list[str]) -> list[str]:
        new = [n for n in notes if n not in self._told]
        self._told.update(new)
        return new

    def _fit_images(self, model, cfg, seed, recipe, train, val, ctx, save, verbose, desc):
        """Train over seeded batches of augmented images; returns (TrainState, per-epoch bad-file summaries).
        On several processes each trains on its share of every batch (``ctx``: ``pipeline.distributed``)."""
        from brainnet.pipeline.image_data import LoaderReport, make_loader
        from brainnet.pipeline.train_recipe import add_recipe_callbacks
        from brainnet.pipeline.trainer import build_trainer

        device = ctx.device
        train_data = recipe.dataset(train, cfg, train=True, fitting=True)
        val_data = recipe.dataset(val, cfg, train=False, fitting=True)
        sampler = ctx.sampler(len(train_data), seed)
        loader = make_loader(
            train_data,
            batch_size=ctx.local_batch(cfg.batch_size),
            shuffle=True,
            seed=seed,
            num_workers=cfg.workers,
            drop_last=len(train_data) > cfg.batch_size,
            sampler=sampler,
        )
        trainer = build_trainer(
            model,
            cfg,
            train.Y,
            device,
            save,
            verbose,
            desc,
            batches_per_epoch=len(loader),
            trainer_class=ctx.trainer_class,
        )
        # the photo recipe's schedule, fine-tuning and EMA (pipeline/train_recipe.py); EMA weights are validated
        ema = add_recipe_callbacks(trainer, cfg, len(loader))
        # saved for a resume; a DistributedSeededSampler has none: set_epoch re-derives its draws from the seed
        trainer.generators = [
            g
            for g in (getattr(loader.sampler, "generator", None), loader.generator)
            if g is not None
        ]
        summaries: list[str] = []

        def batches() -> Iterator[tuple[Any, Any]]:
            if sampler is not None:
                sampler.set_epoch(trainer.state.epoch - 1)
            report = LoaderReport()
            for batch in report.track(loader):
                yield batch.images.to(device), batch.labels.to(device)
            # the end-of-epoch summary (rich's progress bar prints it above itself)
            if report.n_bad:
                summaries.append(report.summary())
                if verbose:
                    print(f"epoch {len(summaries)}: {report.summary()}", file=sys.stderr)

        def validation() -> tuple[Any, np.ndarray]:  # the same on every process
            if ema is not None:
                ema.swap_in()
            # the per-epoch check only picks the best epoch: one pass without flip TTA (half the cost); the
            # validation probabilities behind thresholds and calibration come later, from engine.predict, with it
            tta = getattr(model, "flip_tta", None)  # None: a model without TTA
            if tta is not None:
                model.flip_tta = False
            try:
                logits, kept, _ = image_logits(
                    model, val_data, device, shard=ctx.rows(len(val_data))
                )
            finally:
                if tta is not None:
                    model.flip_tta = tta
            logits, kept = ctx.gather(logits, kept)
            return logits, val.Y[kept]

        return trainer.run(batches, validation), summaries

    def predict(self, model: Any, cfg: Any, recipe: Recipe, data: Any) -> Predictions:
        import torch

        if recipe.kind == "table":
            from brainnet.pipeline.trainer import predict_logits

            logits = predict_logits(model, data.X, "cpu")
            return Predictions(
                torch.sigmoid(logits).numpy().astype(np.float64), np.arange(len(logits))
            )
        device = resolve_device(cfg.device)
        dataset = recipe.dataset(data, cfg, train=False, fitting=False)
        logits, kept, bad = image_logits(model.to(device), dataset, device)
        model.cpu()
        return Predictions(torch.sigmoid(logits).numpy().astype(np.float64), kept, bad)

    def tensors_of(self, model: Any) -> dict[str, np.ndarray]:
        return {name: t.detach().cpu().numpy() for name, t in model.state_dict().items()}

    def model_from(
        self, cfg: Any, recipe: Recipe, n_labels: int, tensors: dict[str, np.ndarray]
    ) -> Any:
        import torch

        model = build_network(cfg, recipe, n_labels, for_loading=True)
        model.load_state_dict({n: torch.from_numpy(a.copy()) for n, a in tensors.items()})
        return model.eval()


def _folded(models: list[Any], recipe: Recipe) -> Any:
    """The ``FoldedEnsemble`` of table ``MLP`` s (None for other models), folded once and reused while the
    members hold the same tensors, unchanged (a tensor's version counts its in-place changes: after a
    ``load_state_dict`` or an optimiser step it folds again), so a served model does not fold per request."""
    from brainnet.pipeline.models.mlp import MLP

    if recipe.kind != "table" or not models or not all(type(m) is MLP for m in models):
        return None
    from brainnet.pipeline.models.folded_ensemble import FoldedEnsemble

    tensors = [t for m in models for t in (*m.parameters(), *m.buffers())]
    if any(t.is_inference() for t in tensors):  # made in inference_mode: no version to watch
        return FoldedEnsemble.from_members(models)
    versions = [t._version for t in tensors]
    cached = _FOLDED.get(models[0])
    if (
        cached is not None
        and len(cached[0]) == len(tensors)
        and all(a is b for a, b in zip(cached[0], tensors, strict=True))
        and cached[1] == versions
    ):
        return cached[2]
    folded = FoldedEnsemble.from_members(models)
    _FOLDED[models[0]] = (tensors, versions, folded)
    return folded


def build_network(cfg: Any, recipe: Recipe, n_labels: int, *, for_loading: bool = False) -> Any:
    """The registered network ``cfg.model`` for the recipe's inputs; when loading, no pretrained file is read
    and nothing is frozen (the saved weights replace them)."""
    from brainnet.pipeline.models import model_for

    if for_loading and recipe.kind == "images":
        cfg = cfg.replace(pretrained=None, freeze_backbone=False)
    model = model_for(cfg.model, recipe.kind).build(recipe.input_shape, n_labels, cfg)
    if hasattr(
        model, "flip_tta"
    ):  # an ImageClassifier: flip TTA as the recipe says (saved with it)
        model.flip_tta = bool(getattr(recipe, "tta", False))
    return model


def image_logits(
    model: Any, dataset: Any, device: Any, shard: Sequence[int] | None = None
) -> tuple[Any, np.ndarray, dict[int, str]]:
    """(logits (m, L) on the CPU, the m readable rows of ``dataset`` (or of its rows ``shard``),
    {unreadable row: reason})."""
    import torch

    from brainnet.pipeline.image_data import make_loader

    was_training = model.training
    model.eval()
    sampler = None if shard is None else [(int(i), 0) for i in shard]
    loader = make_loader(dataset, batch_size=EVAL_BATCH, shuffle=False, seed=0, sampler=sampler)
    out, rows, bad = [], [], {}
    with torch.inference_mode():
        for batch in loader:
            bad.update({item.index: item.reason for item in batch.bad})
            if len(batch):
                out.append(model(batch.images.to(device)).float().cpu())
                rows.append(batch.index.numpy())
    model.train(was_training)
    L = dataset.imageset.n_labels
    logits = torch.cat(out) if out else torch.zeros((0, L))
    kept = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return logits, kept, bad


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
