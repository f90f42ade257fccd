"""The one multi-label estimator: every kind of data (a ``Recipe``) on every engine (an ``Engine``).

``MultiLabelEstimator`` owns everything that depends on neither: the estimator contract (scikit-learn's), the fit
plan (a given validation set, the data's own val split, a stratified hold-out, or cross-fitting), the decision
layer (per-label thresholds and the top-1 rule tuned on out-of-fold probabilities), the metric suite, checkpoints
during training, Ctrl-C, and the model directory (safetensors + JSON). What differs comes from two named parts:

- a **recipe** per kind of input (``brainnet.core.recipe.TableRecipe``, ``brainnet.pipeline.image_recipe``):
  checks the data, learns its statistics on the training rows, checks prediction inputs;
- an **engine** per backend (torch in ``brainnet.pipeline.engine``, NumPy in ``brainnet.scratch.engine``): trains
  one network on a recipe's data and returns its probabilities.

A preset (``MultiLabelMLP``, ``ScratchMultiLabelMLP``, ``MultiLabelImageClassifier``) is a subclass that names
its config, recipe and engine, and nothing else.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from brainnet.core.config import TrainConfig
from brainnet.core.decision import metrics
from brainnet.core.decision.calibration import Calibration
from brainnet.core.decision.layer import DecisionLayer
from brainnet.core.decision.thresholds import ThresholdResult, apply_thresholds
from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.core.model_dir import load_model_dir, read_model_meta, save_model_dir
from brainnet.core.params import ConfigParams
from brainnet.core.recipe import Recipe, TableRecipe

POS_WEIGHT_CAP = 30.0
# try_deeper runs on at most this many training rows: above, a second hidden layer costs more than the trial
# gave back (tmc2007_500: 3x the fit time for +0.003 validation AP; README 'Fit speed', round 10)
DEPTH_TRIAL_MAX_ROWS = 10_000


def pos_weights(Y: np.ndarray) -> np.ndarray:
    """``pos_weight="auto"``: negatives / positives per label, clipped to [1, POS_WEIGHT_CAP]. (L,) float64."""
    pos = Y.sum(axis=0)
    return np.clip((Y.shape[0] - pos) / np.maximum(pos, 1), 1.0, POS_WEIGHT_CAP)


@dataclass
class FitResult:
    """What training one network produced (``Engine.fit_one`` returns it).

    ``best_epoch`` is None when training was interrupted before one epoch finished (no usable model).
    """

    model: Any
    history: list[dict[str, float]] = field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int | None = None
    stop_reason: str = ""
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self, seed: int) -> dict[str, Any]:
        """What the training did, for brainnet.json."""
        best = self.history[self.best_epoch - 1] if self.best_epoch else {}
        return {
            "seed": seed,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            **{f"best_{k}": round(v, 6) for k, v in best.items() if k != "epoch"},
        }


@dataclass
class Predictions:
    """An engine's probabilities for the readable rows of some data.

    Attributes:
        P: (m, L) float64 probabilities of the m readable rows.
        kept: (m,) their row indices in the data.
        bad: {row: why it could not be read} for the others (images that fail to decode).
    """

    P: np.ndarray
    kept: np.ndarray
    bad: dict[int, str] = field(default_factory=dict)


class Engine:
    """The backend half of an estimator: trains one network on a recipe's data. A subclass writes the hooks."""

    name: ClassVar[str] = ""  # "torch" or "scratch", shown to users and saved in brainnet.json
    # True when the engine's network holds the recipe's arithmetic (an exported ONNX graph): the recipe then
    # only checks prediction inputs (``Recipe.encode(data, arithmetic=False)``)
    folds_preprocessing: ClassVar[bool] = False

    def check(self, cfg: Any, recipe: Recipe) -> None:
        """Reject settings or data this engine cannot honour (UserInputError naming the option)."""

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
        """Train one network on ``train``, early-stopping on ``val`` (both ``recipe.encode``d).

        ``save`` (None: no checkpoints) is the estimator's ``brainnet.core.resume.MemberCheckpoint``: an engine
        that drives the ``core.training`` loop adds it to its callbacks (it writes the full loop state, and
        puts a resumed one back in ``on_fit_start``); any other engine calls ``save(model, info)`` with the
        best model so far ({"epoch", "monitor", "value", "time"}).
        """
        raise NotImplementedError

    def predict(self, model: Any, cfg: Any, recipe: Recipe, data: Any) -> Predictions:
        raise NotImplementedError

    def trains_together(self, cfg: Any, recipe: Recipe) -> bool:
        """True when this engine trains the ensemble's members in one run (``fit_members``) for these
        settings; then ``save`` is the estimator's ``brainnet.core.resume.EnsembleCheckpoint``."""
        return False

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
        """Train one network per (seed, train, val) together (``fit_one``'s meaning for each)."""
        raise NotImplementedError

    def predict_members(
        self, models: list[Any], cfg: Any, recipe: Recipe, data: Any
    ) -> list[Predictions]:
        """Every member's ``Predictions`` on ``data``; an engine may batch them."""
        return [self.predict(m, cfg, recipe, data) for m in models]

    def predict_mean(self, models: list[Any], cfg: Any, recipe: Recipe, data: Any) -> Predictions:
        """The ensemble's ``Predictions`` on ``data``: the mean of the members' probabilities (float64);
        an engine may compute it without the members' (K, n, L) probabilities."""
        preds = self.predict_members(models, cfg, recipe, data)
        return Predictions(np.mean([p.P for p in preds], axis=0), preds[0].kept, preds[0].bad)

    def distill(
        self, models: list[Any], cfg: Any, recipe: Recipe, train: Any
    ) -> tuple[Any, dict[str, Any]]:
        """One network of ``cfg.distill`` units that mimics the ensemble ``models`` on the ``recipe.encode``d
        rows ``train``: (it, a summary of its training); only engines whose ``check`` accepts ``distill``."""
        raise NotImplementedError

    def tensors_of(self, model: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def model_from(
        self, cfg: Any, recipe: Recipe, n_labels: int, tensors: dict[str, np.ndarray]
    ) -> Any:
        raise NotImplementedError


def _config_signature(config_class: type) -> inspect.Signature:
    """``__init__``'s signature as scikit-learn reads it: one keyword argument per config field."""
    defaults = config_class()
    return inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=getattr(defaults, name))
            for name in config_class.field_names()
        ]
    )


class MultiLabelEstimator(ConfigParams):
    """Multi-label classifier: recipe (check, statistics) -> engine's networks -> sigmoids -> thresholds.

    Keyword arguments are the fields of ``config_class`` (same names, same defaults); ``__init__`` stores them
    and validates nothing (``fit`` does).

    Fitted attributes:
        recipe_: the fitted data recipe (its statistics, how the data was read).
        models_: the ``n_models`` trained networks (an ensemble when > 1; probabilities are averaged).
        label_names_: the labels, in output order.
        calibration_: per-label probability calibration fitted on the validation (out-of-fold) probabilities
            (``cfg.calibration``); ``predict_proba`` returns calibrated probabilities.
        thresholds_: ThresholdResult tuned on the calibrated validation (out-of-fold) probabilities.
        at_least_one_: whether a row with no label over its threshold gets its top label.
        training_: per-model summary (seed, epochs run, best epoch, stop reason, best epoch's logs).
        history_: per-model list of per-epoch logs.
        val_metrics_: metric suite on the validation rows with the tuned thresholds.
        validation_: which rows early stopping and the thresholds used, in words.
        notes_: what the user should know (imputation, constant labels, skipped images, interruption).
        interrupted_: True when Ctrl-C ended training early (the best model so far was kept).
        depth_trial_: with ``try_deeper``, the hidden layers tried and kept and their out-of-fold AP on the
            trial's folds; None when no trial ran.
        distilled_: with ``distill``, the student that replaced the ensemble in ``models_`` (width, members,
            epochs, fidelity on held-out training rows); else None.
    """

    config_class: ClassVar[type] = TrainConfig
    recipe_class: ClassVar[type[Recipe]] = TableRecipe
    engine_class: ClassVar[type[Engine]] = Engine
    model_kind: ClassVar[str] = ""  # "kind" in brainnet.json; brainnet.load dispatches on it

    def __init__(self, **params: Any) -> None:
        names = self.config_class.field_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {unknown}; valid: {names}"
            )
        defaults = self.config_class()
        for_model = self.config_class.defaults_for_model(params.get("model", defaults.model))
        for name in names:
            setattr(self, name, params.get(name, for_model.get(name, getattr(defaults, name))))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "config_class" in cls.__dict__:  # a new config: __init__'s signature lists its fields

            def __init__(self, **params: Any) -> None:
                MultiLabelEstimator.__init__(self, **params)

            __init__.__signature__ = _config_signature(cls.config_class)  # type: ignore[attr-defined]
            cls.__init__ = __init__  # type: ignore[method-assign]

    @property
    def engine(self) -> str:
        return self.engine_class.name

    @classmethod
    def from_config(cls, config: Any) -> Any:
        return cls(**{name: getattr(config, name) for name in cls.config_class.field_names()})

    @property
    def config(self) -> Any:
        """The parameters as a validated config (raises UserInputError on bad values)."""
        source = f"{type(self).__name__} parameters"
        return self.config_class.from_dict(self.get_params(), source=source)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        Y: Any = None,
        *,
        validation: Any = None,
        verbose: bool = False,
        checkpoint: str | Path | None = None,
        resume: bool = False,
        **reading: Any,
    ) -> MultiLabelEstimator:
        """Train, tune per-label thresholds on validation probabilities, keep the best weights.

        Args:
            X: the training data in the recipe's terms: (n, d) features or a Dataset for tables, an ImageSet
                for images.
            Y: (n, L) 0/1 labels when X holds none.
            validation: explicit validation data (X_val, Y_val) or the recipe's data type. Default: the data's
                own val split when it has one; with ``n_models == 1`` a multi-label stratified hold-out of
                ``val_fraction``; with more, cross-fitting (model k early-stops on stratified fold k; the
                thresholds use out-of-fold probabilities of every training row).
            verbose: progress on stderr.
            checkpoint: a directory where the run is saved during training (``brainnet.core.resume``): a
                loadable model of the best epochs so far plus everything an exact resume needs. While fitting
                with a checkpoint, SIGTERM writes it and raises ``brainnet.core.resume.Terminated`` (exit 143).
            resume: continue the run saved in ``checkpoint`` (same data, labels and config, else a
                UserInputError naming what differs) from its last epoch, with the same numbers as an
                uninterrupted run on the same machine.
            reading: recipe options, e.g. ``feature_names``, ``label_names``, ``label_spec`` for tables.

        Returns:
            self.
        """
        from brainnet.core.resume import sigterm_raises

        with sigterm_raises() if checkpoint is not None else contextlib.nullcontext():
            return self._fit(X, Y, validation, verbose, checkpoint, resume, reading)

    def _fit(self, X, Y, validation, verbose, checkpoint, resume, reading) -> MultiLabelEstimator:
        """``fit`` (SIGTERM handled by the caller)."""
        from brainnet.core import resume as resuming

        if resume and checkpoint is None:
            raise UserInputError("resume=True needs the checkpoint directory to resume from.")
        cfg = self.config
        recipe = self.recipe_class()
        engine = self.engine_class()
        engine.check(cfg, recipe)
        data = recipe.training_data(X, Y, **reading)
        if validation is not None:
            validation = recipe.validation_data(validation, data)
        run = point = None
        if checkpoint is not None:
            fp = resuming.fingerprint(self, cfg, recipe, data, validation)
            point = resuming.read_resume_point(checkpoint, fp) if resume else None
        self.recipe_ = recipe
        self.label_names_ = recipe.label_names(data)
        Y_train = recipe.labels(data)
        pool, plan, self.validation_, notes = prepare_fit(recipe, data, validation, cfg)
        self.__dict__.update(recipe.fitted_attributes())
        Y_pool = recipe.labels(pool)

        self.models_, self.history_, self.training_ = [], [], []
        self.depth_trial_ = self.distilled_ = None  # a checkpoint saved while training has neither
        self.interrupted_ = False
        P_sum, n_pred = np.zeros(Y_pool.shape), np.zeros(len(Y_pool))  # out-of-fold probabilities
        if checkpoint is not None:
            run = resuming.RunCheckpoints(self, engine, Path(checkpoint), len(plan), fp)
        if point is not None:
            notes.append(_resumed_note(point, len(plan)))
        start = time.perf_counter()
        together = self._fit_together(cfg, engine, recipe, pool, plan, verbose, run, point, notes)
        members = (
            plan if together is None else plan[: len(together)]
        )  # fewer: Ctrl-C in a depth trial
        for k, (tr, va) in enumerate(members):
            desc = f"model {k + 1}/{len(plan)}" if len(plan) > 1 else "training"
            val = recipe.subset(pool, va)
            if together is not None:
                result = together[k]
            elif point is not None and k < point.member:  # finished before the run was killed
                result = run.restored(point, k, cfg, recipe)  # type: ignore[union-attr]
            else:
                result = engine.fit_one(
                    cfg,
                    cfg.seed + k,
                    recipe,
                    recipe.subset(pool, tr),
                    val,
                    verbose=verbose,
                    save=run.member(k, point) if run is not None else None,
                    desc=desc,
                )
            notes += result.notes
            if result.best_epoch is None:  # interrupted before one epoch finished
                if not self.models_:
                    raise KeyboardInterrupt
            else:
                self.models_.append(result.model)
                self.history_.append(result.history)
                self.training_.append(result.summary(cfg.seed + k))
                pred = engine.predict(result.model, cfg, recipe, val)
                P_sum[va[pred.kept]] += pred.P
                n_pred[va[pred.kept]] += 1
                if pred.bad:
                    first = next(iter(pred.bad.values()))
                    notes.append(f"validation: skipped {len(pred.bad)} unreadable (first: {first})")
            if result.interrupted and (together is None or k == len(members) - 1):
                self.interrupted_ = True
                notes.append(
                    f"{result.stop_reason}; kept {len(self.models_)} model(s), the last at its best "
                    f"epoch ({result.best_epoch})."
                )
                break
            if run is not None and together is None:
                run.member_done(k, result)
        self.fit_seconds_ = time.perf_counter() - start
        scored = n_pred > 0
        if not scored.any():
            raise UserInputError("none of the validation rows could be read; nothing to tune on.")
        used = trained_rows(plan)
        self._decision_layer(
            cfg, Y_train, Y_pool[scored], P_sum[scored] / n_pred[scored, None], Y_pool[used]
        )
        if getattr(cfg, "distill", 0) and len(self.models_) > 1:
            start = time.perf_counter()
            notes.append(self._distill(cfg, engine, recipe, recipe.subset(pool, used)))
            self.fit_seconds_ += time.perf_counter() - start
        elif getattr(cfg, "distill", 0):
            notes.append("distill: one model was kept (interrupted), so it was not distilled.")
        self.n_train_, self.n_val_ = int(len(used)), int(scored.sum())
        self.notes_ = list(
            dict.fromkeys(notes)
        )  # once each (a depth trial trains in several batched runs)
        return self

    def _fit_together(
        self, cfg, engine, recipe, pool, plan, verbose, run, point, notes
    ) -> list | None:
        """The members' ``FitResult`` s when the engine trains them in one run (``Engine.trains_together``:
        the torch table MLP's batched ensemble), else None (one ``fit_one`` per member). With ``try_deeper``,
        the depth trial (``_depth_trial``) chooses their hidden layers first."""
        together = len(plan) > 1 and engine.trains_together(cfg, recipe)
        if point is not None and point.ensemble != together:
            raise UserInputError(
                f"cannot resume from {str(point.path)!r}: it was written by a run that trained its members "
                f"{'together' if point.ensemble else 'one after another'}, this one would not (another "
                "--nproc or model?). Resume with the options of the killed run, or start afresh."
            )
        if not together:
            return None
        trial = min(cfg.try_deeper, len(plan) - 1) if cfg.hidden_sizes else 0
        if trial and len(pool) > DEPTH_TRIAL_MAX_ROWS:
            notes.append(
                f"no depth trial (try_deeper): {len(pool)} rows is over {DEPTH_TRIAL_MAX_ROWS:,}, where a "
                f"deeper network costs more than it gave back; kept hidden layers {list(cfg.hidden_sizes)}."
            )
            trial = 0
        if trial:
            return self._depth_trial(
                cfg, engine, recipe, pool, plan, verbose, run, point, notes, trial
            )
        return _members(cfg, engine, recipe, pool, plan, range(len(plan)), verbose, run, point)

    def _depth_trial(self, cfg, engine, recipe, pool, plan, verbose, run, point, notes, m) -> list:
        """``try_deeper``: members 1..m with ``hidden_sizes`` and with one more layer of its last width; the
        layers whose out-of-fold AP on folds 1..m is higher train members m+1..K, after the winner's m (so the
        ensemble is the one that those layers would have given from the start). Checkpoints start after the
        trial, with its winners as finished members; a resume restores them. Ctrl-C in the trial keeps the
        first m members it has. Sets ``depth_trial_``."""
        from brainnet.core.decision.metrics import average_precision

        added = cfg.deeper_width or cfg.hidden_sizes[-1]
        shapes = {"current": cfg.hidden_sizes, "deeper": (*cfg.hidden_sizes, added)}
        configs = {name: cfg.replace(hidden_sizes=h, try_deeper=0) for name, h in shapes.items()}
        first = range(m)
        if point is not None and point.member > 0:  # killed after the trial: its choice and winners
            if not point.depth_trial:
                raise ModelFormatError(
                    f"{str(point.path)!r} holds finished members of a batched ensemble but no record of its "
                    "depth trial; it is damaged. Start the run afresh."
                )
            self.depth_trial_ = point.depth_trial
            chosen = configs[self.depth_trial_["chosen"]]
            pilot = [run.restored(point, k, chosen, recipe) for k in first]
        else:
            pilots = {}
            for name, c in configs.items():
                pilots[name] = _members(c, engine, recipe, pool, plan, first, verbose, None, None)
                if any(r.interrupted or r.best_epoch is None for r in pilots[name]):
                    kept = [r for r in pilots["current"] if r.best_epoch is not None]
                    if not kept:  # before one epoch finished: nothing to keep
                        raise KeyboardInterrupt
                    self.interrupted_ = True
                    notes.append(
                        f"interrupted in the depth trial (try_deeper); kept {len(kept)} member(s) with "
                        f"hidden layers {list(cfg.hidden_sizes)}, at their best epochs."
                    )
                    return kept
            Y, ap = recipe.labels(pool), {}
            # each row's mean probability over the trial's members that validated on it
            for name, results in pilots.items():
                P, n = np.zeros(Y.shape), np.zeros(len(Y))
                for k, result in zip(first, results, strict=True):
                    va = plan[k][1]
                    pred = engine.predict(
                        result.model, configs[name], recipe, recipe.subset(pool, va)
                    )
                    P[va[pred.kept]] += pred.P
                    n[va[pred.kept]] += 1
                rows = np.flatnonzero(n)
                ap[name] = float(average_precision(Y[rows], P[rows] / n[rows, None]))
            name = "deeper" if ap["deeper"] > ap["current"] else "current"
            self.depth_trial_ = {
                "members": m,
                "current": list(shapes["current"]),
                "deeper": list(shapes["deeper"]),
                "out_of_fold_ap": {k: round(v, 6) for k, v in ap.items()},
                "chosen": name,
            }
            chosen, pilot = configs[name], pilots[name]
            if run is not None:  # the winners are the checkpoint's finished members
                run.trial_done(pilot)
        trial = self.depth_trial_
        verb = "chose" if trial["chosen"] == "deeper" else "kept"
        notes.append(
            f"{verb} hidden layers {list(chosen.hidden_sizes)}: on the first {m} folds, out-of-fold AP "
            f"{trial['out_of_fold_ap']['deeper']:.4f} with {trial['deeper']} against "
            f"{trial['out_of_fold_ap']['current']:.4f} with {trial['current']} (try_deeper)."
        )
        rest = _members(
            chosen, engine, recipe, pool, plan, range(m, len(plan)), verbose, run, point
        )
        return pilot + rest

    def network_config(self, cfg: Any) -> Any:
        """The config that builds the kept networks: ``cfg`` with the hidden layers the depth trial chose or
        the distilled student's width."""
        if getattr(
            self, "distilled_", None
        ):  # one student network of its own width (engine.distill)
            return cfg.replace(hidden_sizes=(int(self.distilled_["width"]),))
        trial = getattr(self, "depth_trial_", None)
        if trial and trial["chosen"] == "deeper":
            return cfg.replace(hidden_sizes=tuple(int(h) for h in trial["deeper"]))
        return cfg

    def _distill(self, cfg: Any, engine: Engine, recipe: Recipe, train: Any) -> str:
        """Replace the ensemble ``models_`` by one student trained to mimic it (``cfg.distill`` units);
        calibration and thresholds stay those fitted on the ensemble's out-of-fold probabilities. Returns a
        note."""
        student, summary = engine.distill(self.models_, cfg, recipe, train)
        self.models_, self.distilled_ = [student], summary
        return (
            f"distilled the {summary['members']} models into one of {summary['width']} units "
            f"({summary['best_epoch']} epochs; on {summary['fidelity_rows']} held-out training rows its "
            f"probabilities are {summary['fidelity_mae']:.3f} from the ensemble's on average); the "
            "calibration and thresholds are the ensemble's"
        )

    def _decision_layer(
        self,
        cfg: Any,
        Y_train: np.ndarray,
        Y_val: np.ndarray,
        P_val: np.ndarray,
        trained_on: np.ndarray,
    ) -> None:
        """Fit ``calibration_`` on validation probabilities, tune ``thresholds_`` on the calibrated ones and
        score them (``val_metrics_``).

        ``at_least_one`` unset: on when every training example has a label (an empty prediction is then never
        right). ``trained_on``: the labels of the rows some model learned from (a label constant there gets
        its smoothed rate).
        """
        # the rule the baselines share
        layer = DecisionLayer.fit(cfg, Y_train, Y_val, P_val, trained_on)
        self.at_least_one_, self.calibration_ = layer.at_least_one, layer.calibration
        self.thresholds_ = layer.thresholds
        P_val = self.calibration_.apply(P_val)
        self.val_metrics_ = metrics.evaluate(Y_val, P_val, self.decide(P_val))

    # ------------------------------------------------------------------ predict
    def predict_with_errors(self, X: Any) -> tuple[np.ndarray, dict[int, str]]:
        """Probabilities for every row that can be read, and why the others could not.

        Returns:
            (P, bad): P is (n, L) float64 (the mean over the ensemble) with NaN rows for unreadable inputs;
            bad maps their row to the reason.
        """
        self._check_fitted()
        data = self.recipe_.inputs(X, self.label_names_)
        return self._predict(data)

    def _engine(self) -> Engine:
        """The engine that predicts: the one that trained the model, or the ONNX runtime (``load(runtime=)``)."""
        if getattr(self, "runtime_", None) == "onnx":
            from brainnet.core.onnx_engine import OnnxEngine

            return OnnxEngine()
        return self.engine_class()

    def _predict(self, data: Any) -> tuple[np.ndarray, dict[int, str]]:
        engine, cfg = self._engine(), self.config
        # once for every ensemble member
        data = self.recipe_.encode(data, arithmetic=not engine.folds_preprocessing)
        pred = engine.predict_mean(self.models_, cfg, self.recipe_, data)
        n = len(data)
        P = np.full((n, len(self.label_names_)), np.nan)
        P[pred.kept] = self.calibration_.apply(pred.P)
        return P, dict(sorted(pred.bad.items()))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Inputs -> (n, L) float64 independent probabilities; an unreadable input is a UserInputError."""
        P, bad = self.predict_with_errors(X)
        if bad:
            first = next(iter(bad.values()))
            raise UserInputError(
                f"{len(bad)} of {len(P)} inputs could not be read (first: {first}). Use "
                "predict_with_errors to get probabilities for the others."
            )
        return P

    def predict(self, X: Any) -> np.ndarray:
        """Inputs -> (n, L) uint8 label sets, using the tuned per-label thresholds."""
        return self.decide(self.predict_proba(X))

    def decide(self, P: np.ndarray) -> np.ndarray:
        """(n, L) probabilities -> (n, L) uint8 label sets: the stored thresholds and the top-1 rule."""
        return apply_thresholds(P, self.thresholds_.thresholds, at_least_one=self.at_least_one_)

    def evaluate(self, X: Any, Y: Any = None) -> dict[str, float]:
        """The full metric suite (``brainnet.core.decision.metrics.evaluate``) on labelled data; unreadable
        inputs are left out (their count is returned as ``n_skipped`` when there are some)."""
        self._check_fitted()
        data = self.recipe_.inputs(X, self.label_names_)
        labels = self.recipe_.labels(data) if Y is None else np.asarray(Y)
        if labels is None:
            raise UserInputError("evaluate needs labels; the data has none.")
        names = self.recipe_.label_names(data) if Y is None else self.label_names_
        if list(names) != list(self.label_names_):
            raise UserInputError(
                f"the data's labels {list(names)} differ from the model's {self.label_names_}; "
                "evaluate on data labelled with the same names."
            )
        P, bad = self._predict(data)
        kept = np.array([i for i in range(len(P)) if i not in bad], dtype=np.int64)
        if len(kept) == 0:
            raise UserInputError(f"none of the {len(P)} inputs could be read.")
        result = metrics.evaluate(labels[kept], P[kept], self.decide(P[kept]))
        if bad:
            result["n_skipped"] = len(bad)
        return result

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise UserInputError(
                f"this {type(self).__name__} is not fitted yet; call 'fit' first (or brainnet.load)."
            )

    # ------------------------------------------------------------------ save / load
    def save(
        self,
        path: str | Path,
        *,
        force: bool = False,
        status: str = "complete",
        checkpoint: dict[str, Any] | None = None,
    ) -> Path:
        """Write the model directory (atomically; an existing one is replaced only with ``force``)."""
        self._check_fitted()
        engine = self._engine()
        tensors = {
            f"model{k}.{name}": array
            for k, model in enumerate(self.models_)
            for name, array in engine.tensors_of(model).items()
        }
        meta = self.model_meta(len(self.models_), status=status, checkpoint=checkpoint)
        return save_model_dir(path, meta, tensors, force=force)

    def model_meta(
        self, n_models: int, *, status: str, checkpoint: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """brainnet.json of a model directory holding ``n_models`` networks (``model{k}.*`` tensors)."""
        meta = {
            "kind": self.model_kind,
            "engine": self.engine,
            "status": status,
            "config": self.config.to_dict(),
            "label_names": list(self.label_names_),
            "n_models": n_models,
            **self.recipe_.to_meta(),
            "calibration": self.calibration_.to_dict(),
            "thresholds": self.thresholds_.to_dict(),
            "at_least_one": self.at_least_one_,
            "seed": self.seed,
            "training": self.training_,
            "history": compact_history(self.history_),
            "validation_metrics": self.val_metrics_,
            "n_train": self.n_train_,
            "n_val": self.n_val_,
            "validation": self.validation_,
            "fit_seconds": round(self.fit_seconds_, 3),
            "interrupted": bool(self.interrupted_),
            "notes": list(self.notes_),
        }
        if checkpoint is not None:
            meta["checkpoint"] = checkpoint
        if getattr(self, "distilled_", None):  # the one network is a student of this width
            meta["distilled"] = self.distilled_
        if getattr(
            self, "depth_trial_", None
        ):  # try_deeper: which hidden layers the kept networks have
            meta["depth_trial"] = self.depth_trial_
        if getattr(self, "tune_", None):  # the study that chose these settings (brainnet.tune)
            meta["tune"] = self.tune_
        if getattr(self, "baselines_", None):  # brainnet train --baselines (core/baselines.py)
            meta["baselines"] = self.baselines_
        return meta

    @classmethod
    def load(cls, path: str | Path, runtime: str = "auto") -> Any:
        """Load a model directory written by ``save`` (no pickle; checked for corruption). Directories
        written by brainnet 0.1.0 load too.

        Args:
            runtime: "auto" (the exported ``model.onnx`` on onnxruntime when the directory holds one, else the
                engine that trained it), "onnx" (never imports torch; needs ``brainnet export``) or "torch".
                ``runtime_`` says which one predicts.
        """
        from brainnet.core.onnx_engine import choose_runtime, onnx_session

        meta = read_model_meta(path)
        runtime = choose_runtime(path, meta, runtime, str(meta.get("engine", "torch")))
        # the ONNX graph replaces the weights, which are then neither read nor checked
        tensors = load_model_dir(path)[1] if runtime == "native" else {}
        if meta.get("kind") != cls.model_kind:
            raise ModelFormatError(
                f"{str(path)!r} holds a {meta.get('kind')!r} model; expected {cls.model_kind!r}."
            )
        try:
            cfg = cls.config_class.from_dict(meta["config"], source=f"{path}/brainnet.json")
            est = cls.from_config(cfg)
            est.label_names_ = list(meta["label_names"])
            est.recipe_ = cls.recipe_class.from_meta(meta, cfg)
            est.__dict__.update(est.recipe_.fitted_attributes())
            est.thresholds_ = ThresholdResult.from_dict(meta["thresholds"])
            est.at_least_one_ = bool(meta["at_least_one"])
            est.val_metrics_, est.notes_ = meta["validation_metrics"], meta["notes"]
            est.n_train_, est.n_val_ = meta["n_train"], meta["n_val"]
            est.validation_, est.training_ = meta["validation"], meta["training"]
            if isinstance(est.training_, dict):  # 0.1.0 image models: one summary
                est.training_ = [est.training_]
            est.fit_seconds_, est.interrupted_ = meta["fit_seconds"], meta["interrupted"]
            est.history_ = expand_history(meta.get("history", []))  # none before 0.2: []
            est.status_ = meta["status"]
            est.checkpoint_ = meta.get("checkpoint")
            if "tune" in meta:
                est.tune_ = meta["tune"]
            if "baselines" in meta:
                est.baselines_ = meta["baselines"]
            est.distilled_ = meta.get("distilled")
            est.depth_trial_ = meta.get("depth_trial")
            L = len(est.label_names_)
            est.calibration_ = Calibration.from_dict(meta.get("calibration"), L)  # none before 0.2
            if est.thresholds_.thresholds.shape != (L,):
                raise ValueError(f"thresholds do not match the {L} labels")
            est.runtime_ = cls.engine_class.name if runtime == "native" else "onnx"
            if runtime == "onnx":
                est.models_ = [onnx_session(path, meta)]  # the whole ensemble in one graph
                return est
            engine = cls.engine_class()
            prefixes = (
                [f"model{k}." for k in range(int(meta["n_models"]))]
                if "n_models" in meta
                else ["model."]  # 0.1.0 image models: one network under "model."
            )
            est.models_ = []
            net_cfg = est.network_config(cfg)
            for prefix in prefixes:
                own = {n[len(prefix) :]: a for n, a in tensors.items() if n.startswith(prefix)}
                est.models_.append(engine.model_from(net_cfg, est.recipe_, L, own))
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise ModelFormatError(
                f"{str(path)!r} is a damaged brainnet model ({type(e).__name__}: {e})."
            ) from None
        return est


# ---------------------------------------------------------------------- helpers
def _members(cfg, engine, recipe, pool, plan, ks, verbose, run, point) -> list:
    """``FitResult`` s of members ``ks`` of ``plan`` trained together with ``cfg``'s layers (seeds seed + k);
    ``run``: checkpointed (``point``: resumed)."""
    ks = list(ks)
    return engine.fit_members(
        cfg,
        [cfg.seed + k for k in ks],
        recipe,
        [recipe.subset(pool, plan[k][0]) for k in ks],
        [recipe.subset(pool, plan[k][1]) for k in ks],
        verbose=verbose,
        save=run.ensemble(point) if run is not None else None,
        desc=f"models {ks[0] + 1}-{ks[-1] + 1} ({len(cfg.hidden_sizes)} hidden "
        + ("layer)" if len(cfg.hidden_sizes) == 1 else "layers)"),
    )


def prepare_fit(
    recipe: Recipe, data: Any, validation: Any, cfg: Any
) -> tuple[Any, list, str, list[str]]:
    """The start of every fit (the estimator's and the baselines'): the plan (``fit_plan``), the recipe fitted
    on the rows some model trains on, the pool encoded once for every fold.

    Returns:
        (encoded pool, plan, description of the validation, notes on the labels and the recipe).
    """
    notes = label_notes(recipe.labels(data), recipe.label_names(data))
    pool, plan, description = fit_plan(recipe, data, validation, cfg)
    notes += recipe.fit(recipe.subset(pool, trained_rows(plan)), cfg)
    return recipe.encode(pool), plan, description, notes


def trained_rows(plan: list) -> np.ndarray:
    """The rows of the pool that some model of ``plan`` trains on, sorted."""
    return np.unique(np.concatenate([tr for tr, _ in plan]))


def fit_plan(recipe: Recipe, data: Any, validation: Any, cfg: Any) -> tuple[Any, list, str]:
    """Which rows each model trains and early-stops on.

    Returns:
        (pool, plan, description): plan is a list of (train_idx, val_idx) into pool, one per model.
        - explicit ``validation``: pool = data + validation; every model trains on data and stops on
          validation (a seed ensemble when n_models > 1);
        - the data's own split (images): train rows train, val rows stop, test rows are left out;
        - ``n_models == 1``: one multi-label stratified hold-out of ``val_fraction``;
        - ``n_models > 1``: cross-fitting: k = n_models stratified folds, model k stops on fold k, so every row
          trains k-1 models and the thresholds are tuned on out-of-fold probabilities of all rows.
    """
    from brainnet.core.data.splits import (
        multilabel_kfold,
        multilabel_split,
    )  # scikit-learn: slow import

    if validation is not None:
        names = recipe.label_names(validation)
        if recipe.labels(validation) is None or names != recipe.label_names(data):
            raise UserInputError(
                "the validation data needs the same labels as the training data; received "
                f"{names} and {recipe.label_names(data)}."
            )
        n, m = len(data), len(validation)
        plan = [(np.arange(n), np.arange(n, n + m))] * cfg.n_models
        return recipe.concat(data, validation), plan, f"given validation set ({m} rows)"
    split = recipe.split(data)
    if split is not None:
        train_rows, val_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "val")
        if len(train_rows) and len(val_rows):
            plan = [(train_rows, val_rows)] * cfg.n_models
            return data, plan, f"the data's own val split ({len(val_rows)} rows)"
        if len(train_rows):
            data = recipe.subset(data, train_rows)  # train rows only; test rows stay out
    Y = recipe.labels(data)
    if cfg.n_models == 1:
        plan = [multilabel_split(Y, cfg.val_fraction, cfg.seed)]
        return data, plan, f"stratified hold-out of {cfg.val_fraction:g} of the training rows"
    plan = multilabel_kfold(Y, cfg.n_models, cfg.seed)
    return data, plan, f"{cfg.n_models}-fold stratified cross-fitting (out-of-fold thresholds)"


def compact_history(history: list[list[dict[str, float]]]) -> list[dict[str, list[float]]]:
    """Per-model per-epoch logs -> per-model columns for brainnet.json: {"train_loss": [...], ...}, one value
    per epoch (epoch k at index k - 1), rounded to 6 significant digits; NaN is written as null."""
    columns = []
    for logs in history:
        keys = [k for k in (logs[0] if logs else {}) if k != "epoch"]
        columns.append(
            {
                k: [None if v != v else float(f"{v:.6g}") for v in (row[k] for row in logs)]
                for k in keys
            }
        )
    return columns


def expand_history(columns: list[dict[str, list[float | None]]]) -> list[list[dict[str, float]]]:
    """``compact_history``'s columns back to per-model lists of per-epoch logs (with "epoch" from 1)."""
    history = []
    for model in columns:
        if not isinstance(model, dict):
            raise ValueError(f"history entries are objects of columns; received {model!r:.40}")
        n = max((len(v) for v in model.values()), default=0)
        history.append(
            [
                {"epoch": float(i + 1)}
                | {k: float("nan") if v[i] is None else float(v[i]) for k, v in model.items()}
                for i in range(n)
            ]
        )
    return history


def _resumed_note(point: Any, n_planned: int) -> str:
    epoch = point.loop["epoch"] if point.loop is not None else 0
    if (
        point.ensemble and point.member
    ):  # after a depth trial: its winners finished, the others together
        rest = (
            f"members {point.member + 1}-{n_planned}"
            if n_planned - point.member > 1
            else f"member {n_planned}"
        )
        return (
            f"resumed from {str(point.path)!r} after epoch {epoch} of {rest} trained together, after the "
            f"depth trial's {point.member} finished"
        )
    if point.ensemble:
        return f"resumed from {str(point.path)!r} after epoch {epoch} of the {n_planned} members trained together"
    where = f"model {point.member + 1}/{n_planned}, " if n_planned > 1 else ""
    return f"resumed from {str(point.path)!r} after {where}epoch {epoch}"


def label_notes(Y: np.ndarray, label_names: list[str]) -> list[str]:
    """Notes on labels that never or always occur in training."""
    pos = Y.sum(axis=0)
    never = [label_names[j] for j in np.flatnonzero(pos == 0)]
    always = [label_names[j] for j in np.flatnonzero(pos == Y.shape[0])]
    notes = []
    if never:
        notes.append(
            f"label(s) never present in training: {', '.join(never)}; the model gives them a constant "
            "probability, their smoothed training rate 1 / (rows + 2), and never predicts them"
        )
    if always:
        notes.append(
            f"label(s) present in every training row: {', '.join(always)}; the model gives them a "
            "constant probability, their smoothed training rate (rows + 1) / (rows + 2)"
        )
    return notes
