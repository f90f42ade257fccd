"""``tune``: an Optuna study over an estimator's settings, resumable, shareable, ending in an ordinary model.

Each trial samples the search space (``brainnet.tune.space``) with a seeded TPE sampler, trains the estimator's
preset with those settings and ``trial_n_models`` networks (1 by default, for speed) and returns the validation
metric the estimator measures as it always does (``val_metrics_``: out-of-fold or on the validation split; never
a test file). Every epoch's validation value goes to the pruner through the training-loop protocol (a callback
added with ``core.training.extra_callbacks``); a trial the pruner stops ends at once as PRUNED.

The study lives in storage (an SQLite file beside the output by default, any SQLAlchemy URL otherwise), so a
killed run continues when started again, and several processes given the same storage and study name share the
work. ``trials`` counts the study's finished trials (complete, pruned, or failed with an error), not the new ones
of this run. A trial killed with its process is failed by the next run once its heartbeat is stale and does not
count. A trial that starts when the count is already reached by earlier trials (two processes starting at once)
is pruned at once as surplus and does not count either, so the study ends with exactly ``trials`` finished.

The best settings are then trained again with the base config's full settings (``n_models`` included) and the
study's summary is kept on the estimator (``tune_``) and in its ``brainnet.json`` ("tune").
"""

from __future__ import annotations

import json
import math
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainnet.core.decision.metrics import LOWER_IS_BETTER, METRIC_KEYS, MONITORS
from brainnet.core.errors import UserInputError
from brainnet.core.training import Callback, extra_callbacks
from brainnet.tune.space import config_values, read_space, suggest

PRUNERS = ("median", "hyperband", "none")
HEARTBEAT_S = 2  # a running trial writes a heartbeat this often...
GRACE_S = 10  # ...and one silent this long belongs to a dead process: it is failed and not counted


@dataclass
class TuneResult:
    """What ``tune`` returns: the best settings, their validation value, the retrained estimator, the summary."""

    best_params: dict[str, Any]
    best_value: float
    estimator: Any
    summary: dict[str, Any]


class PruningCallback(Callback):
    """Reports ``key`` of each epoch's logs to an Optuna trial; raises ``optuna.TrialPruned`` when it should stop.

    Only the first network of a trial reports (with cross-fitting the later folds would reuse the steps).
    The exception ends the training loop after ``on_fit_end`` (progress bars close) and the estimator's fit.
    """

    def __init__(self, trial: Any, key: str) -> None:
        self.trial, self.key = trial, key
        self.fits = 0

    def on_fit_start(self, loop: Any) -> None:
        self.fits += 1

    def on_epoch_end(self, loop: Any, logs: dict[str, float]) -> None:
        import optuna

        value = logs.get(self.key)
        if self.fits != 1 or value is None or not math.isfinite(value):
            return
        self.trial.report(float(value), loop.state.epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {loop.state.epoch} ({self.key} {value:.4f})")


def default_storage(out: str | Path) -> str:
    """The SQLite URL of the study beside a model directory: ``MODEL_DIR.study.db``."""
    out = Path(out).resolve()
    return f"sqlite:///{out.with_name(out.name + '.study.db')}"


def _shown_url(url: str) -> str:
    """A storage URL without its password, for messages and brainnet.json."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _counted(t: Any) -> bool:
    """A finished trial of the count: complete, pruned (not as surplus), or failed with its own error."""
    from optuna.trial import TrialState

    if t.state == TrialState.COMPLETE:
        return True
    if t.state == TrialState.PRUNED:
        return not t.user_attrs.get("surplus")
    return t.state == TrialState.FAIL and "error" in t.user_attrs


def study_counts(study: Any) -> dict[str, int]:
    """Trials by outcome: complete, pruned, failed (an error), abandoned (process killed), surplus, running."""
    from optuna.trial import TrialState

    counts = dict.fromkeys(("complete", "pruned", "failed", "abandoned", "surplus", "running"), 0)
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE:
            counts["complete"] += 1
        elif t.state == TrialState.PRUNED:
            counts["surplus" if t.user_attrs.get("surplus") else "pruned"] += 1
        elif t.state == TrialState.FAIL:
            counts["failed" if "error" in t.user_attrs else "abandoned"] += 1
        elif t.state == TrialState.RUNNING:
            counts["running"] += 1
    return counts


def _direction(metric: str) -> str:
    if metric not in METRIC_KEYS:
        raise UserInputError(
            f"--metric must be one of {', '.join(METRIC_KEYS)}; received {metric!r}."
        )
    return "minimize" if metric in LOWER_IS_BETTER else "maximize"


def _pruner(name: str) -> Any:
    import optuna

    if name not in PRUNERS:
        raise UserInputError(f"pruner must be one of {', '.join(PRUNERS)}; received {name!r}.")
    if name == "median":  # a trial below the median of earlier trials at the same epoch stops
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=3)
    return optuna.pruners.NopPruner()


def _open_study(storage: str | None, name: str, direction: str, pruner: Any, record: dict) -> Any:
    """Create or load the study; a loaded one must have been made for the same metric, data and space."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # heartbeats (how a killed process's trial is told from a running one) are "experimental" in Optuna
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    backend: Any = storage
    if storage is not None:
        try:
            backend = _rdb_storage(optuna, storage)
        except Exception as e:  # a bad URL, a missing driver, a server that does not answer
            raise UserInputError(
                f"cannot open the study storage {_shown_url(storage)!r}: {type(e).__name__}: {e}"
            ) from None
    study = optuna.create_study(
        storage=backend, study_name=name, direction=direction, pruner=pruner, load_if_exists=True
    )
    mine = json.loads(json.dumps(record))
    theirs = study.user_attrs.get("brainnet")
    if theirs is None:
        study.set_user_attr("brainnet", mine)
    elif theirs != mine:
        diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise UserInputError(
            f"study {name!r} in {_shown_url(storage or 'memory')} was started with other settings "
            f"({', '.join(diff)} differ: stored {', '.join(f'{k}={theirs.get(k)!r}' for k in diff)}). "
            "Use another --study-name (or --out), or the same settings to continue it."
        )
    return study


def _adopt_running_trials(study: Any, adopted: set[int]) -> None:
    """Record one heartbeat for each running trial not seen before. A process killed between starting a trial
    and its first heartbeat leaves a trial that ``fail_stale_trials`` never fails (it has no heartbeat to go
    stale), and a waiting process would wait for it forever; given one beat, it goes stale after ``GRACE_S``. A
    live trial's own heartbeat thread overwrites the beat, so this never fails a live trial."""
    import optuna

    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if trial._trial_id not in adopted:
            study._storage.record_heartbeat(trial._trial_id)
            adopted.add(trial._trial_id)


_CREATE_RACE = ("already exists", "UNIQUE constraint failed", "database is locked")


def _rdb_storage(optuna: Any, url: str, attempts: int = 5) -> Any:
    """Optuna's RDBStorage at ``url``. Processes that open a new database at the same moment race to create its
    tables; the loser sees "table ... already exists", "UNIQUE constraint failed: alembic_version..." (both
    stamped the schema version) or "database is locked". It tries again, and then finds them."""
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S
            )
        except Exception as e:
            if not any(m in str(e) for m in _CREATE_RACE) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def tune(
    estimator: Any,
    X: Any,
    Y: Any = None,
    *,
    trials: int,
    timeout: float | None = None,
    metric: str = "average_precision",
    space: str | Path | dict | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
    pruner: str = "median",
    trial_n_models: int | None = 1,
    validation: Any = None,
    verbose: bool = False,
    data_name: str = "",
    **reading: Any,
) -> TuneResult:
    """Search ``estimator``'s settings with Optuna, retrain the best with full settings, optionally save it.

    Args:
        estimator: a preset (``MultiLabelMLP(...)``, ``MultiLabelImageClassifier(...)``, ...); its parameters
            are the base every trial starts from and the final model's settings outside the space.
        X, Y, validation, reading: as ``estimator.fit`` takes them.
        trials: finished trials the study should hold (>= 1); a study that already has some runs only the rest.
        timeout: stop starting trials after this many seconds (the best so far is still retrained).
        metric: a key of the metric suite, on the validation rows (default average_precision).
        space: a YAML file or dict overriding the default space of the data kind (``brainnet.tune.space``).
        storage: an SQLAlchemy URL; default ``MODEL_DIR.study.db`` beside ``out`` (in memory without ``out``).
        study_name: default the output directory's name ("brainnet" without ``out``).
        out: save the retrained model here (``force`` replaces an existing one).
        pruner: "median" (default), "hyperband" or "none".
        trial_n_models: networks per trial (default 1: a stratified hold-out, fast); None keeps the base's.
        verbose: a progress line (trials done, best so far, time left) on stderr.
        data_name: recorded with the study, so a study is not continued on other data by mistake.

    Returns:
        TuneResult(best_params, best_value, estimator (fitted, ``tune_`` set), summary).
    """
    import optuna

    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise UserInputError(f"--trials must be a number of trials >= 1; received {trials!r}.")
    if timeout is not None and not timeout > 0:
        raise UserInputError(
            f"--timeout must be a positive number of seconds; received {timeout!r}."
        )
    if trial_n_models is not None and (isinstance(trial_n_models, bool) or trial_n_models < 1):
        raise UserInputError(f"trial_n_models must be >= 1; received {trial_n_models!r}.")
    direction = _direction(metric)
    data = (X,) if Y is None else (X, Y)  # image presets take no Y
    base = estimator.config
    kind = estimator.recipe_class.kind
    params, fixed = read_space(space, kind, base)
    trial_base = base.replace(n_models=trial_n_models) if trial_n_models else base
    if out is not None:
        from brainnet.core.files import check_writable_target

        check_writable_target(Path(out), force=force, what="model directory")
    if storage is None and out is not None:
        storage = default_storage(out)
    name = study_name or (Path(out).name if out is not None else "brainnet")
    monitor = MONITORS.get(trial_base.monitor)
    prune_key = monitor.key if (monitor.mode == "min") == (direction == "minimize") else None
    record = {
        "metric": metric,
        "kind": kind,
        "preset": type(estimator).__name__,
        "data": data_name,
        "space": {k: p.to_dict() for k, p in params.items()},
        "fixed": {k: list(v) if isinstance(v, tuple) else v for k, v in fixed.items()},
    }
    study = _open_study(storage, name, direction, _pruner(pruner), record)

    def objective(trial: Any) -> float:
        earlier = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.number < trial.number
            and (_counted(t) or t.state == optuna.trial.TrialState.RUNNING)
        ]
        if len(earlier) >= trials:  # another process started the last trial first
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("surplus: the study already had its trials")
        values = {**fixed, **suggest(trial, params)}
        cfg = trial_base.replace(**config_values(values, trial_base))
        model = type(estimator).from_config(cfg)
        callbacks = [PruningCallback(trial, prune_key)] if prune_key else []
        try:
            with extra_callbacks(*callbacks):
                model.fit(*data, validation=validation, **reading)
        except (FloatingPointError, UserInputError) as e:
            # a diverging setting (too high a learning rate) or a combination the network refuses (an image
            # size below a model's minimum): a failed trial, with its reason
            trial.set_user_attr("error", f"{type(e).__name__}: {e}")
            raise
        value = float(model.val_metrics_[metric])
        if not math.isfinite(value):
            trial.set_user_attr("error", f"{metric} is {value} on the validation rows")
            raise FloatingPointError(f"{metric} is {value} on the validation rows")
        return value

    start = time.monotonic()
    progress = _Progress(trials, metric, verbose)
    adopted: set[int] = set()
    try:
        while True:
            if storage is not None:  # trials of killed processes: failed, not counted
                optuna.storages.fail_stale_trials(study)
            counts = study_counts(study)
            done = sum(counts[k] for k in ("complete", "pruned", "failed"))
            progress.update(done, _best(study))
            if done >= trials:
                break
            if timeout is not None and time.monotonic() - start >= timeout:
                break
            if done + counts["running"] >= trials:  # the rest is running elsewhere: wait for it
                if storage is not None:
                    _adopt_running_trials(study, adopted)
                time.sleep(1.0)
                continue
            study.sampler = optuna.samplers.TPESampler(seed=base.seed + len(study.trials))
            study.optimize(objective, n_trials=1, catch=(FloatingPointError, UserInputError))
    finally:
        progress.close()
    best = _best(study)
    if best is None:
        errors = [
            t.user_attrs["error"]
            for t in study.get_trials(deepcopy=False)
            if "error" in t.user_attrs
        ]
        first = f" The first failed trial: {errors[0]}" if errors else ""
        raise UserInputError(
            f"no trial of study {name!r} completed ({study_counts(study)}); nothing to retrain.{first} Fix "
            "that, change the space, or raise --trials."
        )
    best_values = {**fixed, **best.params}
    counts = study_counts(study)
    summary = {
        "study_name": name,
        "storage": _shown_url(storage) if storage else "memory",
        "metric": metric,
        "direction": direction,
        "best_value": float(best.value),
        "best_params": dict(best.params),
        "best_trial": int(best.number),
        "trials_requested": trials,
        "trials_done": counts["complete"] + counts["pruned"] + counts["failed"],
        "trials_complete": counts["complete"],
        "trials_pruned": counts["pruned"],
        "trials_failed": counts["failed"],
        "trials_abandoned": counts["abandoned"],
        "trial_n_models": trial_base.n_models,
        "pruner": pruner
        if prune_key
        else f"none (monitor {trial_base.monitor} runs against {metric})",
        "sampler": f"TPE (seed {base.seed} + trial count)",
        "space": record["space"],
        "fixed": record["fixed"],
        "seconds_this_run": round(time.monotonic() - start, 1),
    }
    final = type(estimator).from_config(base.replace(**config_values(best_values, base)))
    final.tune_ = summary
    if out is not None:
        out = Path(out)
        checkpoint = out.with_name(out.name + ".checkpoint")
        final.fit(*data, validation=validation, verbose=verbose, checkpoint=checkpoint, **reading)
        final.save(out, force=force)
        _remove(checkpoint)
    else:
        final.fit(*data, validation=validation, verbose=verbose, **reading)
    return TuneResult(dict(best.params), float(best.value), final, summary)


def _best(study: Any) -> Any:
    """The best complete trial, or None."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    pick = min if study.direction.name == "MINIMIZE" else max
    return pick(complete, key=lambda t: (t.value, -t.number))


def _remove(path: Path) -> None:
    import shutil

    from brainnet.core.model_dir import is_model_dir

    if is_model_dir(path):
        shutil.rmtree(path, ignore_errors=True)


class _Progress:
    """Trials done of the requested count, the best value so far, and the time left (rich, on stderr)."""

    def __init__(self, total: int, metric: str, verbose: bool) -> None:
        self._bar: Any = None
        if not verbose:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("tune"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("trials, best {task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._bar.start()
        self._task = self._bar.add_task("tune", total=total, best="-")
        self.metric = metric

    def update(self, done: int, best: Any) -> None:
        if self._bar is not None:
            shown = f"{self.metric} {best.value:.4f} (trial {best.number})" if best else "-"
            self._bar.update(self._task, completed=done, best=shown)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
