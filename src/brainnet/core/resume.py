"""Exact resume of a killed training run: what a checkpoint holds beyond the model, and how it is put back.

The estimator's checkpoint (``fit(checkpoint=DIR)``; the CLI's ``MODEL_DIR.checkpoint/``) is one model directory,
rewritten atomically at most every ``CHECKPOINT_INTERVAL_S`` seconds at the end of an epoch and once after each
ensemble member. It loads like any model (the finished members and the member in progress at its best epoch so
far, 0.5 thresholds) and also holds everything needed to continue the run exactly, without pickle:

- ``brainnet.json`` ``"resume"`` (JSON): the run's fingerprint (data, labels, config, engine), which member is in
  progress, the finished members' histories, stop reasons and notes; for the member in progress the loop's state:
  epoch, history, best epoch and value, each callback's ``state_dict()`` (early stopping: best value, best epoch,
  wait counter), the optimizer's and scheduler's numbers, the Python and NumPy RNG states;
- ``weights.safetensors`` ``resume.*``: the tensors of that state (current weights, optimizer moments, early
  stopping's best weights, torch RNG states as uint8 tensors). ``load`` reads only ``model{k}.*``.

``fit(checkpoint=DIR, resume=True)`` checks the fingerprint (a difference is a ``UserInputError`` naming the
field), rebuilds the finished members, and hands the state of the member in progress to the engine through the
checkpoint callback, which puts it back in ``on_fit_start``: the loop continues with the next epoch and draws the
same random numbers it would have drawn. During ``fit`` SIGTERM raises ``Terminated`` (exit status 143) after the
state of the last finished epoch is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.core.training import Callback, Loop

RESUME_FORMAT = 1
CHECKPOINT_INTERVAL_S = 2.0  # at most one checkpoint per this many seconds (and per epoch)
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended
# config fields that say where and how fast a run computes, not what: they may change between a run and its resume
UNCHECKED_CONFIG = ("device", "workers", "cache")
_ARRAY, _SNAPSHOT = "__array__", "__snapshot__"


class Terminated(SystemExit):
    """SIGTERM arrived during ``fit``: the checkpoint holds the last finished epoch; exit status 143."""

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While training, SIGTERM raises ``Terminated`` (callbacks flush their checkpoint on the way out) instead
    of killing the process at once. Only in the main thread and when nobody installed a SIGTERM handler; a
    second SIGTERM kills at once."""
    import signal
    import threading

    mine = threading.current_thread() is threading.main_thread()
    if not mine or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ---------------------------------------------------------------------- fingerprint
def sha256_of(a: np.ndarray) -> str:
    """The SHA-256 of an array's dtype, shape and bytes."""
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def fingerprint(est: Any, cfg: Any, recipe: Any, data: Any, validation: Any) -> dict[str, Any]:
    """What must be equal for a resume to continue the same run: kind, engine, config (but
    ``UNCHECKED_CONFIG``), the training data (rows, inputs, labels, label names, split) and the validation
    data. Values as they read back from JSON."""
    fp: dict[str, Any] = {"kind": est.model_kind, "engine": est.engine}
    fp |= {f"config.{k}": v for k, v in cfg.to_dict().items() if k not in UNCHECKED_CONFIG}
    for prefix, part in (("data", data), ("validation", validation)):
        if part is None:
            continue
        split = recipe.split(part)
        described = {
            "rows": len(part),
            "label_names": recipe.label_names(part),
            "labels": sha256_of(recipe.labels(part)),
            "split": None if split is None else sha256_of(split.astype(str)),
            **recipe.digest(part),
        }
        fp |= {f"{prefix}.{k}": v for k, v in described.items()}
    return json.loads(json.dumps(fp))


_WHAT = {
    "kind": "the kind of model",
    "engine": "the engine (--engine)",
    "rows": "the number of rows",
    "label_names": "the label names",
    "labels": "the labels",
    "split": "the split column",
    "features": "the feature names",
    "inputs": "the inputs",
}


_PARTS = {"data": "training data", "validation": "validation data"}


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"sha256 {value[:12]}..."
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_fingerprint(saved: dict[str, Any], now: dict[str, Any], where: Path) -> None:
    """Raise a UserInputError naming the first field where this run differs from the checkpoint's."""
    for key in dict.fromkeys([*saved, *now]):
        old, new = saved.get(key, "(absent)"), now.get(key, "(absent)")
        if old == new:
            continue
        part, _, name = key.partition(".")
        what = (
            f"option {name} (--{name.replace('_', '-')})"
            if part == "config"
            else f"{_WHAT.get(name, name)} of the {_PARTS.get(part, part)}"
            if name
            else _WHAT.get(part, part)
        )
        raise UserInputError(
            f"cannot resume from {str(where)!r}: {what} changed ({key}: {_show(new)} now, {_show(old)} "
            "in the checkpoint). Resume with the data, labels and options of the killed run, or start "
            "afresh (brainnet train --force)."
        )


# ---------------------------------------------------------------------- trees of JSON values and arrays
def split_arrays(
    tree: Any, prefix: str, stored: dict[str, tuple[str, np.ndarray]] | None = None
) -> tuple[Any, dict[str, np.ndarray]]:
    """(``tree`` with each NumPy array replaced by {"__array__": name}, {name: array}); names start with
    ``prefix`` and follow the path in the tree. ``stored``: {key: (name, array)} of arrays saved anyway; an
    array equal to ``stored[key]`` (``key``: its own key in the tree, e.g. a weight's name) becomes a
    reference to that name instead of a second copy."""
    arrays: dict[str, np.ndarray] = {}

    def same(key: str, a: np.ndarray) -> str | None:
        name, b = (stored or {}).get(key, ("", None))
        equal = b is not None and b.shape == a.shape and b.dtype == a.dtype and np.array_equal(a, b)
        return name if equal else None

    def walk(node: Any, path: str, key: str) -> Any:
        if isinstance(node, np.ndarray):
            if name := same(key, node):
                return {_ARRAY: name}
            arrays[prefix + path] = node
            return {_ARRAY: prefix + path}
        if isinstance(node, dict):
            return {
                str(k): walk(v, f"{path}.{k}" if path else str(k), str(k)) for k, v in node.items()
            }
        if isinstance(node, list | tuple):
            return [walk(v, f"{path}.{i}" if path else str(i), str(i)) for i, v in enumerate(node)]
        return node.item() if isinstance(node, np.generic) else node

    return walk(tree, "", ""), arrays


def join_arrays(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of ``split_arrays`` (the arrays are writable copies)."""
    if isinstance(tree, dict):
        if set(tree) == {_ARRAY}:
            return np.array(arrays[tree[_ARRAY]])
        return {k: join_arrays(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [join_arrays(v, arrays) for v in tree]
    return tree


def global_rng_state() -> dict[str, Any]:
    """Python's ``random`` and NumPy's legacy global RNG, as JSON values."""
    import random

    version, internal, gauss = random.getstate()
    legacy = np.random.get_state(legacy=False)  # noqa: NPY002 - the global RNG third-party code may use
    legacy["state"] = {**legacy["state"], "key": legacy["state"]["key"].tolist()}  # 624 uint32
    return {"python": [version, list(internal), gauss], "numpy": legacy}


def set_global_rng_state(state: dict[str, Any]) -> None:
    import random

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    legacy = dict(state["numpy"])
    legacy["state"] = {**legacy["state"], "key": np.asarray(legacy["state"]["key"], np.uint32)}
    np.random.set_state(legacy)  # noqa: NPY002


# ---------------------------------------------------------------------- a loop's state
def _is_value(v: Any) -> bool:
    return v is None or isinstance(v, bool | int | float | str)


def capture(loop: Loop) -> dict[str, Any]:
    """Everything needed to continue ``loop`` after this epoch: a tree of JSON values and arrays (copies)."""
    state = loop.state
    callbacks = []
    for cb in loop.callbacks:
        own = cb.state_dict()
        own = {
            k: v if _is_value(v) else {_SNAPSHOT: loop.snapshot_arrays(v)}  # type: ignore[attr-defined]
            for k, v in own.items()
        }
        callbacks.append({"class": type(cb).__name__, "state": own})
    return {
        "epoch": state.epoch,
        "best_epoch": state.best_epoch,
        "best_value": state.best_value,
        "monitor": state.monitor,
        "history": [dict(h) for h in state.history],
        "callbacks": callbacks,
        "loop": loop.resume_state(),  # type: ignore[attr-defined]
    }


def restore(loop: Loop, saved: dict[str, Any]) -> None:
    """Put a ``capture`` back: the loop, its TrainState, and each callback's state (matched by class, in
    order)."""
    loop.load_resume_state(saved["loop"])  # type: ignore[attr-defined]
    state = loop.state
    state.epoch, state.best_epoch = int(saved["epoch"]), saved["best_epoch"]
    state.best_value, state.monitor = saved["best_value"], saved["monitor"]
    state.history = [dict(h) for h in saved["history"]]
    pending = list(saved["callbacks"])
    for cb in loop.callbacks:
        match = next((s for s in pending if s["class"] == type(cb).__name__), None)
        if match is None:
            continue
        pending.remove(match)
        own = {
            k: loop.snapshot_from_arrays(v[_SNAPSHOT])  # type: ignore[attr-defined]
            if isinstance(v, dict) and _SNAPSHOT in v
            else v
            for k, v in match["state"].items()
        }
        cb.load_state_dict(own)


# ---------------------------------------------------------------------- the checkpoints of one fit
@dataclass
class ResumePoint:
    """What a checkpoint says about its run: ``member`` is the one in progress (= the number finished).

    ``finished``: per finished member its ``FitResult`` but the model (history, epochs run, best epoch, stop
    reason, notes); ``tensors``: per finished member the arrays ``Engine.tensors_of`` gave; ``loop``: the
    captured loop state of the member in progress (None: it had not finished an epoch); ``best``: that
    member's best model so far and its checkpoint record.
    """

    path: Path
    member: int
    finished: list[dict[str, Any]]
    tensors: list[dict[str, np.ndarray]]
    loop: dict[str, Any] | None = None
    best: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None
    # a batched ensemble (``EnsembleCheckpoint``): every member in progress in ``loop``, their best models
    ensemble: bool = False
    bests: list[dict[str, np.ndarray]] = field(default_factory=list)
    # the depth trial's record (``try_deeper``; ``MultiLabelEstimator.depth_trial_``): its winners are finished
    depth_trial: dict[str, Any] | None = None


def find_checkpoint(path: Path) -> Path | None:
    """The checkpoint directory; if a kill came between the two renames of an atomic replacement, the
    previous one, kept in ``.NAME.*.old/replaced``."""
    from brainnet.core.model_dir import is_model_dir

    if is_model_dir(path):
        return path
    old = sorted(path.parent.glob(f".{path.name}.*.old/replaced"), key=lambda p: p.stat().st_mtime)
    return next((p for p in reversed(old) if is_model_dir(p)), None)


def read_resume_point(path: str | Path, now: dict[str, Any]) -> ResumePoint:
    """Read and check the checkpoint at ``path`` against this run's fingerprint ``now``."""
    from brainnet.core.model_dir import load_model_dir

    path = Path(path)
    found = find_checkpoint(path)
    if found is None:
        raise UserInputError(
            f"nothing to resume: no checkpoint at {str(path)!r}. It is written during training "
            "(brainnet train writes MODEL_DIR.checkpoint); start the run without --resume."
        )
    meta, tensors = load_model_dir(found)
    saved = meta.get("resume")
    if not isinstance(saved, dict) or saved.get("format") != RESUME_FORMAT:
        raise UserInputError(
            f"{str(path)!r} holds no resume state of format {RESUME_FORMAT} (written by an older "
            "brainnet, or a finished model); start the run afresh."
        )
    check_fingerprint(saved.get("fingerprint") or {}, now, path)

    def model_tensors(i: int) -> dict[str, np.ndarray]:
        prefix = f"model{i}."
        return {n[len(prefix) :]: np.array(a) for n, a in tensors.items() if n.startswith(prefix)}

    try:
        k = int(saved["member"])
        point = ResumePoint(found, k, list(saved["finished"]), [model_tensors(i) for i in range(k)])
        if saved.get("loop") is not None:
            point.loop = join_arrays(saved["loop"], tensors)
        point.ensemble = bool(saved.get("ensemble", False))
        point.depth_trial = meta.get("depth_trial")
        if point.ensemble:  # the members in progress, after any finished (a depth trial's)
            point.bests = [model_tensors(i) for i in range(k, int(meta["n_models"]))]
        elif int(meta["n_models"]) > k:
            point.best = (model_tensors(k), dict(meta["checkpoint"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFormatError(
            f"{str(found)!r} is a damaged checkpoint ({type(e).__name__}: {e}); start the run afresh."
        ) from None
    return point


class RunCheckpoints:
    """The checkpoints of one ``fit``: the estimator makes one, asks it for a callback per member
    (``member``) and reports each finished member (``member_done``).

    Args:
        est: the estimator being fitted (its recipe, labels, finished members and summaries so far).
        engine: its engine (``tensors_of``).
        path: the checkpoint directory (replaced atomically at each write).
        n_planned: members in the fit plan.
        fp: the run's ``fingerprint``.
    """

    def __init__(self, est: Any, engine: Any, path: Path, n_planned: int, fp: dict) -> None:
        self.est, self.engine, self.path = est, engine, path
        self.n_planned, self.fp = n_planned, fp
        self.finished: list[dict[str, Any]] = []
        self._tensors: dict[str, np.ndarray] = {}  # model{i}.* of the finished members
        self.last_record: dict[str, Any] | None = None
        self.seconds_written, self.n_written = 0.0, 0
        self.is_ensemble = False

    def add_finished(self, entry: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        """A finished member (its ``FitResult`` fields but the model) and its arrays."""
        k = len(self.finished)
        self.finished.append(entry)
        self._tensors |= {f"model{k}.{name}": a for name, a in tensors.items()}

    def member(self, k: int, point: ResumePoint | None = None) -> MemberCheckpoint:
        """The callback (and ``save(model, info)`` function) of member ``k``; ``point``: resume it."""
        resumed = point is not None and point.member == k
        self.last_record = None
        return MemberCheckpoint(self, k, point if resumed else None)

    def ensemble(self, point: ResumePoint | None = None) -> EnsembleCheckpoint:
        """The callback of a batched ensemble's one loop (``Engine.trains_together``); ``point``: resume it."""
        self.is_ensemble = True
        return EnsembleCheckpoint(self, point)

    def restored(self, point: ResumePoint, k: int, cfg: Any, recipe: Any) -> Any:
        """Member ``k``, finished before the run was killed, as the ``FitResult`` it was."""
        from brainnet.core.estimator import FitResult

        done = point.finished[k]
        n_labels = len(self.est.label_names_)
        model = self.engine.model_from(cfg, recipe, n_labels, point.tensors[k])
        self.add_finished(done, point.tensors[k])
        return FitResult(model, **{name: done[name] for name in FINISHED_FIELDS})

    def member_done(self, k: int, result: Any) -> None:
        """Member ``k`` finished (a ``FitResult``): write a checkpoint that starts the next one afresh."""
        if len(self.finished) > k:  # restored, not trained now
            return
        self.add_finished(_finished_entry(result), self.engine.tensors_of(result.model))
        self.write(None, self.last_record or {"epoch": result.best_epoch or 0}, None)

    def trial_done(self, results: list[Any]) -> None:
        """A depth trial's winners (``FitResult`` s of members 0..m-1; the estimator's ``depth_trial_`` is
        set): one checkpoint with them finished, before the batched ensemble trains the others."""
        self.is_ensemble = True
        for result in results:
            self.add_finished(_finished_entry(result), self.engine.tensors_of(result.model))
        self.write(None, {"epoch": 0}, None)

    def write(
        self,
        best: dict[str, np.ndarray] | list[dict[str, np.ndarray]] | None,
        record: dict[str, Any],
        loop_state: dict[str, Any] | None,
    ) -> None:
        """One checkpoint: the finished members, ``best`` (the member in progress at its best epoch; a list:
        the members of a batched ensemble, all in progress) with its ``record`` ({"epoch", "monitor", "value",
        "time"}), and the resume state."""
        from brainnet.core.model_dir import save_model_dir

        start = time.perf_counter()
        k = len(self.finished)
        bests = best if isinstance(best, list) else [best] if best is not None else []
        n_models = k + len(bests)
        if n_models == 0:
            return  # nothing loadable yet (no epoch improved the monitored value)
        # the best weights (early stopping's, and the current ones after an improvement) are stored once
        own = best if isinstance(best, dict) else {}
        stored = {name: (f"model{k}.{name}", a) for name, a in own.items()}
        tensors = dict(self._tensors) | {name: a for name, a in stored.values()}
        tensors |= {f"model{k + i}.{n}": a for i, b in enumerate(bests) for n, a in b.items()}
        tree, arrays = split_arrays(loop_state, "resume.", stored) if loop_state else (None, {})
        resume = {
            "format": RESUME_FORMAT,
            "fingerprint": self.fp,
            "member": k,
            "finished": self.finished,
            "loop": tree,
            "ensemble": self.is_ensemble,
        }
        meta = checkpoint_meta(
            self.est, n_models, {**record, "model": n_models, "of_models": self.n_planned}
        )
        save_model_dir(self.path, {**meta, "resume": resume}, tensors | arrays, force=True)
        self.seconds_written += time.perf_counter() - start
        self.n_written += 1


# what a checkpoint keeps of a finished member's ``FitResult``: everything but the model
FINISHED_FIELDS = ("history", "epochs_run", "best_epoch", "stop_reason", "notes")


def _finished_entry(result: Any) -> dict[str, Any]:
    """A finished member's ``FitResult`` fields but the model, as a checkpoint keeps them."""
    return {name: getattr(result, name) for name in FINISHED_FIELDS}


def checkpoint_record(state: Any, monitor: str) -> dict[str, Any]:
    """The checkpoint's record of a loop ``state``: epoch, monitored quantity, best value, time written."""
    from datetime import UTC, datetime

    return {
        "epoch": int(state.epoch),
        "monitor": monitor,
        "value": float(state.best_value) if state.best_value is not None else math.nan,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def checkpoint_meta(est: Any, n_models: int, record: dict[str, Any]) -> dict[str, Any]:
    """brainnet.json of a checkpoint: the estimator so far with 0.5 thresholds and ``status: checkpoint``."""
    from brainnet.core.decision.calibration import Calibration
    from brainnet.core.decision.thresholds import ThresholdResult

    snap = type(est)(**est.get_params())
    L = len(est.label_names_)
    snap.recipe_, snap.label_names_ = est.recipe_, est.label_names_
    snap.calibration_, snap.history_ = Calibration.identity(L), []
    snap.thresholds_ = ThresholdResult(np.full(L, 0.5), "none", 0.5, [], math.nan, math.nan)
    snap.at_least_one_, snap.val_metrics_, snap.training_ = False, {}, list(est.training_)
    snap.notes_ = ["checkpoint written during training"]
    snap.interrupted_, snap.n_train_, snap.n_val_, snap.fit_seconds_ = True, 0, 0, 0.0
    snap.validation_ = "checkpoint: thresholds not tuned yet (0.5)"
    snap.depth_trial_ = getattr(est, "depth_trial_", None)  # the layers of its members (try_deeper)
    return snap.model_meta(n_models, status="checkpoint", checkpoint=record)


@dataclass
class MemberCheckpoint(Callback):
    """The checkpoint callback of one member: after each epoch (at most every ``CHECKPOINT_INTERVAL_S``) it
    writes the run with this member's full loop state; after Ctrl-C, an error or SIGTERM it writes the last
    finished epoch it has not written yet. Put it after the callbacks whose state it saves (early stopping).

    Called as ``save(model, info)`` (engines that drive no core loop), it writes ``model`` as the member's best
    so far without loop state: a resume then starts this member afresh.
    """

    run: RunCheckpoints
    k: int
    point: ResumePoint | None = None
    _captured: dict[str, Any] | None = field(default=None, repr=False)
    _best: dict[str, np.ndarray] | None = field(default=None, repr=False)
    _last: float = -math.inf

    def __call__(self, model: Any, info: dict[str, Any]) -> None:
        self.run.last_record = dict(info)
        self.run.write(self.run.engine.tensors_of(model), info, None)

    def on_fit_start(self, loop: Loop) -> None:
        self._captured, self._last = None, -math.inf
        if self.point is not None and self.point.loop is not None:
            restore(loop, self.point.loop)
            if self.point.best is not None:
                self._best, self.run.last_record = self.point.best
        self.point = None  # a second fit of this callback starts afresh

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:

        state = loop.state
        if state.best_epoch is not None and state.best_epoch == state.epoch:
            self._best = loop.snapshot_arrays(loop.snapshot())  # type: ignore[attr-defined]
            self.run.last_record = checkpoint_record(state, state.monitor)
        self._captured = capture(loop)
        if time.monotonic() - self._last >= CHECKPOINT_INTERVAL_S:
            self._flush()

    def on_fit_end(self, loop: Loop) -> None:
        ended_early = (
            loop.state.interrupted or not loop.state.stop_reason
        )  # Ctrl-C, an error, SIGTERM
        if self._captured is not None and ended_early:
            self._flush()

    def _flush(self) -> None:
        record = self.run.last_record or {"epoch": 0}
        self.run.write(self._best, record, self._captured)
        self._captured, self._last = None, time.monotonic()


@dataclass
class EnsembleCheckpoint(Callback):
    """The checkpoint callback of a batched ensemble (``pipeline/ensemble.py``): one loop whose ``members`` all
    train at once. After an epoch (at most every ``CHECKPOINT_INTERVAL_S``) it writes every member's best model
    so far (a loadable ensemble) and the state of the whole loop at that epoch boundary (``capture``: the stack,
    the optimizer, every RNG, each member's state and early stopping); after Ctrl-C, an error or SIGTERM it
    writes the last finished epoch it has not written yet. ``point``: put a resumed run back in ``on_fit_start``
    (after the members' own ``on_fit_start``, which the ensemble's first callback fires)."""

    run: RunCheckpoints
    point: ResumePoint | None = None
    _captured: dict[str, Any] | None = field(default=None, repr=False)
    _bests: list[dict[str, np.ndarray] | None] = field(default_factory=list, repr=False)
    _last: float = -math.inf

    def on_fit_start(self, loop: Loop) -> None:
        self._captured, self._last = None, -math.inf
        members = loop.members  # type: ignore[attr-defined]
        self._bests = [None] * len(members)
        if self.point is not None and self.point.loop is not None:
            restore(loop, self.point.loop)
            self._bests = [*self.point.bests, *self._bests][: len(members)]
        self.point = None

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:

        for k, m in enumerate(loop.members):  # type: ignore[attr-defined]
            if (
                m.state.best_epoch is not None
                and m.state.best_epoch == m.state.epoch == loop.state.epoch
            ):
                self._bests[k] = m.snapshot_arrays(m.snapshot())
        state = loop.state
        monitor = next((m.state.monitor for m in loop.members), "")  # type: ignore[attr-defined]
        self.run.last_record = checkpoint_record(state, monitor)
        self._captured = capture(loop)
        if time.monotonic() - self._last >= CHECKPOINT_INTERVAL_S:
            self._flush()

    def on_fit_end(self, loop: Loop) -> None:
        ended_early = loop.state.interrupted or not loop.state.stop_reason
        if self._captured is not None and ended_early:
            self._flush()

    def _flush(self) -> None:
        if any(b is None for b in self._bests):
            return  # not every member has a best epoch yet: nothing loadable
        record = self.run.last_record or {"epoch": 0}
        self.run.write(list(self._bests), record, self._captured)  # type: ignore[arg-type]
        self._captured, self._last = None, time.monotonic()
